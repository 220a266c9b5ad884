"""Rollups kept current: services mark the days they change, one coalesced task on the `rollups`
queue recomputes them, and the result equals a rebuild from scratch."""

from datetime import timedelta

import pytest
from django.utils import timezone

from feedback import dispatch, pipeline
from feedback.board import rollups, selectors, upkeep
from feedback.board.models import RollupDirtyDay
from feedback.cases import journey, problems
from feedback.cases import services as case_services
from feedback.choices import MentionStatus
from feedback.sla import clocks as sla
from teams.models import Role
from tests.factories import CaseFactory, MembershipFactory, MentionFactory, SlaClockFactory, UserFactory, department

pytestmark = pytest.mark.django_db


def _comparable(data: dict) -> dict:
    return {key: value for key, value in data.items() if key not in ("period",)}


def test_case_work_is_refreshed_by_one_coalesced_task(seeded, rollup_queue, task_queue,
                                                      django_capture_on_commit_callbacks):
    rollups.rebuild()
    service, sales = department("service"), department("sales")
    lead = MembershipFactory(user=UserFactory(username="svc-lead"), department=service, role=Role.LEAD).user
    taker = MembershipFactory(user=UserFactory(username="sales-lead"), department=sales, role=Role.LEAD).user
    now = timezone.now()
    case = CaseFactory(department=service, created_at=now - timedelta(hours=3))
    clock = SlaClockFactory(case=case, due_at=now - timedelta(hours=1), warn_at=now - timedelta(hours=2),
                            next_escalation_at=now - timedelta(hours=2))
    period = selectors.period_of(days=7)
    before = selectors.dashboard(period=period)

    with django_capture_on_commit_callbacks(execute=True):
        sla.escalate_due(now=now)
    with django_capture_on_commit_callbacks(execute=True):
        case_services.record_reply(case=case, by=lead, text="We are on it.", now=now)
    with django_capture_on_commit_callbacks(execute=True):
        handoff = case_services.hand_off(case=case, to_department=sales, note="A sales promise", by=lead, now=now)
    with django_capture_on_commit_callbacks(execute=True):
        journey.accept_handoff(handoff=handoff, by=taker, now=now + timedelta(minutes=25))
    case.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        journey.send_feedback(case=case, to_department=service, text="Tell marketing", by=taker, now=now)
    with django_capture_on_commit_callbacks(execute=True):
        problems.link_case(case=case, by=taker, title="Upgrade promised, never given", now=now)

    sent = rollup_queue.sent()
    assert sent == [(dispatch.REFRESH_ROLLUPS, [])], "one message for the burst: the day stayed marked"
    assert not [name for name, _ in task_queue.sent() if name == dispatch.REFRESH_ROLLUPS]  # not on the mentions' queue
    assert rollup_queue.run() == [(dispatch.REFRESH_ROLLUPS, [])]
    assert not RollupDirtyDay.objects.exists()

    live = selectors.dashboard(period=period)
    assert live["response"]["escalations"][2] == before["response"]["escalations"][2] + 1
    assert live["handoffs"]["handoffs"] == before["handoffs"]["handoffs"] + 1
    assert live["handoffs"]["notes"] == before["handoffs"]["notes"] + 1
    assert clock.escalations.filter(level=2).exists()
    rollups.rebuild()
    assert _comparable(live) == _comparable(selectors.dashboard(period=period))


@pytest.mark.rules_engine
def test_processed_mentions_reach_the_rollups(promises, rollup_queue, django_capture_on_commit_callbacks):
    rollups.rebuild()
    period = selectors.period_of(days=7)
    assert selectors.dashboard(period=period)["volume"]["mentions"] == 0
    mentions = [MentionFactory(external_id=f"live-{i}", posted_at=timezone.now() - timedelta(days=i), status=MentionStatus.RECEIVED,
                               text="@airline my flight was delayed three hours, again", raw={"location": "Austin, TX"})
                for i in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        assert pipeline.process_mentions(mention_ids=[m.pk for m in mentions]) == 3
    assert len(rollup_queue.sent()) == 1
    rollup_queue.run()
    data = selectors.dashboard(period=period)
    assert data["volume"]["mentions"] == 3
    live = _comparable(data)
    rollups.rebuild()
    assert live == _comparable(selectors.dashboard(period=period))


def test_a_refresh_leaves_marks_made_after_it_took_its_days(db):
    today = timezone.localdate()
    RollupDirtyDay.objects.create(day=today)
    count, seconds = upkeep.refresh_totals()
    refreshed, more = rollups.refresh_dirty()
    assert (refreshed, more) == (1, False)
    assert upkeep.refresh_totals()[0] == count + 1 and upkeep.refresh_totals()[1] >= seconds  # what the bench reads
    RollupDirtyDay.objects.create(day=today)  # a writer that committed after the refresh took the day
    assert RollupDirtyDay.objects.count() == 1
    assert rollups.refresh_dirty() == (1, False)


def test_upkeep_can_be_switched_off(db, settings, rollup_queue, django_capture_on_commit_callbacks):
    settings.BATON_ROLLUPS_LIVE = False
    lead = MembershipFactory(department=department("service"), role=Role.LEAD).user
    case = CaseFactory(department=department("service"), created_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        case_services.record_reply(case=case, by=lead, text="Hello")
    assert not RollupDirtyDay.objects.exists()
    assert rollup_queue.sent() == []
