"""bench portal: each portal page with 50,000 open cases in one department, through the Django test client.

Seeds --open open cases in the service department (set-based SQL: customers, cases, one post and
two running clocks each; a tenth breached, a tenth pending, a fifth assigned to the bench user),
signs in a service lead and a board member, then requests every page --repeat times and prints
p50/p95 of the server time per page and its query count. The issue's bar: every page under
200 ms at p95 and no page over 25 queries. Deletes what it seeded unless --keep.
"""

import gc
import statistics
import time
import uuid

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from customers.models import Customer
from feedback.bench.common import stack, vacuum
from feedback.bench.sla import _insert_select, _q
from feedback.cases.models import Case, CaseEvent, Handoff
from feedback.choices import CaseStatus, ClockMetric, Priority
from feedback.intake.models import Mention
from feedback.sla import clocks as sla
from feedback.sla.models import Escalation, Notification, SlaClock
from teams.models import BoardSeat, Department, Membership, Role

WORDS = ["bag", "delayed", "refund", "seat", "crew", "wifi", "cancelled", "upgrade", "lounge", "gate"]
FIRST = ["Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "James", "Mia", "Lucas"]
LAST = ["Johnson", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez", "Lopez", "Wilson", "Anderson", "Taylor"]


def add_arguments(parser):
    parser.add_argument("--open", type=int, default=50_000, help="Open cases in the department (default 50000).")
    parser.add_argument("--repeat", type=int, default=20, help="Requests per page (default 20).")
    parser.add_argument("--keep", action="store_true", help="Keep the seeded data.")


def _array(values: list[str]) -> str:
    return "ARRAY[" + ", ".join("'" + value.replace("'", "''") + "'" for value in values) + "]"


def _seed(*, prefix: str, department: Department, user, n: int, now) -> None:
    """n customers, n open cases (one each), a post per case and two running clocks."""
    customers, cases = _q(Customer._meta.db_table), _q(Case._meta.db_table)
    with transaction.atomic():
        _insert_select(
            Customer, source="generate_series(1, %s) AS g", params=[n],
            template=Customer(external_id="", name="", created_at=now, updated_at=now),
            overrides={
                "external_id": ("%s || '-' || g", [prefix]),
                "name": (f"({_array(FIRST)})[1 + g %% 10] || ' ' || ({_array(LAST)})[1 + (g / 10) %% 10] || ' ' || g",
                         []),
                "created_at": ("%s::timestamptz", [now]), "updated_at": ("%s::timestamptz", [now]),
            },
        )
        first_case = Case.objects.order_by("-id").values_list("id", flat=True).first() or 0
        source = f"(SELECT id, row_number() OVER (ORDER BY id) AS g FROM {customers} WHERE external_id LIKE %s) AS c"
        _insert_select(
            Case, source=source, params=[f"{prefix}-%"],
            template=Case(department=department, customer_id=0, status=CaseStatus.OPEN, created_at=now,
                          priority=Priority.NORMAL, subject=""),
            overrides={
                "customer_id": "c.id",
                "status": "CASE WHEN c.g %% 10 = 3 THEN 'pending' WHEN c.g %% 7 = 0 THEN 'new' ELSE 'open' END",
                "priority": "(ARRAY['urgent', 'high', 'normal', 'normal', 'low'])[1 + c.g %% 5]",
                "intent": "(ARRAY['complaint', 'question', 'praise', 'complaint', 'warranty_return'])[1 + c.g %% 5]",
                "assignee_id": ("CASE WHEN c.g %% 5 = 0 THEN %s ELSE NULL END", [user.pk]),
                "subject": (f"'@airline my ' || ({_array(WORDS)})[1 + c.g %% 10] || ' problem, case ' || c.g", []),
                "created_at": ("%s::timestamptz - c.g * interval '20 seconds'", [now]),
                "escalation_level": "CASE WHEN c.g %% 10 = 1 THEN 2 ELSE 0 END",
            },
        )
        case_source = (f"(SELECT id, customer_id, created_at, subject, status, (id - %s) AS g FROM {cases} "
                       f"WHERE id > %s AND department_id = %s) AS c")
        _insert_select(
            Mention, source=case_source, params=[first_case, first_case, department.pk],
            template=Mention(source="import", external_id="", text="", posted_at=now, received_at=now,
                             status="processed"),
            overrides={
                "external_id": ("%s || '-m-' || c.id", [prefix]), "text": "c.subject", "case_id": "c.id",
                "customer_id": "c.customer_id", "posted_at": "c.created_at", "received_at": "c.created_at",
                "author_handle": ("%s || c.id", ["bench"]),
                "sentiment_label": "(ARRAY['negative', 'neutral', 'positive'])[1 + c.g %% 3]",
            },
        )
        for metric, hours in ((ClockMetric.FIRST_REPLY, 4), (ClockMetric.RESOLUTION, 72)):
            # A tenth breached (due in the past), the rest due within the next three days; paused when pending.
            due = ("CASE WHEN c.g %% 10 = 1 THEN %s::timestamptz - (c.g %% 600) * interval '1 minute' "
                   "ELSE %s::timestamptz + (c.g %% 4320) * interval '1 minute' END")
            clock = SlaClock(metric=metric, started_at=now, due_at=now, warn_at=now, target_minutes=hours * 60,
                             department_id=department.pk, next_level=sla.LEVEL_WARNING, warn_share=0.75)
            _insert_select(SlaClock, source=case_source, template=clock, params=[first_case, first_case, department.pk],
                           overrides={
                               "case_id": "c.id", "started_at": "c.created_at",
                               "due_at": (due + f" + interval '{hours - 4} hours'", [now, now]),
                               "warn_at": (due, [now, now]), "next_escalation_at": (due, [now, now]),
                               "paused_at": ("CASE WHEN c.status = 'pending' THEN %s::timestamptz END", [now]),
                               "remaining_minutes": "CASE WHEN c.status = 'pending' THEN 60 END",
                           })
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {cases} AS c SET next_due_at = k.due FROM (SELECT case_id, MIN(due_at) AS due FROM "
                f"{_q(SlaClock._meta.db_table)} WHERE case_id > %s AND stopped_at IS NULL AND paused_at IS NULL "
                f"GROUP BY case_id) AS k WHERE c.id = k.case_id", [first_case])


def _clean(prefix: str) -> None:
    customers = f"SELECT id FROM {_q(Customer._meta.db_table)} WHERE external_id LIKE %s"
    cases = f"SELECT id FROM {_q(Case._meta.db_table)} WHERE customer_id IN ({customers})"
    clocks = f"SELECT id FROM {_q(SlaClock._meta.db_table)} WHERE case_id IN ({cases})"
    pattern = [f"{prefix}-%"]
    statements = [
        f"DELETE FROM {_q(Notification._meta.db_table)} WHERE case_id IN ({cases})",
        f"DELETE FROM {_q(Escalation._meta.db_table)} WHERE clock_id IN ({clocks})",
        f"DELETE FROM {_q(SlaClock._meta.db_table)} WHERE case_id IN ({cases})",
        f"DELETE FROM {_q(CaseEvent._meta.db_table)} WHERE case_id IN ({cases})",
        f"DELETE FROM {_q(Handoff._meta.db_table)} WHERE case_id IN ({cases})",
        f"DELETE FROM {_q(Mention._meta.db_table)} WHERE case_id IN ({cases})",
        f"DELETE FROM {_q(Case._meta.db_table)} WHERE customer_id IN ({customers})",
        f"DELETE FROM {_q(Customer._meta.db_table)} WHERE external_id LIKE %s",
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql, pattern)
    users = get_user_model().objects.filter(username__startswith=prefix)
    user_ids = list(users.values_list("pk", flat=True))
    users.delete()
    # The audit trail of the bench users' memberships and board seat (their deletion wrote one more record).
    Membership.history.filter(user_id__in=user_ids).delete()
    BoardSeat.history.filter(user_id__in=user_ids).delete()


def pages(*, case_id: int) -> list[tuple[str, str, str]]:
    """(name, who, url) of every portal page the bench requests; pages not (yet) in the URLconf are left out."""
    wanted = [
        ("inbox", "lead", "inbox", [], ""),
        ("inbox_search", "lead", "inbox", [], "?q=refund+johns"),
        ("inbox_breached", "lead", "inbox", [], "?tab=breached"),
        ("inbox_mine", "lead", "inbox", [], "?tab=mine&sort=priority"),
        ("inbox_filtered", "lead", "inbox", [], "?intent=complaint&sla=warning&stage=prospect&page=3"),
        ("inbox_refresh", "lead", "inbox", [], "?tab=all&page=2"),
        ("case", "lead", "case-detail", [case_id], ""),
        ("incoming", "lead", "incoming", [], ""),
        ("feedback", "lead", "feedback-list", [], ""),
        ("problems", "lead", "problems", [], ""),
        ("promises", "lead", "promise-list", [], ""),
        ("notifications", "lead", "notifications", [], ""),
        ("settings", "lead", "settings", [], ""),
        ("audit", "head", "audit-log", [], ""),
        ("rules", "head", "rule-list", [], ""),
        ("board", "board", "board", [], ""),
        ("promises_board", "board", "promise-list", [], ""),
    ]
    found = []
    for name, who, url_name, args, query in wanted:
        try:
            found.append((name, who, reverse(url_name, args=args) + query))
        except NoReverseMatch:
            continue
    return found


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def run(*, open: int, repeat: int, keep: bool, out) -> dict:  # noqa: A002
    if connection.vendor != "postgresql":
        raise ValueError("bench portal seeds with PostgreSQL SQL: set DATABASE_URL to a PostgreSQL database")
    if open < 1 or repeat < 1:
        raise ValueError("--open and --repeat must be at least 1")
    prefix = f"bench-portal-{uuid.uuid4().hex[:8]}"
    department = Department.objects.get(slug="service")
    User = get_user_model()
    lead = User.objects.create(username=f"{prefix}-lead", first_name="Bench", last_name="Lead")
    head = User.objects.create(username=f"{prefix}-head", first_name="Bench", last_name="Head")
    board = User.objects.create(username=f"{prefix}-board", first_name="Bench", last_name="Board")
    Membership.objects.create(user=lead, department=department, role=Role.LEAD)
    Membership.objects.create(user=head, department=department, role=Role.HEAD)
    BoardSeat.objects.create(user=board)
    out(f"bench portal: {open} open cases in {department}, {repeat} requests per page; {stack()}")
    results: dict[str, dict] = {}
    try:
        now = timezone.now()
        started = time.perf_counter()
        _seed(prefix=prefix, department=department, user=lead, n=open, now=now)
        seeded = (Customer, Case, Mention, SlaClock, Handoff)
        if connection.in_atomic_block:  # inside a test's transaction, where VACUUM cannot run
            with connection.cursor() as cursor:
                for model in seeded:
                    cursor.execute(f"ANALYZE {_q(model._meta.db_table)}")
        else:  # as autovacuum would have by then: statistics and the visibility map of the new rows
            vacuum(seeded, out=out)
        out(f"  seeded {open} customers, cases and posts, {2 * open} clocks in {time.perf_counter() - started:.1f} s")
        case_id = Case.objects.filter(customer__external_id__startswith=prefix).order_by("id").values_list(
            "id", flat=True).first()
        clients = {}
        for who, user in (("lead", lead), ("head", head), ("board", board)):
            clients[who] = Client()
            clients[who].force_login(user)
        # As the server's process does once Baton is loaded (config/wsgi.py): what is loaded lives as long as the
        # process, so the garbage collector's full collections leave it alone (one took ~160 ms, every ~20 pages).
        gc.collect()
        gc.freeze()
        host = (settings.ALLOWED_HOSTS or ["localhost"])[0].lstrip(".").replace("*", "localhost")
        storages = {**settings.STORAGES,
                    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
        with override_settings(STORAGES=storages):  # no collectstatic manifest needed to render
            for name, who, url in pages(case_id=case_id):
                client = clients[who]
                times, queries, status = [], 0, None
                for i in range(repeat + 1):  # the first request warms caches and is not counted
                    with CaptureQueriesContext(connection) as captured:
                        started = time.perf_counter()
                        response = client.get(url, secure=True, HTTP_HOST=host)
                        seconds = time.perf_counter() - started
                    status = response.status_code
                    if i:
                        times.append(seconds * 1000)
                        queries = max(queries, len(captured))
                p50, p95 = statistics.median(times), _percentile(times, 0.95)
                results[name] = {"p50_ms": round(p50, 1), "p95_ms": round(p95, 1), "queries": queries,
                                 "status": status}
                flag = "" if p95 < 200 and queries <= 25 and status == 200 else "  <-- over the bar"
                out(f"  {name:16} {url[:60]:60} {status}  p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  "
                    f"{queries:3d} queries{flag}")
    finally:
        gc.unfreeze()
        if not keep:
            started = time.perf_counter()
            _clean(prefix)
            out(f"  cleaned up in {time.perf_counter() - started:.1f} s")
    worst = max(results.values(), key=lambda r: r["p95_ms"]) if results else {}
    return {
        "bench": "portal",
        **stack(),
        "open": open,
        "repeat": repeat,
        "pages": results,
        "worst_p95_ms": worst.get("p95_ms"),
        "max_queries": max((r["queries"] for r in results.values()), default=0),
    }
