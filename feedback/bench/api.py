"""bench api: the CRM sync API through gunicorn: bulk upsert rows/s, and list latency under concurrent clients.

1. `--customers` customers are pushed through `POST /api/v1/customers/bulk/` in lists of 1,000 by one
   client (a CRM's initial load: every row `created`), then pushed again with a changed field (every
   row `updated`); `upsert_per_s` is the created pass, `update_per_s` the updated one.
2. `--cases` cases, each with one mention, are written for those customers (straight into the tables).
3. `--clients` concurrent clients each page `GET /api/v1/customers/` with `page_size=100` from a random
   starting cursor for `--pages` pages, then the same for cases and mentions; every request's latency is
   kept: `list_p50_ms`, `list_p99_ms` (customers), `cases_list_*`, `mentions_list_*`, the requests per
   second served, and the CPU the web server spent per request (`list_server_cpu_ms`, from /proc: a figure
   that other work on the machine does not change much, unlike latency).
The clients share one process and one event loop, on the same cores as the server: each is a plain
HTTP/1.1 keep-alive connection over asyncio streams that parses every page's JSON (httpx cost four times
the CPU per request, which the server's latency then paid for). gunicorn runs `--web-workers` processes
of `--web-threads` threads (gthread: keep-alive, and a thread can take a request while another waits for
the database) on this machine's database; the bench's rows are deleted afterwards (`--keep` keeps them).
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
from datetime import UTC, datetime
from pathlib import Path

import httpx
from django.conf import settings
from django.db import connection

from customers.models import Customer, MatchKey, TimelineEntry
from customers.webhooks.models import WebhookSubscription
from feedback.api.pagination import encode_cursor
from feedback.bench.common import stack, vacuum
from feedback.cases.models import Case
from feedback.choices import CaseStatus, Source
from feedback.intake.models import Mention
from feedback.integrations.models import ApiToken
from feedback.integrations.scopes import SCOPES
from feedback.integrations.services import issue_token
from teams.models import Department

PREFIX = "bench-api-"
BATCH = 1000
PAGE_SIZE = 100


def add_arguments(parser):
    parser.add_argument("--customers", type=int, default=100_000, help="Customers to upsert (default 100000).")
    parser.add_argument("--clients", type=int, default=16, help="Concurrent list clients (default 16).")
    parser.add_argument("--pages", type=int, default=60, help="Pages each list client reads (default 60).")
    parser.add_argument("--cases", type=int, default=20_000,
                        help="Cases (each with one mention) for the cases and mentions lists (default 20000; 0: none).")
    parser.add_argument("--web-workers", type=int, default=os.cpu_count() or 1,
                        help="gunicorn worker processes (default one per core).")
    parser.add_argument("--web-threads", type=int, default=4,
                        help="Threads per worker (gthread; default 4); 1: sync workers.")
    parser.add_argument("--keep", action="store_true", help="Keep the bench's customers, cases and mentions.")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) of a process and its children, from /proc (None elsewhere)."""
    ticks, found = 0, False
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # a process that ended while we read
        if int(stat.parent.name) == pid or int(fields[1]) == pid:
            ticks += int(fields[11]) + int(fields[12])
            found = True
    return ticks / os.sysconf("SC_CLK_TCK") if found else None


class Gunicorn:
    def __init__(self, *, workers: int, threads: int):
        self.workers, self.threads = workers, threads
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix="bench-api-gunicorn-", suffix=".log", delete=False)

    def __enter__(self):
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "BATON_API_SYNC_SETTLE_SECONDS": "0",
               "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
               "DJANGO_TRUSTED_PROXY": "true"}  # behind "a TLS proxy": X-Forwarded-Proto: https, no redirect
        workers = ["--workers", str(self.workers)]
        if self.threads > 1:
            workers += ["--worker-class", "gthread", "--threads", str(self.threads)]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{self.port}", *workers,
             "--timeout", "120", "--log-level", "warning"],
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

    def cpu_seconds(self) -> float | None:
        return _cpu_seconds(self.process.pid)

    def __exit__(self, *exc):
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        return False


def _clean() -> None:
    quote = connection.ops.quote_name
    customers = f"SELECT id FROM {quote(Customer._meta.db_table)} WHERE external_id LIKE %s"
    with connection.cursor() as cursor:
        # The bench's mentions and cases, then what the upserts wrote that points at the customers (FKs in SQL).
        cursor.execute(f"DELETE FROM {quote(Mention._meta.db_table)} WHERE customer_id IN ({customers})",
                       [f"{PREFIX}%"])
        for model in (Case, MatchKey, TimelineEntry):
            cursor.execute(f"DELETE FROM {quote(model._meta.db_table)} WHERE customer_id IN ({customers})",
                           [f"{PREFIX}%"])
        cursor.execute(f"DELETE FROM {quote(Customer._meta.db_table)} WHERE external_id LIKE %s", [f"{PREFIX}%"])


def _seed_cases(count: int, out) -> None:
    """`count` open cases in service, each with one processed mention, spread over the bench's customers."""
    ids = list(Customer.objects.filter(external_id__startswith=PREFIX).order_by("pk").values_list("pk", flat=True))
    service = Department.objects.get(slug="service")
    started = time.perf_counter()
    for start in range(0, count, BATCH):
        numbers = range(start, min(count, start + BATCH))
        cases = Case.objects.bulk_create([
            Case(customer_id=ids[n % len(ids)], department=service, status=CaseStatus.OPEN, priority="normal",
                 intent="complaint", subject=f"Bench case {n}", created_at=datetime.now(UTC), tags=["bench"])
            for n in numbers])
        Mention.objects.bulk_create([
            Mention(source=Source.API, external_id=f"{PREFIX}{n}", author_handle=f"bench{n}", author_name=f"Bench {n}",
                    text=f"@airline bench mention {n}: my bag did not arrive", posted_at=datetime.now(UTC),
                    status="processed", sentiment=-0.5, sentiment_label="negative", intent="complaint",
                    customer_id=case.customer_id, case=case)
            for n, case in zip(numbers, cases, strict=True)])
    out(f"  {count:,} cases and mentions written ({time.perf_counter() - started:.1f} s)")


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


async def _list_client(port: int, headers: dict, path: str, cursor: str | None, pages: int,
                       latencies: list[float]) -> None:
    """One CRM client paging a list: HTTP/1.1 keep-alive over asyncio streams (reconnecting when the server closes),
    every page's JSON parsed to follow `next_cursor` (from the start again after the last page)."""
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    reader = writer = None
    try:
        for _ in range(pages):
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            query = f"page_size={PAGE_SIZE}" + (f"&cursor={cursor}" if cursor else "")
            started = time.perf_counter()
            writer.write(f"GET {path}?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}\r\n".encode())
            status = await reader.readline()
            length, close = 0, False
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
                elif name.lower() == "connection" and value.strip().lower() == "close":
                    close = True
            body = await reader.readexactly(length)
            latencies.append((time.perf_counter() - started) * 1000)
            if status.split()[1:2] != [b"200"]:
                raise RuntimeError(f"{path} answered {status!r}: {body[:300]!r}")
            page = json.loads(body)
            cursor = page["next_cursor"] if page["has_more"] else None
            if close:
                writer.close()
                reader = writer = None
    finally:
        if writer is not None:
            writer.close()


def _time_list(web: Gunicorn, headers: dict, path: str, starts: list[str], pages: int) -> dict:
    latencies: list[float] = []

    async def lists():
        await asyncio.gather(*(_list_client(web.port, headers, path, start, pages, latencies) for start in starts))

    asyncio.run(_list_client(web.port, headers, path, starts[0], 20, []))  # warm the workers
    cpu, client_cpu, started = web.cpu_seconds(), time.process_time(), time.perf_counter()
    asyncio.run(lists())
    seconds = time.perf_counter() - started
    cpu_after = web.cpu_seconds()
    return {
        "p50_ms": round(statistics.median(latencies), 1), "p99_ms": round(_percentile(latencies, 0.99), 1),
        "requests_per_s": round(len(latencies) / seconds), "requests": len(latencies),
        "server_cpu_ms": round((cpu_after - cpu) / len(latencies) * 1000, 2) if cpu is not None else None,
        "client_cpu_ms": round((time.process_time() - client_cpu) / len(latencies) * 1000, 2),
    }


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def run(*, customers: int, clients: int, pages: int, cases: int, web_workers: int, web_threads: int, keep: bool,
        out) -> dict:
    if customers < BATCH:
        raise ValueError(f"--customers must be at least {BATCH}")
    out(f"bench api: {customers} customers, lists of {BATCH}; {cases} cases and mentions; {clients} list clients x "
        f"{pages} pages of {PAGE_SIZE}; gunicorn with {web_workers} workers x {web_threads} threads; {stack()}")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request
    _clean()
    vacuum([Customer, Case, Mention], out=out)
    if WebhookSubscription.objects.filter(is_active=True).exists():
        out("  note: active webhook subscriptions exist, so every upserted row also writes its deliveries")
    token, key = issue_token(name="bench api", scopes=list(SCOPES), rate_per_minute=1_000_000)
    headers = {"Authorization": f"Bearer {key}", "X-Forwarded-Proto": "https", "Accept": "application/json"}
    run_id = random.randrange(10**6)
    rows = [{"external_id": f"{PREFIX}{n}", "name": f"Bench Customer {n}", "email": f"bench{n}@example.com",
             "stage": ("prospect", "lead", "customer", "former")[n % 4], "value": f"{(n * 37) % 10000}.50",
             "region": ("Lisbon", "Denver", "Osaka", "Lagos")[n % 4]} for n in range(customers)]
    lists = {}
    try:
        with Gunicorn(workers=web_workers, threads=web_threads) as web, httpx.Client(
                base_url=web.url, headers=headers, timeout=120) as client:
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
            if cases:
                _seed_cases(cases, out)
            vacuum([Customer, Case, Mention], out=out)

            sources = [("customers", Customer.objects.filter(external_id__startswith=PREFIX), "updated_at")]
            if cases:
                sources += [("cases", Case.objects.filter(customer__external_id__startswith=PREFIX), "updated_at"),
                            ("mentions", Mention.objects.filter(external_id__startswith=PREFIX), "received_at")]
            for name, rows_of, field in sources:
                positions = list(rows_of.order_by("?").values_list(field, "pk")[:clients])
                starts = [encode_cursor(moment, pk) for moment, pk in positions]
                lists[name] = _time_list(web, headers, f"/api/v1/{name}/", starts, pages)
                figures = lists[name]
                out(f"  {name} list, {clients} clients, pages of {PAGE_SIZE}: p50 {figures['p50_ms']} ms, "
                    f"p99 {figures['p99_ms']} ms, {figures['requests_per_s']:,} requests/s "
                    f"({figures['requests']} requests); CPU per request: server {figures['server_cpu_ms']} ms, "
                    f"clients {figures['client_cpu_ms']} ms")
    finally:
        ApiToken.objects.filter(pk=token.pk).delete()
        if not keep:
            _clean()
    result = {
        "bench": "api",
        "customers": customers,
        "upsert_per_s": round(upsert_per_s),
        "update_per_s": round(update_per_s),
        "list_p50_ms": lists["customers"]["p50_ms"],
        "list_p99_ms": lists["customers"]["p99_ms"],
        "list_requests_per_s": lists["customers"]["requests_per_s"],
        "list_server_cpu_ms": lists["customers"]["server_cpu_ms"],
        "list_client_cpu_ms": lists["customers"]["client_cpu_ms"],
    }
    for name in ("cases", "mentions"):
        if name in lists:
            result.update({f"{name}_list_p50_ms": lists[name]["p50_ms"], f"{name}_list_p99_ms": lists[name]["p99_ms"],
                           f"{name}_list_server_cpu_ms": lists[name]["server_cpu_ms"]})
    return {**result, "clients": clients, "web_workers": web_workers, "web_threads": web_threads, **stack()}
