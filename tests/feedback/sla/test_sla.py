"""SLA clocks and the escalation sweep (feedback/sla/clocks.py, feedback/tasks.py: sla_sweep)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from feedback.cases.models import Case, CaseEvent
from feedback.choices import CaseStatus, ClockMetric, EventKind, Priority
from feedback.sla import clocks as sla
from feedback.sla.models import Escalation, SlaClock, SlaPolicy
from feedback.tasks import sla_sweep
from teams.models import Department
from tests.concurrency import run_at_once
from tests.factories import CaseFactory, SlaClockFactory, department

OPENED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
WARN = OPENED + timedelta(hours=3)  # SlaClockFactory: warning after 3 h, due after 4 h
DUE = OPENED + timedelta(hours=4)


def _levels(clock):
    return sorted(Escalation.objects.filter(clock=clock).values_list("level", flat=True))


def _escalation_events(case):
    return list(CaseEvent.objects.filter(case=case, kind=EventKind.ESCALATION).values_list("data", flat=True))


@pytest.mark.django_db
class TestStartClocks:
    def test_every_department_has_a_policy_per_priority(self):
        assert SlaPolicy.objects.count() == Department.objects.count() * len(Priority.values) == 28

    def test_clocks_follow_the_department_and_priority_policy(self):
        SlaPolicy.objects.filter(department=department("service"), priority=Priority.HIGH).update(
            first_reply_minutes=40, resolution_minutes=600
        )
        case = CaseFactory(priority=Priority.HIGH, created_at=OPENED)
        clocks = {clock.metric: clock for clock in sla.start_clocks(case=case, now=OPENED)}
        assert set(clocks) == {ClockMetric.FIRST_REPLY, ClockMetric.RESOLUTION}
        first, resolution = clocks[ClockMetric.FIRST_REPLY], clocks[ClockMetric.RESOLUTION]
        assert (first.started_at, first.due_at, first.warn_at) == (
            OPENED, OPENED + timedelta(minutes=40), OPENED + timedelta(minutes=30),  # warning at 75%
        )
        assert (resolution.due_at, resolution.warn_at) == (
            OPENED + timedelta(minutes=600), OPENED + timedelta(minutes=450),
        )
        assert SlaClock.objects.filter(case=case, stopped_at__isnull=True).count() == 2

    def test_seeded_policy_for_an_urgent_case(self):
        case = CaseFactory(priority=Priority.URGENT, department=department("sales"), created_at=OPENED)
        clocks = {clock.metric: clock for clock in sla.start_clocks(case=case, now=OPENED)}
        assert clocks[ClockMetric.FIRST_REPLY].due_at == OPENED + timedelta(hours=1)
        assert clocks[ClockMetric.RESOLUTION].due_at == OPENED + timedelta(hours=8)

    def test_without_a_policy_the_fallback_targets_apply(self):
        SlaPolicy.objects.filter(department=department("product"), priority=Priority.LOW).delete()
        case = CaseFactory(priority=Priority.LOW, department=department("product"), created_at=OPENED)
        clocks = {clock.metric: clock for clock in sla.start_clocks(case=case, now=OPENED)}
        assert clocks[ClockMetric.FIRST_REPLY].due_at == OPENED + timedelta(hours=24)
        assert clocks[ClockMetric.FIRST_REPLY].warn_at == OPENED + timedelta(hours=18)
        assert clocks[ClockMetric.RESOLUTION].due_at == OPENED + timedelta(days=7)

    def test_warning_share_comes_from_settings(self, settings):
        settings.BATON_SLA_WARN_SHARE = 0.5
        warn_at, due_at = sla.due_times(start=OPENED, minutes=60)
        assert (warn_at, due_at) == (OPENED + timedelta(minutes=30), OPENED + timedelta(minutes=60))

    def test_only_the_asked_metrics_start(self):
        case = CaseFactory(created_at=OPENED)
        clocks = sla.start_clocks(case=case, now=OPENED, metrics=[ClockMetric.RESOLUTION])
        assert [clock.metric for clock in clocks] == [ClockMetric.RESOLUTION]

    def test_stop_clocks_stops_only_the_named_metrics(self):
        case = CaseFactory(created_at=OPENED)
        sla.start_clocks(case=case, now=OPENED)
        assert sla.stop_clocks(case=case, metrics=[ClockMetric.FIRST_REPLY], now=WARN) == 1
        assert sla.stop_clocks(case=case, metrics=[ClockMetric.FIRST_REPLY], now=DUE) == 0  # already stopped
        assert dict(SlaClock.objects.filter(case=case).values_list("metric", "stopped_at")) == {
            ClockMetric.FIRST_REPLY: WARN, ClockMetric.RESOLUTION: None,
        }


@pytest.mark.django_db
class TestEscalateDue:
    def test_a_clock_past_due_is_escalated_once_to_level_2(self):
        clock = SlaClockFactory(case=CaseFactory(priority=Priority.NORMAL, created_at=OPENED))
        assert sla.escalate_due(now=DUE + timedelta(minutes=1)) == 1
        escalation = Escalation.objects.get()
        assert (escalation.clock, escalation.level) == (clock, sla.LEVEL_BREACH)
        clock.refresh_from_db()
        assert clock.breached_at == DUE + timedelta(minutes=1)
        assert clock.warned_at is None  # a breach is not also reported as a warning
        case = Case.objects.get()
        assert case.escalation_level == 2
        assert case.priority == Priority.HIGH  # one step up
        [event] = CaseEvent.objects.filter(case=case)
        assert event.kind == EventKind.ESCALATION
        assert event.data == {"level": 2, "metric": "first_reply", "due_at": DUE.isoformat()}

    def test_running_the_sweep_twice_gives_one_row_per_level(self):
        clock = SlaClockFactory(case=CaseFactory(priority=Priority.NORMAL, created_at=OPENED))
        assert sla.escalate_due(now=DUE) == 1
        assert sla.escalate_due(now=DUE + timedelta(minutes=1)) == 0
        assert sla.escalate_due(now=DUE + timedelta(days=3)) == 1  # level 3: half the target again
        assert sla.escalate_due(now=DUE + timedelta(days=4)) == 0
        assert _levels(clock) == [2, 3]
        assert len(_escalation_events(clock.case)) == 2
        clock.case.refresh_from_db()
        assert clock.case.priority == Priority.HIGH  # raised once, not once per sweep

    def test_warning_fires_once_at_warn_at_then_breach_once_at_due(self):
        clock = SlaClockFactory(case=CaseFactory(priority=Priority.NORMAL, created_at=OPENED))
        assert sla.escalate_due(now=WARN - timedelta(seconds=1)) == 0
        assert sla.escalate_due(now=WARN) == 1
        assert sla.escalate_due(now=WARN + timedelta(minutes=30)) == 0
        assert _levels(clock) == [1]
        clock.refresh_from_db()
        assert clock.warned_at == WARN
        case = Case.objects.get()
        assert (case.escalation_level, case.priority) == (1, Priority.NORMAL)  # a warning does not raise priority

        assert sla.escalate_due(now=DUE) == 1
        assert sla.escalate_due(now=DUE + timedelta(hours=1)) == 0
        assert _levels(clock) == [1, 2]
        assert [event["level"] for event in _escalation_events(case)] == [1, 2]
        case.refresh_from_db()
        assert (case.escalation_level, case.priority) == (2, Priority.HIGH)

    def test_a_clock_left_past_due_by_a_full_batch_breaches_without_a_warning_first(self):
        clocks = [SlaClockFactory(case=CaseFactory(priority=Priority.NORMAL, created_at=OPENED)) for _ in range(3)]
        # The breach pass takes 2 of 3; the warning pass must not warn the third, which is already due.
        assert sla.escalate_due(now=DUE + timedelta(minutes=1), limit=2) == 2
        assert sla.escalate_due(now=DUE + timedelta(minutes=2), limit=2) == 1
        assert [_levels(clock) for clock in clocks] == [[2], [2], [2]]

    def test_a_second_breached_clock_does_not_raise_the_case_again(self):
        case = CaseFactory(priority=Priority.NORMAL, created_at=OPENED)
        SlaClockFactory(case=case)
        SlaClockFactory(case=case, metric=ClockMetric.RESOLUTION, due_at=DUE + timedelta(hours=1),
                        warn_at=DUE + timedelta(minutes=30))
        assert sla.escalate_due(now=DUE) == 1
        assert sla.escalate_due(now=DUE + timedelta(hours=1)) == 1  # the breach; its warning is skipped
        case.refresh_from_db()
        assert (case.escalation_level, case.priority) == (2, Priority.HIGH)
        assert sorted(Escalation.objects.values_list("level", flat=True)) == [2, 2]

    def test_stopped_clocks_are_not_escalated(self):
        case = CaseFactory(created_at=OPENED)
        SlaClockFactory(case=case, stopped_at=OPENED + timedelta(minutes=20))
        assert sla.escalate_due(now=DUE + timedelta(days=1)) == 0
        assert not Escalation.objects.exists()
        case.refresh_from_db()
        assert (case.escalation_level, case.priority) == (0, Priority.NORMAL)
        assert _escalation_events(case) == []

    def test_a_clock_not_yet_due_is_left_alone(self):
        SlaClockFactory(case=CaseFactory(created_at=OPENED))
        assert sla.escalate_due(now=OPENED + timedelta(hours=1)) == 0
        assert not Escalation.objects.exists()

    def test_an_urgent_case_stays_urgent(self):
        SlaClockFactory(case=CaseFactory(priority=Priority.URGENT, created_at=OPENED))
        sla.escalate_due(now=DUE)
        assert Case.objects.get().priority == Priority.URGENT

    def test_two_clocks_of_one_case_breaching_together_raise_priority_once(self):
        case = CaseFactory(priority=Priority.LOW, created_at=OPENED)
        SlaClockFactory(case=case, metric=ClockMetric.FIRST_REPLY)
        SlaClockFactory(case=case, metric=ClockMetric.RESOLUTION)
        assert sla.escalate_due(now=DUE) == 2
        case.refresh_from_db()
        assert case.priority == Priority.NORMAL
        assert len(_escalation_events(case)) == 2

    def test_a_batch_limit_leaves_the_rest_for_the_next_sweep(self):
        clocks = [SlaClockFactory(case=CaseFactory(created_at=OPENED + timedelta(minutes=i))) for i in range(3)]
        now = DUE + timedelta(hours=1)
        sla.escalate_due(now=now, limit=1)
        assert Escalation.objects.filter(level=2).count() == 1
        assert Escalation.objects.get(level=2).clock == clocks[0]  # the most overdue first
        for _ in range(3):
            sla.escalate_due(now=now, limit=1)
        assert sorted(Escalation.objects.filter(level=2).values_list("clock_id", flat=True)) == [c.pk for c in clocks]
        assert Escalation.objects.filter(level=2).count() == 3


@pytest.mark.django_db
class TestSweepTask:
    def test_sla_sweep_escalates_what_is_due_now(self):
        now = timezone.now()
        overdue = SlaClockFactory(
            case=CaseFactory(created_at=now - timedelta(hours=5)),
            started_at=now - timedelta(hours=5), warn_at=now - timedelta(hours=2), due_at=now - timedelta(hours=1),
        )
        warning = SlaClockFactory(
            case=CaseFactory(created_at=now - timedelta(hours=1)),
            started_at=now - timedelta(hours=1), warn_at=now - timedelta(minutes=1), due_at=now + timedelta(hours=1),
        )
        fresh = SlaClockFactory(
            case=CaseFactory(created_at=now), started_at=now,
            warn_at=now + timedelta(hours=3), due_at=now + timedelta(hours=4),
        )
        assert sla_sweep.run() == 2
        assert (_levels(overdue), _levels(warning), _levels(fresh)) == ([2], [1], [])
        assert sla_sweep.apply().get() == 0  # the beat firing again changes nothing

    def test_a_full_batch_requeues_the_sweep_until_the_backlog_drains(self, settings, task_queue):
        settings.BATON_SWEEP_BATCH = 1
        now = timezone.now()
        clocks = [
            SlaClockFactory(
                case=CaseFactory(created_at=now - timedelta(hours=5)), started_at=now - timedelta(hours=5),
                warn_at=now - timedelta(hours=2), due_at=now - timedelta(hours=1, minutes=i),
            )
            for i in range(3)
        ]
        assert sla_sweep.run() == 1  # one breach fills the batch (no warning for a clock already due)
        # The full batch re-queued the sweep through the broker; each re-queued sweep drains one more.
        ran = task_queue.run()
        assert [name for name, _ in ran] == ["feedback.tasks.sla_sweep"] * 3  # two breaches, then an empty batch
        for clock in clocks:
            assert Escalation.objects.filter(clock=clock, level=2).count() == 1
        assert Case.objects.filter(escalation_level=2).count() == 3


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_escalate_each_clock_exactly_once():
    now = DUE + timedelta(minutes=5)
    breached = [SlaClockFactory(case=CaseFactory(created_at=OPENED)) for _ in range(15)]
    warned = [
        SlaClockFactory(case=CaseFactory(created_at=OPENED), warn_at=now - timedelta(minutes=1),
                        due_at=now + timedelta(hours=1))
        for _ in range(15)
    ]
    sweeps = 4
    counts, errors = run_at_once(lambda: sla.escalate_due(now=now), sweeps)

    assert errors == []
    assert sum(counts) == 30
    assert sorted(Escalation.objects.values_list("clock_id", "level")) == sorted(
        [(clock.pk, 2) for clock in breached] + [(clock.pk, 1) for clock in warned]
    )
    for clock in breached + warned:
        assert CaseEvent.objects.filter(case_id=clock.case_id, kind=EventKind.ESCALATION).count() == 1
    assert set(Case.objects.filter(pk__in=[c.case_id for c in breached]).values_list("priority", flat=True)) == {
        Priority.HIGH
    }
    assert set(Case.objects.filter(pk__in=[c.case_id for c in warned]).values_list("priority", "status")) == {
        (Priority.NORMAL, CaseStatus.NEW)
    }
