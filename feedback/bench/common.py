import csv
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection, transaction

from customers.models import Customer, Identity, MatchKey, MatchSuggestion, TimelineEntry
from feedback.api.tokens import api_token
from feedback.cases.models import Case, CaseEvent
from feedback.intake.models import Mention
from feedback.sla.models import Escalation, SlaClock
from feedback.understanding import prepare_default

BENCH_USER = "bench-integration"

DEMO_CSV = Path(settings.BASE_DIR) / "feedback" / "fixtures" / "demo" / "airline_mentions_demo.csv"
FALLBACK_TEXTS = [
    "@airline my flight is delayed again and nobody tells us anything",
    "@airline thank you for the upgrade, the crew was lovely",
    "@airline how much is a checked bag on international flights?",
    "@airline you should add power outlets to every row",
    "@airline I want a refund for my cancelled flight",
]


def sample_texts() -> list[str]:
    """Real tweets from the demo fixture (a copy of airline_mentions.csv), or a few stand-ins."""
    if DEMO_CSV.exists():
        with DEMO_CSV.open(newline="", encoding="utf-8") as handle:
            texts = [row["text"] for row in csv.DictReader(handle) if row.get("text")]
        if texts:
            return texts
    return FALLBACK_TEXTS


def stack() -> dict:
    return {
        "database": connection.vendor,
        "broker": settings.CELERY_BROKER_URL.split("://", 1)[0],
        "cores": os.cpu_count(),
    }


def bench_token() -> str:
    """The API token of the bench's own integration user."""
    user, _ = get_user_model().objects.get_or_create(username=BENCH_USER)
    user.user_permissions.add(Permission.objects.get(codename="add_mention", content_type__app_label="feedback"))
    return api_token(user=user)[0]


# The tables a run of `bench ingest` or `bench pipeline` writes and `clean_prefix` deletes from.
WRITTEN_TABLES = (Mention, Customer, Identity, MatchKey, TimelineEntry, Case, CaseEvent, SlaClock, Escalation)


def vacuum(models=WRITTEN_TABLES, *, out=None) -> float | None:
    """VACUUM (ANALYZE) the tables of `models` (PostgreSQL only; outside a transaction). Returns
    the seconds it took (and says so to `out`), None elsewhere.

    A run inserts and then deletes its rows; until autovacuum catches up, the next run scans and
    indexes around the dead ones (after about ten runs the end-to-end rate had fallen by half).
    The benches call this after their cleanup and before they time anything."""
    if connection.vendor != "postgresql":
        return None
    tables = ", ".join(connection.ops.quote_name(model._meta.db_table) for model in models)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {tables}")
    seconds = time.perf_counter() - started
    if out:
        out(f"  VACUUM (ANALYZE) of {len(models)} tables: {seconds:.1f} s")
    return seconds


def clean_prefix(prefix: str) -> None:
    """Delete what a bench run created: its mentions, the prospects it made (with their timeline
    lines, match keys and suggestions) and their cases, clocks, escalations and events. Set-based SQL: a 100,000-mention run cleans up in seconds."""
    table = {model: connection.ops.quote_name(model._meta.db_table)
             for model in (Customer, Identity, MatchKey, MatchSuggestion, TimelineEntry, Case, CaseEvent, SlaClock,
                           Escalation, Mention)}
    customers = f"SELECT id FROM {table[Customer]} WHERE external_id LIKE %s"
    cases = f"SELECT id FROM {table[Case]} WHERE customer_id IN ({customers})"
    pattern = f"baton:api:{prefix}-%"
    statements = [
        (f"DELETE FROM {table[Escalation]} WHERE clock_id IN (SELECT id FROM {table[SlaClock]} "
         f"WHERE case_id IN ({cases}))", [pattern]),
        (f"DELETE FROM {table[SlaClock]} WHERE case_id IN ({cases})", [pattern]),
        (f"DELETE FROM {table[CaseEvent]} WHERE case_id IN ({cases})", [pattern]),
        (f"DELETE FROM {table[Mention]} WHERE external_id LIKE %s", [f"{prefix}-%"]),
        (f"DELETE FROM {table[Case]} WHERE customer_id IN ({customers})", [pattern]),
        (f"DELETE FROM {table[Identity]} WHERE customer_id IN ({customers})", [pattern]),
        # The customer side the pipeline writes too: timeline lines, the matcher's keys, suggestions.
        (f"DELETE FROM {table[TimelineEntry]} WHERE customer_id IN ({customers})", [pattern]),
        (f"DELETE FROM {table[MatchKey]} WHERE customer_id IN ({customers})", [pattern]),
        (f"DELETE FROM {table[MatchSuggestion]} WHERE prospect_id IN ({customers}) "
         f"OR candidate_id IN ({customers})", [pattern, pattern]),
        (f"DELETE FROM {table[Customer]} WHERE external_id LIKE %s", [pattern]),
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)


class WorkerProcess:
    """A real `celery worker` subprocess with the current environment (and `env` on top), for end-to-end benches."""

    def __init__(self, *, concurrency: int, name: str, timeout: float = 60, env: dict[str, str] | None = None):
        self.concurrency = concurrency
        self.env = env
        self.name = name
        self.timeout = timeout
        self.process = None
        self.ready = threading.Event()
        self.lines: list[str] = []

    def __enter__(self):
        if settings.BATON_UNDERSTANDING_ENGINE == "model":
            prepare_default()  # a missing model is trained here (about 2 minutes), not in the worker's start-up
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", f"--concurrency={self.concurrency}",
             "--without-mingle", "--without-gossip", "--loglevel=INFO", "-n", f"{self.name}@%h"],
            cwd=settings.BASE_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, **self.env} if self.env else None,
        )
        threading.Thread(target=self._read, daemon=True).start()
        if not self.ready.wait(self.timeout):
            self.__exit__(None, None, None)
            raise RuntimeError("The Celery worker did not start:\n" + "".join(self.lines[-20:]))
        return self

    def _read(self):
        for line in self.process.stdout:
            if len(self.lines) < 200:
                self.lines.append(line)
            if " ready." in line:
                self.ready.set()

    def __exit__(self, *exc):
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        return False
