"""Keeping the rollups current: writers mark the days they changed, a Celery task recomputes them.

Services call a `touch_*` function inside their transaction. Each call appends rows to
`RollupDirtyDay` (no unique key: writers never wait for each other) and, when none of its days was
waiting yet, enqueues `refresh_rollups` on the `rollups` queue after commit, with a delay
(`refresh_delay`: `BATON_ROLLUP_DELAY` seconds, longer when refreshes are slow) so that a burst of
changes to one day is recomputed once. The task (`rollups.refresh_dirty`) deletes the dirty rows it
can see and recomputes their days from the raw rows; a row committed after that stays for the next
run. A beat entry runs the task every minute as well, so a day marked while a refresh was taking it
waits at most that long.

A day's rollups hold (feedback.board.models): mentions by the day posted, with their promise,
labels, source, region (the customer's CRM region, else the author's location) and their case's
department; cases by the day created (first reply, SLA clocks, problem, and the promise most of their
mentions are about); handoffs and feedback-up notes by the day made; escalations by the day fired.
So every change to one of those marks, in the writer's transaction:

| change | who calls | days marked |
|---|---|---|
| mentions processed (labels, customer, case) | `pipeline` | `touch_mentions` |
| a label corrected (intent, sentiment, promise...) | `understanding.labels.correct_label` | `touch_mentions` |
| a mention deleted, or its date, source or location edited | `feedback.admin` | `touch_mentions` |
| a mention failed processing (counted as not understood) | `pipeline.process_mention` | `touch_mentions` |
| a timeline event: reply, status (resolved, reopened), handoff, return, acceptance, feedback, acknowledgement, problem | `cases.events.add` | `touch_event` |
| escalations and breaches | `sla.clocks.escalate_due` | `touch_cases` |
| a customer's region (CRM upsert or update, admin), a customer deleted | `customers.signals.regions_changed` | `touch_customers` |
| customers merged, a person's data erased, old mentions anonymised | `linking.services` | `touch_customers`, `touch_days` |
| a promise or problem named, targeted or resolved differently (no figure moves) | `understanding.promises`, `cases.problems`, the admin | `names_changed` |
| a department renamed or deleted (no figure moves) | `teams.signals.departments_changed` (the admin) | `names_changed` |
| a department's slug changed (praise counts as named for "hr") | `teams.signals.departments_changed` | `touch_days` |
| suggested problems recomputed, or one confirmed | `board.suggestions`, `board.services` | `names_changed` |

`touch_mentions` marks the mentions' days, their cases' days and the days of their cases' feedback
notes (a note counts under its case's promise, which a mention's promise or case moves). Not marked:
a mention stored and not yet processed (the pipeline marks it within seconds). The rollups store ids
of promises, departments and problems, and region codes (named by `regions.region_name`, in code):
a change of a name alone moves no rollup, only the cached dashboards and their HTML, which
`names_changed` retires.
`tests/feedback/board/test_freshness.py` applies each change and checks the dashboard against a
direct count over the raw rows.
"""

from collections.abc import Iterable
from datetime import date, datetime

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.functions import TruncDate
from django.utils import timezone

from feedback import dispatch
from feedback.board.days import day_of
from feedback.board.models import RollupDirtyDay
from feedback.board.selectors import rollups_changed
from feedback.cases.models import Case, FeedbackNote, Handoff
from feedback.choices import EventKind, Intent
from feedback.intake.models import Mention

QUEUE = "rollups"
LAST_REFRESH_SECONDS = "baton:rollups:last-refresh-seconds"  # written by rollups.refresh_dirty
# Refreshes run and the milliseconds they took, ever (rollups.refresh_dirty adds; `bench ingest --rollups-ab` reads).
REFRESH_COUNT, REFRESH_MS = "baton:rollups:refreshes", "baton:rollups:refresh-ms"
# Timeline entries that change a rollup (a plain note, a stage change or a flood flag do not).
COUNTED_KINDS = frozenset({
    EventKind.CREATED, EventKind.MENTION, EventKind.REPLY, EventKind.HANDOFF, EventKind.ACCEPTED,
    EventKind.RETURNED, EventKind.STATUS, EventKind.ESCALATION, EventKind.FEEDBACK, EventKind.ACKNOWLEDGED,
    EventKind.PROBLEM, EventKind.PROBLEM_FIX,
})
MOVES_DEPARTMENT = frozenset({EventKind.HANDOFF, EventKind.RETURNED})
DECIDES_HANDOFF = frozenset({EventKind.ACCEPTED, EventKind.RETURNED})


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


def refresh_totals() -> tuple[int, float]:
    """(refreshes run, seconds they took) since the cache was last emptied."""
    return cache.get(REFRESH_COUNT) or 0, (cache.get(REFRESH_MS) or 0) / 1000


def count_refresh(seconds: float) -> None:
    cache.set(LAST_REFRESH_SECONDS, seconds, None)  # refresh_delay reads it
    for key, amount in ((REFRESH_COUNT, 1), (REFRESH_MS, round(1000 * seconds))):
        if not cache.add(key, amount, None):
            cache.incr(key, amount)


def days_of(query, field: str) -> set[date]:
    """The distinct days (in settings.TIME_ZONE) of `field` over the rows of `query`, counted by the database."""
    zone = timezone.get_default_timezone()
    return set(query.annotate(board_day=TruncDate(field, tzinfo=zone)).order_by()
               .values_list("board_day", flat=True).distinct())


def _case_days(case_ids: set[int], *, known: dict[int, datetime] | None = None) -> set[date]:
    """The days the cases were created (`known`: creation times at hand) and the days their feedback-up notes
    were sent."""
    if not case_ids:
        return set()
    known = known or {}
    days = {day_of(created) for case_id, created in known.items() if case_id in case_ids}
    unknown = case_ids - set(known)
    if unknown:
        days |= days_of(Case.objects.filter(pk__in=unknown), "created_at")
    return days | days_of(FeedbackNote.objects.filter(case_id__in=case_ids), "created_at")


def touch_cases(*, cases: Iterable[Case] = (), case_ids: Iterable[int] = (), moments: Iterable[datetime] = ()) -> None:
    """Mark the days the cases were created (cases as objects with `created_at`, or ids) and the days of `moments`."""
    if not settings.BATON_ROLLUPS_LIVE:
        return
    days = {day_of(case.created_at) for case in cases if case.created_at}
    ids = set(case_ids)
    if ids:
        days |= days_of(Case.objects.filter(pk__in=ids), "created_at")
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
        days |= days_of(Case.objects.filter(pk=event.case_id), "created_at")
    data = event.data or {}
    if event.kind in MOVES_DEPARTMENT:  # the case's mentions count under its department
        days |= days_of(Mention.objects.filter(case_id=event.case_id), "posted_at")
    if event.kind in DECIDES_HANDOFF and data.get("handoff_id"):  # the handoff counts on the day it was made
        days |= days_of(Handoff.objects.filter(pk=data["handoff_id"]), "created_at")
    if event.kind == EventKind.ACKNOWLEDGED and data.get("feedback_id"):  # the note counts on the day it was sent
        days |= days_of(FeedbackNote.objects.filter(pk=data["feedback_id"]), "created_at")
    touch_days(days)


def touch_mentions(*, mentions: Iterable[Mention]) -> None:
    """Mark the days the mentions were posted, their cases' days and their cases' notes' days (call it
    before a delete, or with the mentions' new case and labels after a change)."""
    if not settings.BATON_ROLLUPS_LIVE:
        return
    mentions = list(mentions)
    days = {day_of(mention.posted_at) for mention in mentions}
    known = {mention.case_id: mention.case.created_at for mention in mentions
             if mention.case_id and "case" in mention._state.fields_cache and mention.case.created_at}
    touch_days(days | _case_days({mention.case_id for mention in mentions if mention.case_id}, known=known))


def touch_mention_ids(ids: Iterable[int]) -> None:
    """`touch_mentions` for mentions by id (before they are deleted or changed in bulk)."""
    if not settings.BATON_ROLLUPS_LIVE:
        return
    query = Mention.objects.filter(pk__in=list(ids))
    case_ids = set(query.exclude(case_id=None).values_list("case_id", flat=True).distinct())
    touch_days(days_of(query, "posted_at") | _case_days(case_ids))


def touch_customers(*, customer_ids: Iterable[int]) -> None:
    """The customers' region changed (or they are about to be deleted, or their mentions moved to them):
    mark the days of their mentions, which count under that region."""
    ids = sorted(set(customer_ids))
    if not ids or not settings.BATON_ROLLUPS_LIVE:
        return
    touch_days(days_of(Mention.objects.filter(customer_id__in=ids), "posted_at"))


def regions_changed(sender, *, customer_ids, **kwargs) -> None:
    """The receiver of `customers.signals.regions_changed` (connected in feedback/apps.py)."""
    touch_customers(customer_ids=customer_ids)


def departments_changed(sender, *, department_ids, slugs_changed=False, **kwargs) -> None:
    """The receiver of `teams.signals.departments_changed` (connected in feedback/apps.py): the board shows
    departments by name; a slug moving to or from "hr" moves the named praise of the departments' posts."""
    if slugs_changed and settings.BATON_ROLLUPS_LIVE:
        touch_days(days_of(Mention.objects.filter(intent=Intent.PRAISE, case__department_id__in=list(department_ids)),
                           "posted_at"))
    names_changed()


def names_changed() -> None:
    """A name, target or resolution the dashboard shows changed but no figure did: after commit, the
    dashboards cached for the rollups' version are not read again."""
    transaction.on_commit(rollups_changed)
