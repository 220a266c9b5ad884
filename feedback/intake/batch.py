"""Storing a list of mentions: validate each item on its own, store the valid ones in one go.

`ingest_mentions` is what the bulk API and the file import share. Each item is validated by the
plain field rules of `feedback.intake.validation` (the ones the API's serializer uses too; no
query), then every valid item goes to ONE `store_mentions` call, so a list costs a fixed number
of queries whatever its size. A bad item never refuses the good ones: each item gets an outcome,
in order: `created`, `duplicate` (already stored, or a repeat within the list: it gets the stored
id) or `error` with field messages.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import DataError, IntegrityError, transaction

from feedback.intake import validation
from feedback.intake.ingest import store_mentions
from feedback.intake.validation import FieldErrors

logger = logging.getLogger(__name__)

# The most items one API request may carry; a file import batches on its own (--batch).
MAX_LIST_ITEMS = 1000

CREATED, DUPLICATE, ERROR = "created", "duplicate", "error"


@dataclass(frozen=True, slots=True)
class ItemOutcome:
    index: int
    outcome: str
    id: int | None = None
    fields: FieldErrors | None = None

    def as_dict(self) -> dict[str, Any]:
        if self.outcome == ERROR:
            return {"index": self.index, "outcome": self.outcome, "fields": self.fields}
        return {"index": self.index, "outcome": self.outcome, "id": self.id}


@dataclass
class BatchOutcome:
    results: list[ItemOutcome] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for result in self.results if result.outcome == outcome)

    def as_dict(self) -> dict[str, Any]:
        return {
            "results": [result.as_dict() for result in self.results],
            "created": self.count(CREATED),
            "duplicates": self.count(DUPLICATE),
            "errors": self.count(ERROR),
        }


def ingest_mentions(*, items: Sequence[Any], enqueue: bool = True) -> BatchOutcome:
    """Validate `items` one by one and store the valid ones with one `store_mentions` call.

    Runs in the caller's transaction if there is one (else its own); new mentions are enqueued
    for processing after commit unless `enqueue` is False. If the database refuses the batch
    (a value validation cannot see, such as a NUL character in `raw`), the valid items are
    stored one by one, each in a savepoint, and only the refused ones get an error.
    """
    validated = validation.validate_mentions(items)
    valid = [data for data, errors in validated if errors is None]
    stored = store_valid(valid, enqueue=enqueue)
    stored_iter = iter(stored)
    outcome = BatchOutcome()
    results = outcome.results
    for index, (_, errors) in enumerate(validated):
        if errors is None:
            result = next(stored_iter)
            if isinstance(result, dict):
                results.append(ItemOutcome(index=index, outcome=ERROR, fields=result))
            else:
                mention_id, created = result
                results.append(ItemOutcome(index=index, outcome=CREATED if created else DUPLICATE, id=mention_id))
        else:
            results.append(ItemOutcome(index=index, outcome=ERROR, fields=errors))
    return outcome


def store_valid(valid: list[dict], *, enqueue: bool = True) -> list[tuple[int, bool] | FieldErrors]:
    """Store validated mentions with one `store_mentions` call (in a savepoint): (id, created) for each, in
    order. If the database refuses the batch (a value validation cannot see), they are stored one by one, each
    in a savepoint, and a refused one gets field messages instead. The webhooks use it too."""
    if not valid:
        return []
    try:
        with transaction.atomic():
            return list(store_mentions(valid, enqueue=enqueue, savepoint=False))
    except (DataError, IntegrityError):
        logger.warning("A batch of %d mentions was refused; storing them one by one", len(valid), exc_info=True)
        return [_store_one(data, enqueue=enqueue) for data in valid]


def _store_one(data: dict, *, enqueue: bool) -> tuple[int, bool] | FieldErrors:
    try:
        with transaction.atomic():
            [result] = store_mentions([data], enqueue=enqueue, savepoint=False)
        return result
    except (DataError, IntegrityError) as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return {"non_field_errors": [f"The database refused this mention: {message}"]}
