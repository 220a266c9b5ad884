"""bench sla: one escalation sweep over a backlog of due clocks, with 200,000 then 1,000,000 open cases.

Open cases and their clocks are seeded with set-based SQL (INSERT ... SELECT generate_series on
PostgreSQL: every column from the models' own defaults, so fields added later are filled too).
A realistic share of clocks is due: half past their warning, half past due. The sweep is timed
until it drains (batches of BATON_SWEEP_BATCH, as the re-queued task does); then the open cases
grow to --grow-to with the same number due and it is timed again. Its cost should follow the
due clocks, not the open cases.
"""

import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from customers.models import Customer
from feedback.bench.common import stack, vacuum
from feedback.cases.models import Case, CaseEvent
from feedback.choices import CaseStatus, ClockMetric, Priority
from feedback.sla import clocks as sla
from feedback.sla.models import Escalation, Notification, SlaClock
from teams.models import Department

# The tables a run writes and `_clean` deletes from.
SLA_TABLES = (Notification, Escalation, SlaClock, CaseEvent, Case, Customer)


def add_arguments(parser):
    parser.add_argument("--open", type=int, default=200_000, help="Open cases to seed first (default 200000).")
    parser.add_argument("--due", type=int, default=2000, help="Clocks due at each sweep (default 2000).")
    parser.add_argument("--grow-to", type=int, default=1_000_000, help="Open cases for the second sweep.")
    parser.add_argument("--batch", type=int, default=None, help="Clocks per batch (default BATON_SWEEP_BATCH).")
    parser.add_argument("--keep", action="store_true", help="Keep the seeded cases and clocks.")


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _insert_select(model, *, source: str, overrides: dict, template, params: list | None = None) -> int:
    """INSERT INTO model (every concrete column) SELECT ... FROM source: columns in `overrides` are
    SQL expressions (or (expression, params)); the others take the prepared value of the same
    field on `template`."""
    columns, expressions, values = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(_q(field.column))
        if field.attname in overrides:
            expression = overrides[field.attname]
            expression, extra = expression if isinstance(expression, tuple) else (expression, [])
            expressions.append(expression)
            values.extend(extra)
        else:
            expressions.append("%s")
            values.append(field.get_db_prep_save(field.pre_save(template, add=True), connection))
    sql = (f"INSERT INTO {_q(model._meta.db_table)} ({', '.join(columns)}) "
           f"SELECT {', '.join(expressions)} FROM {source}")
    with connection.cursor() as cursor:
        cursor.execute(sql, values + (params or []))
        return cursor.rowcount


def _seed_cases(*, customer: Customer, department: Department, n: int, now) -> None:
    template = Case(customer=customer, department=department, status=CaseStatus.OPEN, priority=Priority.NORMAL,
                    subject="bench", created_at=now)
    with transaction.atomic():
        first_new = (Case.objects.filter(customer=customer).order_by("-id").values_list("id", flat=True).first() or 0)
        _insert_select(Case, source="generate_series(1, %s) AS g", template=template, params=[n],
                       overrides={"created_at": ("%s::timestamptz - g * interval '1 second'", [now])})
        cases = f"(SELECT id, created_at FROM {_q(Case._meta.db_table)} WHERE customer_id = %s AND id > %s) AS c"
        for metric, hours in ((ClockMetric.FIRST_REPLY, 4), (ClockMetric.RESOLUTION, 72)):
            # Not due: the warning is between 1 hour and 3 days from now.
            at = "%s::timestamptz + interval '1 hour' + (c.id %% 4320) * interval '1 minute'"
            clock = SlaClock(metric=metric, started_at=now, due_at=now, warn_at=now, target_minutes=hours * 60,
                             department_id=department.pk, next_level=sla.LEVEL_WARNING, warn_share=0.75)
            _insert_select(SlaClock, source=cases, template=clock, params=[customer.pk, first_new], overrides={
                "case_id": "c.id", "started_at": "c.created_at", "warn_at": (at, [now]),
                "due_at": (f"{at} + interval '{hours // 4} hours'", [now]), "next_escalation_at": (at, [now]),
            })


def _make_due(*, customer: Customer, due: int, now) -> int:
    """`due` running first-reply clocks of open cases become due: half at their warning, half past due."""
    table, cases = _q(SlaClock._meta.db_table), _q(Case._meta.db_table)
    sql = f"""
        UPDATE {table} AS k SET
            warn_at = %(now)s - interval '2 hours' - (k.id %% 60) * interval '1 second',
            due_at = CASE WHEN picked.n %% 2 = 0 THEN %(now)s - interval '1 hour' - (k.id %% 60) * interval '1 second'
                          ELSE %(now)s + interval '1 hour' END,
            next_level = 1,
            next_escalation_at = %(now)s - interval '2 hours' - (k.id %% 60) * interval '1 second'
        FROM (
            SELECT k2.id, row_number() OVER () AS n FROM {table} k2 JOIN {cases} c ON c.id = k2.case_id
            WHERE c.customer_id = %(customer)s AND k2.metric = %(metric)s AND k2.stopped_at IS NULL
              AND k2.escalation_level = 0 AND k2.next_escalation_at > %(now)s
            ORDER BY k2.id DESC LIMIT %(due)s
        ) AS picked
        WHERE k.id = picked.id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {"now": now, "customer": customer.pk, "metric": ClockMetric.FIRST_REPLY, "due": due})
        return cursor.rowcount


def _sweep(*, now, batch: int) -> tuple[float, int, int]:
    """Time one sweep until it drains: (seconds, escalations, batches)."""
    started = time.perf_counter()
    escalated = batches = 0
    while True:
        done = sla.escalate_due(now=now, limit=batch)
        escalated += done
        batches += 1
        if done < batch:
            break
    return time.perf_counter() - started, escalated, batches


def _explain(now) -> str:
    query = (SlaClock.objects.filter(next_escalation_at__lte=now, stopped_at__isnull=True, paused_at__isnull=True,
                                     next_escalation_at__isnull=False).order_by("next_escalation_at")
             .values_list("id", flat=True)[:500])
    plan = query.explain()
    return plan.splitlines()[1].strip() if len(plan.splitlines()) > 1 else plan


def _clean(customer: Customer) -> None:
    cases = f"SELECT id FROM {_q(Case._meta.db_table)} WHERE customer_id = %s"
    clocks = f"SELECT id FROM {_q(SlaClock._meta.db_table)} WHERE case_id IN ({cases})"
    statements = [
        f"DELETE FROM {_q(Notification._meta.db_table)} WHERE case_id IN ({cases})",
        f"DELETE FROM {_q(Escalation._meta.db_table)} WHERE clock_id IN ({clocks})",
        f"DELETE FROM {_q(SlaClock._meta.db_table)} WHERE case_id IN ({cases})",
        f"DELETE FROM {_q(CaseEvent._meta.db_table)} WHERE case_id IN ({cases})",
        f"DELETE FROM {_q(Case._meta.db_table)} WHERE customer_id = %s",
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql, [customer.pk])
        customer.delete()


def run(*, open: int, due: int, grow_to: int, batch: int | None, keep: bool, out) -> dict:  # noqa: A002
    if connection.vendor != "postgresql":
        raise ValueError("bench sla seeds with PostgreSQL SQL: set DATABASE_URL to a PostgreSQL database")
    if open < due or grow_to < open:
        raise ValueError("need --due <= --open <= --grow-to")
    batch = batch or settings.BATON_SWEEP_BATCH
    prefix = f"bench-sla-{uuid.uuid4().hex[:8]}"
    sla.ensure_default_policies()
    department = Department.objects.order_by("pk").first()
    if department is None:
        raise ValueError("no department: run migrate first")
    customer = Customer.objects.create(external_id=prefix, name="SLA bench")
    out(f"bench sla: {open} open cases, {due} due clocks, then {grow_to} open cases; batch {batch}; {stack()}")
    vacuum(SLA_TABLES, out=out)  # what earlier runs deleted (a run deletes about three million rows)
    try:
        now = timezone.now()
        started = time.perf_counter()
        _seed_cases(customer=customer, department=department, n=open, now=now)
        due_now = _make_due(customer=customer, due=due, now=now)
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {_q(SlaClock._meta.db_table)}")
            cursor.execute(f"ANALYZE {_q(Case._meta.db_table)}")
        out(f"  seeded {open} cases, {2 * open} clocks, {due_now} due in {time.perf_counter() - started:.1f} s")
        out(f"  plan: {_explain(now)}")
        seconds, escalated, batches = _sweep(now=now, batch=batch)
        out(f"  sweep ({open} open): {due_now} due clocks -> {escalated} escalations in {seconds:.3f} s "
            f"({batches} batches, {due_now / seconds:.0f} due clocks/s)")

        now_1m = now + timedelta(seconds=1)
        started = time.perf_counter()
        _seed_cases(customer=customer, department=department, n=grow_to - open, now=now)
        due_1m = _make_due(customer=customer, due=due, now=now_1m)
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {_q(SlaClock._meta.db_table)}")
            cursor.execute(f"ANALYZE {_q(Case._meta.db_table)}")
        out(f"  grew to {grow_to} cases, {due_1m} due in {time.perf_counter() - started:.1f} s")
        seconds_1m, escalated_1m, batches_1m = _sweep(now=now_1m, batch=batch)
        out(f"  sweep ({grow_to} open): {due_1m} due clocks -> {escalated_1m} escalations in {seconds_1m:.3f} s "
            f"({batches_1m} batches, {due_1m / seconds_1m:.0f} due clocks/s)")
    finally:
        if not keep:
            started = time.perf_counter()
            _clean(customer)
            out(f"  cleaned up in {time.perf_counter() - started:.1f} s")
            vacuum(SLA_TABLES, out=out)  # the next run starts from clean tables
    return {
        "bench": "sla",
        **stack(),
        "open": open,
        "open_1m": grow_to,
        "due": due_now,
        "due_1m": due_1m,
        "batch": batch,
        "escalations": escalated,
        "escalations_1m": escalated_1m,
        "sweep_s": round(seconds, 3),
        "sweep_s_1m": round(seconds_1m, 3),
        "due_per_s": round(due_now / seconds, 1),
        "due_per_s_1m": round(due_1m / seconds_1m, 1),
    }
