"""Recomputing the rollups of whole days from the raw rows: the one way rollups are written.

`refresh_day(day)` deletes the day's rows from every rollup table and inserts them again from
that day's mentions (by `posted_at`), cases (by `created_at`, with their first replies, SLA clocks
and problems), handoffs and feedback notes (by `created_at`) and escalations (by the day they
fired, `created_at`), in one transaction that holds the
day's `RollupDay` row lock (two refreshes of one day take turns). A fixed number of queries per
day, whatever its size. `refresh_dirty` does it for the days writers marked
(`feedback.board.upkeep`); `rebuild` for every day there is data for (`manage.py rebuild_rollups`).
"""

import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import Count, F, Max, Min, Q, TextField, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone

from feedback.board import buckets, upkeep
from feedback.board.days import day_bounds, day_of
from feedback.board.models import (
    CaseRollup,
    DurationRollup,
    EscalationRollup,
    FeedbackRollup,
    HandoffRollup,
    MentionRollup,
    ProblemRollup,
    PromiseRollup,
    RegionRollup,
    RollupDay,
    RollupDirtyDay,
    SlaRollup,
    VolumeRollup,
)
from feedback.board.regions import normalise_location
from feedback.board.selectors import rollups_changed
from feedback.cases.models import Case, FeedbackNote, Handoff
from feedback.choices import HandoffStatus, Intent, Sentiment
from feedback.intake.models import Mention
from feedback.sla.models import Escalation, SlaClock
from teams.models import Department

ROLLUP_MODELS = (MentionRollup, PromiseRollup, RegionRollup, VolumeRollup, CaseRollup, SlaRollup, DurationRollup,
                 HandoffRollup, FeedbackRollup, ProblemRollup, EscalationRollup)


def mention_region():
    """The expression of a mention's location text: the customer's CRM region, else the author's profile
    location (X webhooks keep it under raw.author), else a `location` column of an imported file."""
    return Coalesce(NullIf(F("customer__region"), Value("")), KT("raw__author__location"), KT("raw__location"),
                    Value(""), output_field=TextField())


def case_promises(case_ids) -> dict[int, int]:
    """The promise of each case: the one most of its mentions are about (the lowest id on a tie)."""
    counts: dict[int, Counter] = defaultdict(Counter)
    rows = (Mention.objects.filter(case_id__in=list(case_ids), promise_id__isnull=False)
            .values_list("case_id", "promise_id").annotate(n=Count("id")))
    for case_id, promise_id, n in rows:
        counts[case_id][promise_id] += n
    return {case_id: min(c, key=lambda promise_id: (-c[promise_id], promise_id)) for case_id, c in counts.items()}


def _mention_rows(day: date, start: datetime, end: datetime, hr_id: int | None) -> list:
    cube: Counter = Counter()
    rows = (Mention.objects.filter(posted_at__gte=start, posted_at__lt=end)
            .values_list("promise_id", "case__department_id", "intent", "sentiment_label", "source")
            .annotate(location=mention_region(), n=Count("id")))
    for promise_id, department_id, intent, sentiment, source, location, n in rows:
        cube[(promise_id, department_id, normalise_location(location), intent, sentiment, source)] += n
    promises: Counter = Counter()
    regions: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    volume: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for (promise_id, department_id, region, intent, sentiment, source), n in cube.items():
        if promise_id is not None:
            promises[(promise_id, sentiment)] += n
            cell = regions[(promise_id, region)]
            cell[0] += n
            cell[1] += n if sentiment == Sentiment.NEGATIVE else 0
        cell = volume[(intent, sentiment, source)]
        cell[0] += n
        cell[1] += n if intent == Intent.PRAISE and hr_id is not None and department_id == hr_id else 0
    return [
        *(MentionRollup(day=day, promise_id=p, department_id=d, region=r, intent=i, sentiment=s, source=src, mentions=n)
          for (p, d, r, i, s, src), n in cube.items()),
        *(PromiseRollup(day=day, promise_id=p, sentiment=s, mentions=n) for (p, s), n in promises.items()),
        *(RegionRollup(day=day, promise_id=p, region=r, mentions=m, shortfalls=sf) for (p, r), (m, sf) in regions.items()),
        *(VolumeRollup(day=day, intent=i, sentiment=s, source=src, mentions=m, named_praise=praise)
          for (i, s, src), (m, praise) in volume.items()),
    ]


def _case_rows(day: date, start: datetime, end: datetime) -> list:
    cases = Case.objects.filter(created_at__gte=start, created_at__lt=end)
    totals: dict[int, dict] = defaultdict(lambda: {"cases": 0, "replied": 0, "reply_seconds": 0.0})
    histogram: Counter = Counter()
    problem_cases = []
    for case_id, department_id, created, replied, problem_id in cases.values_list(
            "id", "department_id", "created_at", "first_replied_at", "problem_id"):
        row = totals[department_id]
        row["cases"] += 1
        if replied is not None:
            seconds = (replied - created).total_seconds()
            row["replied"] += 1
            row["reply_seconds"] += seconds
            histogram[(department_id, buckets.bucket_of(seconds / 60))] += 1
        if problem_id is not None:
            problem_cases.append((case_id, problem_id))
    sla = (SlaClock.objects.filter(case__created_at__gte=start, case__created_at__lt=end)
           .values_list(Coalesce("department_id", "case__department_id"), "metric")
           .annotate(met=Count("id", filter=Q(stopped_at__isnull=False, breached_at__isnull=True)),
                     missed=Count("id", filter=Q(breached_at__isnull=False)),
                     running=Count("id", filter=Q(stopped_at__isnull=True, breached_at__isnull=True))))
    promises = case_promises([case_id for case_id, _ in problem_cases]) if problem_cases else {}
    problems: Counter = Counter((problem_id, promises.get(case_id)) for case_id, problem_id in problem_cases)
    return [
        *(CaseRollup(day=day, department_id=department_id, **values) for department_id, values in totals.items()),
        *(SlaRollup(day=day, department_id=department_id, metric=metric, met=met, missed=missed, running=running)
          for department_id, metric, met, missed, running in sla),
        *(DurationRollup(day=day, measure=DurationRollup.FIRST_REPLY, department_id=department_id, bucket=bucket,
                         count=n) for (department_id, bucket), n in histogram.items()),
        *(ProblemRollup(day=day, problem_id=problem_id, promise_id=promise_id, cases=n)
          for (problem_id, promise_id), n in problems.items()),
    ]


def _journey_rows(day: date, start: datetime, end: datetime) -> list:
    pairs: dict[tuple, dict] = defaultdict(lambda: {"handoffs": 0, "accepted": 0, "returned": 0, "accept_seconds": 0.0})
    histogram: Counter = Counter()
    for from_id, to_id, status, created, decided in Handoff.objects.filter(
            created_at__gte=start, created_at__lt=end).values_list(
            "from_department_id", "to_department_id", "status", "created_at", "decided_at"):
        row = pairs[(from_id, to_id)]
        row["handoffs"] += 1
        if status == HandoffStatus.ACCEPTED and decided is not None:
            seconds = (decided - created).total_seconds()
            row["accepted"] += 1
            row["accept_seconds"] += seconds
            histogram[(from_id, to_id, buckets.bucket_of(seconds / 60))] += 1
        elif status == HandoffStatus.RETURNED:
            row["returned"] += 1
    notes = list(FeedbackNote.objects.filter(created_at__gte=start, created_at__lt=end).values_list(
        "from_department_id", "to_department_id", "case_id", "acknowledged_at"))
    promises = case_promises({case_id for _, _, case_id, _ in notes}) if notes else {}
    feedback: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for from_id, to_id, case_id, acknowledged in notes:
        cell = feedback[(from_id, to_id, promises.get(case_id))]
        cell[0] += 1
        cell[1] += acknowledged is not None
    escalations = (Escalation.objects.filter(created_at__gte=start, created_at__lt=end)
                   .values_list("level").annotate(n=Count("id")).order_by())
    return [
        *(EscalationRollup(day=day, level=level, escalations=n) for level, n in escalations),
        *(HandoffRollup(day=day, from_department_id=f, to_department_id=t, **values) for (f, t), values in pairs.items()),
        *(DurationRollup(day=day, measure=DurationRollup.HANDOFF_ACCEPTANCE, department_id=t, from_department_id=f,
                         bucket=bucket, count=n) for (f, t, bucket), n in histogram.items()),
        *(FeedbackRollup(day=day, from_department_id=f, to_department_id=t, promise_id=p, notes=n, acknowledged=a)
          for (f, t, p), (n, a) in feedback.items()),
    ]


def hr_department_id() -> int | None:
    """The department whose praise names employees (`VolumeRollup.named_praise`)."""
    return Department.objects.filter(slug="hr").values_list("id", flat=True).first()


def day_rows(day: date, *, hr_id: int | None) -> list:
    """Every rollup row of `day`, computed from the raw rows (unsaved)."""
    start, end = day_bounds(day)
    return [*_mention_rows(day, start, end, hr_id), *_case_rows(day, start, end), *_journey_rows(day, start, end)]


def refresh_day(day: date, *, hr_id: int | None = None, fresh: bool = False) -> int:
    """Recompute every rollup of `day` from the raw rows. Returns the rollup rows written.
    `fresh`: the tables hold nothing for the day (a rebuild emptied them), skip the deletes."""
    if hr_id is None:
        hr_id = hr_department_id()
    with transaction.atomic():
        RollupDay.objects.get_or_create(day=day, defaults={"refreshed_at": timezone.now()})
        RollupDay.objects.select_for_update().filter(day=day).update(refreshed_at=timezone.now())
        rows = day_rows(day, hr_id=hr_id)
        by_model: dict[type, list] = defaultdict(list)
        for row in rows:
            by_model[type(row)].append(row)
        for model in ROLLUP_MODELS:
            if not fresh:
                model.objects.filter(day=day).delete()
            if by_model[model]:
                model.objects.bulk_create(by_model[model], batch_size=2000)
        # A new version now and after the commit: a dashboard cached meanwhile from the old rows is not read.
        rollups_changed()
        transaction.on_commit(rollups_changed)
    return len(rows)


def refresh_dirty(*, limit: int = 60) -> tuple[int, bool]:
    """Recompute up to `limit` days writers marked. Returns (days refreshed, whether more are waiting)."""
    with transaction.atomic():
        taken = list(RollupDirtyDay.objects.order_by("id")[: limit * 20].values_list("id", "day"))
        RollupDirtyDay.objects.filter(id__in=[row_id for row_id, _ in taken]).delete()
    days = sorted({day for _, day in taken})
    more = len(days) > limit or len(taken) == limit * 20
    if len(days) > limit:  # put back what this run leaves
        RollupDirtyDay.objects.bulk_create([RollupDirtyDay(day=day) for day in days[limit:]])
        days = days[:limit]
    started = time.perf_counter()
    for day in days:
        refresh_day(day)
    if days:
        upkeep.count_refresh(time.perf_counter() - started)
    return len(days), more


def data_days() -> tuple[date, date] | None:
    """The first and last day with any raw data the rollups count, None when there is none."""
    bounds = []
    for model, field in ((Mention, "posted_at"), (Case, "created_at"), (Handoff, "created_at"),
                         (FeedbackNote, "created_at"), (Escalation, "created_at")):
        found = model.objects.aggregate(first=Min(field), last=Max(field))
        if found["first"] is not None:
            bounds.append((found["first"], found["last"]))
    if not bounds:
        return None
    return day_of(min(first for first, _ in bounds)), day_of(max(last for _, last in bounds))


def rebuild(*, progress: Callable[[int, int, date], None] | None = None) -> dict:
    """Empty every rollup table and recompute every day from the first to the last with data.
    Marks taken before it started are dropped (the rebuild covers them). Returns counts."""
    RollupDirtyDay.objects.all().delete()
    for model in ROLLUP_MODELS:
        model.objects.all().delete()
    RollupDay.objects.all().delete()
    span = data_days()
    if span is None:
        return {"days": 0, "rows": 0}
    first, last = span
    total = (last - first).days + 1
    hr_id = hr_department_id()
    rows = 0
    for offset in range(total):
        day = first + timedelta(days=offset)
        rows += refresh_day(day, hr_id=hr_id, fresh=True)
        if progress:
            progress(offset + 1, total, day)
    return {"days": total, "rows": rows, "first": first.isoformat(), "last": last.isoformat()}
