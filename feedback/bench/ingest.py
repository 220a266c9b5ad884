"""bench ingest: bulk API storing and end-to-end processing, against PostgreSQL's own COPY.

`--rollups-ab ROUNDS` also times end to end with the board's rollup upkeep off and on
(BATON_ROLLUPS_LIVE in the workers' environment), interleaved off, on, off, on... ROUNDS times, and
reports the median rate of each and the slowdown (the median of each round's on/off ratio): what
keeping the dashboard's rollups current costs ingestion. Under load the rates swing more than the
cost, so it also reports the share of the workers' time the rollup refreshes took in the runs with
the upkeep on (`feedback.board.upkeep.refresh_totals`). Between runs the rollups are brought
current and the `rollups` queue emptied, so no run inherits the previous one's refresh.
"""

import gc
import json
import statistics
import time
import uuid
from datetime import UTC, datetime

from django.db import connection, transaction
from django.test import Client
from django.urls import get_resolver

from config.celery import app
from feedback import db
from feedback.bench.common import WorkerProcess, bench_token, clean_prefix, sample_texts, stack, vacuum
from feedback.board import rollups, upkeep
from feedback.board.days import today
from feedback.choices import MentionStatus
from feedback.intake.ingest import mention_row
from feedback.intake.models import Mention

API_BATCH = 1000


def add_arguments(parser):
    parser.add_argument("--n", type=int, default=100_000, help="Mentions per measurement (default 100000).")
    parser.add_argument("--workers", type=int, default=2, help="Worker processes for end to end (default 2).")
    parser.add_argument("--timeout", type=float, default=1800, help="Seconds to wait for processing.")
    parser.add_argument("--keep", action="store_true", help="Keep the bench's mentions, cases and customers.")
    parser.add_argument("--rollups-ab", type=int, default=0, metavar="ROUNDS",
                        help="Also time end to end with the rollup upkeep off and on, interleaved, ROUNDS times each.")


def _items(prefix: str, n: int, texts: list[str]) -> list[dict]:
    posted = datetime.now(UTC).isoformat()
    authors = max(1, n // 5)  # real traffic repeats authors
    return [
        {
            "source": "api",
            "external_id": f"{prefix}-{i}",
            "text": texts[i % len(texts)],
            "posted_at": posted,
            "author_handle": f"{prefix}-author-{i % authors}",
            "author_followers": (i * 37) % 5000,
        }
        for i in range(n)
    ]


def _post_all(client: Client, items: list[dict], out) -> float:
    started = time.perf_counter()
    for start in range(0, len(items), API_BATCH):
        body = json.dumps(items[start : start + API_BATCH])
        # secure: as the web process sees a request behind the TLS proxy (no redirect to HTTPS)
        response = client.post("/api/v1/mentions/", body, content_type="application/json", secure=True)
        if response.status_code != 200 or response.json().get("errors"):
            raise RuntimeError(f"bulk POST answered {response.status_code}: {response.content[:300]!r}")
        done = start + API_BATCH
        if done % 20_000 == 0:
            out(f"  posted {done}/{len(items)}")
    return time.perf_counter() - started


def _copy_rate(items: list[dict]) -> float | None:
    """Rows per second for PostgreSQL's COPY of the same rows into an identical scratch table."""
    if connection.vendor != "postgresql":
        return None
    now = datetime.now(UTC)
    fields = db.columns(Mention)
    rows = [mention_row({**item, "posted_at": datetime.fromisoformat(item["posted_at"])}, now) for item in items]
    values = db.prepared_values(rows, fields)
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    table = connection.ops.quote_name(Mention._meta.db_table)
    # A regular (logged) table with the same columns, indexes and constraints: a temporary table
    # skips the write-ahead log and would flatter COPY.
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_copy")
        cursor.execute(f"CREATE TABLE bench_copy (LIKE {table} INCLUDING ALL)")
        try:
            with transaction.atomic():
                started = time.perf_counter()
                with cursor.cursor.copy(f"COPY bench_copy ({columns}) FROM STDIN") as copy:
                    for record in values:
                        copy.write_row(record)
            elapsed = time.perf_counter() - started
        finally:
            cursor.execute("DROP TABLE bench_copy")
    return len(items) / elapsed


def run(*, n: int, workers: int, timeout: float, keep: bool, out, rollups_ab: int = 0) -> dict:
    if n < 1:
        raise ValueError("--n must be at least 1")
    texts = sample_texts()
    client = Client(HTTP_AUTHORIZATION=f"Token {bench_token()}", HTTP_HOST="127.0.0.1")
    out(f"bench ingest: {n} mentions, bulk API lists of {API_BATCH}, {stack()}")
    vacuum(out=out)  # what earlier runs deleted

    store_prefix = f"bench-{uuid.uuid4().hex[:8]}"
    store_items = _items(store_prefix, n, texts)
    copy_per_s = _copy_rate(store_items)
    if copy_per_s is None:
        out("  COPY: not measured (PostgreSQL only)")
    else:
        out(f"  COPY into an identical scratch table: {copy_per_s:,.0f} rows/s")

    # (a) storing through the bulk API path; no worker runs, so the queue only fills.
    # The URLconf (the API schema views and what they use) is imported before the timing, not
    # by the first request: a one-off of a few tenths of a second.
    get_resolver().resolve("/api/v1/mentions/")
    # The web process freezes what it loaded at start-up out of the garbage collector
    # (config/wsgi.py); do the same here, after building the client's payloads, which a web
    # process would not hold either.
    gc.freeze()
    store_s = _post_all(client, store_items, out)
    store_per_s = n / store_s
    out(f"  bulk API store: {store_per_s:,.0f} mentions/s ({store_s:.1f} s)")
    if not keep:
        clean_prefix(store_prefix)  # its queued tasks now find nothing to do
    vacuum(out=out)

    # (b) end to end: posted through the same path and processed by real workers.
    end_to_end_per_s, failed, _ = _end_to_end(client, n=n, texts=texts, workers=workers, timeout=timeout, keep=keep,
                                           out=out)
    ab = _rollups_ab(client, rounds=rollups_ab, n=n, texts=texts, workers=workers, timeout=timeout, out=out)

    return {
        "bench": "ingest",
        "n": n,
        "workers": workers,
        **stack(),
        "copy_per_s": round(copy_per_s, 1) if copy_per_s else None,
        "store_per_s": round(store_per_s, 1),
        "end_to_end_per_s": round(end_to_end_per_s, 1),
        "store_vs_copy": round(store_per_s / copy_per_s, 3) if copy_per_s else None,
        "end_to_end_vs_copy": round(end_to_end_per_s / copy_per_s, 4) if copy_per_s else None,
        "failed": failed,
        **ab,
    }


def _end_to_end(client: Client, *, n: int, texts: list[str], workers: int, timeout: float, keep: bool, out,
                live: bool | None = None) -> tuple[float, int]:
    """Mentions per second posted through the API and processed by `workers` real worker processes (with
    the rollup upkeep on or off when `live` is given), and how many failed."""
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    items = _items(prefix, n, texts)
    mine = Mention.objects.filter(source="api", external_id__startswith=f"{prefix}-")
    env = None if live is None else {"BATON_ROLLUPS_LIVE": "true" if live else "false"}
    refreshes_before = upkeep.refresh_totals()
    with WorkerProcess(concurrency=workers, name=prefix, env=env):
        started = time.perf_counter()
        _post_all(client, items, out)
        done = 0
        while time.perf_counter() - started < timeout:
            done = mine.exclude(status=MentionStatus.RECEIVED).count()
            if done >= n:
                break
            time.sleep(0.5)
        seconds = time.perf_counter() - started
        refreshes = [now - before for now, before in zip(upkeep.refresh_totals(), refreshes_before, strict=True)]
    failed = mine.filter(status=MentionStatus.FAILED).count()
    if done < n:
        raise RuntimeError(f"only {done} of {n} mentions were processed within {timeout:.0f} s")
    rate = n / seconds
    label = "" if live is None else f" (rollup upkeep {'on' if live else 'off'})"
    out(f"  end to end with {workers} worker process(es){label}: {rate:,.0f} mentions/s ({seconds:.1f} s)")
    share = refreshes[1] / (workers * seconds)
    if refreshes[0]:
        out(f"    {refreshes[0]} rollup refresh(es) ran meanwhile: {refreshes[1]:.1f} s, {100 * share:.1f}% of the "
            f"workers' time")
    if not keep:
        clean_prefix(prefix)
        _settle_rollups()
        vacuum(out=out)  # the next run starts from clean tables
    return rate, failed, share


def _settle_rollups() -> None:
    """Drop the refreshes a run left queued (its worker is gone) and bring the rollups current: the next run
    starts with nothing to recompute, whichever mode it runs in."""
    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge(upkeep.QUEUE)
    rollups.refresh_day(today())  # the bench's mentions were posted today, and are deleted now
    while rollups.refresh_dirty()[1]:
        pass


def _rollups_ab(client: Client, *, rounds: int, n: int, texts: list[str], workers: int, timeout: float,
                out) -> dict:
    """End to end with the rollup upkeep off and on, interleaved `rounds` times."""
    if rounds < 1:
        return {}
    out(f"  rollup upkeep A/B: {rounds} rounds of off, on ({n:,} mentions each)")
    rates: dict[str, list[float]] = {"off": [], "on": []}
    shares = []
    for _ in range(rounds):
        for mode in ("off", "on"):
            rate, _failed, share = _end_to_end(client, n=n, texts=texts, workers=workers, timeout=timeout,
                                               keep=False, out=out, live=mode == "on")
            rates[mode].append(rate)
            if mode == "on":
                shares.append(share)
    ratios = [on / off for off, on in zip(rates["off"], rates["on"], strict=True)]
    slowdown = 1 - statistics.median(ratios)
    out(f"  rollup upkeep costs end to end {100 * slowdown:+.1f}% (median of {rounds} paired rounds; off "
        f"{statistics.median(rates['off']):,.0f}/s, on {statistics.median(rates['on']):,.0f}/s)")
    return {
        "rollups_ab_rounds": rounds,
        "end_to_end_per_s_rollups_off": round(statistics.median(rates["off"]), 1),
        "end_to_end_per_s_rollups_on": round(statistics.median(rates["on"]), 1),
        "rollups_slowdown": round(slowdown, 4),
        # The share of the workers' time the refreshes took in the runs with the upkeep on (the rest of the
        # upkeep, marking days, is a few queries per batch of mentions).
        "rollups_refresh_share": round(statistics.median(shares), 4),
        "rollups_ab_runs": {mode: [round(rate, 1) for rate in found] for mode, found in rates.items()},
    }
