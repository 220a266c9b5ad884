"""Production mode end to end: `collectstatic` with the production storage, then every page with DEBUG off.

Two child processes get the production environment (DJANGO_DEBUG=false and nothing from the test settings):
`manage.py collectstatic` into a fresh STATIC_ROOT, then `tests.security.prod_probe`, which sends each request
through Django's full stack (manifest storage, WhiteNoise, SSL redirect, CSP, django-axes) against this test's
committed data. Every named URL is requested as an anonymous visitor, as a department member and as a superuser:
the expected code, never a 500, and the Content-Security-Policy header on every answer.
"""

import json
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib import admin
from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from feedback.cases.journey import send_feedback
from feedback.cases.models import SavedView
from feedback.cases.problems import link_case
from feedback.cases.services import hand_off
from feedback.intake.models import Account, AccountPlatform
from feedback.routing.models import RoutingRule
from feedback.sla import clocks as sla
from feedback.sla.models import Notification
from feedback.understanding.models import Promise
from tests.factories import CaseFactory, MembershipFactory, MentionFactory, UserFactory, department

ROOT = Path(settings.BASE_DIR)

# Expected answers to GET, by URL name: (anonymous, service member). A POST-only page answers 405 to a member;
# `login_required` answers an anonymous visitor first (302 to the login page).
EXPECTED = {
    "home": (302, 302),
    "inbox": (302, 200),
    "case-detail": (302, 200),
    "case-action": (302, 405),
    "board": (302, 403),
    "board-print": (302, 403),
    "board-csv": (302, 403),
    "board-promise": (302, 403),
    "board-confirm-suggestion": (302, 405),
    "notifications": (302, 200),
    "rule-list": (302, 403),
    "rule-create": (302, 403),
    "rule-test-new": (302, 405),
    "rule-reorder": (302, 405),
    "rule-edit": (302, 403),
    "rule-test": (302, 405),
    "rule-move": (302, 405),
    "rule-toggle": (302, 405),
    "rule-delete": (302, 405),
    "toggle-away": (302, 405),
    "incoming": (302, 200),
    "handoff-accept": (302, 405),
    "handoff-return": (302, 405),
    "feedback-list": (302, 200),
    "feedback-acknowledge": (302, 405),
    "problems": (302, 200),
    "problem-detail": (302, 200),
    "problem-resolve": (302, 405),
    "promise-list": (302, 200),
    "inbox-bulk": (302, 405),
    "saved-view-create": (302, 405),
    "saved-view-delete": (302, 405),
    "settings": (302, 200),
    "password_change": (302, 200),
    "password_change_done": (302, 200),
    "audit-log": (302, 403),  # heads and admins; the member is an agent
    "promise-create": (302, 403),
    "promise-detail": (302, 200),
    "promise-edit": (302, 403),
    "promise-toggle": (302, 405),
    "promise-delete": (302, 405),
    "label-correct": (302, 405),
    "reply-compose": (302, 405),
    "reply-draft": (302, 204),  # no canned response or draft asked for: nothing to swap in
    "case-presence": (302, 405),
    "reply-approvals": (302, 200),
    "reply-approve": (302, 405),
    "reply-reject": (302, 405),
    "reply-resend": (302, 405),
    "canned-list": (302, 403),  # an agent; leads and heads manage them
    "canned-create": (302, 403),
    "canned-edit": (302, 403),
    "canned-delete": (302, 405),
    # Customers: the member's department works with this customer (the case's timeline lines).
    "customer-list": (302, 200),
    "customer-detail": (302, 200),
    "customer-merge": (302, 405),
    "customer-export": (302, 405),
    "customer-erase": (302, 405),
    "suggestion-decide": (302, 405),
    "login": (200, 200),
    "logout": (405, 405),
    "api-mentions": (401, 403),  # a member's session may not add mentions; an anonymous call has no token
    # The CRM sync API: integration tokens (or an administrator's session) only.
    **dict.fromkeys(["api-mention-detail", "api-customer-list", "api-customer-bulk", "api-customer-detail",
                     "api-customer-merge", "api-customer-timeline", "api-customer-export", "api-customer-erase",
                     "api-case-list", "api-case-detail", "api-webhook-list", "api-webhook-detail",
                     "api-webhook-deliveries", "api-webhook-redeliver"], (401, 403)),
    "integration-tokens": (302, 403),  # administrators only
    "integration-token-revoke": (302, 405),
    "integration-deliveries": (302, 403),
    "integration-delivery-redeliver": (302, 405),
    "api-schema": (401, 200),
    "api-docs": (401, 200),
    "webhooks:x": (400, 400),  # the account exists; a CRC check without crc_token
    "webhooks:meta": (404, 404),  # the account is an X account: no Meta account by that name
}


def _named_patterns(resolver: URLResolver | None = None, prefix: str = "", namespace: str = ""):
    """(name, route) of every named URL outside the admin."""
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.app_name == "admin":
                continue
            space = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _named_patterns(pattern, prefix + str(pattern.pattern), space)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{namespace}{pattern.name}", prefix + str(pattern.pattern)


def test_every_named_url_has_an_expected_answer():
    assert {name for name, _ in _named_patterns()} == set(EXPECTED)


@pytest.fixture(scope="module")
def static_root(tmp_path_factory):
    """`collectstatic` as the deploy steps run it: DEBUG off, the production (manifest) storage."""
    root = tmp_path_factory.mktemp("prod-static")
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "1"],
        cwd=ROOT, env=_production_env(root), capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    manifest = json.loads((root / "staticfiles.json").read_text())["paths"]
    assert "vendor/chartjs-4.6.1/chart.umd.min.js" in manifest and "feedback/baton.css" in manifest
    return root


def _production_env(static_root: Path) -> dict:
    db = connection.settings_dict
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "BATON_"))}
    env.update({
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "production-probe-" + "x" * 40,
        "DJANGO_ALLOWED_HOSTS": "testserver",
        "DJANGO_STATIC_ROOT": str(static_root),
        # The test database that this test's committed rows are in.
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "BATON_UNDERSTANDING_ENGINE": "rules",
    })
    return env


def _probe(static_root: Path, requests: list[dict], tmp_path: Path, **env) -> dict:
    requests_file, out_file = tmp_path / "requests.json", tmp_path / "out.json"
    requests_file.write_text(json.dumps(requests))
    result = subprocess.run(
        [sys.executable, "-m", "tests.security.prod_probe", str(requests_file), str(out_file)],
        cwd=ROOT, env={**_production_env(static_root), **env}, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(out_file.read_text())


@pytest.fixture
def world(transactional_db):
    """One of everything a page can show, committed (the probe is another process)."""
    member = MembershipFactory(user=UserFactory(username="service-agent"), department=department("service")).user
    superuser = UserFactory(username="root", is_superuser=True, is_staff=True)
    now = timezone.now()
    case = CaseFactory(department=department("service"), created_at=now - timedelta(minutes=30), subject="Lost bag")
    mention = MentionFactory(case=case, customer=case.customer, text="@airline lost my bag in Frankfurt")
    sla.start_clocks(case=case, now=case.created_at)
    sent = CaseFactory(department=department("service"), created_at=now - timedelta(minutes=20))
    handoff = hand_off(case=sent, to_department=department("sales"), note="Wants an upgrade.", by=member)
    note = send_feedback(case=case, to_department=department("sales"), text="The fare was mis-sold.", by=member)
    problem = link_case(case=case, by=member, title="Frankfurt baggage belt", description="Bags stuck.")
    Notification.objects.create(user=member, case=case, kind=Notification.Kind.SLA_WARNING, text="Due soon",
                                created_at=now)
    promise = Promise.objects.create(name="On time", slug="on-time", department=department("marketing"))
    account = Account.objects.create(platform=AccountPlatform.X, slug="airline", handle="airline")
    args = {
        "case_id": case.pk, "action": "reply", "handoff_id": handoff.pk, "feedback_id": note.pk,
        "problem_id": problem.pk, "slug": promise.slug, "mention_id": mention.pk, "direction": "up",
        "rule_id": RoutingRule.objects.filter(department=department("service")).first().pk, "account": account.slug,
        "pk": 1, "token_id": 1, "delivery_id": 1, "reply_id": 1, "canned_id": 1,
        "customer_id": case.customer_id, "suggestion_id": 1, "decision": "confirm",
        "view_id": SavedView.objects.create(user=member, name="Mine", query="tab=mine").pk,
        "chart_id": "gap",
    }
    return {"member": member, "superuser": superuser, "args": args, "case": case}


def _path(name: str, route: str, args: dict) -> str:
    return reverse(name, kwargs={key: args[key] for key in re.findall(r"<(?:\w+:)?(\w+)>", route)})


@pytest.mark.slow
def test_production_settings_end_to_end(world, static_root, tmp_path):
    member, superuser = world["member"].pk, world["superuser"].pk
    pages = [(name, _path(name, route, world["args"])) for name, route in _named_patterns()]
    admin_pages = [reverse("admin:index")] + [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist") for model in admin.site._registry
    ]
    requests = (
        [{"path": path, "user": None} for _, path in pages]
        + [{"path": path, "user": member} for _, path in pages]
        + [{"path": path, "user": user} for path in admin_pages for user in (None, member, superuser)]
        + [{"path": "/no-such-page/", "user": user} for user in (None, member)]
        + [{"path": reverse("inbox"), "user": member, "secure": False}]  # plain HTTP: redirected to HTTPS
    )
    report = _probe(static_root, requests, tmp_path)
    assert report["debug"] is False
    assert report["staticfiles"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"
    assert report["static_root"] == str(static_root)
    results = report["results"]
    assert len(results) == len(requests)

    expected = {}
    for name, path in pages:
        expected[(path, None)], expected[(path, member)] = EXPECTED[name]
    for path in admin_pages:
        expected[(path, None)] = expected[(path, member)] = 302  # to the admin's login: not staff
        expected[(path, superuser)] = 200
    expected[("/no-such-page/", None)] = expected[("/no-such-page/", member)] = 404
    answers = {(result["path"], result["user"]): result["status"] for result in results[:-1]}
    wrong = {key: (answers.get(key), want) for key, want in expected.items() if answers.get(key) != want}
    assert not wrong, f"(path, user): (got, expected) {wrong}"

    for result in results[:-1]:  # (the plain-HTTP one is redirected by SecurityMiddleware, before any page)
        assert result["status"] != 500, result["path"]
        assert "default-src 'self'" in result["csp"], (result["path"], result["status"])
        assert "script-src 'self'" in result["csp"] and "unsafe" not in result["csp"]
    plain_http = results[-1]
    assert plain_http["status"] == 301 and plain_http["location"].startswith("https://testserver/")
    secure = [result for result in results if result["status"] == 200]
    assert all(result["hsts"].startswith("max-age=31536000") for result in secure)

    # HTML pages link the hashed files, with no inline script, event handler or style attribute.
    html = [result for result in results if result["content_type"].startswith("text/html") and result["status"] == 200]
    assert len(html) > 20
    for result in html:
        body = result["body"]
        assert "/static/feedback/baton.css" not in body, result["path"]  # the manifest's hashed name instead
        for script in re.findall(r"<script\b[^>]*>", body):
            assert "src=" in script or 'type="application/json"' in script, (result["path"], script)
        assert not re.search(r"\son(submit|click|load|change|input)=", body), result["path"]
        assert not re.search(r"<[a-z][^>]*\sstyle=", body), result["path"]
    inbox = next(result["body"] for result in results if result["path"] == reverse("inbox") and result["user"] == member)
    assert world["case"].subject in inbox
    assert re.search(r'href="/static/feedback/baton\.[0-9a-f]{12}\.css"', inbox)


@pytest.mark.slow
def test_whitenoise_serves_the_collected_files(world, static_root, tmp_path):
    manifest = json.loads((static_root / "staticfiles.json").read_text())["paths"]
    files = ["feedback/baton.css", "feedback/confirm.js", "vendor/chartjs-4.6.1/chart.umd.min.js",
             "vendor/htmx-2.0.11/htmx.min.js", "admin/css/base.css"]
    report = _probe(static_root, [{"path": f"/static/{manifest[name]}", "user": None} for name in files], tmp_path)
    for name, result in zip(files, report["results"], strict=True):
        assert result["status"] == 200, name
        assert result["body"], name


@pytest.mark.slow
def test_forwarded_proto_is_trusted_only_behind_a_declared_proxy(world, static_root, tmp_path):
    """Without DJANGO_TRUSTED_PROXY a client's X-Forwarded-Proto is ignored (plain HTTP is redirected); with it,
    the proxy's header says the request came over HTTPS."""
    request = {"path": reverse("login"), "user": None, "secure": False, "headers": {"X-Forwarded-Proto": "https"}}
    untrusted = _probe(static_root, [request], tmp_path)["results"][0]
    assert untrusted["status"] == 301
    trusted = _probe(static_root, [request], tmp_path, DJANGO_TRUSTED_PROXY="true")["results"][0]
    assert trusted["status"] == 200 and trusted["csp"]


def test_check_deploy_is_clean(tmp_path):
    env = _production_env(tmp_path)
    env["DJANGO_ALLOWED_HOSTS"] = "baton.example.com"
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
