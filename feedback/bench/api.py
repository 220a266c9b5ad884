"""bench api: the CRM sync API through gunicorn: bulk upsert rows/s, and list latency under concurrent clients.

1. `--customers` customers are pushed through `POST /api/v1/customers/bulk/` in lists of 1,000 by one
   client (a CRM's initial load: every row `created`), then pushed again with a changed field (every
   row `updated`); `upsert_per_s` is the created pass, `update_per_s` the updated one.
2. `--clients` concurrent clients (asyncio, one process) each page `GET /api/v1/customers/` with
   `page_size=100` from a random starting cursor for `--pages` pages; every request's latency is
   kept: `list_p50_ms`, `list_p99_ms`, and the requests per second served.
gunicorn runs `--web-workers` sync workers on this machine's database; the bench's customers are
deleted afterwards (`--keep` keeps them).
"""

import asyncio
import json
import logging
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from django.conf import settings
from django.db import connection

from customers.models import Customer
from customers.webhooks.models import WebhookSubscription
from feedback.api.pagination import encode_cursor
from feedback.bench.common import stack, vacuum
from feedback.integrations.models import ApiToken
from feedback.integrations.scopes import SCOPES
from feedback.integrations.services import issue_token

PREFIX = "bench-api-"
BATCH = 1000
PAGE_SIZE = 100


def add_arguments(parser):
    parser.add_argument("--customers", type=int, default=100_000, help="Customers to upsert (default 100000).")
    parser.add_argument("--clients", type=int, default=16, help="Concurrent list clients (default 16).")
    parser.add_argument("--pages", type=int, default=60, help="Pages each list client reads (default 60).")
    parser.add_argument("--web-workers", type=int, default=max(2, 2 * (os.cpu_count() or 1)),
                        help="gunicorn sync workers (default 2 per core).")
    parser.add_argument("--keep", action="store_true", help="Keep the bench's customers.")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    def __init__(self, *, workers: int):
        self.workers = workers
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix="bench-api-gunicorn-", suffix=".log", delete=False)

    def __enter__(self):
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "BATON_API_SYNC_SETTLE_SECONDS": "0",
               "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
               "DJANGO_TRUSTED_PROXY": "true"}  # behind "a TLS proxy": X-Forwarded-Proto: https, no redirect
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{self.port}", "--workers",
             str(self.workers), "--timeout", "120", "--log-level", "warning"],
            cwd=settings.BASE_DIR, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if httpx.get(f"{self.url}/api/v1/customers/", timeout=2, headers={"X-Forwarded-Proto": "https"}).status_code == 401:
                    return self
            except httpx.HTTPError:
                time.sleep(0.2)  # polling the server's start with a deadline
        self.__exit__()
        raise RuntimeError("gunicorn did not start:\n" + Path(self.log.name).read_text()[-3000:])

    def __exit__(self, *exc):
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        return False


def _clean() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {connection.ops.quote_name(Customer._meta.db_table)} WHERE external_id LIKE %s",
                       [f"{PREFIX}%"])


def _upsert(client: httpx.Client, rows: list[dict], out, label: str) -> tuple[float, dict]:
    totals = {"created": 0, "updated": 0, "unchanged": 0, "errors": 0}
    started = time.perf_counter()
    for start in range(0, len(rows), BATCH):
        response = client.post("/api/v1/customers/bulk/", content=json.dumps(rows[start:start + BATCH]),
                               headers={"Content-Type": "application/json"})
        if response.status_code != 200:
            raise RuntimeError(f"bulk upsert answered {response.status_code}: {response.text[:300]}")
        body = response.json()
        for key in totals:
            totals[key] += body[key]
        if (start + BATCH) % 20_000 == 0:
            out(f"  {label}: {start + BATCH}/{len(rows)}")
    return time.perf_counter() - started, totals


async def _list_client(url: str, headers: dict, cursor: str | None, pages: int, latencies: list[float]) -> None:
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as client:
        for _ in range(pages):
            started = time.perf_counter()
            params = {"page_size": PAGE_SIZE, **({"cursor": cursor} if cursor else {})}
            response = await client.get("/api/v1/customers/", params=params)
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"list answered {response.status_code}: {response.text[:300]}")
            body = response.json()
            cursor = body["next_cursor"] if body["has_more"] else None  # at the end: again from the start


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def run(*, customers: int, clients: int, pages: int, web_workers: int, keep: bool, out) -> dict:
    if customers < BATCH:
        raise ValueError(f"--customers must be at least {BATCH}")
    out(f"bench api: {customers} customers, lists of {BATCH}; {clients} list clients x {pages} pages of {PAGE_SIZE}; "
        f"gunicorn with {web_workers} workers; {stack()}")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request
    _clean()
    vacuum([Customer], out=out)
    if WebhookSubscription.objects.filter(is_active=True).exists():
        out("  note: active webhook subscriptions exist, so every upserted row also writes its deliveries")
    token, key = issue_token(name="bench api", scopes=list(SCOPES), rate_per_minute=1_000_000)
    headers = {"Authorization": f"Bearer {key}", "X-Forwarded-Proto": "https"}
    run_id = random.randrange(10**6)
    rows = [{"external_id": f"{PREFIX}{n}", "name": f"Bench Customer {n}", "email": f"bench{n}@example.com",
             "stage": ("prospect", "lead", "customer", "former")[n % 4], "value": f"{(n * 37) % 10000}.50",
             "region": ("Lisbon", "Denver", "Osaka", "Lagos")[n % 4]} for n in range(customers)]
    try:
        with Gunicorn(workers=web_workers) as web, httpx.Client(base_url=web.url, headers=headers,
                                                               timeout=120) as client:
            client.post("/api/v1/customers/bulk/", json=[{"external_id": f"{PREFIX}warm-{run_id}"}])  # warm a worker
            created_s, created = _upsert(client, rows, out, "created")
            upsert_per_s = customers / created_s
            out(f"  bulk upsert, new rows: {upsert_per_s:,.0f} rows/s ({created_s:.1f} s) {created}")
            for row in rows:
                row["stage"] = "customer"
            updated_s, updated = _upsert(client, rows, out, "updated")
            update_per_s = customers / updated_s
            out(f"  bulk upsert, changed rows: {update_per_s:,.0f} rows/s ({updated_s:.1f} s) {updated}")
            if created["created"] != customers or created["errors"] or updated["errors"]:
                raise RuntimeError(f"unexpected outcomes: {created} then {updated}")
            vacuum([Customer], out=out)

            positions = list(Customer.objects.filter(external_id__startswith=PREFIX).order_by("?")
                             .values_list("updated_at", "pk")[:clients])
            starts = [encode_cursor(moment, pk) for moment, pk in positions]
            latencies: list[float] = []

            async def lists():
                await asyncio.gather(*(_list_client(web.url, headers, start, pages, latencies) for start in starts))

            asyncio.run(_list_client(web.url, headers, starts[0], 20, []))  # warm every worker's connection
            started = time.perf_counter()
            asyncio.run(lists())
            list_s = time.perf_counter() - started
    finally:
        ApiToken.objects.filter(pk=token.pk).delete()
        if not keep:
            _clean()
    p50, p99 = statistics.median(latencies), _percentile(latencies, 0.99)
    out(f"  list, {clients} clients, pages of {PAGE_SIZE}: p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
        f"{len(latencies) / list_s:,.0f} requests/s ({len(latencies)} requests)")
    return {
        "bench": "api",
        "customers": customers,
        "upsert_per_s": round(upsert_per_s),
        "update_per_s": round(update_per_s),
        "list_p50_ms": round(p50, 1),
        "list_p99_ms": round(p99, 1),
        "list_requests_per_s": round(len(latencies) / list_s),
        "clients": clients,
        "web_workers": web_workers,
        **stack(),
    }
