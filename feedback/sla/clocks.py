"""SLA clocks and the escalation sweep.

A clock stores what it was started with (target, warning share, calendar or business hours and
whose schedule), so a policy change applies to new clocks only. Clocks the customer waits on
pause while the case is pending and resume, with the time they had left, when it leaves pending.

Each clock carries its next escalation (`next_level`, `next_escalation_at`): 1 at the warning,
2 at the due time, 3 at the due time plus half the target again; 4 (the board) fires with 2 when
the case is urgent. The sweep is one range scan of a partial index on `next_escalation_at`, so
its cost follows due clocks, not open cases.

Exactly-once escalation rests on two things: due clocks are taken with
`select_for_update(skip_locked=True)` inside one short transaction per batch, so two sweeps
never hold the same clock; and each (clock, level) is a row under a unique constraint, so a
re-run or a crashed worker can never escalate twice. The sweep takes case locks through
`feedback.cases.locks` (customer, then case) but never waits for one: it skips cases a person is
changing right now, or whose customer is locked, so it cannot deadlock with the case services.
"""

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import F, Min, OuterRef, Subquery
from django.utils import timezone

from feedback.board import upkeep
from feedback.cases import events
from feedback.cases.crm_events import emit_breaches
from feedback.cases.locks import lock_cases
from feedback.cases.models import Case
from feedback.choices import CASE_CLOCKS, CUSTOMER_CLOCKS, CaseStatus, ClockMetric, Priority
from feedback.db import update_rows
from feedback.defaults import HANDOFF_ACCEPTANCE_TARGETS, NEXT_REPLY_TARGETS, SLA_TARGETS
from feedback.routing.services import raise_priority
from feedback.sla import notifications
from feedback.sla.models import Escalation, SlaClock, SlaPolicy
from teams import business_hours as bh
from teams.defaults import DEFAULT_WEEK
from teams.models import BusinessSchedule, Department

# Used when a department has no policy for a priority: (first reply, resolution) minutes.
FALLBACK_TARGETS = SLA_TARGETS

LEVEL_WARNING = 1
LEVEL_BREACH = 2
LEVEL_HEAD = 3
LEVEL_BOARD = 4


@dataclass(frozen=True)
class Policy:
    """What a clock is started with: minutes per metric, the warning share, calendar or business hours."""

    targets: dict
    warn_share: float
    business_hours: bool = False

    # Compatibility with callers that read the targets as a dict.
    def __getitem__(self, metric):
        return self.targets[metric]

    def items(self):
        return self.targets.items()


def _default_targets(priority: str) -> dict[str, int]:
    first, resolution = FALLBACK_TARGETS[priority]
    return {
        ClockMetric.FIRST_REPLY: first,
        ClockMetric.NEXT_REPLY: NEXT_REPLY_TARGETS[priority],
        ClockMetric.RESOLUTION: resolution,
        ClockMetric.HANDOFF_ACCEPTANCE: HANDOFF_ACCEPTANCE_TARGETS[priority],
    }


def ensure_default_policies() -> int:
    """Give every department a policy for each priority it lacks. Returns how many were created."""
    existing = set(SlaPolicy.objects.values_list("department_id", "priority"))
    missing = []
    for department_id in Department.objects.values_list("pk", flat=True):
        for priority in SLA_TARGETS:
            if (department_id, priority) in existing:
                continue
            targets = _default_targets(priority)
            missing.append(SlaPolicy(
                department_id=department_id, priority=priority,
                first_reply_minutes=targets[ClockMetric.FIRST_REPLY],
                resolution_minutes=targets[ClockMetric.RESOLUTION],
                next_reply_minutes=targets[ClockMetric.NEXT_REPLY],
                handoff_acceptance_minutes=targets[ClockMetric.HANDOFF_ACCEPTANCE],
                warn_share=settings.BATON_SLA_WARN_SHARE,
            ))
    SlaPolicy.objects.bulk_create(missing)
    return len(missing)


def _policy(policy: SlaPolicy) -> Policy:
    return Policy(
        targets={
            ClockMetric.FIRST_REPLY: policy.first_reply_minutes,
            ClockMetric.NEXT_REPLY: policy.next_reply_minutes,
            ClockMetric.RESOLUTION: policy.resolution_minutes,
            ClockMetric.HANDOFF_ACCEPTANCE: policy.handoff_acceptance_minutes,
        },
        warn_share=policy.warn_share,
        business_hours=policy.business_hours,
    )


def policy_targets() -> dict[tuple[int, str], Policy]:
    """Every policy, keyed by (department id, priority): one query for a whole batch."""
    return {(policy.department_id, policy.priority): _policy(policy) for policy in SlaPolicy.objects.all()}


def policy_for(*, department_id: int, priority: str, policies: dict | None = None) -> Policy:
    if policies is None:
        policy = SlaPolicy.objects.filter(department_id=department_id, priority=priority).first()
        if policy is not None:
            return _policy(policy)
    elif (department_id, priority) in policies:
        return policies[(department_id, priority)]
    return Policy(targets=_default_targets(priority), warn_share=settings.BATON_SLA_WARN_SHARE)


def targets_for(*, department_id: int, priority: str, policies: dict | None = None) -> dict[str, int]:
    return dict(policy_for(department_id=department_id, priority=priority, policies=policies).targets)


# --- Business hours -----------------------------------------------------------------------------

class _Closed:
    """Closed dates: custom ones plus a country's public holidays (computed per year on demand)."""

    def __init__(self, custom: frozenset[date], country: str, subdivision: str):
        self.custom = custom
        self.holidays = None
        if country:
            import holidays  # here, not at the top: 50 ms of country tables, for schedules that name a country

            self.holidays = holidays.country_holidays(country, subdiv=subdivision or None)

    def __contains__(self, day) -> bool:
        return day in self.custom or (self.holidays is not None and day in self.holidays)


_SCHEDULES: dict[tuple, bh.Schedule] = {}
_DEFAULT_SCHEDULE: dict[str, bh.Schedule] = {}


def default_schedule() -> bh.Schedule:
    """Business hours of a department without its own schedule: Monday to Friday 9-17, local time."""
    zone = settings.TIME_ZONE
    if zone not in _DEFAULT_SCHEDULE:
        _DEFAULT_SCHEDULE[zone] = bh.Schedule.from_config(week=DEFAULT_WEEK, tz=zone)
    return _DEFAULT_SCHEDULE[zone]


def schedules_for(department_ids) -> dict[int, bh.Schedule]:
    """The schedule of each department (the default one if it has none); two queries.

    Built schedules are cached per process, keyed by everything they are made of, so a worker
    reuses the per-day memo across sweeps and an edit is seen at once.
    """
    department_ids = set(department_ids)
    found: dict[int, bh.Schedule] = {}
    for row in BusinessSchedule.objects.filter(department_id__in=department_ids).prefetch_related("closed_days"):
        custom = frozenset(closed.date for closed in row.closed_days.all())
        key = (row.pk, row.time_zone, json.dumps(row.week, sort_keys=True), row.holiday_country,
               row.holiday_subdivision, custom)
        schedule = _SCHEDULES.get(key)
        if schedule is None:
            if len(_SCHEDULES) > 256:
                _SCHEDULES.clear()
            schedule = bh.Schedule(
                week=bh.parse_week(row.week), tz=ZoneInfo(row.time_zone),
                closed=_Closed(custom, row.holiday_country, row.holiday_subdivision),
            )
            _SCHEDULES[key] = schedule
        found[row.department_id] = schedule
    for department_id in department_ids - set(found):
        found[department_id] = default_schedule()
    return found


class _Time:
    """Calendar or business-hours arithmetic for one clock."""

    def __init__(self, schedule: bh.Schedule | None):
        self.schedule = schedule

    def add(self, start: datetime, minutes: float) -> datetime:
        if self.schedule is None:
            return bh.add_calendar_time(start, minutes)
        return bh.add_business_time(start, minutes, self.schedule)

    def between(self, a: datetime, b: datetime) -> float:
        if self.schedule is None:
            return bh.calendar_minutes_between(a, b)
        return bh.business_minutes_between(a, b, self.schedule)


def _time_of(clock: SlaClock, schedules: dict[int, bh.Schedule] | None = None) -> _Time:
    if not clock.business_hours:
        return _Time(None)
    schedules = schedules if schedules is not None else schedules_for([clock.department_id])
    return _Time(schedules.get(clock.department_id) or default_schedule())


# --- Clocks -------------------------------------------------------------------------------------

def due_times(*, start: datetime, minutes: int, warn_share: float | None = None,
              schedule: bh.Schedule | None = None) -> tuple[datetime, datetime]:
    """(warn_at, due_at) for a target in calendar minutes, or in open minutes of `schedule`."""
    share = settings.BATON_SLA_WARN_SHARE if warn_share is None else warn_share
    time = _Time(schedule)
    return time.add(start, minutes * share), time.add(start, minutes)


def new_clocks(*, case: Case, now: datetime, metrics: list[str] | None = None,
               policies: dict | None = None, schedules: dict | None = None) -> list[SlaClock]:
    """Unsaved clocks for a case, from its department's policy for its priority (by default the
    clocks every case starts with: first reply and resolution)."""
    policy = policy_for(department_id=case.department_id, priority=case.priority, policies=policies)
    schedule = None
    if policy.business_hours:
        schedules = schedules if schedules is not None else schedules_for([case.department_id])
        schedule = schedules.get(case.department_id) or default_schedule()
    paused = case.status == CaseStatus.PENDING
    clocks = []
    for metric in metrics if metrics is not None else CASE_CLOCKS:
        minutes = policy.targets[metric]
        warn_at, due_at = due_times(start=now, minutes=minutes, warn_share=policy.warn_share, schedule=schedule)
        pause = paused and metric in CUSTOMER_CLOCKS
        clocks.append(SlaClock(
            case=case, metric=metric, started_at=now, warn_at=warn_at, due_at=due_at,
            department_id=case.department_id, target_minutes=minutes, warn_share=policy.warn_share,
            business_hours=policy.business_hours, next_level=LEVEL_WARNING, next_escalation_at=warn_at,
            paused_at=now if pause else None, remaining_minutes=minutes if pause else None,
        ))
    return clocks


def start_clocks(*, case: Case, now: datetime, metrics: list[str] | None = None) -> list[SlaClock]:
    """Start the named clocks (by default first reply and resolution) from the policy of the case's
    department at this moment. A metric already running on the case is left as it is."""
    running = set(case.clocks.filter(stopped_at__isnull=True).values_list("metric", flat=True)) if case.pk else set()
    metrics = [metric for metric in (metrics if metrics is not None else CASE_CLOCKS) if metric not in running]
    if not metrics:
        return []
    clocks = SlaClock.objects.bulk_create(new_clocks(case=case, now=now, metrics=metrics))
    refresh_next_due(case_ids=[case.pk])
    return clocks


def start_next_reply_clocks(*, cases: list[tuple[Case, datetime]], policies: dict | None = None) -> int:
    """The customer wrote again on these cases, which already had a reply: the next public reply
    is due. A case whose next-reply clock is already running keeps it. Two queries per batch."""
    if not cases:
        return 0
    running = set(
        SlaClock.objects.filter(case_id__in=[case.pk for case, _ in cases], metric=ClockMetric.NEXT_REPLY,
                                stopped_at__isnull=True).values_list("case_id", flat=True)
    )
    clocks = []
    for case, now in cases:
        if case.pk not in running and case.is_open:
            clocks.extend(new_clocks(case=case, now=now, metrics=[ClockMetric.NEXT_REPLY], policies=policies))
    SlaClock.objects.bulk_create(clocks)
    refresh_next_due(case_ids=sorted({clock.case_id for clock in clocks}))
    return len(clocks)


def stop_clocks(*, case: Case, metrics: list[str], now: datetime) -> int:
    """The condition of these clocks is met: they stop (and will not escalate again)."""
    stopped = SlaClock.objects.filter(case=case, metric__in=metrics, stopped_at__isnull=True).update(stopped_at=now)
    if stopped:
        refresh_next_due(case_ids=[case.pk])
    return stopped


def pause_clocks(*, case: Case, now: datetime) -> int:
    """The case waits on the customer: its customer clocks stop counting and keep what was left."""
    clocks = list(case.clocks.filter(stopped_at__isnull=True, paused_at__isnull=True, metric__in=CUSTOMER_CLOCKS))
    schedules = _schedules_of(clocks)
    for clock in clocks:
        clock.paused_at = now
        clock.remaining_minutes = _time_of(clock, schedules).between(now, clock.due_at)
    SlaClock.objects.bulk_update(clocks, ["paused_at", "remaining_minutes"])
    if clocks:
        refresh_next_due(case_ids=[case.pk])
    return len(clocks)


def resume_clocks(*, case: Case, now: datetime) -> int:
    """The case is no longer pending: paused clocks count again from where they stopped. Every
    time of the clock moves by the (business) time the pause lasted, so it keeps what it had left
    (or its overdue time) and its next escalation."""
    clocks = list(case.clocks.filter(stopped_at__isnull=True, paused_at__isnull=False))
    schedules = _schedules_of(clocks)
    for clock in clocks:
        time = _time_of(clock, schedules)
        paused = max(time.between(clock.paused_at, now), 0.0)
        clock.warn_at = time.add(clock.warn_at, paused)
        clock.due_at = time.add(clock.due_at, paused)
        if clock.next_escalation_at is not None:
            clock.next_escalation_at = time.add(clock.next_escalation_at, paused)
        clock.paused_at = clock.remaining_minutes = None
    SlaClock.objects.bulk_update(
        clocks, ["warn_at", "due_at", "next_escalation_at", "paused_at", "remaining_minutes"]
    )
    if clocks:
        refresh_next_due(case_ids=[case.pk])
    return len(clocks)


def refresh_next_due(*, case_ids) -> int:
    """Copy onto each case the due time of its nearest running, unpaused clock (`Case.next_due_at`,
    NULL when none runs): the inbox sorts and filters by it with one index instead of joining the
    clocks of every open case. Every function here that starts, stops, pauses or resumes clocks
    calls it, as does `cases.services.attach_mentions` after creating clocks. One UPDATE."""
    case_ids = list(case_ids)
    if not case_ids:
        return 0
    nearest = (
        SlaClock.objects.filter(case_id=OuterRef("pk"), stopped_at__isnull=True, paused_at__isnull=True)
        .order_by().values("case_id").annotate(due=Min("due_at")).values("due")
    )
    # The API does not show next_due_at: a clock starting or stopping is no change for a CRM's sync.
    return Case.objects.filter(pk__in=case_ids).update(next_due_at=Subquery(nearest), updated_at=F("updated_at"))


def _schedules_of(clocks) -> dict[int, bh.Schedule]:
    ids = {clock.department_id for clock in clocks if clock.business_hours}
    return schedules_for(ids) if ids else {}


# --- The sweep ----------------------------------------------------------------------------------

def escalate_due(*, now: datetime | None = None, limit: int | None = None) -> int:
    """Escalate one batch of running clocks whose next escalation is due. Returns the escalations
    created (at least the number of clocks taken when the batch was full, so a caller re-queues)."""
    now = now or timezone.now()
    limit = limit or settings.BATON_SWEEP_BATCH
    with transaction.atomic():
        clocks = list(
            SlaClock.objects.select_for_update(skip_locked=True)
            .filter(next_escalation_at__lte=now, stopped_at__isnull=True, paused_at__isnull=True,
                    next_escalation_at__isnull=False)
            .order_by("next_escalation_at")
            .only("id", "case_id", "metric", "started_at", "due_at", "warn_at", "department_id", "target_minutes",
                  "business_hours", "next_level", "next_escalation_at", "warned_at", "breached_at",
                  "escalation_level")[:limit]
        )
        if not clocks:
            return 0
        # Never wait for a case a person is changing (or its customer): its clocks are taken next time.
        cases = {
            case.pk: case
            for case in lock_cases(
                Case.objects.filter(pk__in={clock.case_id for clock in clocks})
                .only("id", "customer_id", "priority", "escalation_level", "department_id", "assignee_id", "subject"),
                skip_locked=True,
            )
        }
        clocks = [clock for clock in clocks if clock.case_id in cases]
        already = set(
            Escalation.objects.filter(clock_id__in=[clock.id for clock in clocks]).values_list("clock_id", "level")
        )
        schedules = _schedules_of(clocks)
        fired: list[tuple[SlaClock, int]] = []

        def fire(clock, level):
            clock.escalation_level = max(clock.escalation_level, level)
            if (clock.id, level) not in already:
                fired.append((clock, level))

        for clock in clocks:
            case = cases[clock.case_id]
            while clock.next_level is not None and clock.next_escalation_at <= now:
                level = clock.next_level
                if level == LEVEL_WARNING:
                    if clock.due_at > now:  # a clock already past due breaches instead of warning
                        clock.warned_at = now
                        fire(clock, LEVEL_WARNING)
                    clock.next_level, clock.next_escalation_at = LEVEL_BREACH, clock.due_at
                elif level == LEVEL_BREACH:
                    clock.breached_at = now
                    fire(clock, LEVEL_BREACH)
                    if case.priority == Priority.URGENT:
                        fire(clock, LEVEL_BOARD)
                    target = clock.target_minutes or (clock.due_at - clock.started_at).total_seconds() / 60
                    clock.next_level = LEVEL_HEAD
                    clock.next_escalation_at = _time_of(clock, schedules).add(clock.due_at, target / 2)
                else:
                    fire(clock, LEVEL_HEAD)
                    clock.next_level = clock.next_escalation_at = None

        rows = Escalation.objects.bulk_create(
            [Escalation(clock_id=clock.id, level=level, created_at=now) for clock, level in fired]
        )
        _update_clocks(clocks, ["next_level", "next_escalation_at", "warned_at", "breached_at", "escalation_level"])
        events.add_many([
            events.escalated(case=clock.case_id, level=level, metric=clock.metric, due_at=clock.due_at, now=now)
            for clock, level in fired
        ])
        upkeep.touch_cases(case_ids={clock.case_id for clock, _ in fired}, moments=[now] if fired else [])
        by_level = defaultdict(set)
        for clock, level in fired:
            by_level[level].add(clock.case_id)
        for level in sorted(by_level):
            _raise_cases(case_ids=by_level[level], level=level)

        emit_breaches(breaches=[(clock.case_id, clock.metric, clock.due_at)
                                for clock, level in fired if level == LEVEL_BREACH])
        notifications.notify_escalations(
            escalations=[(row, clock, cases[clock.case_id]) for row, (clock, _) in zip(rows, fired, strict=True)],
            now=now,
        )
    return len(fired)


def _update_clocks(clocks: list[SlaClock], fields: list[str]) -> None:
    update_rows(SlaClock, clocks, fields)


def _raise_cases(*, case_ids: set[int], level: int) -> None:
    """Record the level on each case. The first breach of a case also raises its priority one
    step; a second clock of the same case breaching, or a later level, does not raise it again."""
    if not case_ids:
        return
    rising = Case.objects.filter(id__in=case_ids, escalation_level__lt=level)
    if level == LEVEL_BREACH:
        by_priority = defaultdict(list)
        for case_id, priority in rising.values_list("id", "priority"):
            by_priority[priority].append(case_id)
        for priority, ids in by_priority.items():
            raised = raise_priority(priority)
            if raised != priority:
                Case.objects.filter(id__in=ids).update(priority=raised)
    rising.update(escalation_level=level)


def sweep(*, now: datetime | None = None, limit: int | None = None) -> int:
    """Escalate batches until none is full (what the re-queued task does). Returns escalations."""
    limit = limit or settings.BATON_SWEEP_BATCH
    total = 0
    while True:
        done = escalate_due(now=now, limit=limit)
        total += done
        if done < limit:
            return total

