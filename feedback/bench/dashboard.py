"""bench dashboard: seed a year of mentions and cases, rebuild the rollups, time the board dashboard.

Seeds `--mentions` mentions (first 100,000, measured, then the rest, measured again) spread over
`--days` days up to today, with customers, cases (one per five mentions) and their first-reply and
resolution clocks, escalations, handoffs, feedback-up notes and problems, written with the COPY path of
`feedback.db.insert_new`. Rebuilds the rollups (`manage.py rebuild_rollups`'s function, timed), then
requests /board/ as a board member `--runs` times, each time right after the rollups' version moved (cold:
every panel computed from the rollups) and again (warm: the dashboard cached for that version, as board
members get it between refreshes), and times each panel's selector alone (cold). Prints p50 and p95; the last line is JSON with `p95_ms` at the full
size and `p95_ms_100k` at 100,000. The bench's rows are deleted at the end unless `--keep`.
"""

import csv
import math
import random
import statistics
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client, override_settings
from django.utils import timezone

from customers.models import Customer
from feedback import db
from feedback.bench.common import DEMO_CSV, sample_texts, stack
from feedback.board import rollups, selectors
from feedback.board.days import today
from feedback.board.models import RollupDay
from feedback.board.rollups import ROLLUP_MODELS
from feedback.cases.models import Case, FeedbackNote, Handoff, Problem
from feedback.choices import CaseStatus, ClockMetric, HandoffStatus, Intent, MentionStatus, Priority
from feedback.intake.models import Mention
from feedback.sla.models import Escalation, SlaClock
from feedback.understanding.models import Promise
from teams.models import BoardSeat, Department

BATCH = 50_000
FIRST = 100_000
INTENTS = [(Intent.COMPLAINT, 35), (Intent.QUESTION, 20), (Intent.PRAISE, 15), (Intent.OTHER, 12), (Intent.IDEA, 5),
           (Intent.PURCHASE_INTENT, 4), (Intent.WARRANTY_RETURN, 4), (Intent.SPAM_TROLL, 4), (Intent.PRESS, 1)]
SOURCES = [("x", 60), ("facebook", 15), ("instagram", 10), ("review", 10), ("api", 5)]


def add_arguments(parser):
    parser.add_argument("--mentions", type=int, default=1_000_000, help="Mentions in all (default 1000000).")
    parser.add_argument("--days", type=int, default=365, help="Days of data up to today (default 365).")
    parser.add_argument("--runs", type=int, default=30, help="Timed requests per measurement (default 30).")
    parser.add_argument("--keep", action="store_true", help="Keep the seeded rows and rollups.")


def _weighted(rng, pairs):
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights, k=1)[0]


def _locations() -> list[str]:
    if DEMO_CSV.exists():
        with DEMO_CSV.open(newline="", encoding="utf-8") as handle:
            found = [row["location"] for row in csv.DictReader(handle) if row.get("location")]
        if found:
            return found
    return ["New York, NY", "Austin, TX", "Houston", "Chicago", "London", "NYC", "Boston, MA"]


class Seeder:
    """Writes the bench's rows with COPY (feedback.db.insert_new), in batches."""

    def __init__(self, *, prefix: str, days: int, seed: int = 7):
        self.prefix, self.days, self.rng = prefix, days, random.Random(seed)
        self.texts, self.locations = sample_texts(), _locations()
        self.end = timezone.now().replace(minute=0, second=0, microsecond=0)
        self.departments = dict(Department.objects.values_list("slug", "id"))
        self.promises = list(Promise.objects.values_list("id", flat=True))
        self.customers: list[int] = []
        self.problems: list[int] = []
        self.seeded = 0

    @staticmethod
    def stride(n: int) -> int:
        """A step coprime with n near n / golden ratio: i -> i * step mod n visits every position, evenly spread."""
        step = max(1, int(n * 0.6180339887))
        while math.gcd(step, n) != 1:
            step += 1
        return step

    def _moment(self, i: int, n: int):
        # Position i of n, shuffled (a multiplication modulo n), so that the first 100,000 spread over the
        # whole year as the rest do; later days a little busier; a random minute of the day.
        share = ((i * self.stride(n)) % n + self.rng.random()) / n
        day = int(self.days * (share ** 0.9))
        return self.end - timedelta(days=self.days - 1 - min(day, self.days - 1),
                                    minutes=self.rng.randrange(0, 24 * 60))

    def customers_for(self, count: int) -> None:
        have = len(self.customers)
        if count <= have:
            return
        rows = [{"external_id": f"{self.prefix}-c-{i}", "name": f"Customer {i}", "email": "", "phone": "",
                 "stage": "customer", "value": 0, "region": "", "created_at": self.end, "updated_at": self.end}
                for i in range(have, count)]
        for start in range(0, len(rows), BATCH):
            self.customers += [row[0] for row in db.insert_new(Customer, rows[start:start + BATCH],
                                                               unique=("external_id",), returning=("id",))]

    def problems_for(self) -> None:
        if self.problems:
            return
        slugs = ["service", "after-sales", "product", "sales"]
        for i in range(30):
            resolved = self.end - timedelta(days=self.rng.randrange(10, self.days)) if i % 3 == 0 else None
            self.problems.append(Problem.objects.create(
                title=f"{self.prefix} problem {i}", owner_department_id=self.departments[slugs[i % len(slugs)]],
                status="resolved" if resolved else "open", created_at=self.end - timedelta(days=self.days),
                resolved_at=resolved).pk)

    def seed(self, count: int, *, total: int, out) -> None:
        """Add `count` mentions (positions self.seeded.. of `total`), with their cases, clocks and journeys."""
        rng = self.rng
        self.customers_for(max(1000, total // 20))
        self.problems_for()
        departments = [self.departments[s] for s in ("service", "sales", "after-sales", "marketing", "product", "hr")
                       if s in self.departments]
        first = self.seeded
        for start in range(first, first + count, BATCH):
            stop = min(start + BATCH, first + count)
            # Cases first (one per five mentions), so that mentions can point at them.
            case_rows, case_meta = [], []
            for i in range(start, stop, 5):
                created = self._moment(i, total)
                department = departments[0] if rng.random() < 0.55 else rng.choice(departments)
                # First replies get faster over the year: the trend the board wants to see.
                age = (self.end - created).days / max(1, self.days)
                replied = created + timedelta(minutes=rng.lognormvariate(3.2 + age, 1.0)) if rng.random() < 0.9 else None
                status = rng.choice([CaseStatus.OPEN, CaseStatus.RESOLVED, CaseStatus.CLOSED, CaseStatus.RESOLVED])
                case_rows.append({
                    "customer_id": rng.choice(self.customers), "department_id": department, "assignee_id": None,
                    "status": status, "priority": _weighted(rng, [(Priority.NORMAL, 70), (Priority.HIGH, 20),
                                                                   (Priority.URGENT, 5), (Priority.LOW, 5)]),
                    "intent": Intent.COMPLAINT, "subject": f"{self.prefix}-case-{i}", "escalation_level": 0,
                    "problem_id": rng.choice(self.problems) if rng.random() < 0.06 else None,
                    "created_at": created, "updated_at": created, "first_replied_at": replied,
                    "resolved_at": replied + timedelta(hours=6) if replied and status != CaseStatus.OPEN else None,
                    "closed_at": None, "routed_by_id": None, "tags": [], "requires_approval": False,
                })
                case_meta.append((created, department, replied))
            ids = dict((subject, pk) for pk, subject in db.insert_new(Case, case_rows, unique=("id",),
                                                                       returning=("id", "subject")))
            cases = [(ids[row["subject"]], *meta) for row, meta in zip(case_rows, case_meta, strict=True)]
            self._clocks_and_journeys(cases)
            mention_rows = []
            for i in range(start, stop):
                case = cases[(i - start) // 5] if rng.random() < 0.8 else None
                posted = case[1] - timedelta(minutes=rng.randrange(0, 30)) if case else self._moment(i, total)
                intent = Intent.COMPLAINT if case and rng.random() < 0.6 else _weighted(rng, INTENTS)
                negative = intent == Intent.COMPLAINT or rng.random() < 0.15
                label = "negative" if negative else ("positive" if intent == Intent.PRAISE or rng.random() < 0.3
                                                     else "neutral")
                mention_rows.append({
                    "source": _weighted(rng, SOURCES), "external_id": f"{self.prefix}-{i}",
                    "author_handle": f"{self.prefix}-a-{i % 50_000}", "author_name": "", "author_followers": i % 5000,
                    "text": self.texts[i % len(self.texts)], "url": "", "posted_at": posted, "received_at": posted,
                    "raw": {"location": self.locations[(i * 7919) % len(self.locations)]},
                    "status": MentionStatus.PROCESSED, "error": "", "attempts": 1, "processed_at": posted,
                    "sentiment": -0.6 if label == "negative" else (0.6 if label == "positive" else 0.0),
                    "sentiment_label": label, "intent": intent,
                    "promise_id": rng.choice(self.promises) if self.promises and rng.random() < 0.4 else None,
                    "customer_id": rng.choice(self.customers), "case_id": case[0] if case else None,
                })
            db.insert_new(Mention, mention_rows, unique=("source", "external_id"))
            self.seeded = stop
            out(f"  seeded {stop:,} mentions")

    def _clocks_and_journeys(self, cases) -> None:
        rng = self.rng
        clocks = []
        for case_id, created, department, replied in cases:
            target = 240
            due = created + timedelta(minutes=target)
            stopped = replied
            breached = due if (replied is None or replied > due) else None
            clocks.append({"case_id": case_id, "metric": ClockMetric.FIRST_REPLY, "started_at": created, "due_at": due,
                           "warn_at": created + timedelta(minutes=180), "stopped_at": stopped or due,
                           "warned_at": None, "breached_at": breached, "department_id": department,
                           "target_minutes": target, "warn_share": 0.75, "business_hours": False, "paused_at": None,
                           "remaining_minutes": None, "next_level": None, "next_escalation_at": None,
                           "escalation_level": 2 if breached else 0})
        inserted = db.insert_new(SlaClock, clocks, unique=("id",), returning=("id", "case_id", "breached_at"))
        escalations = []
        for clock_id, _case_id, breached in inserted:
            if breached is not None:
                escalations.append({"clock_id": clock_id, "level": 1, "created_at": breached - timedelta(minutes=60)})
                escalations.append({"clock_id": clock_id, "level": 2, "created_at": breached})
                if rng.random() < 0.2:
                    escalations.append({"clock_id": clock_id, "level": 3, "created_at": breached + timedelta(hours=2)})
        db.insert_new(Escalation, escalations, unique=("clock", "level"))
        departments = list(self.departments.values())
        handoffs, notes = [], []
        for case_id, created, department, _replied in cases:
            if rng.random() < 0.05:
                to = rng.choice([d for d in departments if d != department])
                status = _weighted(rng, [(HandoffStatus.ACCEPTED, 85), (HandoffStatus.RETURNED, 10),
                                         (HandoffStatus.PENDING, 5)])
                at = created + timedelta(minutes=rng.randrange(5, 600))
                handoffs.append({"case_id": case_id, "from_department_id": department, "to_department_id": to,
                                 "note": "bench", "by_id": None, "created_at": at, "status": status,
                                 "decided_by_id": None, "reason": "",
                                 "decided_at": at + timedelta(minutes=rng.lognormvariate(3.5, 1))
                                 if status != HandoffStatus.PENDING else None})
            if rng.random() < 0.01:
                to = rng.choice([d for d in departments if d != department])
                notes.append({"case_id": case_id, "from_department_id": department, "to_department_id": to,
                              "text": "bench", "by_id": None, "created_at": created + timedelta(hours=1),
                              "acknowledged_by_id": None, "acknowledged_at": None})
        db.insert_new(Handoff, handoffs, unique=("id",))
        db.insert_new(FeedbackNote, notes, unique=("id",))

    def clean(self) -> None:
        q = connection.ops.quote_name
        t = {m: q(m._meta.db_table) for m in (Case, SlaClock, Escalation, Handoff, FeedbackNote, Mention, Customer,
                                             Problem)}
        cases = f"SELECT id FROM {t[Case]} WHERE subject LIKE %s"
        pattern = f"{self.prefix}-%"
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {t[Escalation]} WHERE clock_id IN (SELECT id FROM {t[SlaClock]} "
                           f"WHERE case_id IN ({cases}))", [pattern])
            for model in (SlaClock, Handoff, FeedbackNote):
                cursor.execute(f"DELETE FROM {t[model]} WHERE case_id IN ({cases})", [pattern])
            cursor.execute(f"DELETE FROM {t[Mention]} WHERE external_id LIKE %s", [pattern])
            cursor.execute(f"DELETE FROM {t[Case]} WHERE subject LIKE %s", [pattern])
            cursor.execute(f"DELETE FROM {t[Customer]} WHERE external_id LIKE %s", [pattern])
            cursor.execute(f"DELETE FROM {t[Problem]} WHERE title LIKE %s", [f"{self.prefix} problem %"])


def _vacuum(models) -> None:
    if connection.vendor != "postgresql" or connection.in_atomic_block:  # VACUUM runs outside transactions only
        return
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) " + ", ".join(connection.ops.quote_name(m._meta.db_table) for m in models))


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return round(statistics.median(ordered), 1), round(p95, 1)


def measure(*, runs: int, out) -> dict:
    """Time /board/ as a board member and each panel's selector; returns p50/p95 in ms. Static files are
    served without the manifest (as in the tests: the bench does not run collectstatic)."""
    storages = {**settings.STORAGES,
                "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    with override_settings(STORAGES=storages):
        return _measure(runs=runs, out=out)


def _measure(*, runs: int, out) -> dict:
    user, _ = get_user_model().objects.get_or_create(username="bench-board")
    BoardSeat.objects.get_or_create(user=user)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    period = selectors.period_of(days=30, end=today())
    response = client.get("/board/", secure=True)  # warm: URLconf, templates, connections
    if response.status_code != 200:
        raise RuntimeError(f"/board/ answered {response.status_code}")
    whole, cold = [], []
    for _ in range(runs):
        # Cold: the rollups just changed (a new version), so the page computes every panel from them.
        selectors.rollups_changed()
        started = time.perf_counter()
        response = client.get("/board/", secure=True)
        cold.append(1000 * (time.perf_counter() - started))
        assert response.status_code == 200
        # Warm: what a board member gets between two refreshes (the refresh task warms the default period).
        started = time.perf_counter()
        response = client.get("/board/", secure=True)
        whole.append(1000 * (time.perf_counter() - started))
        assert response.status_code == 200
    panels = {}
    for name in selectors.PANELS:
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            selectors.panel(name, period=period)
            samples.append(1000 * (time.perf_counter() - started))
        panels[name] = dict(zip(("p50_ms", "p95_ms"), _percentiles(samples), strict=True))
    p50, p95 = _percentiles(whole)
    cold_p50, cold_p95 = _percentiles(cold)
    out(f"  whole dashboard (GET /board/, 30 days, {runs} runs), cached for the rollups' version: p50 {p50} ms, "
        f"p95 {p95} ms")
    out(f"  whole dashboard computed from the rollups (cold, right after a refresh): p50 {cold_p50} ms, "
        f"p95 {cold_p95} ms")
    for name, figures in panels.items():
        out(f"    panel {name:9}: p50 {figures['p50_ms']} ms, p95 {figures['p95_ms']} ms")
    return {"p50_ms": p50, "p95_ms": p95, "p50_ms_cold": cold_p50, "p95_ms_cold": cold_p95, "panels": panels}


def run(*, mentions: int, days: int, runs: int, keep: bool, out) -> dict:
    if mentions < 1 or days < 14:
        raise ValueError("--mentions must be at least 1 and --days at least 14")
    out(f"bench dashboard: {mentions:,} mentions over {days} days, {stack()}")
    seeder = Seeder(prefix=f"benchdash-{uuid.uuid4().hex[:6]}", days=days)
    result = {"bench": "dashboard", "mentions": mentions, "days": days, "runs": runs, **stack()}
    steps = [min(FIRST, mentions)] + ([mentions] if mentions > FIRST else [])
    try:
        for size in steps:
            started = time.perf_counter()
            seeder.seed(size - seeder.seeded, total=mentions, out=out)
            seeded_s = time.perf_counter() - started
            _vacuum([Mention, Case, SlaClock, Escalation, Handoff, FeedbackNote])
            started = time.perf_counter()
            built = rollups.rebuild()
            rebuild_s = time.perf_counter() - started
            _vacuum([*ROLLUP_MODELS, RollupDay])
            out(f"  {size:,} mentions: seeded in {seeded_s:.1f} s, rollups rebuilt in {rebuild_s:.1f} s "
                f"({built['rows']:,} rows, {built['days']} days)")
            figures = measure(runs=runs, out=out)
            if size == FIRST or size == mentions and mentions <= FIRST:
                result.update({"p50_ms_100k": figures["p50_ms"], "p95_ms_100k": figures["p95_ms"],
                               "p95_ms_100k_cold": figures["p95_ms_cold"], "rebuild_s_100k": round(rebuild_s, 1)})
            if size == mentions:
                result.update({"p50_ms": figures["p50_ms"], "p95_ms": figures["p95_ms"],
                               "p50_ms_cold": figures["p50_ms_cold"], "p95_ms_cold": figures["p95_ms_cold"],
                               "panels_p95_ms": {k: v["p95_ms"] for k, v in figures["panels"].items()},
                               "rebuild_s": round(rebuild_s, 1), "rollup_rows": built["rows"]})
    finally:
        if not keep:
            seeder.clean()
            rollups.rebuild()
    if result.get("p95_ms_100k"):
        result["flatness"] = round(result["p95_ms"] / result["p95_ms_100k"], 2)
        result["flatness_cold"] = round(result["p95_ms_cold"] / result["p95_ms_100k_cold"], 2)
    return result
