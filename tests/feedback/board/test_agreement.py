"""The dashboard's numbers (read from the rollups) against a direct count over the raw rows, on the
same seeded data (tests/feedback/board/conftest.py): every panel, this period and the previous one."""

from collections import Counter, defaultdict

import pytest

from feedback.board import buckets, rollups, selectors
from feedback.board.days import day_of, today
from feedback.board.regions import normalise_location
from feedback.cases.models import Case, FeedbackNote, Handoff
from feedback.choices import HandoffStatus, Intent
from feedback.intake.models import Mention
from feedback.sla.models import Escalation, SlaClock

pytestmark = pytest.mark.django_db


def _in(moment, period) -> bool:
    return period.start <= day_of(moment) <= period.end


def _location(mention) -> str:
    if mention.customer and mention.customer.region:
        return mention.customer.region
    author = mention.raw.get("author") if isinstance(mention.raw, dict) else None
    if isinstance(author, dict) and author.get("location"):
        return author["location"]
    return mention.raw.get("location") or ""


def _percentile_bound(values, share):
    """What the rollups report for raw waits: the upper bound of the bucket of the nearest-rank value."""
    value = buckets.nearest_rank(values, share)
    return None if value is None else buckets.bounds_of(buckets.bucket_of(value))[1]


def direct(period) -> dict:
    """Every figure of the dashboard, counted on the raw rows in plain Python."""
    mentions = [m for m in Mention.objects.select_related("customer", "case", "case__department", "promise")
                if _in(m.posted_at, period)]
    gap = {}
    for m in mentions:
        if m.promise_id:
            row = gap.setdefault(m.promise_id, Counter())
            row["mentions"] += 1
            row["shortfalls"] += m.sentiment_label == "negative"
            row["delights"] += m.sentiment_label == "positive"
    grid = Counter((normalise_location(_location(m)), m.promise_id) for m in mentions
                   if m.promise_id and m.sentiment_label == "negative")
    volume = {key: Counter(getattr(m, field) for m in mentions)
              for key, field in (("intent", "intent"), ("sentiment", "sentiment_label"), ("source", "source"))}
    praise = sum(1 for m in mentions if m.intent == Intent.PRAISE and m.case and m.case.department.slug == "hr")
    cases = [c for c in Case.objects.select_related("department") if _in(c.created_at, period)]
    waits = defaultdict(list)
    for c in cases:
        if c.first_replied_at:
            waits[c.department.name].append((c.first_replied_at - c.created_at).total_seconds() / 60)
    sla = Counter()
    for clock in SlaClock.objects.select_related("case", "department", "case__department"):
        if _in(clock.case.created_at, period):
            name = (clock.department or clock.case.department).name
            if clock.breached_at:
                sla[(name, clock.metric, "missed")] += 1
            elif clock.stopped_at:
                sla[(name, clock.metric, "met")] += 1
    escalations = Counter(e.level for e in Escalation.objects.select_related("clock__case")
                          if _in(e.clock.case.created_at, period))
    handoffs = defaultdict(Counter)
    acceptance = defaultdict(list)
    for h in Handoff.objects.select_related("from_department", "to_department"):
        if _in(h.created_at, period):
            pair = (h.from_department.name, h.to_department.name)
            handoffs[pair]["handoffs"] += 1
            handoffs[pair]["accepted"] += h.status == HandoffStatus.ACCEPTED
            handoffs[pair]["returned"] += h.status == HandoffStatus.RETURNED
            if h.status == HandoffStatus.ACCEPTED:
                acceptance[pair].append((h.decided_at - h.created_at).total_seconds() / 60)
    notes = Counter((n.from_department.name, n.to_department.name)
                    for n in FeedbackNote.objects.select_related("from_department", "to_department")
                    if _in(n.created_at, period))
    problems = Counter(c.problem_id for c in cases if c.problem_id)
    return {"gap": gap, "grid": grid, "volume": volume, "praise": praise, "waits": waits, "sla": sla,
            "escalations": escalations, "handoffs": handoffs, "acceptance": acceptance, "notes": notes,
            "problems": problems, "mentions": len(mentions), "cases": len(cases)}


@pytest.mark.parametrize("days", [7, 30])
def test_the_dashboard_agrees_with_a_direct_count(seeded, days):
    rollups.rebuild()
    period = selectors.period_of(days=days, end=today())
    data = selectors.dashboard(period=period)
    for which, expected in (("now", direct(period)), ("before", direct(period.previous))):
        prefix = "" if which == "now" else "prev_"
        assert expected["mentions"] > 0, "the seed puts data in both periods"
        # 1. gap index by promise
        shown = {row["promise_id"]: row for row in data["gap"]["promises"]}
        for promise_id, counts in expected["gap"].items():
            row = shown[promise_id]
            assert (row[f"{prefix}mentions"], row[f"{prefix}shortfalls"], row[f"{prefix}delights"]) == (
                counts["mentions"], counts["shortfalls"], counts["delights"]), (which, promise_id)
            assert row[f"{prefix}gap"] == selectors.gap_index(counts["shortfalls"], counts["delights"],
                                                              counts["mentions"])
        assert sum(row[f"{prefix}mentions"] for row in data["gap"]["promises"]) == sum(
            c["mentions"] for c in expected["gap"].values())
        # 6. volume
        assert data["volume"][f"{prefix}mentions"] == expected["mentions"]
        for key in ("intent", "sentiment", "source"):
            assert {r["key"]: r[f"{prefix}mentions"] for r in data["volume"][key] if r[f"{prefix}mentions"]} == {
                k: n for k, n in expected["volume"][key].items() if n}, (which, key)
        assert data["volume"][f"{prefix}named_praise"] == expected["praise"]
        # 3. escalations per level
        assert data["response"][f"{prefix}escalations"] == {level: expected["escalations"][level] for level in (1, 2, 3, 4)}
        assert data["response"][f"{prefix}cases"] == expected["cases"]
        # 3. first reply: the median and p90 are the bounds of the buckets holding the raw nearest-rank values
        replies = {row["department"]: row for row in data["response"]["departments"]}
        for name, waits in expected["waits"].items():
            assert replies[name][f"{prefix}median"] == _percentile_bound(waits, 0.5), (which, name)
            assert replies[name][f"{prefix}p90"] == _percentile_bound(waits, 0.9), (which, name)
            if which == "now":
                assert replies[name]["replied"] == len(waits)
    now = direct(period)
    # 2. the heat grid (this period)
    cells = {(r["region"], c["promise"]): c["shortfalls"] for r in data["regions"]["grid"] for c in r["cells"]}
    names = {p["id"]: p["name"] for p in data["regions"]["columns"]}
    assert {(region, names[pid]): n for (region, pid), n in now["grid"].items()
            if (region, names[pid]) in cells} == {k: v for k, v in cells.items() if v}
    assert data["regions"]["located"] + data["regions"]["unlocated"] == sum(now["grid"].values())
    # 3. SLA attainment per department and metric
    for row in data["response"]["sla"]["rows"]:
        assert (row["met"], row["missed"]) == (now["sla"][(row["department"], row["metric"], "met")],
                                               now["sla"][(row["department"], row["metric"], "missed")])
    assert sum(r["met"] + r["missed"] for r in data["response"]["sla"]["rows"]) == sum(now["sla"].values())
    # 4. handoffs, acceptance medians, feedback up
    pairs = {(p["from"], p["to"]): p for p in data["handoffs"]["pairs"] if p["handoffs"]}
    assert {pair: (p["handoffs"], p["accepted"], p["returned"]) for pair, p in pairs.items()} == {
        pair: (c["handoffs"], c["accepted"], c["returned"]) for pair, c in now["handoffs"].items()}
    for pair, waits in now["acceptance"].items():
        assert pairs[pair]["median_acceptance"] == _percentile_bound(waits, 0.5)
    assert {(f["from"], f["to"]): f["notes"] for f in data["handoffs"]["feedback"] if f["notes"]} == dict(now["notes"])
    # 5. problems by the cases they explain
    assert {p["problem_id"]: p["cases"] for p in data["problems"]["top"]} == dict(now["problems"])


def test_rebuild_twice_gives_the_same_rollups(seeded):
    first = rollups.rebuild()
    period = selectors.period_of(days=30)
    before = selectors.dashboard(period=period)
    second = rollups.rebuild()
    assert first["rows"] == second["rows"] > 0
    assert selectors.dashboard(period=period)["gap"] == before["gap"]


def test_closing_the_loop_agrees_with_a_direct_count(seeded):
    rollups.rebuild()
    period = selectors.period_of(days=30, end=today())
    data = selectors.dashboard(period=period)
    checked = 0
    for promise in data["loop"]["promises"]:
        assert promise["gap"] > 0
        about = [m for m in Mention.objects.filter(promise_id=promise["promise_id"])]
        cases_on_promise = {c.pk for c in Case.objects.all() if rollups.case_promises([c.pk]).get(c.pk) == promise[
            "promise_id"]}
        for problem in promise["problems"]:
            linked = [pk for pk in cases_on_promise
                      if Case.objects.get(pk=pk).problem_id == problem["problem_id"]
                      and day_of(Case.objects.get(pk=pk).created_at) <= period.end]
            assert problem["cases"] == len(linked)
            if problem["resolved_at"]:
                fixed = day_of(problem["resolved_at"])
                before = [m for m in about if 0 < (fixed - day_of(m.posted_at)).days <= 28]
                after = [m for m in about if 0 <= (day_of(m.posted_at) - fixed).days < 28]
                for window, rows in (("before", before), ("after", after)):
                    assert problem[window]["mentions"] == len(rows)
                    assert problem[window]["gap"] == selectors.gap_index(
                        sum(m.sentiment_label == "negative" for m in rows),
                        sum(m.sentiment_label == "positive" for m in rows), len(rows))
                    checked += 1
    assert checked, "the seed has a resolved problem about a promise with a gap"
