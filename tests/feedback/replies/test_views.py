"""The composer, presence, approvals and canned responses through the pages."""

import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from feedback.cases import events
from feedback.choices import Intent
from feedback.replies import presence
from feedback.replies.models import CannedResponse, Reply, ReplyStatus
from feedback.replies.rules import CONSIDERATIONS
from feedback.replies.selectors import marks
from feedback.sla import clocks as sla
from teams.models import Role
from tests.factories import CaseFactory, CustomerFactory, MembershipFactory, MentionFactory, UserFactory, department

pytestmark = pytest.mark.django_db
ALL = [key for key, _ in CONSIDERATIONS]


@pytest.fixture
def case():
    now = timezone.now()
    case = CaseFactory(customer=CustomerFactory(name="Rita Flies"), created_at=now - timedelta(minutes=20))
    MentionFactory(case=case, customer=case.customer, author_handle="ritaflies", assessment="rectify",
                   text="@airline my bag is lost", posted_at=now - timedelta(minutes=20))
    sla.start_clocks(case=case, now=case.created_at)
    return case


@pytest.fixture
def agent_client(client, service_agent):
    service_agent.first_name = "Dana"
    service_agent.save()
    client.force_login(service_agent)
    return client


def post_reply(client, case, text, **extra):
    data = {"text": text, "kind": "public", "considerations": ALL, **marks(case=case), **extra}
    return client.post(reverse("reply-compose", args=[case.pk]), data)


def test_the_case_page_shows_the_composer_with_canned_responses_and_the_checklist(agent_client, case):
    CannedResponse.objects.create(department=department("service"), assessment="rectify", title="Lost bag",
                                  text="Hi {{ first_name }}, we are tracing your bag.")
    CannedResponse.objects.create(department=department("sales"), title="Sales only", text="Buy!")
    html = agent_client.get(reverse("case-detail", args=[case.pk])).content.decode()
    assert "Lost bag (rectify)" in html and "Sales only" not in html
    for _key, label in CONSIDERATIONS:
        assert f"<strong>{label}</strong>" in html
    assert 'name="seen_event"' in html and "Send reply" in html
    assert "Insert the recommended response as a draft" in html


def test_a_canned_response_is_filled_in_for_the_case(agent_client, case):
    canned = CannedResponse.objects.create(department=department("service"), title="Lost bag",
                                           text="Hi {{ first_name }}, {{ agent_first_name }} here (case {{ case_id }}).")
    html = agent_client.get(reverse("reply-draft", args=[case.pk]), {"canned": canned.pk}).content.decode()
    assert f"Hi Rita, Dana here (case {case.pk})." in html and 'id="reply_text"' in html
    draft = agent_client.get(reverse("reply-draft", args=[case.pk]), {"recommended": "1"}).content.decode()
    assert "Hi Rita, I&#x27;m Dana from Customer service." in draft


def test_sending_queues_the_reply(agent_client, case):
    response = post_reply(agent_client, case, "Sorry Rita, I'm Dana: tracing it now.")
    assert response.status_code == 302
    assert Reply.objects.get().status == ReplyStatus.QUEUED


def test_the_pii_guard_answers_422_and_explains(agent_client, case):
    response = post_reply(agent_client, case, "Rita, call us on +49 30 901820 or mail help@airline-support.com")
    assert response.status_code == 422
    html = response.content.decode()
    assert "the PII guard blocked this public reply" in html
    assert "Phone number" in html and "Email address" in html
    assert "Rita, call us on +49 30 901820" in html  # the text stays in the box to fix
    assert not Reply.objects.exists()


def test_a_collision_answers_409_and_shows_the_newer_post_first(agent_client, case):
    seen = marks(case=case)
    newer = MentionFactory(case=case, customer=case.customer, text="@airline still nothing, hello??")
    events.add(events.mention_attached(case=case, mention=newer, now=timezone.now()))
    response = agent_client.post(reverse("reply-compose", args=[case.pk]),
                                 {"text": "On it", "kind": "public", "considerations": ALL, **seen})
    assert response.status_code == 409
    html = response.content.decode()
    assert "something new arrived on this case since you opened it" in html
    assert html.index("still nothing, hello??") < html.index('id="reply"')
    assert f'name="seen_event" value="{marks(case=case)["seen_event"]}"' in html  # a second press sends


def test_another_department_gets_404(client, sales_agent, case):
    client.force_login(sales_agent)
    assert client.post(reverse("reply-compose", args=[case.pk]), {"text": "x"}).status_code == 404
    assert client.get(reverse("reply-draft", args=[case.pk])).status_code == 404
    assert client.post(reverse("case-presence", args=[case.pk])).status_code == 404


def test_presence_shows_who_else_views_and_types(agent_client, case):
    colleague = MembershipFactory(user=UserFactory(username="kim", first_name="Kim", last_name="Park"),
                                  department=department("service")).user
    presence.leave(case_id=case.pk, user=colleague)
    html = agent_client.post(reverse("case-presence", args=[case.pk])).content.decode()
    assert "Nobody else is on this case." in html
    presence.touch(case_id=case.pk, user=colleague, typing=True)
    html = agent_client.post(reverse("case-presence", args=[case.pk])).content.decode()
    assert "Kim Park is typing a reply" in html
    client_of_colleague = agent_client.__class__()
    client_of_colleague.force_login(colleague)
    assert client_of_colleague.post(reverse("case-presence", args=[case.pk]), {"leave": "1"}).status_code == 204
    assert "Kim Park" not in agent_client.post(reverse("case-presence", args=[case.pk])).content.decode()
    presence.touch(case_id=case.pk, user=colleague, typing=False, now=time.time() - 60)
    assert "Kim Park" not in agent_client.post(reverse("case-presence", args=[case.pk])).content.decode()


def test_approvals_page_approve_and_reject(client, case, service_agent):
    case.intent = Intent.PRESS
    case.save()
    reply = Reply.objects.create(case=case, text="Our media team will DM you.", author=service_agent,
                                 status=ReplyStatus.AWAITING_APPROVAL, approval_reason="Press case")
    lead = MembershipFactory(user=UserFactory(username="lead"), department=department("service"), role=Role.LEAD).user
    client.force_login(service_agent)
    assert "Nothing waits for your approval." in client.get(reverse("reply-approvals")).content.decode()
    assert client.post(reverse("reply-approve", args=[reply.pk]), {"text": "x"}).status_code == 403
    client.force_login(lead)
    assert "Our media team will DM you." in client.get(reverse("reply-approvals")).content.decode()
    response = client.post(reverse("reply-reject", args=[reply.pk]), {"reason": ""})
    assert response.status_code == 400 and "Say what the author should change." in response.content.decode()
    response = client.post(reverse("reply-approve", args=[reply.pk]), {"text": "Our media team will DM you today."})
    assert response.status_code == 302
    reply.refresh_from_db()
    assert (reply.status, reply.text) == (ReplyStatus.QUEUED, "Our media team will DM you today.")


def test_canned_responses_are_managed_by_leads_only(client, service_agent):
    client.force_login(service_agent)
    assert client.get(reverse("canned-list")).status_code == 403
    assert client.post(reverse("canned-create"), {}).status_code == 403
    lead = MembershipFactory(user=UserFactory(username="lead"), department=department("service"), role=Role.LEAD).user
    client.force_login(lead)
    response = client.post(reverse("canned-create"), {"department": department("service").pk, "assessment": "",
                                                      "title": "Hello", "text": "Hi {{ frist_name }}",
                                                      "is_active": "on"})
    assert response.status_code == 400 and "Unknown field(s): frist_name." in response.content.decode()
    response = client.post(reverse("canned-create"), {"department": department("sales").pk, "title": "x",
                                                      "text": "y", "assessment": ""})
    assert response.status_code == 400  # not a department they lead
    response = client.post(reverse("canned-create"), {"department": department("service").pk, "assessment": "",
                                                      "title": "Hello", "text": "Hi {{ first_name }}",
                                                      "is_active": "on"})
    assert response.status_code == 302
    canned = CannedResponse.objects.get()
    assert canned.updated_by == lead
    assert client.post(reverse("canned-delete", args=[canned.pk])).status_code == 302
    assert not CannedResponse.objects.exists()


def test_a_failed_reply_is_shown_on_the_case_and_can_be_sent_again(agent_client, case, service_agent):
    reply = Reply.objects.create(case=case, text="Sorry Rita, on it.", author=service_agent, status=ReplyStatus.FAILED,
                                 attempts=5, last_error="X answered 503: Service Unavailable", connector="x")
    html = agent_client.get(reverse("case-detail", args=[case.pk])).content.decode()
    assert "Not sent after 5 attempts: X answered 503: Service Unavailable" in html
    assert reverse("reply-resend", args=[reply.pk]) in html
    assert agent_client.post(reverse("reply-resend", args=[reply.pk])).status_code == 302
    reply.refresh_from_db()
    assert (reply.status, reply.attempts) == (ReplyStatus.QUEUED, 0)
