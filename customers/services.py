"""Writes on customers: linking authors to CRM records (the cascade itself is `customers.matching`)."""

from collections.abc import Iterable

from .matching import Author, Resolution, normalize_handle, resolve_authors
from .models import Customer

__all__ = ["Author", "link_author", "link_authors", "normalize_handle", "resolve_authors"]


def link_authors(*, authors: Iterable[Author | tuple[str, str, str]]) -> dict[tuple[str, str], Customer]:
    """Customers for a batch of authors, keyed by (channel, normalized handle).

    `authors`: `Author`s (with the post's text and the author's profile, for the email, phone and
    name steps), or (channel, handle, display name) triples. Runs the matching cascade
    (`customers.matching.resolve_authors`): an unknown author becomes a prospect, possibly with
    suggestions. A few queries per batch, whatever its size; safe under concurrency.
    """
    return {key: resolution.customer for key, resolution in resolve(authors=authors).items()}


def resolve(*, authors: Iterable[Author | tuple[str, str, str]]) -> dict[tuple[str, str], Resolution]:
    """As `link_authors`, with each author's method, confidence and outcome."""
    return resolve_authors(authors=[
        author if isinstance(author, Author) else Author(channel=author[0], handle=author[1], name=author[2] or "")
        for author in authors
    ])


def link_author(*, channel: str, handle: str, name: str = "", text: str = "",
                profile: dict | None = None) -> Customer | None:
    """The customer behind one handle (a prospect if unknown); None for an empty handle."""
    author = Author(channel=channel, handle=handle, name=name, text=text, profile=profile)
    return link_authors(authors=[author]).get((channel, normalize_handle(handle)))
