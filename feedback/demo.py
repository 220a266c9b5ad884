"""Demo data for an airline, written through the same services the product uses.

`seed_demo` creates demo users (one per department, a board member, an admin), an API
integration user with a token, 300 CRM customers, then stores about 2,000 real tweets
(feedback/fixtures/demo/, see DATA.md) with `ingest.store_mention` and processes each
with `pipeline.process_mention`, the worker's code path. While it replays the tweets in
time order it simulates the departments working their cases (replies, handoffs, notes,
pending, resolve, close) through `feedback.cases.services`, and runs the SLA sweep
(`sla.escalate_due`) at five-minute ticks of simulated time, the way the beat would have.

Idempotent: users, customers and mentions are looked up before they are created, and
case work is only simulated for mentions processed in this run, so a second run adds
nothing. The tweets' February 2015 timestamps are moved onto the 30 days before the
first run (the anchor is recovered from the stored mentions on later runs).
"""

import csv
import hashlib
import heapq
import itertools
import logging
import math
import random
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Permission
from django.db import transaction
from django.db.models import Min, Q
from django.utils import timezone

from config.auth import DEMO_PASSWORD  # printed by seed_demo; refused with DEBUG off (config/auth.py)
from config.errors import BatonError
from customers.matching import refresh_keys
from customers.models import Customer, Identity, LinkMethod, Stage
from customers.services import normalize_handle
from feedback.api.tokens import api_token
from feedback.cases import journey
from feedback.cases import services as case_services
from feedback.cases.models import Case, CaseEvent, Handoff
from feedback.choices import (
    OPEN_STATUSES,
    CaseStatus,
    EventKind,
    HandoffStatus,
    Intent,
    MentionStatus,
    Priority,
    Source,
)
from feedback.intake.ingest import store_mention
from feedback.intake.models import Mention
from feedback.pipeline import process_mention
from feedback.replies import services as reply_services
from feedback.replies.models import OutboxMessage, Reply, ReplyStatus
from feedback.replies.rules import CONSIDERATIONS
from feedback.replies.services import ensure_default_canned
from feedback.sla import clocks as sla
from feedback.sla.models import Escalation, SlaClock
from teams.models import BoardSeat, Department, Membership, Role

logger = logging.getLogger(__name__)

DATASET = "twitter-us-airline-sentiment"
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "demo" / "airline_mentions_demo.csv"
DEFAULT_MENTIONS = 2000
CUSTOMER_COUNT = 300
DEMO_SPAN = timedelta(days=30)
SWEEP_EVERY = timedelta(minutes=5)
INTEGRATION_USERNAME = "integration"


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    department: str | None = None
    role: str = Role.AGENT
    board: bool = False
    superuser: bool = False

    @property
    def label(self) -> str:
        if self.superuser:
            return "staff superuser, also /admin/"
        if self.board:
            return "board seat"
        return f"{self.department} {self.role}"


DEMO_USERS = [
    DemoUser("marketing", "Maya", "Okafor", "marketing", Role.LEAD),
    DemoUser("sales", "Sam", "Lindqvist", "sales", Role.LEAD),
    DemoUser("after-sales", "Ana", "Moreau", "after-sales"),
    DemoUser("service", "Jordan", "Reyes", "service", Role.LEAD),
    DemoUser("service-agent", "Priya", "Nair", "service"),
    DemoUser("service-head", "Rosa", "Delgado", "service", Role.HEAD),
    DemoUser("product", "Leo", "Brandt", "product"),
    DemoUser("hr", "Grace", "Kim", "hr"),
    DemoUser("legal", "Tom", "Adeyemi", "legal"),
    DemoUser("board", "Helen", "Marsh", board=True),
    DemoUser("admin", "Ada", "Admin", superuser=True),
]


@dataclass
class SeedReport:
    created: Counter = field(default_factory=Counter)
    existing: Counter = field(default_factory=Counter)
    work: Counter = field(default_factory=Counter)
    logins: list[DemoUser] = field(default_factory=list)
    token: str | None = None
    mentions_requested: int = 0
    mentions_available: int = 0


# --- Source rows ----------------------------------------------------------------


@dataclass(frozen=True)
class DemoRow:
    id: str
    brand: str
    posted_at: datetime
    author: str
    text: str
    location: str

    @property
    def handle(self) -> str:
        return normalize_handle(self.author)


def read_rows(path: Path = FIXTURE) -> list[DemoRow]:
    """Every row of the demo file, oldest first."""
    with path.open(encoding="utf-8", newline="") as f:
        rows = [
            DemoRow(
                id=r["id"], brand=r["brand"], posted_at=datetime.fromisoformat(r["posted_at"]), author=r["author"],
                text=r["text"], location=r["location"].strip(),
            )
            for r in csv.DictReader(f)
        ]
    rows.sort(key=lambda r: (r.posted_at, r.id))
    return rows


def pick_rows(rows: list[DemoRow], count: int) -> list[DemoRow]:
    """`count` rows spread evenly over the file, so any size still spans the whole period."""
    if count >= len(rows):
        return list(rows)
    if count <= 0:
        return []
    return [rows[math.floor(i * len(rows) / count)] for i in range(count)]


def _stable_random(*parts) -> random.Random:
    seed = int(hashlib.sha1("|".join(map(str, parts)).encode()).hexdigest()[:12], 16)
    return random.Random(seed)


# --- Users ------------------------------------------------------------------------


def ensure_users(*, report: SeedReport) -> dict[str, list]:
    """The demo logins; returns the users who act for each department (agents first)."""
    User = get_user_model()
    departments = {d.slug: d for d in Department.objects.all()}
    actors: dict[str, list] = {}
    password = make_password(DEMO_PASSWORD)  # hashed once: a second or two saved on a slow machine
    with transaction.atomic():
        for spec in DEMO_USERS:
            user = User.objects.filter(username=spec.username).first()
            if user is None:
                user = User(
                    username=spec.username, first_name=spec.first_name, last_name=spec.last_name,
                    email=f"{spec.username}@demo.baton.example", is_staff=spec.superuser,
                    is_superuser=spec.superuser, password=password,
                )
                user.save()
                report.created["users"] += 1
            else:
                report.existing["users"] += 1  # left as it is: its password may have been changed
            if spec.department and spec.department in departments:
                _, created = Membership.objects.get_or_create(
                    user=user, department=departments[spec.department], defaults={"role": spec.role}
                )
                report.created["memberships"] += created
                report.existing["memberships"] += not created
                if spec.role != Role.HEAD:  # heads manage the department; agents and leads work its cases
                    actors.setdefault(spec.department, []).append((spec.role != Role.AGENT, user))
            if spec.board:
                _, created = BoardSeat.objects.get_or_create(user=user)
                report.created["board seats"] += created
                report.existing["board seats"] += not created
            report.logins.append(spec)
    return {slug: [user for _, user in sorted(users, key=lambda pair: pair[0])] for slug, users in actors.items()}


def ensure_integration(*, report: SeedReport) -> str:
    """The API user a CRM or listening tool would use: may add mentions, logs in with a token only."""
    User = get_user_model()
    with transaction.atomic():
        user = User.objects.filter(username=INTEGRATION_USERNAME).first()
        if user is None:
            user = User(username=INTEGRATION_USERNAME, first_name="Listening", last_name="tool")
            user.set_unusable_password()
            user.save()
            report.created["users"] += 1
        else:
            report.existing["users"] += 1
        user.user_permissions.add(Permission.objects.get(codename="add_mention", content_type__app_label="feedback"))
        key, created = api_token(user=user)
        report.created["API tokens"] += created
        report.existing["API tokens"] += not created
    return key


# --- Customers --------------------------------------------------------------------

_FIRST = ["Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "James", "Isabella", "Lucas", "Mia", "Mateo",
          "Amelia", "Ethan", "Harper", "Daniel", "Evelyn", "Henry", "Aisha", "Omar", "Mei", "Hiroshi", "Chloe", "Diego",
          "Fatima", "Kwame", "Ingrid", "Ravi", "Lucia", "Marcus", "Nora", "Tariq", "Elena", "Jamal", "Sofia", "Wei"]
_LAST = ["Johnson", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez", "Hernandez", "Lopez", "Wilson", "Anderson",
         "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Thompson", "White", "Harris", "Clark", "Lewis",
         "Walker", "Young", "Allen", "King", "Wright", "Scott", "Nguyen", "Hill", "Flores", "Patel", "Kowalski",
         "Okonkwo", "Schmidt", "Rossi", "Tanaka"]


def _customer_fields(*, rank: int, handle: str, region: str) -> dict:
    rng = _stable_random("customer", handle)
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    draw = rng.random()
    if draw < 0.5:
        stage, value = Stage.CUSTOMER, min(40_000.0, max(80.0, rng.lognormvariate(math.log(1800), 0.9)))
    elif draw < 0.7:
        stage, value = Stage.LEAD, 0.0
    elif draw < 0.82:
        stage, value = Stage.PROSPECT, 0.0
    else:
        stage, value = Stage.FORMER, rng.uniform(100, 2500)
    return {
        "name": f"{first} {last}",
        "email": f"{first}.{last}.{rank:04d}@example.com".lower(),
        "stage": stage,
        "value": Decimal(f"{value:.2f}"),
        "region": region[:80],
    }


def most_active_authors(rows: list[DemoRow], count: int = CUSTOMER_COUNT) -> list[tuple[str, str]]:
    """(handle, region) of the `count` authors with most rows, most active first; region from `location`."""
    posts = Counter(row.handle for row in rows if row.handle)
    locations: dict[str, Counter] = {}
    for row in rows:
        if row.location:
            locations.setdefault(row.handle, Counter())[row.location] += 1
    ranked = sorted(posts, key=lambda handle: (-posts[handle], handle))[:count]
    return [(h, locations[h].most_common(1)[0][0] if h in locations else "") for h in ranked]


def ensure_customers(*, rows: list[DemoRow], report: SeedReport) -> None:
    """CRM records crm-0001... for the most active authors, each with their X identity."""
    authors = most_active_authors(rows)
    external_ids = [f"crm-{rank:04d}" for rank in range(1, len(authors) + 1)]
    with transaction.atomic():
        existing = {c.external_id: c for c in Customer.objects.filter(external_id__in=external_ids)}
        linked = dict(
            Identity.objects.filter(channel=Source.X, handle__in=[h for h, _ in authors]).values_list(
                "handle", "customer__external_id"
            )
        )
        for rank, ((handle, region), external_id) in enumerate(zip(authors, external_ids, strict=True), start=1):
            if external_id in existing:
                report.existing["customers"] += 1
                customer = existing[external_id]
            elif handle in linked:
                # Already known under another record (stored before the CRM import): leave it alone.
                report.existing["identities"] += 1
                continue
            else:
                customer = Customer.objects.create(
                    external_id=external_id, **_customer_fields(rank=rank, handle=handle, region=region)
                )
                report.created["customers"] += 1
            if handle in linked:
                report.existing["identities"] += 1
                continue
            Identity.objects.create(
                channel=Source.X, handle=handle, customer=customer, method=LinkMethod.HANDLE, confidence=1.0
            )
            report.created["identities"] += 1
        # The matcher finds CRM records by their keys (name, email, phone): written as the CRM import would.
        refresh_keys(customer_ids=Customer.objects.filter(external_id__in=external_ids).values_list("pk", flat=True))


# --- Time --------------------------------------------------------------------------


class TimeShift:
    """Maps the file's period linearly onto DEMO_SPAN ending at `end`, keeping the order."""

    def __init__(self, *, rows: list[DemoRow], end: datetime):
        self.first, self.last = rows[0].posted_at, rows[-1].posted_at
        self.scale = DEMO_SPAN / max(self.last - self.first, timedelta(seconds=1))
        self.end = end

    def posted(self, original: datetime) -> datetime:
        return self.end - (self.last - original) * self.scale

    @staticmethod
    def received(row: DemoRow, posted: datetime) -> datetime:
        """Baton hears of a post 5 seconds to 2 minutes after it was posted."""
        return posted + timedelta(seconds=5 + int(hashlib.sha1(row.id.encode()).hexdigest()[:6], 16) % 115)

    @classmethod
    def for_run(cls, *, rows: list[DemoRow], now: datetime) -> "TimeShift":
        """The first run ends the demo period just before now; later runs reuse that anchor."""
        shift = cls(rows=rows, end=now - timedelta(minutes=3))
        stored = (
            Mention.objects.filter(source=Source.X, raw__dataset=DATASET).only("posted_at", "raw").order_by("id").first()
        )
        if stored is not None and stored.raw.get("original_posted_at"):
            original = datetime.fromisoformat(stored.raw["original_posted_at"])
            shift.end = stored.posted_at + (shift.last - original) * shift.scale
        return shift


def store_rows(*, rows: list[DemoRow], shift: TimeShift, report: SeedReport) -> None:
    with transaction.atomic():
        for row in rows:
            posted = shift.posted(row.posted_at)
            _, created = store_mention(
                source=Source.X,
                external_id=row.id,
                text=row.text,
                posted_at=posted,
                received_at=shift.received(row, posted),
                author_handle=row.author,
                url=f"https://twitter.com/{row.author}/status/{row.id}",
                raw={
                    "dataset": DATASET, "brand": row.brand, "location": row.location,
                    "original_posted_at": row.posted_at.isoformat(),
                },
                enqueue=False,
            )
            report.created["mentions"] += created
            report.existing["mentions"] += not created


# --- Case work ----------------------------------------------------------------------

_REPLIES = {
    ("service", Intent.QUESTION): [
        "Happy to help! Please DM us your confirmation number and we'll check that for you right away.",
        "Good question. Send us a DM with your flight number and we'll look up the latest for you.",
        "Thanks for asking. Follow us and DM your record locator, and we'll confirm your options.",
    ],
    ("service", None): [
        "We're really sorry about this. Please DM us your confirmation number and we'll look into it right away.",
        "That's not the experience we want for you. Follow us and DM your record locator so we can check your options.",
        "Sorry for the wait and the trouble. We're looking at rebooking options for you now; we'll update you here.",
        "We hear you, and we apologise. DM us your flight number so we can get this sorted.",
    ],
    ("marketing", Intent.PRAISE): [
        "Thanks for flying with us! We'll pass your kind words on to the crew.",
        "Love to hear it! Thanks for the shout-out, see you on board soon.",
        "This made our day. Thank you for choosing us!",
    ],
    ("marketing", None): [
        "Thanks for reaching out! Let us know if there's anything we can help with.",
        "Thanks for the mention! If you need a hand with your trip, just DM us.",
    ],
    ("sales", None): [
        "Great to hear you're planning a trip! DM us your dates and we'll point you to the best fare.",
        "We'd love to have you on board. Our latest fares are on our site; DM us if you'd like help booking.",
    ],
    ("after-sales", None): [
        "Sorry about this. We've opened a claim for you; DM us your booking reference and we'll process it.",
        "This is our refunds team: we've picked up your request and will be in touch by DM with next steps.",
    ],
    ("product", None): [
        "Thanks for the feedback! We've passed it to our product team, who are looking into it.",
        "Good catch, and thanks for telling us. Our digital team is on it.",
    ],
    ("hr", None): ["Thank you! We've shared your message with the team member and their manager."],
    ("legal", None): ["Thanks for getting in touch. Our media team will follow up with you by DM."],
}
_FOLLOW_UPS = [
    "Thanks for the update. We're still on it and will get back to you as soon as we know more.",
    "Thanks for bearing with us. We've escalated this and will update you shortly.",
    "Got it, thank you. We're checking with the airport team now.",
]
_NOTES = {
    "service": [
        "Checked the booking: the delay came from a late inbound aircraft.",
        "Customer is a frequent flyer; offered priority rebooking.",
        "Called the station: the gate agent confirms the long queue at the desk.",
        "Same issue reported by other passengers on this flight.",
    ],
    "marketing": [
        "Shared with the social team for this week's highlights.",
        "Author has a large following: keep the tone light and answer quickly.",
    ],
    "sales": ["Sent fare options by DM."],
    "after-sales": ["Claim opened; the reference is in the CRM.", "Refund approved, five to seven business days."],
    "product": ["Logged in the product backlog.", "Known issue: the fix ships with the next app release."],
    "hr": ["Passed on to the crew member's manager."],
    "legal": ["Reviewed: no legal concern with a public reply."],
}
_PENDING = [
    "Asked the customer for the confirmation number by DM.",
    "Waiting for the customer to confirm the new itinerary.",
    "Waiting for the customer's baggage claim reference.",
]
_RESOLUTIONS = [
    "Rebooked on the next flight; the customer confirmed.",
    "Answered the question; nothing more needed.",
    "Bag located and delivered to the customer's address.",
    "Issued a travel voucher as a goodwill gesture.",
    "Thanked the customer; shared with the team.",
]
_FEEDBACK_UP = (
    "Feedback for marketing: customers quote our 'on time, every time' line back at us when flights are late. "
    "The promise does not match this route's delivery."
)


@dataclass(frozen=True)
class _Handoff:
    to: str
    note: str
    before_reply: bool


_HANDOFF_RULES: list[tuple[str, re.Pattern, str | None, _Handoff]] = [
    ("service", re.compile(r"\b(?:bags?|luggage|suitcase)\b", re.I), None,
     _Handoff("after-sales", "Lost or delayed bag: customer needs a baggage claim and reimbursement of essentials. "
              "Tracing details are in the timeline.", before_reply=False)),
    ("service", re.compile(r"refund|voucher|compensat|reimburs|miles back", re.I), None,
     _Handoff("after-sales", "Customer asks for compensation after the disruption; please handle the refund or voucher.",
              before_reply=False)),
    ("service", re.compile(r"wi-?fi|\bapp\b|website|online|check-?in|kiosk|entertainment", re.I), None,
     _Handoff("product", "Digital or onboard product issue rather than an operations failure: please log it.",
              before_reply=False)),
    ("marketing", re.compile(r"crew|attendant|pilot|captain|\bstaff\b|\bagent\b|employee", re.I), Intent.PRAISE,
     _Handoff("hr", "Customer praises a member of staff; please pass the recognition on.", before_reply=True)),
    ("marketing", re.compile(r"\b(?:book|booking|fare|fares|ticket|deal|price)\b", re.I), None,
     _Handoff("sales", "Looks like purchase interest (fares, booking): please follow up.", before_reply=True)),
    ("marketing", re.compile(r"\?|delay|cancel|flight", re.I), Intent.OTHER,
     _Handoff("service", "Not a marketing post: the customer needs help with a flight. Please answer.",
              before_reply=True)),
]

_REPLY_MEDIAN_MINUTES = {Priority.URGENT: 25, Priority.HIGH: 45, Priority.NORMAL: 80, Priority.LOW: 240}


def _minutes(rng: random.Random, low: float, high: float) -> timedelta:
    return timedelta(minutes=rng.uniform(low, high))


class _CaseWork:
    """Replays the departments' work on cases in time order, interleaved with arriving mentions."""

    def __init__(self, *, actors: dict[str, list], now: datetime, start: datetime, end: datetime, report: SeedReport):
        self.actors = actors
        self.now = now
        self.start, self.end = start, end
        self.report = report
        self.queue: list = []
        self.sequence = itertools.count()
        self.planned: set[int] = set()
        self.resolved: set[int] = set()
        self.next_tick: datetime | None = None
        self.next_due: datetime | None = None
        self.stale = True

    # Scheduling and the simulated clock.
    def schedule(self, when: datetime, action: Callable, case_id: int, **kwargs) -> None:
        if when <= self.now:  # later work has not happened yet: that is what keeps inboxes alive
            heapq.heappush(self.queue, (when, next(self.sequence), action, case_id, kwargs))

    def advance(self, until: datetime) -> None:
        while self.queue and self.queue[0][0] <= until:
            when, _, action, case_id, kwargs = heapq.heappop(self.queue)
            self._sweep_until(when)
            try:
                action(case_id=case_id, when=when, **kwargs)
            except BatonError as exc:  # the case moved on in the meantime (reopened, handed off)
                logger.debug("Demo action %s on case %s skipped: %s", action.__name__, case_id, exc)
                self.report.work["skipped actions"] += 1
        self._sweep_until(until)

    def clocks_changed(self) -> None:
        """New clocks may have started: look up the next due time again before the next tick."""
        self.stale = True

    def _sweep_until(self, until: datetime) -> None:
        """The beat's SLA sweep every SWEEP_EVERY of simulated time; ticks with nothing due are skipped."""
        if self.next_tick is None:
            self.next_tick = until
        while self.next_tick <= until:
            if self.stale:
                self.next_due, self.stale = _next_due(), False
            if self.next_due is None or self.next_due > until:
                self.next_tick += SWEEP_EVERY * (math.floor((until - self.next_tick) / SWEEP_EVERY) + 1)
                break
            if self.next_due > self.next_tick:
                self.next_tick += SWEEP_EVERY * math.ceil((self.next_due - self.next_tick) / SWEEP_EVERY)
                continue
            _sweep(now=self.next_tick)
            self.stale = True
            self.next_tick += SWEEP_EVERY

    # Who acts.
    def actor(self, case: Case, rng: random.Random | None = None):
        users = self.actors.get(case.department.slug) or [None]
        if rng is None or len(users) == 1:
            return users[0]
        return users[0] if rng.random() < 0.75 else users[-1]  # agents do most of the work

    def _signature(self, user) -> str:
        return f" ^{user.first_name[:1]}{user.last_name[:1]}" if user is not None and user.first_name else ""

    def _case(self, case_id: int) -> Case:
        return Case.objects.select_related("department").get(pk=case_id)

    # Planning.
    def after_mention(self, mention: Mention, *, known_cases: set[int]) -> None:
        if mention.case_id is None:
            return
        if mention.case_id not in known_cases and mention.case_id not in self.planned:
            self.planned.add(mention.case_id)
            self.plan(self._case(mention.case_id), mention)
        elif mention.case_id in self.planned:
            self.follow_up(mention)

    def _reply_delay(self, rng: random.Random, priority: str, at: datetime) -> timedelta:
        # Teams get faster over the month (the board's first-reply chart should shrink).
        progress = (at - self.start) / max(self.end - self.start, timedelta(seconds=1))
        median = _REPLY_MEDIAN_MINUTES.get(priority, 80) * (1.6 - 0.9 * progress)
        minutes = min(20 * 60, max(2, rng.lognormvariate(math.log(median), 0.9)))
        return timedelta(minutes=minutes)

    def plan(self, case: Case, mention: Mention) -> None:
        rng = _stable_random("case", mention.external_id)
        t0 = case.created_at
        age = self.now - t0
        backlog = 0.5 if age < timedelta(days=1) else 0.25 if age < timedelta(days=3) else 0.04
        if rng.random() < backlog:
            return  # nobody has picked it up yet
        slug = case.department.slug
        handoff = None
        for department, pattern, intent, rule in _HANDOFF_RULES:
            if department == slug and (intent is None or intent == case.intent) and pattern.search(mention.text):
                handoff = rule if rng.random() < 0.5 else None
                break
        handle = mention.author_handle
        t = t0
        if handoff and handoff.before_reply:
            t += _minutes(rng, 5, 60)
            self.schedule(t, self.hand_off, case.pk, to=handoff.to, note=handoff.note, seed=rng.random())
        t += self._reply_delay(rng, case.priority, t)
        self.schedule(t, self.reply, case.pk, handle=handle, intent=case.intent, seed=rng.random())
        if handoff and not handoff.before_reply:
            t += _minutes(rng, 5, 40)
            self.schedule(t, self.hand_off, case.pk, to=handoff.to, note=handoff.note, seed=rng.random())
            t += _minutes(rng, 15, 180)
            self.schedule(t, self.reply, case.pk, handle=handle, intent=case.intent, seed=rng.random())
        if rng.random() < 0.2:
            t += _minutes(rng, 5, 90)
            self.schedule(t, self.note, case.pk, text=rng.choice(_NOTES.get(handoff.to if handoff else slug, _NOTES["service"])))
        if slug == "service" and case.intent == Intent.COMPLAINT and rng.random() < 0.05:
            self.schedule(t + _minutes(rng, 1, 30), self.note, case.pk, text=_FEEDBACK_UP)
        outcome = rng.random()
        if outcome < 0.12:
            return  # stays open: still being worked
        if outcome < 0.42:
            t += _minutes(rng, 2, 15)
            self.schedule(t, self.pending, case.pk, reason=rng.choice(_PENDING))
            t += _minutes(rng, 4 * 60, 96 * 60)  # until the customer answers
        else:
            t += _minutes(rng, 15, 30 * 60)
        self.schedule(t, self.resolve, case.pk, note=rng.choice(_RESOLUTIONS))
        if rng.random() < 0.6:
            self.schedule(t + _minutes(rng, 2 * 24 * 60, 4 * 24 * 60), self.close, case.pk)

    def follow_up(self, mention: Mention) -> None:
        """The customer wrote again on a case being worked: answer it, and resolve it again if it was reopened."""
        rng = _stable_random("follow-up", mention.external_id)
        case = self._case(mention.case_id)
        t = mention.received_at
        reopened = case.pk in self.resolved and case.status == CaseStatus.OPEN
        if not reopened and (case.first_replied_at is None or rng.random() < 0.4):
            return
        self.resolved.discard(case.pk)
        t += self._reply_delay(rng, case.priority, t)
        self.schedule(t, self.reply, case.pk, handle=mention.author_handle, intent=case.intent, seed=rng.random(),
                      follow_up=True)
        if reopened:
            t += _minutes(rng, 30, 24 * 60)
            self.schedule(t, self.resolve, case.pk, note=rng.choice(_RESOLUTIONS))

    # Actions: each re-reads the case and calls the real service.
    def reply(self, *, case_id: int, when: datetime, handle: str, intent: str, seed: float, follow_up=False) -> None:
        case = self._case(case_id)
        if case.status == CaseStatus.CLOSED:
            return
        rng = random.Random(seed)
        slug = case.department.slug
        by = self.actor(case, rng)
        if follow_up and case.first_replied_at is not None:
            text = rng.choice(_FOLLOW_UPS)
        else:
            text = rng.choice(_REPLIES.get((slug, intent)) or _REPLIES.get((slug, None)) or _FOLLOW_UPS)
        case_services.record_reply(case=case, by=by, text=f"@{handle} {text}{self._signature(by)}", now=when)
        self.report.work["replies"] += 1

    def hand_off(self, *, case_id: int, when: datetime, to: str, note: str, seed: float) -> None:
        case = self._case(case_id)
        if not case.is_open or case.department.slug == to:
            return
        to_department = Department.objects.filter(slug=to).first()
        if to_department is None:
            return
        case_services.hand_off(case=case, to_department=to_department, note=note, by=self.actor(case), now=when)
        self.report.work["handoffs"] += 1
        rng = random.Random(seed)
        self.schedule(when + _minutes(rng, 5, 90), self.accept, case_id,
                      text=f"Picked up from {case.department.name}: on it.")

    def accept(self, *, case_id: int, when: datetime, text: str) -> None:
        """The receiving department accepts the handoff, then says so on the timeline."""
        handoff = Handoff.objects.filter(case_id=case_id, status=HandoffStatus.PENDING).first()
        if handoff is None:
            return
        case = self._case(case_id)
        journey.accept_handoff(handoff=handoff, by=self.actor(case), now=when)
        self.note(case_id=case_id, when=when, text=text)

    def note(self, *, case_id: int, when: datetime, text: str) -> None:
        case = self._case(case_id)
        case_services.add_note(case=case, by=self.actor(case), text=text, now=when)
        self.report.work["notes"] += 1

    def pending(self, *, case_id: int, when: datetime, reason: str) -> None:
        case = self._case(case_id)
        if case.status != CaseStatus.OPEN:
            return
        case_services.change_status(case=case, to=CaseStatus.PENDING, by=self.actor(case), reason=reason, now=when)
        self.report.work["set pending"] += 1

    def resolve(self, *, case_id: int, when: datetime, note: str) -> None:
        case = self._case(case_id)
        if case.status not in OPEN_STATUSES:
            return
        case_services.resolve(case=case, by=self.actor(case), note=note, now=when)
        self.resolved.add(case_id)
        self.report.work["resolved"] += 1

    def close(self, *, case_id: int, when: datetime) -> None:
        case = self._case(case_id)
        if case.status != CaseStatus.RESOLVED:
            return
        case_services.change_status(case=case, to=CaseStatus.CLOSED, by=self.actor(case), reason="No reply for 48 hours.",
                                    now=when)
        self.resolved.discard(case_id)
        self.report.work["closed"] += 1


def _sweep(*, now: datetime) -> None:
    """What the beat's sweep task does: a full batch runs the sweep again until the backlog is drained."""
    while sla.escalate_due(now=now, limit=settings.BATON_SWEEP_BATCH) >= settings.BATON_SWEEP_BATCH:
        pass


def _next_due() -> datetime | None:
    running = SlaClock.objects.filter(stopped_at__isnull=True, breached_at__isnull=True).aggregate(
        warn=Min("warn_at", filter=Q(warned_at__isnull=True)), due=Min("due_at")
    )
    times = [t for t in running.values() if t is not None]
    return min(times) if times else None


def _ensure_every_status(*, work: _CaseWork, now: datetime) -> None:
    """A small demo (`--mentions 200`) may miss a status by chance: move a few recent cases there."""

    def newest(*statuses):
        return Case.objects.select_related("department").filter(status__in=statuses).order_by("-created_at").first()

    def act(label, fn, **kwargs):
        _act(work, label, fn, **kwargs)

    if not Case.objects.filter(status=CaseStatus.OPEN).exists() and (case := newest(CaseStatus.NEW)):
        act("replies", case_services.record_reply, case=case, by=work.actor(case), now=now,
            text="Thanks for reaching out, we're looking into this now.")
    if not Case.objects.filter(status=CaseStatus.PENDING).exists() and (case := newest(CaseStatus.OPEN)):
        act("set pending", case_services.change_status, case=case, to=CaseStatus.PENDING, by=work.actor(case),
            reason=_PENDING[0], now=now)
    if not CaseEvent.objects.filter(kind=EventKind.HANDOFF).exists():
        case = (Case.objects.select_related("department").filter(status__in=OPEN_STATUSES)
                .exclude(department__slug="after-sales").order_by("-created_at").first())
        to_department = Department.objects.filter(slug="after-sales").first()
        if case and to_department:
            act("handoffs", case_services.hand_off, case=case, to_department=to_department,
                note="Customer asks for compensation; please handle the refund.", by=work.actor(case), now=now)
    if not Case.objects.filter(status=CaseStatus.CLOSED).exists():
        case = Case.objects.select_related("department").filter(status=CaseStatus.RESOLVED).order_by("created_at").first()
        if case is None and (case := newest(CaseStatus.OPEN, CaseStatus.PENDING)):
            act("resolved", case_services.resolve, case=case, by=work.actor(case), note=_RESOLUTIONS[0], now=now)
        if case:
            act("closed", case_services.change_status, case=case, to=CaseStatus.CLOSED, by=work.actor(case),
                reason="Confirmed with the customer.", now=now)
    if not Case.objects.filter(status=CaseStatus.RESOLVED).exists() and (
        case := newest(CaseStatus.OPEN, CaseStatus.PENDING)
    ):
        act("resolved", case_services.resolve, case=case, by=work.actor(case), note=_RESOLUTIONS[1], now=now)


def _act(work: "_CaseWork", label: str, fn: Callable, **kwargs) -> None:
    """One step of the demo's work, counted in the report; a step the rules refuse is logged and skipped."""
    try:
        fn(**kwargs)
        work.report.work[label] += 1
    except BatonError as exc:
        logger.info("Could not complete the demo's %s: %s", label, exc)


def _ensure_replies(*, work: "_CaseWork", now: datetime) -> None:
    """Replies through the replies room, as the composer sends them: one that went out through the outbox (no
    brand account is connected in the demo) and one on a legal-sensitive case waiting for approval (its
    approvers, the department's lead and head and legal, are notified)."""
    ticked = [key for key, _ in CONSIDERATIONS]
    open_service = (Case.objects.select_related("department", "customer")
                    .filter(department__slug="service", status__in=[CaseStatus.NEW, CaseStatus.OPEN])
                    .exclude(handoffs__status=HandoffStatus.PENDING).order_by("-created_at"))
    agent = (work.actors.get("service") or [None])[0]  # agents first: the agents do most of the work
    if agent is None:
        return
    if not OutboxMessage.objects.exists() and (case := open_service.first()):
        name = case.customer.name or ""
        first_name = "there" if not name or name.startswith("@") else name.split(" ")[0]
        text = (f"Hi {first_name}, {agent.first_name} from Customer service here. Sorry about this: I'm looking "
                "into it now and will send you the details by private message.")
        _act(work, "replies sent through the outbox", _send_through_outbox, case=case, by=agent, text=text,
             ticked=ticked, now=now)
    if not Reply.objects.filter(status=ReplyStatus.AWAITING_APPROVAL).exists() and (
        case := open_service.exclude(replies__isnull=False).first()
    ):
        # Legal-sensitive (a tag from BATON_APPROVAL_TAGS): a lead or legal approves replies before they go out.
        Case.objects.filter(pk=case.pk).update(tags=sorted({*(case.tags or []), "legal-review"}))
        case.refresh_from_db()
        text = (f"Hi, {agent.first_name} from Customer service. Thanks for your patience: we are checking this with "
                "our operations team and will update you here today.")
        _act(work, "replies awaiting approval", reply_services.compose_reply, case=case, by=agent, text=text,
             considerations=ticked, now=now)


def _send_through_outbox(*, case: Case, by, text: str, ticked: list[str], now: datetime) -> None:
    reply = reply_services.compose_reply(case=case, by=by, text=text, considerations=ticked, now=now)
    reply_services.deliver_reply(reply_id=reply.pk, now=now)


# --- Entry point ----------------------------------------------------------------------

Progress = Callable[[Iterable, int], Iterable]


def seed_demo(
    *,
    mentions: int = DEFAULT_MENTIONS,
    users: bool = True,
    progress: Progress | None = None,
    say: Callable[[str], None] | None = None,
) -> SeedReport:
    """Create (or complete) the airline demo. Safe to run again: it only adds what is missing."""
    say = say or (lambda message: None)
    report = SeedReport(mentions_requested=mentions)
    now = timezone.now()
    all_rows = read_rows()
    report.mentions_available = len(all_rows)

    actors: dict[str, list] = {}
    if users:
        say("Users and the API token...")
        actors = ensure_users(report=report)
        report.token = ensure_integration(report=report)
    say("CRM customers...")
    ensure_customers(rows=all_rows, report=report)
    report.created["canned responses"] = ensure_default_canned()

    rows = pick_rows(all_rows, mentions)
    if not rows:
        return report
    shift = TimeShift.for_run(rows=all_rows, now=now)
    say(f"Storing {len(rows)} mentions...")
    store_rows(rows=rows, shift=shift, report=report)

    cases_before = Case.objects.count()
    known_cases = set(Case.objects.values_list("id", flat=True))
    escalations_before = Escalation.objects.count()
    selected = Mention.objects.filter(source=Source.X, external_id__in=[row.id for row in rows])
    report.existing["failed mentions"] = selected.filter(status=MentionStatus.FAILED).count()
    pending = list(
        selected.filter(status=MentionStatus.RECEIVED).order_by("received_at", "id").values_list("id", "received_at")
    )
    work = _CaseWork(actors=actors, now=now, start=shift.posted(shift.first), end=shift.end, report=report)
    say(f"Processing {len(pending)} mentions through the pipeline, with the departments at work...")
    iterator = progress(pending, len(pending)) if progress else pending
    for mention_id, received_at in iterator:
        work.advance(received_at)
        mention = process_mention(mention_id=mention_id)
        if mention is None or mention.status != MentionStatus.PROCESSED:
            report.work["failed mentions"] += 1
            continue
        report.work["processed mentions"] += 1
        work.clocks_changed()
        work.after_mention(mention, known_cases=known_cases)
    work.advance(now)
    if report.work["processed mentions"]:
        _ensure_every_status(work=work, now=now)
    if actors:  # also completes a demo seeded before replies went through the replies room
        _ensure_replies(work=work, now=timezone.now())
    if report.work["processed mentions"] or not Escalation.objects.exists():
        _sweep(now=timezone.now())
    report.created["cases"] = Case.objects.count() - cases_before
    report.created["escalations"] = Escalation.objects.count() - escalations_before
    return report
