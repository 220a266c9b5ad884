"""Every URL of the URLconf, found by walking the resolver (not a hand-kept list: a new URL is walked the day it is
added), requested with GET and POST by callers who must be refused customer service's data:

- an agent of another department (product), the head of another department (product), a board member;
- a revoked API token (and the revoked user's old session), and nobody at all.

Customer service's case, mention, customer, handoff and feedback note carry marker texts (with an XSS payload in
them). No answer may be a 500 or contain a marker; an anonymous or revoked caller is sent to sign in (401 for the
API); an authenticated one gets 403, 404 or 405 on every URL naming one of service's objects; and nothing of
service's changes. Then: a POST without its CSRF token is refused on every URL but the webhooks, and the markers'
XSS payloads come out escaped on every page that the service agent may see.
"""

import re

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import IntConverter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token

from config.auth import revoke_access
from customers.models import Customer
from feedback.cases.journey import send_feedback
from feedback.cases.models import Case, FeedbackNote, Handoff, Problem
from feedback.cases.problems import link_case
from feedback.cases.services import add_note, hand_off
from feedback.intake.models import Account, AccountPlatform, Mention
from feedback.routing.models import RoutingRule
from feedback.understanding.models import Promise
from teams.models import Role
from tests.factories import BoardSeatFactory, CaseFactory, MembershipFactory, MentionFactory, UserFactory, department

pytestmark = pytest.mark.django_db

XSS = '<script>alert("baton")</script><img src=x onerror=alert(1)>'
MARKERS = {
    "subject": f"SECRET-SUBJECT-7731 {XSS}",
    "mention": f"SECRET-MENTION-5520 my passport number is 123 {XSS}",
    "customer": f"SECRET-CUSTOMER-9182 {XSS}",
    "handoff": f"SECRET-HANDOFF-4410 {XSS}",
    "feedback": f"SECRET-FEEDBACK-3307 {XSS}",
    "note": f"SECRET-NOTE-6604 {XSS}",
}
SECRETS = [re.match(r"SECRET-\w+-\d+", text).group(0) for text in MARKERS.values()]
# URL keywords that name one of customer service's objects: another department gets 403, 404 or 405 there.
PRIVATE_KWARGS = {"case_id", "handoff_id", "feedback_id", "mention_id", "rule_id"}
PUBLIC_NAMES = {"login", "logout", "admin:login", "admin:logout"}  # answered to anyone
SIGN_IN = ("/login/", "/admin/login/")


# --- Walking the URLconf ---------------------------------------------------------------------------------


def _walk(resolver: URLResolver | None = None, namespace: str = ""):
    """(name, pattern) of every URL pattern, the admin's included."""
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            space = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _walk(pattern, space)
        elif isinstance(pattern, URLPattern):
            yield (f"{namespace}{pattern.name}" if pattern.name else None), pattern


def _kwarg_names(pattern: URLPattern) -> list[str]:
    return list(pattern.pattern.regex.groupindex)


def _urls(values: dict) -> list[tuple[str, str, set[str]]]:
    """(name, url, keyword names) for every named pattern, its keywords filled from `values` (service's objects),
    or with a value that names nothing. Unnamed patterns (the admin's catch-all) cannot be reversed: skipped;
    the admin's pages around them are walked."""
    urls = []
    for name, pattern in _walk():
        if name is None:
            continue
        kwargs = {}
        for key in _kwarg_names(pattern):
            converter = getattr(pattern.pattern, "converters", {}).get(key)
            fallback = 2**31 if isinstance(converter, IntConverter) else "nothing-here"
            kwargs[key] = values.get(key, fallback)
        positional = pattern.pattern.regex.groups - len(kwargs)  # unnamed groups (simple_history's admin pages)
        url = reverse(name, args=[str(values["object_id"])] * positional) if positional else reverse(name, kwargs=kwargs)
        urls.append((name, url, set(kwargs)))
    return urls


def test_the_walk_finds_every_page_api_endpoint_and_webhook():
    names = {name for name, _ in _walk() if name}
    assert {"inbox", "case-detail", "board", "rule-edit", "api-mentions", "api-schema", "webhooks:x",
            "webhooks:meta", "admin:index", "admin:feedback_case_change"} <= names
    assert len(names) > 100  # the admin's pages too


# --- The world ------------------------------------------------------------------------------------------------


@pytest.fixture
def world(db):
    cache.clear()  # the webhooks' rate-limit counters: this test posts to them as every caller
    service = department("service")
    agent = MembershipFactory(user=UserFactory(username="svc-agent"), department=service).user
    MembershipFactory(user=UserFactory(username="svc-head"), department=service, role=Role.HEAD)
    customer = Customer.objects.create(external_id="crm-secret", name=MARKERS["customer"])
    case = CaseFactory(department=service, customer=customer, subject=MARKERS["subject"])
    mention = MentionFactory(case=case, customer=customer, text=MARKERS["mention"], author_name=MARKERS["customer"])
    add_note(case=case, by=agent, text=MARKERS["note"])
    note = send_feedback(case=case, to_department=department("sales"), text=MARKERS["feedback"], by=agent)
    problem = link_case(case=case, by=agent, title="Frankfurt baggage belt", description="Bags stuck.")
    moving = CaseFactory(department=service, customer=customer, subject=MARKERS["subject"])
    handoff = hand_off(case=moving, to_department=department("sales"), note=MARKERS["handoff"], by=agent)
    promise = Promise.objects.create(name="On time", slug="on-time", department=department("marketing"))
    account = Account.objects.create(platform=AccountPlatform.X, slug="airline-x", handle="airline")
    rule = RoutingRule.objects.filter(department=service, is_default=False).first()
    values = {
        "case_id": case.pk, "mention_id": mention.pk, "handoff_id": handoff.pk, "feedback_id": note.pk,
        "problem_id": problem.pk, "rule_id": rule.pk, "slug": promise.slug, "account": account.slug,
        "action": "reply", "direction": "up", "object_id": case.pk, "app_label": "feedback",
    }
    superuser = UserFactory(username="svc-root", is_superuser=True, is_staff=True)
    MembershipFactory(user=superuser, department=service, role=Role.HEAD)
    return {"agent": agent, "values": values, "case": case, "superuser": superuser}


def _snapshot() -> dict:
    return {
        "cases": list(Case.objects.order_by("id").values_list("id", "department_id", "status", "assignee_id",
                                                                "priority", "problem_id", "subject")),
        "handoffs": list(Handoff.objects.order_by("id").values()),
        "feedback": list(FeedbackNote.objects.order_by("id").values()),
        "problems": list(Problem.objects.order_by("id").values()),
        "mentions": list(Mention.objects.order_by("id").values("id", "intent", "sentiment_label", "case_id", "text",
                                                               "corrected_labels")),
        "rules": list(RoutingRule.objects.order_by("id").values()),
        "promises": list(Promise.objects.order_by("id").values()),
    }


def _body(response) -> str:
    content = b"".join(response.streaming_content) if getattr(response, "streaming", False) else response.content
    return content.decode("utf-8", "replace")


def _to_sign_in(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith(SIGN_IN)


def _client(user=None, **headers) -> Client:
    client = Client(raise_request_exception=False, headers=headers)
    if user is not None:
        client.force_login(user)
    return client


def _requests(urls, *, skip_post=frozenset()):
    for name, url, kwargs in urls:
        yield name, url, kwargs, "get"
        if name not in skip_post:
            yield name, url, kwargs, "post"


def _call(client, method: str, url: str):
    return client.get(url) if method == "get" else client.post(url, data={})


def _refused_to_sign_in(client, urls) -> list:
    """Problems, for a caller the site does not know (anonymous, or a revoked token and session)."""
    wrong = []
    for name, url, _kwargs, method in _requests(urls):
        response = _call(client, method, url)
        status, body = response.status_code, _body(response)
        if status == 500 or any(secret in body for secret in SECRETS):
            wrong.append((method, url, status, "500 or service's data"))
        elif name in PUBLIC_NAMES:
            continue
        elif url.startswith("/api/"):
            if status != 401:
                wrong.append((method, url, status, "expected 401"))
        elif name.startswith("webhooks:"):
            if status not in {400, 401, 404, 405}:
                wrong.append((method, url, status, "expected a webhook refusal"))
        elif not (_to_sign_in(response) or status in {404, 405}):
            wrong.append((method, url, status, "expected a redirect to sign in"))
    return wrong


def _refused_to_an_outsider(client, urls) -> list:
    """Problems, for a signed-in caller outside customer service."""
    wrong = []
    for name, url, kwargs, method in _requests(urls, skip_post={"logout", "admin:logout"}):
        response = _call(client, method, url)
        status, body = response.status_code, _body(response)
        if status == 500:
            wrong.append((method, url, status, "500"))
        elif any(secret in body for secret in SECRETS):
            wrong.append((method, url, status, "service's data in the answer"))
        elif name.startswith("admin:") and name not in PUBLIC_NAMES:
            if not (_to_sign_in(response) or status in {404, 405}):
                wrong.append((method, url, status, "expected the admin's sign-in"))
        elif kwargs & PRIVATE_KWARGS or (method == "post" and "problem_id" in kwargs):
            if status not in {403, 404, 405}:
                wrong.append((method, url, status, "expected 403, 404 or 405 on service's object"))
    return wrong


@pytest.mark.parametrize("caller", ["other_agent", "other_head", "board"])
def test_an_outsider_is_refused_service_data_on_every_url(world, caller):
    user = UserFactory(username=f"outsider-{caller}")
    if caller == "other_agent":
        MembershipFactory(user=user, department=department("product"))
    elif caller == "other_head":
        MembershipFactory(user=user, department=department("product"), role=Role.HEAD)
    else:
        BoardSeatFactory(user=user)
    urls = _urls(world["values"])
    before = _snapshot()
    wrong = _refused_to_an_outsider(_client(user), urls)
    assert not wrong, wrong
    assert _snapshot() == before


def test_nobody_is_sent_to_sign_in_everywhere(world):
    urls = _urls(world["values"])
    before = _snapshot()
    assert not (wrong := _refused_to_sign_in(_client(), urls)), wrong
    assert _snapshot() == before


def test_a_revoked_token_and_session_are_refused_everywhere(world):
    agent = world["agent"]
    agent.user_permissions.add(Permission.objects.get(codename="add_mention", content_type__app_label="feedback"))
    key = Token.objects.create(user=agent).key
    client = _client(agent, Authorization=f"Token {key}")
    assert client.get(reverse("case-detail", args=[world["case"].pk])).status_code == 200  # before: allowed
    assert client.get(reverse("api-schema")).status_code == 200

    assert revoke_access(user=agent) == {"sessions": 1, "tokens": 1}

    urls = _urls(world["values"])
    before = _snapshot()
    assert not (wrong := _refused_to_sign_in(client, urls)), wrong
    refused = client.get(reverse("api-schema"))
    assert refused.status_code == 401 and b"Invalid token." in refused.content
    assert _snapshot() == before


def test_every_post_without_its_csrf_token_is_refused_but_the_webhooks(world):
    """As the service agent, who may act: the missing token alone refuses the POST (the webhooks are signed
    instead; a token-authenticated API call needs none, a session one does)."""
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    client.force_login(world["agent"])
    before = _snapshot()
    wrong = []
    for name, url, _kwargs in _urls(world["values"]):
        response = client.post(url, data={})
        expected = {401, 404} if name.startswith("webhooks:") else {403}
        if response.status_code not in expected:
            wrong.append((url, response.status_code))
    assert not wrong, wrong
    assert _snapshot() == before


def test_stored_xss_comes_out_escaped_on_every_page_the_agent_may_see(world):
    client = _client(world["agent"])
    seen = 0
    for name, url, _kwargs in _urls(world["values"]):
        if name.startswith(("admin:", "webhooks:")) or name == "logout":
            continue
        response = client.get(url)
        assert response.status_code != 500, url
        body = _body(response)
        assert "<script>alert" not in body and "<img src=x" not in body, url
        seen += "SECRET-" in body
    case_page = _body(client.get(reverse("case-detail", args=[world["case"].pk])))
    assert "&lt;script&gt;alert(&quot;baton&quot;)&lt;/script&gt;" in case_page
    for secret in ("SECRET-SUBJECT-7731", "SECRET-MENTION-5520", "SECRET-NOTE-6604"):
        assert secret in case_page
    assert seen >= 3  # the inbox, the case page, the feedback sent...


# --- Hostile query strings ----------------------------------------------------------------------------------

PARAMETERS = ["page", "department", "status", "posts", "events", "q", "sort", "period", "from", "to", "intent",
              "priority", "source", "assignee", "before", "after", "cursor", "days", "promise", "format", "next"]
hostile = st.one_of(
    st.sampled_from(["²", "-1", "0", "99999999999999999999999999", "1e9", "NaN", "", " ", "%00", "\x00", "1/0",
                     "<script>alert(1)</script>", "' OR 1=1 --", "../../etc/passwd", "٣", "2026-13-45", "json"]),
    st.text(max_size=12),
)


@given(query=st.dictionaries(st.sampled_from(PARAMETERS), hostile, min_size=1, max_size=4))
@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_no_page_answers_500_to_a_hostile_query_string(world, query):
    """Every page and API endpoint with GET, with hostile values for the parameters pages read (and others), as a
    superuser who also works in customer service: whatever the value, an answer, never a 500."""
    client = _client(world["superuser"])
    for name, url, _kwargs in _urls(world["values"]):
        if name.startswith("admin:") and name != "admin:index" or name in {"logout", "admin:logout"}:
            continue
        response = client.get(url, query)
        assert response.status_code != 500, (url, query)
