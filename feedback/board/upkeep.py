"""Keeping the rollups current: writers mark the days they changed, a Celery task recomputes them.

Services call `touch_days`, `touch_cases` or `touch_event` inside their transaction. Each call
appends rows to `RollupDirtyDay` (no unique key: writers never wait for each other) and, when none
of its days was waiting yet, enqueues `refresh_rollups` on the `rollups` queue after commit, with a
delay (`refresh_delay`: `BATON_ROLLUP_DELAY` seconds, longer when refreshes are slow) so that a burst
of changes to one day is recomputed once. The
task (`rollups.refresh_dirty`) deletes the dirty rows it can see and recomputes their days from
the raw rows; a row committed after that stays for the next run. A beat entry runs the task every
minute as well, so a day marked while a refresh was taking it waits at most that long.

What marks what (cases count in the cohort of the day they were created):
- the pipeline: the days its mentions were posted and the days their cases were created;
- every timeline event (`cases.events.add`) and the SLA sweep: the case's day and the event's day;
  a handoff or its return (the case changes department) also the days of the case's mentions;
- a label correction: the day the mention was posted.
A change made outside these (a CRM region update, a promise deleted) shows after
`manage.py rebuild_rollups`.
"""

from collections.abc import Iterable
from datetime import date, datetime

from django.conf import settings
from django.core.cache import cache

from feedback import dispatch
from feedback.board.days import day_of
from feedback.board.models import RollupDirtyDay
from feedback.cases.models import Case
from feedback.choices import EventKind
from feedback.intake.models import Mention

QUEUE = "rollups"
LAST_REFRESH_SECONDS = "baton:rollups:last-refresh-seconds"  # written by rollups.refresh_dirty
# Timeline entries that change a rollup (a plain note, a stage change or a flood flag do not).
COUNTED_KINDS = frozenset({
    EventKind.CREATED, EventKind.MENTION, EventKind.REPLY, EventKind.HANDOFF, EventKind.ACCEPTED,
    EventKind.RETURNED, EventKind.STATUS, EventKind.ESCALATION, EventKind.FEEDBACK, EventKind.ACKNOWLEDGED,
    EventKind.PROBLEM, EventKind.PROBLEM_FIX,
})
MOVES_DEPARTMENT = frozenset({EventKind.HANDOFF, EventKind.RETURNED})


def touch_days(days: Iterable[date | None]) -> None:
    """Mark days for recomputation (in the caller's transaction); the refresh is enqueued after commit."""
    days = sorted({day for day in days if day is not None})
    if not days or not settings.BATON_ROLLUPS_LIVE:
        return
    waiting = RollupDirtyDay.objects.filter(day__in=days).exists()
    RollupDirtyDay.objects.bulk_create([RollupDirtyDay(day=day) for day in days])
    if not waiting:
        dispatch.enqueue(dispatch.REFRESH_ROLLUPS, queue=QUEUE, countdown=refresh_delay())


def refresh_delay() -> int:
    """Seconds from the first change of a day to its refresh: BATON_ROLLUP_DELAY, or twenty times what
    the last refresh took if that is longer, so that refreshes take at most a twentieth of one worker's
    time while mentions pour in (a busy day costs more to recompute)."""
    return max(settings.BATON_ROLLUP_DELAY, round(20 * (cache.get(LAST_REFRESH_SECONDS) or 0)))


def touch_cases(*, cases: Iterable[Case] = (), case_ids: Iterable[int] = (), moments: Iterable[datetime] = ()) -> None:
    """Mark the days the cases were created (cases as objects with `created_at`, or ids) and the days of `moments`."""
    days = {day_of(case.created_at) for case in cases if case.created_at}
    ids = set(case_ids)
    if ids:
        days |= {day_of(created) for created in Case.objects.filter(pk__in=ids).values_list("created_at", flat=True)}
    days |= {day_of(moment) for moment in moments}
    touch_days(days)


def touch_event(event) -> None:
    """A timeline entry was saved: mark what it may have changed."""
    if event.kind not in COUNTED_KINDS or not settings.BATON_ROLLUPS_LIVE:
        return
    case = event._state.fields_cache.get("case")
    days = {day_of(event.created_at)}
    if case is not None and case.created_at:
        days.add(day_of(case.created_at))
    else:
        days |= {day_of(created) for created in
                 Case.objects.filter(pk=event.case_id).values_list("created_at", flat=True)}
    if event.kind in MOVES_DEPARTMENT:
        days |= {day_of(posted) for posted in
                 Mention.objects.filter(case_id=event.case_id).values_list("posted_at", flat=True).distinct()}
    touch_days(days)


def touch_mentions(*, mentions: Iterable[Mention]) -> None:
    """Mark the days the mentions were posted, and their cases' days."""
    mentions = list(mentions)
    days = {day_of(mention.posted_at) for mention in mentions}
    cases = [mention.case for mention in mentions if mention.case_id and "case" in mention._state.fields_cache]
    days |= {day_of(case.created_at) for case in cases if case.created_at}
    uncached = {mention.case_id for mention in mentions
                if mention.case_id and "case" not in mention._state.fields_cache}
    if uncached:
        days |= {day_of(created) for created in
                 Case.objects.filter(pk__in=uncached).values_list("created_at", flat=True)}
    touch_days(days)

