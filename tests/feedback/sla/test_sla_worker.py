"""The SLA sweep on a real Celery worker process that is killed (SIGKILL) in the middle of a
backlog: a new worker finishes it, and no escalation is lost or doubled."""

import os
import signal
import subprocess
import uuid
from datetime import timedelta

import pytest
from celery.utils.nodenames import gethostname
from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from config.celery import app
from feedback.cases.models import Case, CaseEvent
from feedback.choices import ClockMetric, EventKind, Priority
from feedback.sla.models import Escalation, Notification, SlaClock
from feedback.tasks import sla_sweep
from teams.models import Role
from tests.concurrency import wait_for
from tests.factories import CustomerFactory, MembershipFactory, UserFactory, department
from tests.servers import sessions_of_others, stop, worker_process

CLOCKS = 3000
BATCH = 40


def _worker(queue: str, name: str) -> subprocess.Popen:
    return worker_process(settings, queue=queue, name=name, env={"BATON_SWEEP_BATCH": str(BATCH)})


def _drained(queue: str, node: str) -> bool:
    """Nothing waits in `queue` and the worker `node` runs and holds no task (it answers for itself)."""
    with app.connection_for_write() as broker:
        if broker.default_channel.queue_declare(queue=queue).message_count:
            return False
    inspect = app.control.inspect(destination=[node], timeout=5)
    active, reserved = inspect.active() or {}, inspect.reserved() or {}
    return active.get(node) == [] and reserved.get(node) == []


def _seed(now):
    """CLOCKS running first-reply clocks: half past their warning, half past due (level 3 is an
    hour away), on cases of one customer in service, which has a lead (without email)."""
    MembershipFactory(user=UserFactory(username="kill-lead"), department=department("service"), role=Role.LEAD)
    customer, service = CustomerFactory(), department("service")
    cases = Case.objects.bulk_create([
        Case(customer=customer, department=service, priority=Priority.NORMAL, subject=f"kill {i}",
             created_at=now - timedelta(hours=3))
        for i in range(CLOCKS)
    ])
    clocks = []
    for i, case in enumerate(cases):
        breached = i % 2 == 0
        warn_at = now - timedelta(hours=2, seconds=i)
        due_at = now - timedelta(hours=1) if breached else now + timedelta(days=10)
        clocks.append(SlaClock(
            case=case, metric=ClockMetric.FIRST_REPLY, started_at=now - timedelta(hours=5), warn_at=warn_at,
            due_at=due_at, target_minutes=240, department=service, next_level=1, next_escalation_at=warn_at,
        ))
    SlaClock.objects.bulk_create(clocks, batch_size=2000)
    return {clock.pk: (2 if i % 2 == 0 else 1) for i, clock in enumerate(clocks)}


@pytest.mark.worker
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_in_the_middle_of_a_sweep_loses_and_doubles_nothing():
    assert settings.CELERY_BROKER_URL.startswith("redis://"), "make test runs the worker on Redis"
    queue = f"sla-kill-{uuid.uuid4().hex[:8]}"  # our own queue: no other worker takes these messages
    expected = _seed(timezone.now())

    first = _worker(queue, "doomed")
    try:
        sla_sweep.apply_async(queue=queue)  # a full batch re-queues itself onto this queue
        assert wait_for(lambda: Escalation.objects.count() >= 300, timeout=90, interval=0.02), "the first worker never swept"
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert wait_for(lambda: sessions_of_others() == 0), "the killed worker's database session never ended"
    # Its session is gone, so its open batch is rolled back: what it escalated is what it committed.
    interrupted = Escalation.objects.count()
    assert interrupted < CLOCKS, "the sweep finished before the kill; make the backlog bigger"

    second = _worker(queue, "heir")
    try:
        sla_sweep.apply_async(queue=queue)  # the next beat tick
        assert wait_for(lambda: Escalation.objects.count() >= CLOCKS, timeout=120), (
            f"the second worker stopped at {Escalation.objects.count()} of {CLOCKS}"
        )
        # Any message still queued or running (a sweep re-queued by the last full batch) must change nothing.
        assert wait_for(lambda: _drained(queue, f"heir@{gethostname()}"), timeout=60), "the queue never drained"
    finally:
        stop(second)
        with app.connection_for_write() as connection:
            connection.default_channel.queue_delete(queue)

    # Nothing lost, nothing doubled: exactly the expected level per clock, one event, one notification.
    assert dict(Escalation.objects.values_list("clock_id", "level")) == expected
    assert Escalation.objects.count() == CLOCKS
    events = CaseEvent.objects.filter(kind=EventKind.ESCALATION)
    assert events.count() == CLOCKS
    assert not events.values("case_id").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert Notification.objects.count() == CLOCKS
    assert not Notification.objects.values("escalation_id").annotate(n=Count("id")).filter(n__gt=1).exists()
    # Each breached case went up one step once (a doubled breach would make it urgent).
    breached_cases = SlaClock.objects.filter(pk__in=[pk for pk, level in expected.items() if level == 2])
    assert set(Case.objects.filter(clocks__in=breached_cases).values_list("priority", flat=True)) == {Priority.HIGH}
    assert Case.objects.filter(priority=Priority.NORMAL).count() == CLOCKS // 2
    assert not SlaClock.objects.filter(next_escalation_at__lte=timezone.now()).exists()
