from datetime import UTC, datetime

import pytest

from feedback.cases.models import Case, CaseEvent
from feedback.choices import CaseStatus, ClockMetric, EventKind, Intent, MentionStatus
from feedback.intake.ingest import store_mention
from feedback.intake.models import Mention
from feedback.pipeline import process_mention, process_mentions, retry_failed
from feedback.routing.models import RoutingRule
from feedback.sla.models import SlaClock
from teams.models import Department

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


def test_failure_is_kept_on_the_mention_and_can_be_retried(django_capture_on_commit_callbacks):
    # A real misconfiguration: the department that ideas route to has been deleted.
    product = Department.objects.get(slug="product")
    product.delete()
    mention = _store("@airline you should add power outlets to every row")
    assert process_mention(mention_id=mention.pk) is None
    mention.refresh_from_db()
    assert mention.status == MentionStatus.FAILED
    assert "product" in mention.error
    assert mention.attempts == 1

    product = Department.objects.create(slug="product", name="Product")  # the fix: the department, and its rule's
    RoutingRule.objects.filter(name="Ideas: product").update(department=product)
    with django_capture_on_commit_callbacks() as callbacks:
        assert retry_failed() == 1
    assert len(callbacks) == 1
    process_mention(mention_id=mention.pk)
    mention.refresh_from_db()
    assert mention.status == MentionStatus.PROCESSED
    assert mention.case.department.slug == "product"
    assert mention.attempts == 2


def test_a_bad_mention_does_not_fail_its_batch():
    Department.objects.get(slug="product").delete()
    good = [_store(f"@airline my flight {i} is delayed again", external_id=f"g{i}", handle=f"p{i}") for i in range(3)]
    bad = _store("@airline you should add power outlets to every row", external_id="bad", handle="ideas")
    assert process_mentions(mention_ids=[m.pk for m in [*good, bad]]) == 3
    assert set(Mention.objects.filter(status=MentionStatus.PROCESSED).values_list("external_id", flat=True)) == {
        "g0", "g1", "g2",
    }
    assert Mention.objects.get(pk=bad.pk).status == MentionStatus.FAILED


def test_batch_with_one_customer_twice_opens_one_case_per_department():
    mentions = [
        _store("@airline my bag is lost, still waiting", external_id="b1", handle="Kim"),
        _store("@airline still waiting on that lost bag", external_id="b2", handle="@kim"),
        _store("@airline I want a refund for the lost bag", external_id="b3", handle="kim"),
    ]
    assert process_mentions(mention_ids=[m.pk for m in mentions]) == 3
    cases = Case.objects.order_by("department__slug")
    assert [(case.department.slug, case.mentions.count()) for case in cases] == [("after-sales", 1), ("service", 2)]
    assert SlaClock.objects.count() == 4
    assert len({m.customer_id for m in Mention.objects.all()}) == 1


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


def test_worker_task_takes_waiting_mentions_into_its_batch():
    from feedback.tasks import process_mention as process_mention_task

    mentions = [_store(f"@airline where is my bag {i}?", external_id=f"w{i}", handle=f"w{i}") for i in range(5)]
    process_mention_task.run(mentions[2].pk)
    assert Mention.objects.filter(status=MentionStatus.PROCESSED).count() == 5
    process_mention_task.run(mentions[0].pk)  # its own message arrives later: nothing left to do
    assert Case.objects.count() == 5
