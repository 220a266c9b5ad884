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


def require(condition: bool, message: str) -> None:
    if not condition:
        raise UnknownShape(message)


def from_epoch(value) -> datetime:
    """Seconds (or milliseconds) since the epoch, as int or numeric string."""
    number = float(value)
    if number > 1e11:  # milliseconds
        number /= 1000
    return datetime.fromtimestamp(number, tz=UTC)
