"""The brand's own replies on the channel, on every path `services._brand_reply` takes: a parent
not processed yet (retried, then quarantined after MAX_PARSE_ATTEMPTS), a parent whose case is
closed, a parent that made no case, and a post Baton never saw."""

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from feedback.cases.models import CaseEvent
from feedback.cases.services import change_status
from feedback.choices import CaseStatus, ClockMetric, EventKind, Intent, MentionStatus
from feedback.intake.ingest import store_mention
from feedback.intake.models import InboundPayload, Mention
from feedback.intake.webhooks.services import MAX_PARSE_ATTEMPTS
from feedback.pipeline import process_mention
from feedback.sla.models import SlaClock
from feedback.tasks import recover_inbound_payloads

from .conftest import fixture_bytes

pytestmark = pytest.mark.django_db

MENTION_ID = "1991234567890123456"  # the customer's tweet that brand_reply.json answers
REPLY_ID = "1991234567890155555"
REPLY_POSTED = datetime(2026, 11, 18, 9, 40, 10, tzinfo=UTC)


def _unprocessed_parent(text="@SkyJet my flight SJ210 is delayed, unacceptable") -> Mention:
    mention, created = store_mention(source="x", external_id=MENTION_ID, text=text, author_handle="danaflies",
                                     posted_at=datetime(2026, 11, 18, 9, 12, 44, tzinfo=UTC), enqueue=False)
    assert created and mention.status == MentionStatus.RECEIVED
    return mention


@pytest.fixture
def recover(settings, task_queue, django_capture_on_commit_callbacks):
    """One run of the recovery task (the beat runs it every 5 minutes), with every received payload
    old enough to be taken; the parse it enqueues goes through the broker and runs as a worker would."""

    def _recover() -> int:
        InboundPayload.objects.filter(status=InboundPayload.Status.RECEIVED).update(
            received_at=datetime.now(tz=UTC) - settings.BATON_RECOVER_AFTER - timedelta(minutes=1)
        )
        with django_capture_on_commit_callbacks(execute=True):
            taken = recover_inbound_payloads.apply().get()
        task_queue.run()
        return taken

    return _recover


def _replay(*args) -> str:
    out = io.StringIO()
    call_command("replay_quarantine", *args, stdout=out)
    return out.getvalue()


def _channel_replies():
    return CaseEvent.objects.filter(kind=EventKind.REPLY, data__via="channel")


def test_a_reply_waits_is_retried_and_after_12_attempts_is_quarantined_then_replayed(deliver_x, recover):
    assert MAX_PARSE_ATTEMPTS == 12
    parent = _unprocessed_parent()
    response = deliver_x(fixture_bytes("x/brand_reply.json"))

    assert response.status_code == 200
    payload = InboundPayload.objects.get()
    waiting_detail = (f"Brand replies wait for mention(s) [{parent.pk}] to be processed; "
                      "recover_inbound_payloads tries again.")
    assert (payload.status, payload.reason, payload.attempts) == ("received", "", 1)
    assert payload.detail == waiting_detail
    assert payload.result == {"replies_waiting": 1}

    for attempt in range(2, MAX_PARSE_ATTEMPTS):
        assert recover() == 1
        payload.refresh_from_db()
        assert (payload.status, payload.reason, payload.attempts) == ("received", "", attempt)
        assert payload.detail == waiting_detail

    assert recover() == 1  # the 12th attempt
    payload.refresh_from_db()
    assert (payload.status, payload.reason, payload.attempts) == ("quarantined", "reply_parent_pending", 12)
    assert payload.detail == (
        f"Mention(s) [{parent.pk}] were never processed, so the brand's replies to them could not be put on a "
        "case. Fix them (retry_failed_mentions), then replay this payload."
    )
    assert payload.result == {"replies_waiting": 1}
    assert payload.processed_at is None
    assert recover() == 0  # quarantined: the recovery task leaves it alone
    assert not _channel_replies().exists()
    assert Mention.objects.count() == 1  # the brand's tweet is never a mention

    # Replayed before the parent is fixed: still quarantined, for the same reason, nothing lost.
    assert "still quarantined: 1 (Reply to a mention never processed: 1)" in _replay("--id", str(payload.pk))
    payload.refresh_from_db()
    assert (payload.status, payload.reason, payload.attempts) == ("quarantined", "reply_parent_pending", 13)

    process_mention(mention_id=parent.pk)  # the fix
    parent.refresh_from_db()
    assert parent.status == MentionStatus.PROCESSED and parent.case.department.slug == "service"
    assert "processed: 1" in _replay("--reason-contains", "reply parent pending")
    payload.refresh_from_db()
    assert (payload.status, payload.reason, payload.detail, payload.attempts) == ("processed", "", "", 14)
    assert payload.result == {"replies_recorded": 1, "replayed_after": "reply_parent_pending"}
    assert payload.processed_at is not None and payload.processed_at >= payload.received_at
    reply = _channel_replies().get()
    assert (reply.case, reply.actor, reply.created_at) == (parent.case, None, REPLY_POSTED)
    assert reply.data["inbound_payload_id"] == payload.pk


def test_a_waiting_reply_is_recorded_by_the_recovery_once_its_mention_is_processed(deliver_x, recover):
    parent = _unprocessed_parent()
    deliver_x(fixture_bytes("x/brand_reply.json"))
    assert recover() == 1
    payload = InboundPayload.objects.get()
    assert (payload.status, payload.attempts) == ("received", 2)

    process_mention(mention_id=parent.pk)
    assert recover() == 1
    payload.refresh_from_db()
    assert (payload.status, payload.reason, payload.detail, payload.attempts) == ("processed", "", "", 3)
    assert payload.result == {"replies_recorded": 1}
    parent.refresh_from_db()
    assert _channel_replies().get().case == parent.case
    assert parent.case.first_replied_at == REPLY_POSTED
    assert recover() == 0


def test_a_reply_to_a_closed_case_goes_on_its_timeline_and_leaves_the_case_closed(deliver_x):
    deliver_x(fixture_bytes("x/tweet_create_mention.json"))
    case = Mention.objects.get().case
    resolved_at = datetime.now(tz=UTC)
    change_status(case=case, to=CaseStatus.RESOLVED, by=None, now=resolved_at)
    change_status(case=case, to=CaseStatus.CLOSED, by=None, now=resolved_at + timedelta(minutes=1))
    events_before = list(CaseEvent.objects.filter(case=case).order_by("id").values_list("kind", flat=True))
    clocks_before = {clock.metric: (clock.stopped_at, clock.due_at)
                     for clock in SlaClock.objects.filter(case=case)}

    body = fixture_bytes("x/brand_reply.json")
    assert deliver_x(body).status_code == 200
    assert deliver_x(body).status_code == 200  # the platform retried

    payloads = list(InboundPayload.objects.order_by("id"))
    assert [(p.status, p.reason, p.result) for p in payloads[1:]] == [
        ("processed", "", {"replies_recorded": 1}),
        ("processed", "", {"replies_already_recorded": 1}),
    ]
    case.refresh_from_db()
    # Recorded as the fact it is, without the reply service: no reopening, no clocks, no first reply.
    assert case.status == CaseStatus.CLOSED
    assert case.first_replied_at is None
    assert case.closed_at == resolved_at + timedelta(minutes=1)
    events = list(CaseEvent.objects.filter(case=case).order_by("id"))
    assert [event.kind for event in events] == [*events_before, EventKind.REPLY]
    reply = events[-1]
    assert (reply.actor, reply.created_at) == (None, REPLY_POSTED)
    assert reply.data == {
        "text": "@danaflies We're sorry about SJ210, Dana. Our team is looking into the delay now; please send us "
                "a DM with your booking reference. ^Priya",
        "via": "channel", "source": "x", "external_id": REPLY_ID, "in_reply_to": MENTION_ID,
        "url": f"https://x.com/SkyJet/status/{REPLY_ID}", "inbound_payload_id": payloads[1].pk,
    }
    assert {clock.metric: (clock.stopped_at, clock.due_at)
            for clock in SlaClock.objects.filter(case=case)} == clocks_before
    assert clocks_before[ClockMetric.FIRST_REPLY][0] == resolved_at  # stopped by the resolution, not the reply


def test_a_reply_to_a_post_baton_never_saw_is_counted_and_processed(deliver_x, recover):
    response = deliver_x(fixture_bytes("x/brand_reply.json"))

    assert response.status_code == 200
    payload = InboundPayload.objects.get()
    assert (payload.status, payload.reason, payload.detail, payload.attempts) == ("processed", "", "", 1)
    assert payload.result == {"replies_to_unknown_posts": 1}
    assert not Mention.objects.exists()
    assert not CaseEvent.objects.exists()
    assert recover() == 0  # nothing to wait for: never retried


def test_a_reply_to_a_mention_that_made_no_case_is_counted_and_processed(deliver_x, recover):
    spam = _unprocessed_parent("check out my channel and subscribe to my videos http://spam.example")
    process_mention(mention_id=spam.pk)
    spam.refresh_from_db()
    assert (spam.status, spam.intent, spam.case) == (MentionStatus.PROCESSED, Intent.SPAM_TROLL, None)

    deliver_x(fixture_bytes("x/brand_reply.json"))
    payload = InboundPayload.objects.get()
    assert (payload.status, payload.reason, payload.attempts) == ("processed", "", 1)
    assert payload.result == {"replies_to_mentions_without_case": 1}
    assert not CaseEvent.objects.exists()
    assert recover() == 0
