from datetime import UTC, datetime

import pytest

from feedback.choices import CaseStatus, ClockMetric, EventKind, Intent, MentionStatus
from feedback.models import Case, CaseEvent, Mention, SlaClock
from feedback.services.ingest import store_mention
from feedback.services.pipeline import process_mention, retry_failed

pytestmark = pytest.mark.django_db

POSTED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _store(text, external_id="1", handle="dana", **extra):
    mention, _ = store_mention(source="x", external_id=external_id, text=text, posted_at=POSTED,
                               author_handle=handle, enqueue=False, **extra)
    return mention


def test_complaint_becomes_a_service_case_with_clocks_and_timeline():
    mention = _store("@airline my flight is delayed for the third time, unacceptable")
    process_mention(mention_id=mention.pk)
    mention.refresh_from_db()
    assert mention.status == MentionStatus.PROCESSED
    assert mention.intent == Intent.COMPLAINT
    assert mention.sentiment < 0
    assert mention.customer.stage == "prospect"
    case = mention.case
    assert case.department.slug == "service"
    assert case.status == CaseStatus.NEW
    assert set(SlaClock.objects.filter(case=case).values_list("metric", flat=True)) == {
        ClockMetric.FIRST_REPLY, ClockMetric.RESOLUTION,
    }
    assert list(CaseEvent.objects.filter(case=case).values_list("kind", flat=True)) == [
        EventKind.CREATED, EventKind.MENTION,
    ]


def test_second_post_from_same_customer_attaches_to_the_open_case():
    first = _store("@airline my bag is lost, still waiting", external_id="1")
    second = _store("@airline still waiting on that lost bag!!", external_id="2")
    process_mention(mention_id=first.pk)
    process_mention(mention_id=second.pk)
    assert Case.objects.count() == 1
    assert Mention.objects.filter(case__isnull=False).count() == 2


def test_processing_twice_does_nothing_twice():
    mention = _store("@airline my flight is delayed")
    process_mention(mention_id=mention.pk)
    process_mention(mention_id=mention.pk)
    assert Case.objects.count() == 1
    assert CaseEvent.objects.filter(kind=EventKind.MENTION).count() == 1


def test_spam_is_monitored_without_a_case():
    mention = _store("check out my channel and subscribe to my videos http://spam.example")
    process_mention(mention_id=mention.pk)
    mention.refresh_from_db()
    assert mention.intent == Intent.SPAM_TROLL
    assert mention.case is None
    assert mention.status == MentionStatus.PROCESSED


def test_failure_is_kept_on_the_mention_and_can_be_retried(monkeypatch, django_capture_on_commit_callbacks):
    mention = _store("@airline where is my refund")

    def boom(text):
        raise RuntimeError("model exploded")

    monkeypatch.setattr("feedback.services.pipeline.understand_text", boom)
    assert process_mention(mention_id=mention.pk) is None
    mention.refresh_from_db()
    assert mention.status == MentionStatus.FAILED
    assert "model exploded" in mention.error
    assert mention.attempts == 1

    monkeypatch.undo()
    with django_capture_on_commit_callbacks() as callbacks:
        assert retry_failed() == 1
    assert len(callbacks) == 1
    process_mention(mention_id=mention.pk)
    mention.refresh_from_db()
    assert mention.status == MentionStatus.PROCESSED
    assert mention.attempts == 2


def test_retry_command_requeues_failed_and_rejects_unknown_ids(django_capture_on_commit_callbacks):
    from django.core.management import CommandError, call_command

    mention = _store("@airline broken seat", external_id="9")
    Mention.objects.filter(pk=mention.pk).update(status=MentionStatus.FAILED, error="boom")
    with pytest.raises(CommandError) as excinfo:
        call_command("retry_failed_mentions", "--id", str(mention.pk + 1000))
    assert excinfo.value.returncode == 2
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        call_command("retry_failed_mentions", "--id", str(mention.pk))
    assert len(callbacks) == 1
    assert Mention.objects.get(pk=mention.pk).status == MentionStatus.RECEIVED
