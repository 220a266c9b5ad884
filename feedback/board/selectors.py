"""The board dashboard's panels, read from the rollups only (never a scan of raw mentions).

Each panel is a function of a `Period` returning plain data (ids resolved to names), with the same
figures for the previous period of the same length; `dashboard` runs them all. Aggregates only: no
customer-level data leaves this module except through `promise_examples`, which the views call for
department members only. The figures equal a direct count over the raw rows
(tests/feedback/board/test_agreement.py); medians and 90th percentiles are the upper bounds of
their histogram buckets (`feedback.board.buckets`).
"""

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from functools import reduce
from operator import or_

from django.core.cache import cache
from django.db.models import BigIntegerField, Case, CharField, DateField, F, IntegerField, Q, Sum, Value, When
from django.db.models.functions import Cast, TruncWeek

from feedback.board import buckets
from feedback.board.days import day_bounds, day_of, today
from feedback.board.models import (
    CaseRollup,
    DurationRollup,
    EscalationRollup,
    FeedbackRollup,
    HandoffRollup,
    ProblemRollup,
    PromiseRollup,
    RegionRollup,
    SlaRollup,
    SuggestedProblem,
    VolumeRollup,
)
from feedback.board.regions import region_name
from feedback.cases.models import Problem
from feedback.choices import ClockMetric, Intent, Sentiment, Source
from feedback.intake.models import Mention
from feedback.understanding.models import Promise
from teams.models import Department

TREND_WEEKS = 12
PERIOD_CHOICES = (7, 30, 90, 365)
NEG, POS = Sentiment.NEGATIVE, Sentiment.POSITIVE


@dataclass(frozen=True)
class Period:
    """Whole days, both ends included."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def previous(self) -> "Period":
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    @property
    def span(self) -> tuple[date, date]:
        """This period and the previous one: what a panel reads in one query."""
        return self.previous.start, self.end

    def __str__(self):
        return f"{self.start:%b %-d, %Y} – {self.end:%b %-d, %Y}"


def period_of(*, days: int = 30, end: date | None = None) -> Period:
    end = end or today()
    return Period(end - timedelta(days=days - 1), end)


def _rows(query) -> list[dict]:
    """The rows of an aggregate query as dicts, without the `cur_` prefix its annotations carry (an
    annotation may not take the name of the rollup's own field it sums)."""
    rows = []
    for row in query:
        if isinstance(row, dict):
            row = {key.removeprefix("cur_"): value for key, value in row.items()}
        rows.append(row)
    return rows


def _in(period: Period) -> Q:
    return Q(day__gte=period.start, day__lte=period.end)


def _change(now: float | None, before: float | None) -> float | None:
    if now is None or before is None:
        return None
    return round(now - before, 4)


def _departments() -> dict[int, str]:
    return dict(Department.objects.values_list("id", "name"))


def _promises(ids=None) -> dict[int, Promise]:
    query = Promise.objects.all() if ids is None else Promise.objects.filter(id__in=list(ids))
    return {promise.id: promise for promise in query.select_related("department")}


def gap_index(shortfalls: int, delights: int, mentions: int) -> float | None:
    """(shortfalls - delights) / mentions, in [-1, 1]; None without mentions (the domain guide's)."""
    return round((shortfalls - delights) / mentions, 4) if mentions else None


def _weeks(end: date, weeks: int = TREND_WEEKS) -> list[date]:
    """The Mondays of the `weeks` weeks ending with the week of `end`."""
    last = end - timedelta(days=end.weekday())
    return [last - timedelta(weeks=weeks - 1 - i) for i in range(weeks)]


# --- 1. Gap index by promise ------------------------------------------------------------------


def gap_panel(*, period: Period) -> dict:
    cur, prev = _in(period), _in(period.previous)
    rows = _rows(PromiseRollup.objects.filter(day__range=period.span).values("promise_id").annotate(
        cur_mentions=Sum("mentions", filter=cur), cur_shortfalls=Sum("mentions", filter=cur & Q(sentiment=NEG)),
        delights=Sum("mentions", filter=cur & Q(sentiment=POS)), prev_mentions=Sum("mentions", filter=prev),
        prev_shortfalls=Sum("mentions", filter=prev & Q(sentiment=NEG)),
        prev_delights=Sum("mentions", filter=prev & Q(sentiment=POS))))
    weeks = _weeks(period.end)
    trend_rows = _rows(PromiseRollup.objects.filter(day__range=(weeks[0], period.end))
                  .annotate(week=TruncWeek("day")).values("week", "promise_id").annotate(
                      cur_mentions=Sum("mentions"), cur_shortfalls=Sum("mentions", filter=Q(sentiment=NEG)),
                      delights=Sum("mentions", filter=Q(sentiment=POS))))
    trend: dict[int, dict[date, tuple]] = defaultdict(dict)
    for row in trend_rows:
        week = row["week"].date() if hasattr(row["week"], "date") else row["week"]
        trend[row["promise_id"]][week] = (row["shortfalls"] or 0, row["delights"] or 0, row["mentions"] or 0)
    promises = _promises()
    result = []
    for row in rows:
        m, s, d = row["mentions"] or 0, row["shortfalls"] or 0, row["delights"] or 0
        pm, ps, pd = row["prev_mentions"] or 0, row["prev_shortfalls"] or 0, row["prev_delights"] or 0
        if not m and not pm:
            continue
        promise = promises.get(row["promise_id"])
        gap, prev_gap = gap_index(s, d, m), gap_index(ps, pd, pm)
        weekly = [trend[row["promise_id"]].get(week, (0, 0, 0)) for week in weeks]
        result.append({
            "promise_id": row["promise_id"], "slug": promise.slug if promise else "",
            "name": promise.name if promise else f"Promise #{row['promise_id']} (deleted)",
            "department": promise.department.name if promise and promise.department else "",
            "target": promise.target if promise else "",
            "mentions": m, "shortfalls": s, "delights": d, "gap": gap,
            "prev_mentions": pm, "prev_shortfalls": ps, "prev_delights": pd, "prev_gap": prev_gap,
            "change": _change(gap, prev_gap),
            "trend": [gap_index(ws, wd, wm) for ws, wd, wm in weekly], "trend_mentions": [wm for _, _, wm in weekly],
        })
    result.sort(key=lambda r: (r["gap"] is None, -(r["gap"] or 0), -r["mentions"]))
    totals = {key: sum(r[key] for r in result) for key in
              ("mentions", "shortfalls", "delights", "prev_mentions", "prev_shortfalls", "prev_delights")}
    overall = gap_index(totals["shortfalls"], totals["delights"], totals["mentions"])
    prev_overall = gap_index(totals["prev_shortfalls"], totals["prev_delights"], totals["prev_mentions"])
    return {"promises": result, "weeks": weeks, **totals, "gap": overall, "prev_gap": prev_overall,
            "change": _change(overall, prev_overall)}


# --- 2. Shortfalls by promise and region -----------------------------------------------------


def region_panel(*, period: Period, top: int = 15) -> dict:
    cur, prev = _in(period), _in(period.previous)
    rows = _rows(RegionRollup.objects.filter(day__range=period.span).values("region", "promise_id").annotate(
        cur_shortfalls=Sum("shortfalls", filter=cur), cur_mentions=Sum("mentions", filter=cur),
        prev_shortfalls=Sum("shortfalls", filter=prev)))
    cells: dict[str, dict[int, int]] = defaultdict(dict)
    by_region: Counter = Counter()
    mentions_by_region: Counter = Counter()
    prev_by_region: Counter = Counter()
    by_promise: Counter = Counter()
    for row in rows:
        region, promise_id = row["region"], row["promise_id"]
        shortfalls = row["shortfalls"] or 0
        if shortfalls:
            cells[region][promise_id] = shortfalls
        by_region[region] += shortfalls
        by_promise[promise_id] += shortfalls
        mentions_by_region[region] += row["mentions"] or 0
        prev_by_region[region] += row["prev_shortfalls"] or 0
    promises = _promises(by_promise)
    columns = [{"id": pid, "name": promises[pid].name if pid in promises else f"#{pid}",
                "slug": promises[pid].slug if pid in promises else ""}
               for pid, n in by_promise.most_common() if n]
    known = [region for region, n in by_region.most_common() if region and n][:top]
    highest = max((n for region in known for n in cells[region].values()), default=0)
    grid = []
    for region in known + ([""] if by_region.get("") else []):
        grid.append({
            "region": region, "name": region_name(region), "shortfalls": by_region[region],
            "mentions": mentions_by_region[region], "prev_shortfalls": prev_by_region[region],
            "change": by_region[region] - prev_by_region[region],
            "cells": [{"promise": column["name"], "shortfalls": cells[region].get(column["id"], 0),
                       "level": _heat_level(cells[region].get(column["id"], 0), highest)} for column in columns],
        })
    located = sum(n for region, n in by_region.items() if region)
    return {"columns": columns, "grid": grid, "located": located, "unlocated": by_region.get("", 0),
            "regions": len([r for r in by_region if r and by_region[r]])}


def _heat_level(value: int, highest: int) -> int:
    """0 (none) to 5 (the highest cell): the grid's shade class; the number is always printed too."""
    if value <= 0 or highest <= 0:
        return 0
    return max(1, min(5, int(5 * value / highest + 0.999)))


# --- 3. Response: first reply, SLA attainment, escalations ------------------------------------


def _histograms(measure: str, period: Period, keys: tuple[str, ...]) -> tuple[dict, dict]:
    cur, prev = _in(period), _in(period.previous)
    rows = (DurationRollup.objects.filter(measure=measure, day__range=period.span)
            .values_list(*keys, "bucket").annotate(cur=Sum("count", filter=cur), prev=Sum("count", filter=prev)))
    now, before = defaultdict(Counter), defaultdict(Counter)
    for *key, bucket, n, p in rows:
        if n:
            now[tuple(key)][bucket] += n
        if p:
            before[tuple(key)][bucket] += p
    return now, before


@dataclass
class Replies:
    """What the response panel reads, from its one query (`response_rows`): first-reply histograms
    {(department_id,): {bucket: count}} this period and the previous one, and per (department_id, week) for
    the trend; cases created per department (now, before); SLA clocks per department and metric; escalations
    per level (now, before)."""

    now: dict
    before: dict
    weekly: dict
    cases: dict
    sla: list
    escalations: dict
    prev_escalations: dict


def response_rows(*, period: Period) -> Replies:
    """One query for the whole response panel: four aggregates over the first-reply histograms, the case,
    SLA and escalation rollups (UNION ALL), each table scanned once. Every branch gives the columns (kind,
    week, department_id, bucket, metric, a..e): first-reply counts by department and bucket, with the weeks of
    the trend kept apart (days before it grouped together), this period (a), the previous one (b) and in the
    trend (c); cases by department (a, b); clocks by department and metric (met, missed, running; met and missed
    before); escalations by level (in `bucket`: a, b). Tuples and dates, not dicts and timestamps: converting
    the thousand-odd rows of the trend is most of the panel's time."""
    cur, prev = _in(period), _in(period.previous)
    weeks = _weeks(period.end)
    trend = Q(day__gte=weeks[0])
    zero, text = Value(0, output_field=IntegerField()), Value("", output_field=CharField())
    fixed = {"week": Value(None, output_field=DateField())}
    columns = ("kind", "week", "department_id", "bucket", "metric")
    replies = (DurationRollup.objects.filter(measure=DurationRollup.FIRST_REPLY,
                                             day__range=(min(period.previous.start, weeks[0]), period.end))
               .annotate(kind=Value("reply"), metric=text,
                         week=Case(When(trend, then=Cast(TruncWeek("day"), DateField())), output_field=DateField()))
               .values_list(*columns).annotate(a=Sum("count", filter=cur), b=Sum("count", filter=prev),
                                               c=Sum("count", filter=trend), d=zero, e=zero))
    cases = (CaseRollup.objects.filter(day__range=period.span)
             .annotate(kind=Value("cases"), **fixed, bucket=zero, metric=text)
             .values_list(*columns).annotate(a=Sum("cases", filter=cur), b=Sum("cases", filter=prev), c=zero,
                                             d=zero, e=zero))
    sla = (SlaRollup.objects.filter(day__range=period.span)
           .annotate(kind=Value("sla"), **fixed, bucket=zero)
           .values_list(*columns).annotate(a=Sum("met", filter=cur), b=Sum("missed", filter=cur),
                                           c=Sum("running", filter=cur), d=Sum("met", filter=prev),
                                           e=Sum("missed", filter=prev)))
    escalations = (EscalationRollup.objects.filter(day__range=period.span, level__in=[1, 2, 3, 4])
                   .annotate(kind=Value("escalations"), **fixed, department=Value(None, output_field=BigIntegerField()),
                             metric=text)
                   .values_list("kind", "week", "department", "level", "metric")
                   .annotate(a=Sum("escalations", filter=cur), b=Sum("escalations", filter=prev), c=zero, d=zero,
                             e=zero))
    result = Replies(now=defaultdict(Counter), before=defaultdict(Counter), weekly=defaultdict(Counter), cases={},
                     sla=[], escalations=dict.fromkeys(range(1, 5), 0), prev_escalations=dict.fromkeys(range(1, 5), 0))
    for kind, week, department_id, bucket, metric, a, b, c, d, e in replies.union(cases, sla, escalations, all=True):
        a, b, c, d, e = a or 0, b or 0, c or 0, d or 0, e or 0
        if kind == "reply":
            if a:
                result.now[(department_id,)][bucket] += a
            if b:
                result.before[(department_id,)][bucket] += b
            if c:
                result.weekly[(department_id, week)][bucket] += c
        elif kind == "cases":
            result.cases[department_id] = (a, b)
        elif kind == "sla":
            result.sla.append({"department_id": department_id, "metric": metric, "met": a, "missed": b, "running": c,
                               "prev_met": d, "prev_missed": e})
        else:
            result.escalations[bucket], result.prev_escalations[bucket] = a, b
    return result


def response_panel(*, period: Period, replies: Replies | None = None) -> dict:
    """First reply times by department (median, p90, weekly trend), SLA attainment by department and metric,
    escalations per level: from `response_rows` (one query; `dashboard` passes it, to share it with the loop)."""
    replies = replies or response_rows(period=period)
    departments = _departments()
    now, before, weekly = replies.now, replies.before, replies.weekly
    weeks = _weeks(period.end)
    rows = []
    all_now, all_before = Counter(), Counter()
    for department_id in sorted(set(now) | set(before) | {(d,) for d in replies.cases},
                                key=lambda key: departments.get(key[0], "")):
        histogram, previous = now.get(department_id, Counter()), before.get(department_id, Counter())
        all_now.update(histogram)
        all_before.update(previous)
        median, p90 = buckets.percentile(histogram, 0.5), buckets.percentile(histogram, 0.9)
        prev_median, prev_p90 = buckets.percentile(previous, 0.5), buckets.percentile(previous, 0.9)
        rows.append({
            "department_id": department_id[0], "department": departments.get(department_id[0], "?"),
            "cases": replies.cases.get(department_id[0], (0, 0))[0], "replied": sum(histogram.values()),
            "median": median, "p90": p90, "prev_median": prev_median, "prev_p90": prev_p90,
            "median_change": _change(median, prev_median), "p90_change": _change(p90, prev_p90),
            "trend_median": [buckets.percentile(weekly.get((department_id[0], week), {}), 0.5) for week in weeks],
            "trend_p90": [buckets.percentile(weekly.get((department_id[0], week), {}), 0.9) for week in weeks],
        })
    return {
        "departments": [row for row in rows if row["cases"] or row["replied"] or row["prev_median"] is not None],
        "weeks": weeks, "median": buckets.percentile(all_now, 0.5), "p90": buckets.percentile(all_now, 0.9),
        "prev_median": buckets.percentile(all_before, 0.5), "prev_p90": buckets.percentile(all_before, 0.9),
        "cases": sum(n for n, _ in replies.cases.values()), "prev_cases": sum(p for _, p in replies.cases.values()),
        "escalations": replies.escalations, "prev_escalations": replies.prev_escalations,
        "sla": _sla(replies.sla, departments),
    }


def attainment(met: int, missed: int) -> float | None:
    """The share of decided clocks that met their target (running clocks are not decided yet)."""
    return round(met / (met + missed), 4) if met + missed else None


def _sla(clocks: list[dict], departments: dict[int, str]) -> dict:
    """SLA attainment per department and metric, from `Replies.sla`."""
    rows = []
    totals = Counter()
    for row in clocks:
        met, missed, prev_met, prev_missed = (row[k] for k in ("met", "missed", "prev_met", "prev_missed"))
        totals.update({"met": met, "missed": missed, "prev_met": prev_met, "prev_missed": prev_missed})
        share, prev_share = attainment(met, missed), attainment(prev_met, prev_missed)
        rows.append({"department": departments.get(row["department_id"], "?"), "metric": row["metric"],
                     "metric_label": ClockMetric(row["metric"]).label if row["metric"] in ClockMetric.values
                     else row["metric"], "met": met, "missed": missed, "running": row["running"],
                     "attainment": share, "prev_attainment": prev_share, "change": _change(share, prev_share)})
    rows.sort(key=lambda r: (r["department"], r["metric"]))
    overall = attainment(totals["met"], totals["missed"])
    prev_overall = attainment(totals["prev_met"], totals["prev_missed"])
    return {"rows": rows, "attainment": overall, "prev_attainment": prev_overall,
            "change": _change(overall, prev_overall), "metrics": [m for m in ClockMetric.values
                                                                 if any(r["metric"] == m for r in rows)]}


# --- 4. Handoff flow --------------------------------------------------------------------------


def handoff_panel(*, period: Period) -> dict:
    departments = _departments()
    cur, prev = _in(period), _in(period.previous)
    now, _ = _histograms(DurationRollup.HANDOFF_ACCEPTANCE, period, ("from_department_id", "department_id"))
    pairs = []
    for row in _rows(HandoffRollup.objects.filter(day__range=period.span)
                .values("from_department_id", "to_department_id")
                .annotate(cur_handoffs=Sum("handoffs", filter=cur), cur_accepted=Sum("accepted", filter=cur),
                          cur_returned=Sum("returned", filter=cur), prev_handoffs=Sum("handoffs", filter=prev))):
        if not row["handoffs"] and not row["prev_handoffs"]:
            continue
        histogram = now.get((row["from_department_id"], row["to_department_id"]), Counter())
        pairs.append({"from": departments.get(row["from_department_id"], "?"),
                      "to": departments.get(row["to_department_id"], "?"),
                      "handoffs": row["handoffs"] or 0, "accepted": row["accepted"] or 0,
                      "returned": row["returned"] or 0, "prev_handoffs": row["prev_handoffs"] or 0,
                      "median_acceptance": buckets.percentile(histogram, 0.5)})
    pairs.sort(key=lambda p: (-p["handoffs"], p["from"], p["to"]))
    feedback = []
    for row in _rows(FeedbackRollup.objects.filter(day__range=period.span)
                .values("from_department_id", "to_department_id")
                .annotate(cur_notes=Sum("notes", filter=cur), cur_acknowledged=Sum("acknowledged", filter=cur),
                          prev_notes=Sum("notes", filter=prev))):
        if row["notes"] or row["prev_notes"]:
            feedback.append({"from": departments.get(row["from_department_id"], "?"),
                             "to": departments.get(row["to_department_id"], "?"), "notes": row["notes"] or 0,
                             "acknowledged": row["acknowledged"] or 0, "prev_notes": row["prev_notes"] or 0})
    feedback.sort(key=lambda f: (-f["notes"], f["from"], f["to"]))
    return {"pairs": pairs, "feedback": feedback, "handoffs": sum(p["handoffs"] for p in pairs),
            "prev_handoffs": sum(p["prev_handoffs"] for p in pairs), "notes": sum(f["notes"] for f in feedback)}


# --- 5. Top and suggested problems ------------------------------------------------------------


def problems_panel(*, period: Period, top: int = 10) -> dict:
    cur, prev = _in(period), _in(period.previous)
    rows = _rows(ProblemRollup.objects.filter(day__range=period.span).values("problem_id")
                .annotate(cur_cases=Sum("cases", filter=cur), prev_cases=Sum("cases", filter=prev))
                .order_by(F("cur_cases").desc(nulls_last=True), "problem_id")[:top])
    rows = [row for row in rows if row["cases"]]
    ids = [row["problem_id"] for row in rows]
    weeks = _weeks(period.end)
    weekly = defaultdict(dict)
    for row in (ProblemRollup.objects.filter(problem_id__in=ids, day__range=(weeks[0], period.end))
                .annotate(week=TruncWeek("day")).values("week", "problem_id").annotate(n=Sum("cases"))):
        week = row["week"].date() if hasattr(row["week"], "date") else row["week"]
        weekly[row["problem_id"]][week] = row["n"]
    problems = Problem.objects.select_related("owner_department").in_bulk(ids)
    top_rows = []
    for row in rows:
        problem = problems.get(row["problem_id"])
        top_rows.append({
            "problem_id": row["problem_id"], "title": problem.title if problem else "(deleted)",
            "owner": problem.owner_department.name if problem else "", "status": problem.status if problem else "",
            "cases": row["cases"], "prev_cases": row["prev_cases"] or 0,
            "change": row["cases"] - (row["prev_cases"] or 0),
            "trend": [weekly[row["problem_id"]].get(week, 0) for week in weeks],
        })
    departments = _departments()
    suggested = [{"rank": s.rank, "title": s.title, "terms": s.terms, "attributes": s.attributes, "size": s.size,
                  "recent": s.recent, "earlier": s.earlier, "growth": s.growth, "id": s.pk,
                  "department": departments.get(s.department_id, "")}
                 for s in SuggestedProblem.objects.order_by("rank")[:10]]
    computed = SuggestedProblem.objects.order_by("-computed_at").values_list("computed_at", flat=True).first()
    return {"top": top_rows, "weeks": weeks, "suggested": suggested, "suggested_at": computed}


# --- 6. Volume ---------------------------------------------------------------------------------


def volume_panel(*, period: Period) -> dict:
    cur, prev = _in(period), _in(period.previous)
    by = {"intent": Counter(), "sentiment": Counter(), "source": Counter()}
    before = {"intent": Counter(), "sentiment": Counter(), "source": Counter()}
    praise = prev_praise = 0
    for row in (VolumeRollup.objects.filter(day__range=period.span).values("intent", "sentiment", "source")
                .annotate(n=Sum("mentions", filter=cur), p=Sum("mentions", filter=prev),
                          praise=Sum("named_praise", filter=cur), prev_praise=Sum("named_praise", filter=prev))):
        for key in by:
            by[key][row[key]] += row["n"] or 0
            before[key][row[key]] += row["p"] or 0
        praise += row["praise"] or 0
        prev_praise += row["prev_praise"] or 0
    labels = {"intent": dict(Intent.choices), "sentiment": dict(Sentiment.choices), "source": dict(Source.choices)}
    result = {}
    for key, counts in by.items():
        result[key] = [{"key": value, "label": labels[key].get(value) or "Not yet understood", "mentions": n,
                        "prev_mentions": before[key][value], "change": n - before[key][value]}
                       for value, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
                       if n or before[key][value]]
    return {**result, "mentions": sum(by["intent"].values()), "prev_mentions": sum(before["intent"].values()),
            "named_praise": praise, "prev_named_praise": prev_praise}


# --- 7. Closing the loop -----------------------------------------------------------------------

_NUMBER = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "ten": 10,
           "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "forty-eight": 48, "twenty-four": 24}
_UNIT = {"minute": 1, "min": 1, "hour": 60, "hr": 60, "day": 1440, "business day": 1440}
_RESPONSE = re.compile(r"\b(?:reply|replies|respond|response|answer)\w*\b.*?\bwithin\s+(?:an?\s+|one\s+)?"
                       r"(\d+|a|an|one|two|three|four|five|six|ten|twelve|fifteen|twenty|thirty|twenty-four|forty-eight)?"
                       r"\s*(minute|min|hour|hr|business day|day)s?\b", re.IGNORECASE)


def response_target_minutes(text: str) -> int | None:
    """A response promise's target in minutes: "First reply within one hour" -> 60, "we answer within
    15 minutes" -> 15; None for a promise about something else."""
    match = _RESPONSE.search(text or "")
    if not match:
        return None
    number, unit = match.group(1), match.group(2).lower()
    count = 1 if number is None else int(number) if number.isdigit() else _NUMBER.get(number.lower(), 1)
    return count * _UNIT[unit]


def loop_panel(*, period: Period, gaps: list[dict], window_days: int = 28, problems_per_promise: int = 5,
               replies: Replies | None = None) -> dict:
    """For each promise with a gap (index above 0): the feedback-up notes and problems that address it
    (cases about the promise), their owners, and the gap before and after each resolved problem, with
    the mentions behind each figure. And response promises against the actual first reply times (`replies`:
    the response panel's histograms, when the dashboard has them already)."""
    departments = _departments()
    gapped = {row["promise_id"]: row for row in gaps if row["gap"] is not None and row["gap"] > 0}
    notes = defaultdict(list)
    for row in _rows(FeedbackRollup.objects.filter(promise_id__in=list(gapped), day__lte=period.end)
                .values("promise_id", "from_department_id", "to_department_id")
                .annotate(cur_notes=Sum("notes"), cur_acknowledged=Sum("acknowledged"))):
        notes[row["promise_id"]].append({"from": departments.get(row["from_department_id"], "?"),
                                         "to": departments.get(row["to_department_id"], "?"),
                                         "notes": row["notes"], "acknowledged": row["acknowledged"]})
    linked = defaultdict(dict)
    for row in _rows(ProblemRollup.objects.filter(promise_id__in=list(gapped), day__lte=period.end)
                .values("promise_id", "problem_id").annotate(cur_cases=Sum("cases"))):
        linked[row["promise_id"]][row["problem_id"]] = row["cases"]
    # The problems shown per promise (the most cases first), and the windows before and after the resolved ones.
    top = {promise_id: sorted(linked[promise_id].items(), key=lambda kv: -kv[1])[:problems_per_promise]
           for promise_id in gapped}
    problems = Problem.objects.select_related("owner_department").in_bulk(
        {problem_id for shown in top.values() for problem_id, _ in shown})
    last_day = today()
    windows: dict[tuple[int, int], tuple[tuple[date, date], tuple[date, date]]] = {}
    for promise_id, shown in top.items():
        for problem_id, _ in shown:
            problem = problems.get(problem_id)
            if problem is not None and problem.resolved_at:
                day = day_of(problem.resolved_at)
                windows[(promise_id, problem_id)] = (
                    (day - timedelta(days=window_days), day - timedelta(days=1)),
                    (day, min(day + timedelta(days=window_days - 1), last_day)))
    # Per promise and day: (mentions, shortfalls, delights), on the days of those windows only.
    daily: dict[tuple[int, date], tuple[int, int, int]] = {}
    if windows:
        days = reduce(or_, (Q(promise_id=promise_id, day__range=(before[0], after[1]))
                            for (promise_id, _), (before, after) in windows.items()))
        for promise_id, day, n, neg, pos in (PromiseRollup.objects.filter(days).values_list("promise_id", "day")
                                             .annotate(n=Sum("mentions"), neg=Sum("mentions", filter=Q(sentiment=NEG)),
                                                       pos=Sum("mentions", filter=Q(sentiment=POS)))):
            daily[(promise_id, day)] = (n or 0, neg or 0, pos or 0)

    def window(promise_id, first: date, last: date) -> dict:
        mentions = shortfalls = delights = 0
        for offset in range((last - first).days + 1):
            n, neg, pos = daily.get((promise_id, first + timedelta(days=offset)), (0, 0, 0))
            mentions, shortfalls, delights = mentions + n, shortfalls + neg, delights + pos
        return {"gap": gap_index(shortfalls, delights, mentions), "mentions": mentions}

    result = []
    for promise_id, gap in gapped.items():
        rows = []
        for problem_id, cases in top[promise_id]:
            problem = problems.get(problem_id)
            if problem is None:
                continue
            entry = {"problem_id": problem_id, "title": problem.title, "owner": problem.owner_department.name,
                     "status": problem.status, "cases": cases, "resolved_at": problem.resolved_at}
            if (promise_id, problem_id) in windows:
                before, after = windows[(promise_id, problem_id)]
                entry["before"], entry["after"] = window(promise_id, *before), window(promise_id, *after)
            rows.append(entry)
        result.append({"promise_id": promise_id, "name": gap["name"], "slug": gap["slug"], "gap": gap["gap"],
                       "mentions": gap["mentions"], "department": gap["department"], "problems": rows,
                       "notes": notes[promise_id], "addressed": bool(rows or notes[promise_id])})
    result.sort(key=lambda r: -r["gap"])
    return {"promises": result, "response_promises": response_promises(period=period, replies=replies),
            "window_days": window_days}


def response_promises(*, period: Period, replies: Replies | None = None) -> list[dict]:
    """Each promise whose target names a reply time, against the first replies of its department
    (every department when it has none): the share within the target and the median."""
    promises = [(p, response_target_minutes(p.target) or response_target_minutes(p.name))
                for p in Promise.objects.select_related("department").filter(is_active=True)]
    promises = [(p, minutes) for p, minutes in promises if minutes]
    if not promises:
        return []
    if replies is None:
        now, before = _histograms(DurationRollup.FIRST_REPLY, period, ("department_id",))
    else:
        now, before = replies.now, replies.before
    result = []
    for promise, minutes in promises:
        keys = [(promise.department_id,)] if promise.department_id else list(now)
        histogram, previous = Counter(), Counter()
        for key in keys:
            histogram.update(now.get(key, {}))
            previous.update(before.get(key, {}))
        share, prev_share = buckets.share_within(histogram, minutes), buckets.share_within(previous, minutes)
        result.append({"name": promise.name, "slug": promise.slug, "target": promise.target,
                       "target_minutes": minutes, "department": promise.department.name if promise.department else "All",
                       "replies": sum(histogram.values()), "within": share, "prev_within": prev_share,
                       "change": _change(share, prev_share), "median": buckets.percentile(histogram, 0.5)})
    return result


# --- The whole dashboard -------------------------------------------------------------------------

PANELS = ("gap", "regions", "response", "handoffs", "problems", "volume", "loop")


def dashboard(*, period: Period) -> dict:
    """Every panel, computed from the rollups now (the loop reuses the gap panel and the response panel's
    first-reply histograms)."""
    gap = gap_panel(period=period)
    replies = response_rows(period=period)
    data = {
        "period": period, "gap": gap, "regions": region_panel(period=period),
        "response": response_panel(period=period, replies=replies), "handoffs": handoff_panel(period=period),
        "problems": problems_panel(period=period), "volume": volume_panel(period=period),
        "loop": loop_panel(period=period, gaps=gap["promises"], replies=replies),
    }
    return data


# The rollups' version: every refresh and rebuild moves it, so a cached dashboard is never older than them.
ROLLUP_VERSION = "baton:rollups:version"
CACHE_SECONDS = 24 * 3600


def rollup_version() -> int:
    version = cache.get(ROLLUP_VERSION)
    if version is None:
        cache.add(ROLLUP_VERSION, 1, None)
        version = cache.get(ROLLUP_VERSION, 1)
    return version


def rollups_changed() -> int:
    """Called after rollups were written: cached dashboards of the old version are not read again."""
    try:
        return cache.incr(ROLLUP_VERSION)
    except ValueError:  # not there (a cold cache)
        cache.add(ROLLUP_VERSION, 1, None)
        return rollup_version()


def cached_dashboard(*, period: Period) -> dict:
    """`dashboard`, kept in the cache for the rollups' current version: the same figures (they change only
    when a refresh writes rollups), computed once per refresh and period. The refresh task warms the
    default period (`warm_dashboard`)."""
    version = rollup_version()
    key = f"baton:board:{version}:{period.start}:{period.end}"
    data = cache.get(key)
    if data is None:
        data = {**dashboard(period=period), "version": version}  # the page caches its HTML by this version too
        cache.set(key, data, CACHE_SECONDS)
    return data


def warm_dashboard(*, days: int = 30) -> None:
    """After a refresh: compute the default period's dashboard for the new version, before anyone asks."""
    cached_dashboard(period=period_of(days=days))


def panel(name: str, *, period: Period) -> dict:
    """One panel by name (what the CSV export and the bench time)."""
    if name == "loop":
        return loop_panel(period=period, gaps=gap_panel(period=period)["promises"])
    return {"gap": gap_panel, "regions": region_panel, "response": response_panel, "handoffs": handoff_panel,
            "problems": problems_panel, "volume": volume_panel}[name](period=period)


# --- Drill-down (department roles only: the views check) -----------------------------------------


def promise_examples(*, promise: Promise, period: Period, limit: int = 10) -> dict:
    """The latest shortfalls and delights about a promise in the period: customers' posts."""
    start, _ = day_bounds(period.start)
    _, end = day_bounds(period.end)
    mentions = (Mention.objects.filter(promise=promise, posted_at__gte=start, posted_at__lt=end)
                .select_related("case", "case__department").order_by("-posted_at", "-id"))
    return {"shortfalls": list(mentions.filter(sentiment_label=NEG)[:limit]),
            "delights": list(mentions.filter(sentiment_label=POS)[:limit])}


def promise_summary(*, promise: Promise, period: Period) -> dict:
    """Aggregates about one promise: gap now and before, weekly trend, shortfalls by region."""
    row = next((r for r in gap_panel(period=period)["promises"] if r["promise_id"] == promise.id), None)
    regions = _rows(RegionRollup.objects.filter(_in(period), promise_id=promise.id).values("region")
                    .annotate(cur_shortfalls=Sum("shortfalls"), cur_mentions=Sum("mentions"))
                    .order_by("-cur_shortfalls")[:15])
    return {"row": row, "regions": [{"name": region_name(r["region"]), **r} for r in regions],
            "weeks": _weeks(period.end)}
