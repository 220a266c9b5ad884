"""Seeded raw data for the board's tests: mentions, cases, clocks, escalations, handoffs, notes and
problems over 70 days up to today, the same every run (a fixed random seed)."""

import random
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from feedback.cases.models import FeedbackNote, Handoff, Problem
from feedback.choices import ClockMetric, HandoffStatus, Intent, Source
from feedback.sla.models import Escalation
from feedback.understanding.models import Promise
from tests.broker import TaskQueue
from tests.factories import CaseFactory, CustomerFactory, MentionFactory, SlaClockFactory, department

LOCATIONS = ["New York, NY", "Austin, TX", "Houston", "NYC", "Chicago", "London", "", "Does it really matter",
             "Boston, MA", "Dallas, Texas", "Toronto"]
REGIONS = ["", "", "", "Texas", "California", "NY"]


@pytest.fixture(autouse=True)
def _empty_cache():
    """Cached dashboards are keyed by the rollups' version, which lives in the cache, not in the rolled-back
    database: each test starts with an empty cache."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def rollup_queue():
    """The real broker's `rollups` queue, emptied before and after: `.run()` runs the refreshes as a worker."""
    queue = TaskQueue("rollups")
    queue.purge()
    yield queue
    queue.purge()


@pytest.fixture
def promises(db):
    return [
        Promise.objects.get_or_create(slug=slug, defaults={"name": name, "department": department(dept),
                                                           "target": target})[0]
        for slug, name, dept, target in [
            ("t-on-time", "On time", "service", "85% of flights on time"),
            ("t-bags", "Your bags arrive with you", "after-sales", ""),
            ("t-reply", "We reply within one hour", "service", "First reply within one hour on social media"),
        ]
    ]


@pytest.fixture
def seeded(db, promises):
    """Raw rows over the last 70 days (this period, the previous one and before it)."""
    rng = random.Random(16)
    now = timezone.now()
    departments = [department(slug) for slug in ("service", "sales", "hr", "after-sales")]
    customers = [CustomerFactory(region=rng.choice(REGIONS)) for _ in range(12)]
    problems = [Problem.objects.create(title=f"Problem {i}", owner_department=departments[i % 2],
                                       status="resolved" if i == 0 else "open",
                                       resolved_at=now - timedelta(days=20) if i == 0 else None) for i in range(3)]
    cases = []
    for _ in range(60):
        created = now - timedelta(days=rng.randrange(0, 70), minutes=rng.randrange(0, 1440))
        replied = created + timedelta(minutes=rng.choice([3, 14, 30, 59, 61, 95, 240, 600, 3000])) \
            if rng.random() < 0.8 else None
        case = CaseFactory(customer=rng.choice(customers), department=rng.choice(departments), created_at=created,
                           first_replied_at=replied, problem=rng.choice(problems) if rng.random() < 0.3 else None)
        cases.append(case)
        for metric in (ClockMetric.FIRST_REPLY, ClockMetric.RESOLUTION):
            outcome = rng.choice(["met", "missed", "running"])
            clock = SlaClockFactory(
                case=case, metric=metric, department=case.department if rng.random() < 0.9 else None,
                stopped_at=created + timedelta(hours=1) if outcome == "met" else None,
                breached_at=created + timedelta(hours=4) if outcome == "missed" else None,
                next_level=None, next_escalation_at=None)  # nothing left for the SLA sweep
            if outcome == "missed":
                for level in rng.sample([1, 2, 3, 4], rng.randrange(1, 4)):
                    Escalation.objects.create(clock=clock, level=level, created_at=created + timedelta(hours=level))
    for case in rng.sample(cases, 20):
        status = rng.choice([HandoffStatus.ACCEPTED, HandoffStatus.ACCEPTED, HandoffStatus.RETURNED,
                             HandoffStatus.PENDING])
        at = case.created_at + timedelta(minutes=rng.randrange(1, 300))
        to = rng.choice([d for d in departments if d != case.department])
        Handoff.objects.create(case=case, from_department=case.department, to_department=to, note="over to you",
                               created_at=at, status=status,
                               decided_at=at + timedelta(minutes=rng.choice([5, 20, 45, 130]))
                               if status != HandoffStatus.PENDING else None)
    for case in rng.sample(cases, 10):
        to = rng.choice([d for d in departments if d != case.department])
        FeedbackNote.objects.create(case=case, from_department=case.department, to_department=to,
                                    text="the promise was wrong", created_at=case.created_at + timedelta(hours=2),
                                    acknowledged_at=case.created_at + timedelta(hours=3) if rng.random() < 0.5 else None)
    for i in range(400):
        case = rng.choice(cases) if rng.random() < 0.5 else None
        posted = (case.created_at - timedelta(minutes=rng.randrange(0, 20)) if case
                  else now - timedelta(days=rng.randrange(0, 70), minutes=rng.randrange(0, 1440)))
        raw = {"location": rng.choice(LOCATIONS)} if rng.random() < 0.7 else {}
        if rng.random() < 0.2:
            raw = {"author": {"location": rng.choice(LOCATIONS)}}
        MentionFactory(
            external_id=f"seed-{i}", posted_at=posted, source=rng.choice(Source.values),
            intent=rng.choice([*Intent.values, ""]), sentiment_label=rng.choice(["negative", "neutral", "positive", ""]),
            promise=rng.choice([*promises, None, None]), case=case,
            customer=case.customer if case else rng.choice([*customers, None]), raw=raw,
        )
    return {"cases": cases, "problems": problems, "departments": departments}


@pytest.fixture
def service_client(client, service_agent):
    client.force_login(service_agent)
    return client
