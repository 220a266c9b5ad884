"""A reply Baton posts on X comes back: X's webhook delivers the brand's own post (a brand reply). The case timeline
shows that reply once, whichever is recorded first: Baton's record of the post, or the platform's echo. The echo
comes first when the worker that posted died before recording it (the stuck-sending sweep finds the post later)
or was merely slower than the webhook."""

import json
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import override_settings
from django.utils import timezone

from customers.models import TimelineEntry
from feedback.cases.models import CaseEvent
from feedback.choices import CaseStatus, ClockMetric, EventKind, Intent
from feedback.intake.models import Account
from feedback.replies import services
from feedback.replies.connectors import XConnector
from feedback.replies.models import Reply, ReplyStatus
from feedback.replies.rules import CONSIDERATIONS
from feedback.sla import clocks as sla
from feedback.sla.models import SlaClock
from tests.factories import CaseFactory, CustomerFactory, MentionFactory
from tests.feedback.intake.webhooks.conftest import X_SECRET, x_signature

pytestmark = pytest.mark.django_db

MENTION_ID = "1460323737035677698"
POST_ID = "1500000000000000042"
TEXT = "Sorry Rita, I'm Dana from service: we are tracing your bag now."


@pytest.fixture
def case():
    now = timezone.now()
    case = CaseFactory(customer=CustomerFactory(name="Rita Flies"), created_at=now - timedelta(minutes=20),
                       intent=Intent.COMPLAINT)
    MentionFactory(case=case, customer=case.customer, source="x", external_id=MENTION_ID,
                   author_handle="ritaflies", text="@airline my bag is lost", posted_at=now - timedelta(minutes=20))
    sla.start_clocks(case=case, now=case.created_at)
    return case


@pytest.fixture
def x_account(platform):
    """One connected X account: its webhooks arrive signed with its consumer secret, and replies post with its
    token (to the fake X of `platform`)."""
    cache.clear()  # the webhooks' rate-limit counters
    account = Account(platform="x", slug="airline-x", handle="airline", platform_user_id="42")
    account.set_secret(X_SECRET)
    account.save()
    services.set_sending_token(account=account, token="oauth2-user-token-xyz")
    with override_settings(BATON_X_API_URL=platform.url):
        yield account
    cache.clear()


@pytest.fixture
def echo(client, task_queue, django_capture_on_commit_callbacks):
    """X's Account Activity webhook delivering the brand's own post `post_id` answering the customer's mention."""

    def _echo(post_id: str = POST_ID, text: str = f"@ritaflies {TEXT}"):
        body = json.dumps({"for_user_id": "42", "tweet_create_events": [{
            "created_at": timezone.now().strftime("%a %b %d %H:%M:%S +0000 %Y"), "id_str": post_id, "text": text,
            "in_reply_to_status_id_str": MENTION_ID, "in_reply_to_screen_name": "ritaflies",
            "user": {"id_str": "42", "screen_name": "airline", "name": "Airline"}, "is_quote_status": False,
        }]}).encode()
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/hooks/x/airline-x/", data=body, content_type="application/json",
                                   headers={"x-twitter-webhooks-signature": x_signature(body)})
        assert response.status_code == 200
        task_queue.run()

    return _echo


def _compose(case, by):
    return services.compose_reply(case=case, by=by, text=TEXT, considerations=[key for key, _ in CONSIDERATIONS])


def _replies(case):
    return list(CaseEvent.objects.filter(case=case, kind=EventKind.REPLY))


def _die_after_posting(reply):
    """A worker that claimed the reply and posted it, then died before recording it."""
    _claimed, _account, outgoing = services._claim(reply_id=reply.pk, now=timezone.now())
    XConnector().send(outgoing)
    Reply.objects.filter(pk=reply.pk).update(attempt_started_at=timezone.now() - timedelta(minutes=11))


def test_the_echo_of_a_post_the_sweep_recovers_is_one_reply_by_its_author(case, service_agent, x_account, platform,
                                                                         echo, task_queue,
                                                                         django_capture_on_commit_callbacks):
    platform.answer((201, {"data": {"id": POST_ID, "text": TEXT}}))
    reply = _compose(case, service_agent)
    _die_after_posting(reply)
    echo()  # X tells Baton about the post while the reply is still `sending`
    [seen] = _replies(case)
    assert (seen.actor, seen.data["via"]) == (None, "channel")
    case.refresh_from_db()
    first_replied = case.first_replied_at
    assert case.status == CaseStatus.OPEN and first_replied is not None

    platform.answer_get((200, {"data": [{"id": POST_ID, "text": f"@ritaflies {TEXT}",
                                         "referenced_tweets": [{"type": "replied_to", "id": MENTION_ID}]}]}))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.recover_stuck_sending() == [reply.pk]
    task_queue.run()  # the retry asks X, finds the post, records it
    reply.refresh_from_db()
    assert (reply.status, reply.platform_id) == (ReplyStatus.SENT, POST_ID)
    assert len(platform.seen("POST")) == 1

    [event] = _replies(case)  # once, not twice
    assert event.pk == seen.pk
    assert (event.actor, event.data["via"], event.data["reply_id"], event.data["external_id"]) == (
        service_agent, "baton", reply.pk, POST_ID)
    assert event.data["inbound_payload_id"] is not None  # the echo that saw it first stays traceable
    case.refresh_from_db()
    assert case.first_replied_at == first_replied
    assert SlaClock.objects.get(case=case, metric=ClockMetric.FIRST_REPLY).stopped_at == first_replied
    # The customer's timeline has the one line too, now naming the author.
    [line] = TimelineEntry.objects.filter(case_id=case.pk, kind="reply")
    assert line.ref_id == event.pk and line.actor == str(service_agent)
    # A later repeat of the webhook adds nothing.
    echo()
    assert len(_replies(case)) == 1


def test_the_echo_of_a_post_recorded_first_adds_nothing(case, service_agent, x_account, platform, echo):
    platform.answer((201, {"data": {"id": POST_ID, "text": TEXT}}))
    reply = _compose(case, service_agent)
    assert services.deliver_reply(reply_id=reply.pk) == "sent"
    echo()
    [event] = _replies(case)
    assert (event.actor, event.data["via"]) == (service_agent, "baton")


def test_a_brand_reply_written_on_x_itself_is_its_own_entry(case, service_agent, x_account, platform, echo):
    """Another post of the brand (a person answering on X directly) is not taken for Baton's reply."""
    platform.answer((201, {"data": {"id": POST_ID, "text": TEXT}}))
    services.deliver_reply(reply_id=_compose(case, service_agent).pk)
    echo(post_id="1500000000000000077", text="@ritaflies Found it: it is on the next flight.")
    assert sorted((event.data["via"], event.data["external_id"]) for event in _replies(case)) == [
        ("baton", POST_ID), ("channel", "1500000000000000077")]
