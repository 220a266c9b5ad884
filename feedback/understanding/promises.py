"""Promises: what marketing says, as data. Writes here; reads in `feedback.understanding.selectors`.

A promise has the words customers use about it (`phrases`), example posts, the department that
delivers it and an optional measurable target. Understanding matches mentions to the ACTIVE
promises (`active_vocabulary`, loaded once per pipeline batch). Only marketing leads and heads
manage promises (`feedback.understanding.permissions.can_manage_promises`).

`DEFAULT_PROMISES` are the demo airline's nine promises: the shipped model's promise labels are
these slugs, so they are Baton's defaults too. The data migration 0005 and
`ensure_default_promises` both read them. The examples are written for Baton (not copied from
the research data sets, whose licences do not allow shipping them).
"""

import re
from dataclasses import dataclass

from django.db import transaction
from django.utils.text import slugify

from config.errors import BatonError, NotAllowed
from feedback.understanding.models import Promise
from feedback.understanding.permissions import can_manage_promises
from teams.models import Department

DEFAULT_PROMISES: list[dict] = [
    {
        "slug": "on_time",
        "name": "On time",
        "department": "service",
        "description": "Flights leave and arrive when the schedule says. When a flight is late, customers hear it "
                       "from us first, with the reason and a new time they can trust.",
        "phrases": ["delay", "delayed", "late flight", "running late", "still at the gate", "sitting on the tarmac",
                    "missed my connection", "pushed back", "hours late", "on time"],
        "examples": ["Third delay this week on the 7am to Chicago, and still no new departure time.",
                     "Sitting on the tarmac for two hours and nobody tells us why.",
                     "Landed 10 minutes early, great job on time again!"],
        "target": "85% of flights arrive within 15 minutes of schedule",
    },
    {
        "slug": "flights_operate",
        "name": "Flights operate",
        "department": "service",
        "description": "The flight a customer booked operates. When we must cancel, we rebook them on the next "
                       "reasonable flight before they have to ask, and look after them while they wait.",
        "phrases": ["cancelled", "canceled", "cancellation", "flight cancelled", "flight canceled",
                    "rebook", "rebooked", "stranded", "stuck overnight"],
        "examples": ["My flight was cancelled an hour before boarding and the next seat is in two days.",
                     "Stranded in Dallas after the cancellation, no hotel offered.",
                     "Thanks for rebooking me so fast after the storm cancellations."],
        "target": "Fewer than 1.5% of scheduled flights cancelled",
    },
    {
        "slug": "bags_arrive",
        "name": "Your bags arrive with you",
        "department": "after-sales",
        "description": "Checked bags arrive on the customer's flight. A bag that does not is traced, delivered to "
                       "the customer's door and its owner kept informed until it is.",
        "phrases": ["lost bag", "lost my bag", "lost luggage", "lost my luggage", "missing bag", "missing luggage",
                    "baggage claim", "where is my bag", "bag didn't make it", "delayed bag"],
        "examples": ["Lost my luggage on the way to Denver, four days and no news.",
                     "Baggage claim says my bag is still in Newark.",
                     "My bag made the tight connection, impressed!"],
        "target": "Fewer than 5 mishandled bags per 1,000 passengers",
    },
    {
        "slug": "bags_intact",
        "name": "Bags arrive intact",
        "department": "after-sales",
        "description": "Checked bags come back in the state they were handed over: no broken handles, wheels, locks "
                       "or contents. Damage claims are settled quickly and fairly.",
        "phrases": ["damaged bag", "damaged luggage", "damaged suitcase", "broken suitcase", "broken handle",
                    "broken wheel", "destroyed luggage", "bag was ripped", "things stolen from my bag"],
        "examples": ["My suitcase came off the belt with a broken wheel and a ripped side.",
                     "Who pays for the destroyed luggage? The handle is gone.",
                     "Something was taken out of my checked bag between Boston and Miami."],
        "target": "Fewer than 1 damage claim per 1,000 checked bags",
    },
    {
        "slug": "helpful_service",
        "name": "Helpful customer service",
        "department": "service",
        "description": "When customers need us, we answer quickly, on the channel they chose, and solve the problem "
                       "the first time. No endless hold music, no being passed around.",
        "phrases": ["customer service", "on hold", "hold for", "call back", "hung up", "no response", "no reply",
                    "nobody answers", "phone line", "your agents"],
        "examples": ["On hold for two hours and then the call dropped.",
                     "Emailed three times, no response, who do I talk to?",
                     "Your customer service rep sorted my booking in five minutes, thank you!"],
        "target": "First reply within one hour on social media; phone wait under 10 minutes",
    },
    {
        "slug": "friendly_crew",
        "name": "Friendly crew",
        "department": "hr",
        "description": "Cabin crew and gate agents treat every customer with courtesy and care, especially when "
                       "things go wrong.",
        "phrases": ["flight attendant", "cabin crew", "gate agent", "rude", "rude staff", "crew member", "the crew",
                    "attitude", "yelled at"],
        "examples": ["The gate agent was incredibly rude to an elderly passenger.",
                     "Shout out to the cabin crew on flight 212, so kind to my kids.",
                     "A flight attendant rolled her eyes and walked away when I asked for water."],
        "target": "Crew courtesy rated 4.5 out of 5 or better in post-flight surveys",
    },
    {
        "slug": "easy_booking",
        "name": "Easy booking",
        "department": "sales",
        "description": "Booking, changing a booking and adding a frequent flyer number take a few minutes on the "
                       "website or the app, without errors or having to call.",
        "phrases": ["booking", "book a flight", "website", "the app", "online check in", "can't book",
                    "payment failed", "error message", "change my flight", "frequent flyer number"],
        "examples": ["Been trying to book since last week and the page never loads.",
                     "Your app crashes every time I try to change my flight.",
                     "Can't add my frequent flyer number to the booking online."],
        "target": "A booking completed in under 3 minutes on the website or app",
    },
    {
        "slug": "comfortable_flight",
        "name": "Comfortable flight",
        "department": "product",
        "description": "The flight itself is comfortable: clean cabin, working seats, wifi, entertainment and power, "
                       "decent food and drink, the temperature right.",
        "phrases": ["legroom", "seat", "wifi", "wi-fi", "entertainment", "the food", "snacks", "too hot", "too cold",
                    "dirty plane"],
        "examples": ["No air from the vents the whole way from SFO to Boston.",
                     "The wifi never worked and the screens were dead.",
                     "Loved the extra legroom seats, best flight in years."],
        "target": "",
    },
    {
        "slug": "short_lines",
        "name": "Short lines",
        "department": "service",
        "description": "Check-in, bag drop and boarding queues move fast: enough desks open and staff on hand at "
                       "busy times.",
        "phrases": ["long line", "in line", "queue", "long queue", "wait in line", "check-in desk", "bag drop",
                    "security line", "only one agent"],
        "examples": ["An hour in the check-in line with only one agent working.",
                     "The bag drop queue at LAX is out the door again.",
                     "Zero wait at bag drop this morning, nice."],
        "target": "Check-in and bag drop queues under 15 minutes",
    },
]


@dataclass(frozen=True)
class PromiseVocabulary:
    """What understanding matches a text against: a promise's slug and its phrases."""

    slug: str
    phrases: tuple[str, ...]
    id: int | None = None  # the Promise row's, when read from the database


def default_vocabulary() -> list[PromiseVocabulary]:
    return [PromiseVocabulary(slug=p["slug"], phrases=tuple(p["phrases"])) for p in DEFAULT_PROMISES]


def active_vocabulary() -> list[PromiseVocabulary]:
    """The active promises' phrases, in one query (the pipeline loads it once per batch)."""
    return [
        PromiseVocabulary(slug=slug, phrases=tuple(phrases or ()), id=pk)
        for pk, slug, phrases in Promise.objects.filter(is_active=True).order_by("pk").values_list(
            "pk", "slug", "phrases"
        )
    ]


def ensure_default_promises() -> int:
    """Create any missing default promise (by slug). Returns how many were created."""
    departments = Department.objects.in_bulk(field_name="slug")
    existing = set(Promise.objects.values_list("slug", flat=True))
    missing = [
        Promise(**{**spec, "department": departments.get(spec["department"])})
        for spec in DEFAULT_PROMISES if spec["slug"] not in existing
    ]
    Promise.objects.bulk_create(missing)
    return len(missing)


# --- Management (marketing leads and heads) ---------------------------------------------


def clean_lines(value) -> list[str]:
    """A textarea (one item a line) or a list, as a list without blanks or repeats (case-insensitive)."""
    items = value.splitlines() if isinstance(value, str) else list(value or [])
    seen, result = set(), []
    for item in items:
        item = re.sub(r"\s+", " ", str(item)).strip()
        if item and item.lower() not in seen:
            seen.add(item.lower())
            result.append(item)
    return result


def _check_manager(by) -> None:
    if not can_manage_promises(user=by):
        raise NotAllowed("Only marketing leads and heads manage promises.")


_FIELDS = ("name", "description", "phrases", "examples", "department", "target", "is_active")


def create_promise(*, by, name: str, slug: str = "", description: str = "", phrases=(), examples=(),
                   department=None, target: str = "", is_active: bool = True) -> Promise:
    _check_manager(by)
    name = (name or "").strip()
    if not name:
        raise BatonError("A promise needs a name.", fields={"name": ["Name the promise."]})
    slug = slugify(slug or name).replace("-", "_")[:50]
    if not slug:
        raise BatonError("A promise needs a slug.", fields={"slug": ["Use letters, digits and underscores."]})
    with transaction.atomic():
        if Promise.objects.filter(slug=slug).exists():
            raise BatonError(f"A promise with the slug {slug!r} exists already.",
                             fields={"slug": ["Choose another slug."]})
        return Promise.objects.create(
            name=name, slug=slug, description=(description or "").strip(), phrases=clean_lines(phrases),
            examples=clean_lines(examples), department=department, target=(target or "").strip(), is_active=is_active,
        )


def update_promise(*, promise: Promise, by, **changes) -> Promise:
    """Change a promise's name, description, phrases, examples, department, target or active flag.
    The slug never changes: corrections and the model's labels refer to it."""
    _check_manager(by)
    unknown = set(changes) - set(_FIELDS)
    if unknown:
        raise BatonError(f"Cannot change {', '.join(sorted(unknown))} of a promise.")
    if "name" in changes and not (changes["name"] or "").strip():
        raise BatonError("A promise needs a name.", fields={"name": ["Name the promise."]})
    with transaction.atomic():
        promise = Promise.objects.select_for_update().get(pk=promise.pk)
        for field, value in changes.items():
            if field in ("phrases", "examples"):
                value = clean_lines(value)
            elif field in ("name", "description", "target"):
                value = (value or "").strip()
            setattr(promise, field, value)
        promise.save()
    return promise


def set_promise_active(*, promise: Promise, active: bool, by) -> Promise:
    """Deactivate (no new mentions are matched to it; past matches stay) or reactivate."""
    return update_promise(promise=promise, by=by, is_active=active)


def delete_promise(*, promise: Promise, by) -> None:
    """Delete a promise nothing was matched to; one with matched mentions can only be deactivated,
    so the gap history of the board keeps its promise."""
    _check_manager(by)
    with transaction.atomic():
        promise = Promise.objects.select_for_update().get(pk=promise.pk)
        if promise.mentions.exists():
            raise BatonError(
                f"Mentions are matched to {promise.name}: deactivate it instead, so its history stays.",
                code="in_use",
            )
        promise.delete()
