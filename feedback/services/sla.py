"""SLA clocks and the escalation sweep.

Exactly-once escalation rests on two things: due clocks are taken with
`select_for_update(skip_locked=True)` inside one short transaction per batch, so two
sweeps never hold the same clock; and each (clock, level) is a row under a unique
constraint, so a re-run or a crashed worker can never escalate twice.
"""

from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from feedback.choices import ClockMetric, EventKind
from feedback.defaults import SLA_TARGETS
from feedback.models import Case, CaseEvent, Escalation, SlaClock, SlaPolicy
from feedback.services.routing import raise_priority
from teams.models import Department

# Used when a department has no policy for a priority: (first reply, resolution) minutes.
FALLBACK_TARGETS = SLA_TARGETS

LEVEL_WARNING = 1
LEVEL_BREACH = 2


def ensure_default_policies() -> int:
    """Give every department a policy for each priority it lacks. Returns how many were created."""
    existing = set(SlaPolicy.objects.values_list("department_id", "priority"))
    missing = [
        SlaPolicy(department_id=department_id, priority=priority, first_reply_minutes=first,
                  resolution_minutes=resolution)
        for department_id in Department.objects.values_list("pk", flat=True)
        for priority, (first, resolution) in SLA_TARGETS.items()
        if (department_id, priority) not in existing
    ]
    SlaPolicy.objects.bulk_create(missing)
    return len(missing)


def policy_targets() -> dict[tuple[int, str], dict[str, int]]:
    """Targets of every policy, keyed by (department id, priority): one query for a whole batch."""
    return {
        (policy.department_id, policy.priority): {
            ClockMetric.FIRST_REPLY: policy.first_reply_minutes,
            ClockMetric.RESOLUTION: policy.resolution_minutes,
        }
        for policy in SlaPolicy.objects.all()
    }


def targets_for(*, department_id: int, priority: str, policies: dict | None = None) -> dict[str, int]:
    policies = policy_targets() if policies is None else policies
    if (department_id, priority) in policies:
        return policies[(department_id, priority)]
    first, resolution = FALLBACK_TARGETS[priority]
    return {ClockMetric.FIRST_REPLY: first, ClockMetric.RESOLUTION: resolution}


def due_times(*, start: datetime, minutes: int, warn_share: float | None = None) -> tuple[datetime, datetime]:
    """(warn_at, due_at) for a target in calendar minutes."""
    share = settings.BATON_SLA_WARN_SHARE if warn_share is None else warn_share
    target = timedelta(minutes=minutes)
    return start + target * share, start + target


def new_clocks(*, case: Case, now: datetime, metrics: list[str] | None = None,
               policies: dict | None = None) -> list[SlaClock]:
    """Unsaved clocks for a case, from its department's policy for its priority."""
    clocks = []
    targets = targets_for(department_id=case.department_id, priority=case.priority, policies=policies)
    for metric, minutes in targets.items():
        if metrics is not None and metric not in metrics:
            continue
        warn_at, due_at = due_times(start=now, minutes=minutes)
        clocks.append(SlaClock(case=case, metric=metric, started_at=now, warn_at=warn_at, due_at=due_at))
    return clocks


def start_clocks(*, case: Case, now: datetime, metrics: list[str] | None = None) -> list[SlaClock]:
    return SlaClock.objects.bulk_create(new_clocks(case=case, now=now, metrics=metrics))


def stop_clocks(*, case: Case, metrics: list[str], now: datetime) -> int:
    return SlaClock.objects.filter(case=case, metric__in=metrics, stopped_at__isnull=True).update(stopped_at=now)


def escalate_due(*, now: datetime | None = None, limit: int | None = None) -> int:
    """Escalate running clocks that passed their warning or due time. Returns rows escalated.

    Breaches first (level 2: lead's attention, priority up one step), then warnings (level 1).
    """
    now = now or timezone.now()
    limit = limit or settings.BATON_SWEEP_BATCH
    done = _escalate_batch(
        level=LEVEL_BREACH, due=Q(breached_at__isnull=True, due_at__lte=now), order="due_at", mark="breached_at", now=now, limit=limit
    )
    done += _escalate_batch(
        level=LEVEL_WARNING,
        # A clock already past due breaches instead (next sweep, if this one's batch was full).
        due=Q(warned_at__isnull=True, warn_at__lte=now, breached_at__isnull=True, due_at__gt=now),
        order="warn_at",
        mark="warned_at",
        now=now,
        limit=limit,
    )
    return done


def _escalate_batch(*, level: int, due: Q, order: str, mark: str, now: datetime, limit: int) -> int:
    with transaction.atomic():
        clocks = list(
            SlaClock.objects.select_for_update(skip_locked=True)
            .filter(due, stopped_at__isnull=True)
            .order_by(order)
            .only("id", "case_id", "metric", "due_at", "warn_at")[:limit]
        )
        if not clocks:
            return 0
        ids = [clock.id for clock in clocks]
        already = set(Escalation.objects.filter(clock_id__in=ids, level=level).values_list("clock_id", flat=True))
        fresh = [clock for clock in clocks if clock.id not in already]
        Escalation.objects.bulk_create(
            [Escalation(clock_id=clock.id, level=level, created_at=now) for clock in fresh], ignore_conflicts=True
        )
        SlaClock.objects.filter(id__in=ids).update(**{mark: now})
        CaseEvent.objects.bulk_create(
            [
                CaseEvent(
                    case_id=clock.case_id,
                    kind=EventKind.ESCALATION,
                    created_at=now,
                    data={"level": level, "metric": clock.metric, "due_at": clock.due_at.isoformat()},
                )
                for clock in fresh
            ]
        )
        _raise_cases(case_ids={clock.case_id for clock in fresh}, level=level)
    return len(fresh)


def _raise_cases(*, case_ids: set[int], level: int) -> None:
    """Record the level on each case. The first breach of a case also raises its priority one
    step; a second clock of the same case breaching does not raise it again."""
    if not case_ids:
        return
    rising = Case.objects.filter(id__in=case_ids, escalation_level__lt=level)
    if level >= LEVEL_BREACH:
        by_priority = defaultdict(list)
        for case_id, priority in rising.values_list("id", "priority"):
            by_priority[priority].append(case_id)
        for priority, ids in by_priority.items():
            raised = raise_priority(priority)
            if raised != priority:
                Case.objects.filter(id__in=ids).update(priority=raised)
    rising.update(escalation_level=level)
