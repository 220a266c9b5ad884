"""The board's figures counted directly over the raw rows, in plain Python, and the checks that the
dashboard (read from the rollups) shows exactly them: test_agreement.py on seeded data,
test_freshness.py after every kind of change.

What counts where (feedback/board/models.py): mentions by the day posted; cases by the day created (first
reply, SLA clocks, problem, the case's promise); handoffs and feedback-up notes by the day made;
escalations by the day fired. A mention's region is its customer's CRM region, else the author's
location (raw.author.location, else raw.location).
"""

from collections import Counter, defaultdict
from datetime import timedelta

from feedback.board import buckets, rollups, selectors
from feedback.board.days import day_of, today
from feedback.board.regions import normalise_location, region_name
from feedback.cases.models import Case, FeedbackNote, Handoff, Problem
from feedback.choices import HandoffStatus, Intent
from feedback.intake.models import Mention
from feedback.sla.models import Escalation, SlaClock
from feedback.understanding.models import Promise


def inside(moment, period) -> bool:
    return period.start <= day_of(moment) <= period.end


def location(mention) -> str:
    if mention.customer and mention.customer.region:
        return mention.customer.region
    raw = mention.raw if isinstance(mention.raw, dict) else {}
    author = raw.get("author")
    if isinstance(author, dict) and author.get("location"):
        return author["location"]
    return raw.get("location") or ""


def percentile_bound(values, share):
    """What the rollups report for raw waits: the upper bound of the bucket of the nearest-rank value (of the
    open-ended last bucket, its lower bound)."""
    value = buckets.nearest_rank(values, share)
    if value is None:
        return None
    lower, upper = buckets.bounds_of(buckets.bucket_of(value))
    return lower if upper == float("inf") else upper


def case_promise(case_id) -> int | None:
    """The promise most of the case's mentions are about (the lowest id on a tie), counted here."""
    counts = Counter(m.promise_id for m in Mention.objects.filter(case_id=case_id) if m.promise_id)
    if not counts:
        return None
    return min(counts, key=lambda promise_id: (-counts[promise_id], promise_id))


def direct(period) -> dict:
    """Every figure of the dashboard for one period, counted on the raw rows."""
    mentions = [m for m in Mention.objects.select_related("customer", "case", "case__department", "promise")
                if inside(m.posted_at, period)]
    gap = {}
    for m in mentions:
        if m.promise_id:
            row = gap.setdefault(m.promise_id, Counter())
            row["mentions"] += 1
            row["shortfalls"] += m.sentiment_label == "negative"
            row["delights"] += m.sentiment_label == "positive"
    grid = Counter((normalise_location(location(m)), m.promise_id) for m in mentions
                   if m.promise_id and m.sentiment_label == "negative")
    region_mentions = Counter(normalise_location(location(m)) for m in mentions if m.promise_id)
    volume = {key: Counter(getattr(m, field) for m in mentions)
              for key, field in (("intent", "intent"), ("sentiment", "sentiment_label"), ("source", "source"))}
    praise = sum(1 for m in mentions if m.intent == Intent.PRAISE and m.case and m.case.department.slug == "hr")
    cases = [c for c in Case.objects.select_related("department") if inside(c.created_at, period)]
    waits = defaultdict(list)
    for c in cases:
        if c.first_replied_at:
            waits[c.department.name].append((c.first_replied_at - c.created_at).total_seconds() / 60)
    sla = Counter()
    for clock in SlaClock.objects.select_related("case", "department", "case__department"):
        if inside(clock.case.created_at, period):
            name = (clock.department or clock.case.department).name
            state = "missed" if clock.breached_at else "met" if clock.stopped_at else "running"
            sla[(name, clock.metric, state)] += 1
    escalations = Counter(e.level for e in Escalation.objects.all() if inside(e.created_at, period))
    handoffs = defaultdict(Counter)
    acceptance = defaultdict(list)
    for h in Handoff.objects.select_related("from_department", "to_department"):
        if inside(h.created_at, period):
            pair = (h.from_department.name, h.to_department.name)
            handoffs[pair]["handoffs"] += 1
            handoffs[pair]["accepted"] += h.status == HandoffStatus.ACCEPTED
            handoffs[pair]["returned"] += h.status == HandoffStatus.RETURNED
            if h.status == HandoffStatus.ACCEPTED:
                acceptance[pair].append((h.decided_at - h.created_at).total_seconds() / 60)
    notes = defaultdict(Counter)
    for n in FeedbackNote.objects.select_related("from_department", "to_department"):
        if inside(n.created_at, period):
            pair = (n.from_department.name, n.to_department.name)
            notes[pair]["notes"] += 1
            notes[pair]["acknowledged"] += n.acknowledged_at is not None
    problems = Counter(c.problem_id for c in cases if c.problem_id)
    return {"gap": gap, "grid": grid, "region_mentions": region_mentions, "volume": volume, "praise": praise,
            "waits": waits, "sla": sla, "escalations": escalations, "handoffs": handoffs, "acceptance": acceptance,
            "notes": notes, "problems": problems, "mentions": len(mentions), "cases": len(cases)}


def assert_agrees(data: dict, period) -> None:
    """Every figure of `data` (a dashboard for `period`) equals the direct count, this period and the previous."""
    now, before = direct(period), direct(period.previous)
    for which, expected in (("now", now), ("before", before)):
        prefix = "" if which == "now" else "prev_"
        # 1. gap index by promise
        shown = {row["promise_id"]: row for row in data["gap"]["promises"]}
        assert {pid for pid, row in shown.items() if row[f"{prefix}mentions"]} == set(expected["gap"]), which
        for promise_id, counts in expected["gap"].items():
            row = shown[promise_id]
            assert (row[f"{prefix}mentions"], row[f"{prefix}shortfalls"], row[f"{prefix}delights"]) == (
                counts["mentions"], counts["shortfalls"], counts["delights"]), (which, promise_id)
            assert row[f"{prefix}gap"] == selectors.gap_index(counts["shortfalls"], counts["delights"],
                                                              counts["mentions"])
        # 6. volume
        assert data["volume"][f"{prefix}mentions"] == expected["mentions"], which
        for key in ("intent", "sentiment", "source"):
            assert {r["key"]: r[f"{prefix}mentions"] for r in data["volume"][key] if r[f"{prefix}mentions"]} == {
                k: n for k, n in expected["volume"][key].items() if n}, (which, key)
        assert data["volume"][f"{prefix}named_praise"] == expected["praise"], which
        # 3. escalations per level (by the day they fired), cases created
        assert data["response"][f"{prefix}escalations"] == {level: expected["escalations"][level]
                                                              for level in (1, 2, 3, 4)}, which
        assert data["response"][f"{prefix}cases"] == expected["cases"], which
        # 3. first reply: the median and p90 are the bounds of the buckets holding the raw nearest-rank values
        replies = {row["department"]: row for row in data["response"]["departments"]}
        for name, waits in expected["waits"].items():
            assert replies[name][f"{prefix}median"] == percentile_bound(waits, 0.5), (which, name)
            assert replies[name][f"{prefix}p90"] == percentile_bound(waits, 0.9), (which, name)
        # 4. handoffs made in the period and feedback-up notes sent in it
        pairs = {(p["from"], p["to"]): p for p in data["handoffs"]["pairs"]}
        assert {pair: p[f"{prefix}handoffs"] for pair, p in pairs.items() if p[f"{prefix}handoffs"]} == {
            pair: c["handoffs"] for pair, c in expected["handoffs"].items()}, which
        notes = {(f["from"], f["to"]): f for f in data["handoffs"]["feedback"]}
        assert {pair: f[f"{prefix}notes"] for pair, f in notes.items() if f[f"{prefix}notes"]} == {
            pair: c["notes"] for pair, c in expected["notes"].items()}, which
    # Figures shown for this period only.
    replies = {row["department"]: row for row in data["response"]["departments"]}
    assert {name: row["replied"] for name, row in replies.items() if row["replied"]} == {
        name: len(waits) for name, waits in now["waits"].items()}
    cases_by_department = Counter(c.department.name for c in Case.objects.select_related("department")
                                  if inside(c.created_at, period))
    assert {name: row["cases"] for name, row in replies.items() if row["cases"]} == dict(cases_by_department)
    # 1. names as they are now (a rename shows at once)
    promises = {p.pk: p for p in Promise.objects.select_related("department")}
    for row in data["gap"]["promises"]:
        if row["promise_id"] in promises:
            promise = promises[row["promise_id"]]
            assert (row["name"], row["target"]) == (promise.name, promise.target)
    # 2. the heat grid and the mentions behind each region
    columns = data["regions"]["columns"]  # promise ids in the order of each row's cells (names may repeat)
    cells = {(r["region"], column["id"]): cell["shortfalls"] for r in data["regions"]["grid"]
             for column, cell in zip(columns, r["cells"], strict=True)}
    by_region = Counter()
    for (region, _), n in now["grid"].items():
        by_region[region] += n
    shown = {r["region"] for r in data["regions"]["grid"]}
    located = [region for region in by_region if region]
    # The 15 regions with the most shortfalls (and the unlocated ones): none left out has more than one shown.
    assert len(shown - {""}) == min(15, len(located))
    assert max((by_region[r] for r in located if r not in shown), default=0) <= min(
        (by_region[r] for r in shown if r), default=0)
    assert {k: v for k, v in cells.items() if v} == {k: n for k, n in now["grid"].items() if k[0] in shown}
    assert data["regions"]["located"] + data["regions"]["unlocated"] == sum(now["grid"].values())
    assert data["regions"]["regions"] == len(located)
    previous_grid = Counter()
    for (region, _), n in before["grid"].items():
        previous_grid[region] += n
    for row in data["regions"]["grid"]:
        assert row["name"] == region_name(row["region"])
        assert row["mentions"] == now["region_mentions"][row["region"]], row["region"]
        assert row["prev_shortfalls"] == previous_grid[row["region"]], row["region"]
    # 3. SLA attainment per department and metric (met, missed, running)
    shown_sla = {(r["department"], r["metric"], state): r[state] for r in data["response"]["sla"]["rows"]
                 for state in ("met", "missed", "running")}
    assert {k: v for k, v in shown_sla.items() if v} == {k: v for k, v in now["sla"].items() if v}
    # 4. accepted, sent back, median acceptance of the handoffs made in the period; notes acknowledged
    pairs = {(p["from"], p["to"]): p for p in data["handoffs"]["pairs"] if p["handoffs"]}
    assert {pair: (p["handoffs"], p["accepted"], p["returned"]) for pair, p in pairs.items()} == {
        pair: (c["handoffs"], c["accepted"], c["returned"]) for pair, c in now["handoffs"].items()}
    for pair, p in pairs.items():
        assert p["median_acceptance"] == percentile_bound(now["acceptance"].get(pair, []), 0.5), pair
    assert {(f["from"], f["to"]): f["acknowledged"] for f in data["handoffs"]["feedback"] if f["notes"]} == {
        pair: c["acknowledged"] for pair, c in now["notes"].items()}
    assert data["handoffs"]["handoffs"] == sum(c["handoffs"] for c in now["handoffs"].values())
    assert data["handoffs"]["notes"] == sum(c["notes"] for c in now["notes"].values())
    # 5. problems by the cases (created in the period) they explain: every one with cases now is listed (the
    # seed has fewer than the panel's ten), with its cases before
    assert {p["problem_id"]: p["cases"] for p in data["problems"]["top"]} == dict(now["problems"])
    assert {p["problem_id"]: p["prev_cases"] for p in data["problems"]["top"]} == {
        pid: before["problems"][pid] for pid in now["problems"]}
    stored = Problem.objects.select_related("owner_department").in_bulk([p["problem_id"] for p in data["problems"]["top"]])
    assert {p["problem_id"]: (p["title"], p["owner"], p["status"]) for p in data["problems"]["top"]} == {
        pk: (problem.title, problem.owner_department.name, problem.status) for pk, problem in stored.items()}
    _assert_trends(data, period)
    _assert_loop(data, period)
    _assert_response_promises(data, now)


def _assert_response_promises(data: dict, now: dict) -> None:
    """Every active promise that names a reply time, against the first replies of its department (all
    departments when it has none) of the cases created in the period."""
    expected = {}
    for promise in Promise.objects.filter(is_active=True).select_related("department"):
        minutes = selectors.response_target_minutes(promise.target) or selectors.response_target_minutes(promise.name)
        if minutes:
            names = [promise.department.name] if promise.department else list(now["waits"])
            waits = [wait for name in names for wait in now["waits"].get(name, [])]
            within = sum(1 for wait in waits if buckets.bounds_of(buckets.bucket_of(wait))[1] <= minutes)
            expected[promise.slug] = (minutes, len(waits), round(within / len(waits), 4) if waits else None)
    shown = {r["slug"]: (r["target_minutes"], r["replies"], None if r["within"] is None else round(r["within"], 4))
             for r in data["loop"]["response_promises"]}
    assert shown == expected


def _week_of(moment, weeks) -> object:
    day = day_of(moment)
    monday = day - timedelta(days=day.weekday())
    return monday if monday in weeks else None


def _assert_trends(data: dict, period) -> None:
    """The weekly trend lines: 12 weeks up to the period's end (days after it left out)."""
    weeks = data["gap"]["weeks"]
    in_trend = [m for m in Mention.objects.all() if day_of(m.posted_at) <= period.end and _week_of(m.posted_at, weeks)]
    for row in data["gap"]["promises"]:
        about = [m for m in in_trend if m.promise_id == row["promise_id"]]
        assert row["trend_mentions"] == [sum(1 for m in about if _week_of(m.posted_at, weeks) == w) for w in weeks]
        assert row["trend"] == [selectors.gap_index(
            sum(1 for m in about if _week_of(m.posted_at, weeks) == w and m.sentiment_label == "negative"),
            sum(1 for m in about if _week_of(m.posted_at, weeks) == w and m.sentiment_label == "positive"),
            sum(1 for m in about if _week_of(m.posted_at, weeks) == w)) for w in weeks], row["name"]
    cases = [c for c in Case.objects.select_related("department")
             if day_of(c.created_at) <= period.end and _week_of(c.created_at, weeks)]
    for row in data["response"]["departments"]:
        weekly = [[(c.first_replied_at - c.created_at).total_seconds() / 60 for c in cases
                   if c.department.name == row["department"] and c.first_replied_at
                   and _week_of(c.created_at, weeks) == w] for w in weeks]
        assert row["trend_median"] == [percentile_bound(waits, 0.5) for waits in weekly], row["department"]
        assert row["trend_p90"] == [percentile_bound(waits, 0.9) for waits in weekly], row["department"]
    for row in data["problems"]["top"]:
        assert row["trend"] == [sum(1 for c in cases if c.problem_id == row["problem_id"]
                                    and _week_of(c.created_at, weeks) == w) for w in weeks], row["title"]


def _assert_loop(data: dict, period) -> None:
    """Closing the loop: per promise with a gap, the notes and problems of the cases about it (up to the
    period's end), and the gap in the windows before and after each resolved problem."""
    gapped = {row["promise_id"] for row in data["gap"]["promises"] if row["gap"] is not None and row["gap"] > 0}
    assert {row["promise_id"] for row in data["loop"]["promises"]} == gapped
    window = data["loop"]["window_days"]
    promise_of = {c.pk: case_promise(c.pk) for c in Case.objects.all()}
    for row in data["loop"]["promises"]:
        pid = row["promise_id"]
        notes = Counter()
        acknowledged = Counter()
        for n in FeedbackNote.objects.select_related("from_department", "to_department"):
            if promise_of[n.case_id] == pid and day_of(n.created_at) <= period.end:
                notes[(n.from_department.name, n.to_department.name)] += 1
                acknowledged[(n.from_department.name, n.to_department.name)] += n.acknowledged_at is not None
        assert {(n["from"], n["to"]): (n["notes"], n["acknowledged"]) for n in row["notes"]} == {
            pair: (count, acknowledged[pair]) for pair, count in notes.items()}, row["name"]
        linked = Counter(c.problem_id for c in Case.objects.all()
                         if c.problem_id and promise_of[c.pk] == pid and day_of(c.created_at) <= period.end)
        top = dict(sorted(linked.items(), key=lambda kv: -kv[1])[:5])
        assert {p["problem_id"]: p["cases"] for p in row["problems"]} == {
            problem_id: n for problem_id, n in top.items() if Problem.objects.filter(pk=problem_id).exists()}
        about = list(Mention.objects.filter(promise_id=pid))
        for problem in row["problems"]:
            stored = Problem.objects.select_related("owner_department").get(pk=problem["problem_id"])
            assert (problem["title"], problem["owner"], problem["status"], problem["resolved_at"]) == (
                stored.title, stored.owner_department.name, stored.status, stored.resolved_at)
            if not problem["resolved_at"]:
                assert "before" not in problem
                continue
            fixed = day_of(problem["resolved_at"])
            last = min(fixed + timedelta(days=window - 1), today())
            for name, rows in (("before", [m for m in about if 0 < (fixed - day_of(m.posted_at)).days <= window]),
                               ("after", [m for m in about if fixed <= day_of(m.posted_at) <= last])):
                assert problem[name]["mentions"] == len(rows), (row["name"], name)
                assert problem[name]["gap"] == selectors.gap_index(
                    sum(m.sentiment_label == "negative" for m in rows),
                    sum(m.sentiment_label == "positive" for m in rows), len(rows)), (row["name"], name)


# --- The rollup tables themselves ------------------------------------------------------------------


def _row_key(row) -> tuple:
    values = []
    for field in type(row)._meta.concrete_fields:
        if field.primary_key:
            continue
        value = getattr(row, field.attname)
        values.append(round(value, 3) if isinstance(value, float) else value)
    return tuple(values)


def rollup_tables() -> dict[str, Counter]:
    """Every rollup row as it is stored, per table (ids left out)."""
    return {model.__name__: Counter(_row_key(row) for row in model.objects.all()) for model in rollups.ROLLUP_MODELS}


def recomputed_tables() -> dict[str, Counter]:
    """What every rollup table would hold if every day with data were recomputed from the raw rows now."""
    tables = {model.__name__: Counter() for model in rollups.ROLLUP_MODELS}
    span = rollups.data_days()
    if span is None:
        return tables
    hr_id = rollups.hr_department_id()
    day = span[0]
    while day <= span[1]:
        for row in rollups.day_rows(day, hr_id=hr_id):
            tables[type(row).__name__][_row_key(row)] += 1
        day += timedelta(days=1)
    return tables
