"""What a platform payload asks Baton to do, independent of the platform's shape.

`x.parse` and `meta.parse` turn a decoded payload into a list of these; `services` applies them.
They raise `UnknownShape` for anything they do not recognise, so the payload is quarantined
(and can be replayed once the parser knows the shape) instead of half-applied.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime


class UnknownShape(ValueError):
    """The payload verified but is not in a shape this parser knows."""


@dataclass
class NewMention:
    item: dict  # the keys of feedback.intake.ingest.store_mentions
    parent_external_id: str = ""


@dataclass
class EditMention:
    source: str
    external_id: str
    text: str
    edited_at: datetime
    item: dict  # stored as a new mention if the original never reached Baton
    parent_external_id: str = ""


@dataclass
class RemoveMention:
    source: str
    external_id: str
    removed_at: datetime | None  # None: when Baton learnt of it


@dataclass
class BrandReply:
    """A post by the brand's own account answering a mention: a reply on that mention's case."""

    source: str
    external_id: str
    in_reply_to: str
    text: str
    posted_at: datetime
    url: str = ""
    raw: dict = field(default_factory=dict)


@dataclass
class Ignored:
    """Acknowledged and kept in the stored payload, but nothing for Baton to do (likes, follows...)."""

    kind: str
    count: int = 1


@dataclass
class Rejected:
    """One item of a delivery that cannot be taken (a value the parser cannot read, or one that breaks the field
    rules of `feedback.intake.validation`): the rest of the delivery is applied, the payload is kept for replay."""

    kind: str  # what the item is: the platform's list or field (tweet_create_events, feed, ...)
    external_id: str
    fields: dict  # {field: [message, ...]}


# What reading one item of a delivery may raise; the parsers turn it into `Rejected` for that item only.
ITEM_ERRORS = (UnknownShape, ValueError, TypeError, OverflowError, KeyError, AttributeError, IndexError)


def rejected_item(kind: str, entry, exc: Exception) -> Rejected:
    item_id = ""
    if isinstance(entry, dict):
        places = [entry, entry.get("value"), entry.get("status")]
        for place in (place for place in places if isinstance(place, dict)):
            value = next((place[key] for key in ("id_str", "id", "comment_id", "post_id", "media_id")
                          if isinstance(place.get(key), str | int) and not isinstance(place.get(key), bool)), None)
            if value is not None:
                item_id = str(value)
                break
    message = str(exc) if isinstance(exc, UnknownShape) else f"{type(exc).__name__}: {exc}"
    return Rejected(kind=kind, external_id=item_id[:200], fields={"non_field_errors": [message[:500]]})


def require(condition: bool, message: str) -> None:
    if not condition:
        raise UnknownShape(message)


def from_epoch(value) -> datetime:
    """Seconds (or milliseconds) since the epoch, as int or numeric string."""
    number = float(value)
    if number > 1e11:  # milliseconds
        number /= 1000
    try:
        return datetime.fromtimestamp(number, tz=UTC)
    except (OverflowError, OSError, ValueError):  # NaN, inf, or years past 9999
        raise ValueError(f"{value!r} is not a time in seconds or milliseconds since 1970.") from None
