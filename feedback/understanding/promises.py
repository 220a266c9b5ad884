"""Promises: what marketing says, as data. Writes here; reads in `feedback.understanding.selectors`.

A promise has the words customers use about it (`phrases`), example posts, the department that
delivers it and an optional measurable target. Understanding matches mentions to the ACTIVE
promises (`active_vocabulary`, loaded once per pipeline batch). Only marketing leads and heads
manage promises (`feedback.understanding.permissions.can_manage_promises`).

`DEFAULT_PROMISES` are the demo airline's nine promises (fixtures/default_promises.json): the
shipped model's promise labels are these slugs, so they are Baton's defaults too. The data
migration 0005 and `ensure_default_promises` both read that file. The examples are written for
Baton (not copied from the research data sets, whose licences do not allow shipping them).
"""

import json
import re
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.utils.text import slugify

from config.errors import BatonError, NotAllowed
from feedback.board import upkeep
from feedback.understanding.models import Promise
from feedback.understanding.permissions import can_manage_promises
from teams.models import Department

# The default promises are data: a JSON list of {slug, name, department (a slug), description,
# phrases, examples, target}. Migration 0005 reads the same file.
DEFAULT_PROMISES_FILE = Path(__file__).resolve().parent / "fixtures" / "default_promises.json"


def load_default_promises(path: Path = DEFAULT_PROMISES_FILE) -> list[dict]:
    """The default promises as dicts, in the file's order."""
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


DEFAULT_PROMISES: list[dict] = load_default_promises()


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
        upkeep.names_changed()  # the board lists the active response promises
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
        upkeep.names_changed()  # the board shows promises by name, department and target
    return promise


def set_promise_active(*, promise: Promise, active: bool, by) -> Promise:
    """Deactivate (no new mentions are matched to it; past matches stay) or reactivate."""
    return update_promise(promise=promise, by=by, is_active=active)


def delete_promise(*, promise: Promise, by) -> None:
    """Delete a promise nothing was matched to; one with matched mentions can only be deactivated,
    so the gap history of the board keeps its promise (and no mention changes, so no rollup does).
    The admin follows the same rule (`feedback.admin.PromiseAdmin`)."""
    _check_manager(by)
    with transaction.atomic():
        promise = Promise.objects.select_for_update().get(pk=promise.pk)
        if promise.mentions.exists():
            raise BatonError(
                f"Mentions are matched to {promise.name}: deactivate it instead, so its history stays.",
                code="in_use",
            )
        promise.delete()
        upkeep.names_changed()
