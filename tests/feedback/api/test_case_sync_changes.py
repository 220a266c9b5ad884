"""An incremental sync of cases (`GET /api/v1/cases/?updated_since=`) sees every change the API shows, including
those written in bulk (`.update()`, `bulk_update()`), which Django's auto_now never stamps: the inbox's bulk
actions, the SLA sweep, the flood guard, merge, erasure and retention."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from feedback.cases.actions import bulk_apply
from feedback.cases.models import Case
from feedback.cases.services import attach_mention
from feedback.choices import Intent, Priority
from feedback.linking.services import anonymise_old_mentions, erase_customer, merge_customers
from feedback.sla import clocks as sla
from tests.factories import (
    CaseFactory,
    CustomerFactory,
    MembershipFactory,
    MentionFactory,
    SlaClockFactory,
    UserFactory,
    department,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_settle(settings):
    settings.BATON_API_SYNC_SETTLE_SECONDS = 0


def _synced_long_ago() -> timezone.datetime:
    """Every case as last synced an hour ago; returns the moment the next incremental sync starts from."""
    Case.objects.update(updated_at=timezone.now() - timedelta(hours=1))
    return timezone.now()


def _changed_since(client, since) -> dict[int, dict]:
    rows, cursor = [], None
    while True:
        params = {"updated_since": since.isoformat(), "page_size": 2, **({"cursor": cursor} if cursor else {})}
        body = client.get("/api/v1/cases/", params).json()
        rows += body["results"]
        cursor = body["next_cursor"]
        if not body["has_more"]:
            return {row["id"]: row for row in rows}


def test_bulk_inbox_actions_are_synced(crm_client):
    lead = MembershipFactory(user=UserFactory(), department=department("service"), role="lead").user
    cases = [CaseFactory(status="open") for _ in range(3)]
    since = _synced_long_ago()
    result = bulk_apply(case_ids=[cases[0].pk, cases[1].pk], action="priority", by=lead, priority=Priority.URGENT)
    assert sorted(result.done) == [cases[0].pk, cases[1].pk]
    changed = _changed_since(crm_client, since)
    assert set(changed) == {cases[0].pk, cases[1].pk}
    assert {row["priority"] for row in changed.values()} == {"urgent"}


def test_the_sla_sweeps_escalations_are_synced(crm_client):
    clock = SlaClockFactory(case=CaseFactory(status="open", priority=Priority.NORMAL))
    untouched = CaseFactory(status="open")
    since = _synced_long_ago()
    assert sla.escalate_due(now=clock.due_at + timedelta(minutes=1)) >= 1  # the warning, then the breach
    sla.escalate_due(now=clock.due_at + timedelta(minutes=1))
    changed = _changed_since(crm_client, since)
    assert set(changed) == {clock.case_id} and untouched.pk not in changed
    assert changed[clock.case_id]["escalation_level"] >= 1


def test_a_breach_raising_the_priority_is_synced(crm_client):
    clock = SlaClockFactory(case=CaseFactory(status="open", priority=Priority.NORMAL, escalation_level=1),
                            next_level=2)
    clock.next_escalation_at = clock.due_at
    clock.save()
    since = _synced_long_ago()
    assert sla.escalate_due(now=clock.due_at + timedelta(minutes=1)) >= 1
    row = _changed_since(crm_client, since)[clock.case_id]
    assert (row["escalation_level"], row["priority"]) == (2, "high")


def test_the_flood_guards_tag_is_synced(crm_client, settings):
    settings.BATON_CASE_FLOOD_MENTIONS, settings.BATON_CASE_FLOOD_MINUTES = 2, 10
    customer, now = CustomerFactory(), timezone.now()

    def post(minute):
        at = now + timedelta(minutes=minute)
        mention = MentionFactory(customer=customer, author_handle="bot", received_at=at, posted_at=at)
        with transaction.atomic():
            case, _ = attach_mention(mention=mention, customer=customer, department=department("service"),
                                     priority=Priority.NORMAL, intent=Intent.COMPLAINT, now=at)
            mention.save(update_fields=["case"])  # as the pipeline saves it
        return case

    case = post(0)
    post(1)
    since = _synced_long_ago()
    post(2)  # held back: the case is tagged, nothing else about it changes
    assert _changed_since(crm_client, since)[case.pk]["tags"] == ["possible-flood"]


def test_a_merge_moving_cases_is_synced(crm_client):
    survivor, merged = CustomerFactory(external_id="crm-keep"), CustomerFactory()
    moved, other = CaseFactory(customer=merged), CaseFactory(customer=survivor)
    since = _synced_long_ago()
    merge_customers(survivor=survivor, merged=merged)
    changed = _changed_since(crm_client, since)
    assert set(changed) == {moved.pk} and changed[moved.pk]["customer_external_id"] == "crm-keep"
    assert other.pk not in changed


def test_erasure_and_retention_are_synced(crm_client, settings):
    erased, kept = CaseFactory(subject="Dana's bag"), CaseFactory(subject="Old words")
    MentionFactory(customer=kept.customer, case=kept, text="Old words", posted_at=timezone.now() - timedelta(days=90))
    since = _synced_long_ago()
    erase_customer(customer=erased.customer)
    assert _changed_since(crm_client, since)[erased.pk]["subject"] == "[erased]"
    settings.BATON_MENTION_RETENTION_DAYS = 30
    since = _synced_long_ago()
    assert anonymise_old_mentions() == 1
    changed = _changed_since(crm_client, since)
    assert set(changed) == {kept.pk} and changed[kept.pk]["subject"] == "[removed by the retention policy]"


def test_a_clock_moving_the_inbox_order_is_no_change_for_the_sync(crm_client):
    """next_due_at is not in the API: refreshing it keeps updated_at, so a CRM is not sent unchanged rows."""
    clock = SlaClockFactory()
    since = _synced_long_ago()
    assert sla.refresh_next_due(case_ids=[clock.case_id]) == 1
    assert Case.objects.get(pk=clock.case_id).next_due_at == clock.due_at
    assert _changed_since(crm_client, since) == {}


def test_bulk_writes_stamp_updated_at_unless_told_to_keep_it():
    case = CaseFactory()
    long_ago = timezone.now() - timedelta(days=1)
    Case.objects.filter(pk=case.pk).update(updated_at=long_ago)
    assert Case.objects.get(pk=case.pk).updated_at == long_ago  # given: kept as given
    before = timezone.now()
    Case.objects.filter(pk=case.pk).update(subject="new words")
    assert Case.objects.get(pk=case.pk).updated_at >= before
    case.refresh_from_db()
    Case.objects.filter(pk=case.pk).update(updated_at=long_ago)
    case.tags = ["x"]
    Case.objects.bulk_update([case], ["tags"])
    assert Case.objects.get(pk=case.pk).updated_at >= before
