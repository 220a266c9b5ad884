"""Storing a list of mentions: validate each item on its own, store the valid ones in one go.

`ingest_mentions` is what the bulk API and the file import share. Each item is validated with
the API's `MentionInSerializer` (one serializer instance, `run_validation` per item: no copy of
the fields per item and no query), then every valid item goes to ONE `store_mentions` call, so
a list costs a fixed number of queries whatever its size. A bad item never refuses the good
ones: each item gets an outcome, in order: `created`, `duplicate` (already stored, or a repeat
within the list: it gets the stored id) or `error` with field messages.
"""

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core import validators as django_validators
from django.db import DataError, IntegrityError, transaction
from rest_framework import fields as drf_fields
from rest_framework import serializers as drf_serializers
from rest_framework.exceptions import ValidationError
from rest_framework.settings import api_settings

from feedback.api.serializers import MentionInSerializer
from feedback.intake.ingest import store_mentions

logger = logging.getLogger(__name__)

# The most items one API request may carry; a file import batches on its own (--batch).
MAX_LIST_ITEMS = 1000

CREATED, DUPLICATE, ERROR = "created", "duplicate", "error"

FieldErrors = dict[str, list[str]]


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


def field_errors(detail: Any) -> FieldErrors:
    """DRF error detail -> {field: [message, ...]} with plain strings."""

    def plain(value):
        if isinstance(value, Mapping):
            return {str(key): plain(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [plain(item) for item in value]
        return str(value)

    flat = plain(detail)
    if isinstance(flat, dict):
        return {key: value if isinstance(value, list) else [value] for key, value in flat.items()}
    return {"non_field_errors": flat if isinstance(flat, list) else [flat]}


def validate_mentions(*, items: Sequence[Any]) -> list[tuple[dict | None, FieldErrors | None]]:
    """Validate each item on its own. Returns, in order, (validated data, None) or (None, field
    errors). No database access.

    A well-formed item takes a fast path (`fast_validator`) that gives what the serializer gives;
    every other item goes through `MentionInSerializer.run_validation`, so its messages are DRF's.
    """
    serializer = MentionInSerializer()
    fast = fast_validator(serializer)
    validated: list[tuple[dict | None, FieldErrors | None]] = []
    for item in items:
        if fast is not None:
            data = fast(item)
            if data is not None:
                validated.append((data, None))
                continue
        if not isinstance(item, Mapping):
            kind = "null" if item is None else type(item).__name__
            validated.append((None, {"non_field_errors": [f"Expected a JSON object (one mention), got {kind}."]}))
            continue
        try:
            validated.append((serializer.run_validation(item), None))
        except ValidationError as exc:
            validated.append((None, field_errors(exc.detail)))
    return validated


class _Defer(Exception):
    """The fast path does not decide this item: the serializer does."""


_MISSING = object()
# An int this large goes through the serializer (which turns it into a string and back).
_FAST_INT_LIMIT = 10**18


def fast_validator(serializer: drf_serializers.Serializer) -> Callable[[Any], dict | None] | None:
    """A function item -> the validated data `serializer.run_validation(item)` would return, or None
    when the item is not plainly well formed (then the serializer must decide, and word the errors).

    It reads the serializer's fields (kinds, max_length, choices, required, defaults, allow_blank,
    allow_null, validators), so the serializer stays the one statement of the rules. It accepts only
    exact JSON types: str for text (trimmed like DRF's CharField, length and NUL/surrogate checks
    as its validators), ISO 8601 strings with an offset for datetimes (`datetime.fromisoformat`, as
    Django's parse_datetime tries first, then converted to the field's time zone as DRF does), int
    (not bool) for integers, a listed str for choices, any JSON value for JSONField. Returns None
    (no fast path at all) for a serializer shaped in a way it does not know.
    """
    if (
        type(serializer).validate is not drf_serializers.Serializer.validate
        or serializer.validators
        or getattr(serializer, "partial", False)
    ):
        return None
    checks = []
    for name, fld in serializer.fields.items():
        if fld.read_only or fld.source_attrs != [name] or hasattr(serializer, f"validate_{name}"):
            return None
        check = _field_check(fld)
        if check is None:
            return None
        checks.append((name, check, _when_missing(fld), fld.allow_null))

    def validate(item: Any) -> dict | None:
        if type(item) is not dict:
            return None
        data = {}
        get = item.get
        try:
            for name, check, missing, allow_null in checks:
                value = get(name, _MISSING)
                if value is _MISSING:
                    if missing is _REQUIRED:
                        return None
                    if missing is not _SKIP:
                        data[name] = missing()
                elif value is None:
                    if not allow_null:
                        return None
                    data[name] = None
                else:
                    data[name] = check(value)
        except _Defer:
            return None
        return data

    return validate


_REQUIRED, _SKIP = object(), object()


def _when_missing(fld) -> Any:
    """What DRF does for a field absent from the item (Field.validate_empty_values / get_default):
    _REQUIRED (an error), _SKIP (no key), or a function giving the default."""
    if fld.required:
        return _REQUIRED
    default = fld.default
    if default is drf_fields.empty:
        return _SKIP
    if callable(default):
        if getattr(default, "requires_context", False):
            return fld.get_default
        return default  # DRF calls it: a fresh dict for default=dict
    return lambda: default


def _call_validators(fld, validators: list) -> Callable[[Any], None]:
    """Run the validators the fast checks do not cover, as DRF's Field.run_validators would."""

    def run(value):
        for validator in validators:
            try:
                if getattr(validator, "requires_context", False):
                    validator(value, fld)
                else:
                    validator(value)
            except Exception as exc:
                raise _Defer from exc

    return run


def _limits(validators: list, kinds: dict) -> tuple[dict, list]:
    """Split validators into {kind: limit} for the ones checked inline, and the others."""
    limits, others = {}, []
    for validator in validators:
        kind = kinds.get(type(validator))
        if kind is not None and not callable(validator.limit_value) and kind not in limits:
            limits[kind] = validator.limit_value
        elif type(validator) in (
            django_validators.ProhibitNullCharactersValidator, drf_fields.ProhibitSurrogateCharactersValidator
        ) and kinds is _CHAR_LIMITS:
            continue  # checked inline for text
        else:
            others.append(validator)
    return limits, others


_CHAR_LIMITS = {django_validators.MaxLengthValidator: "max", django_validators.MinLengthValidator: "min"}
_INT_LIMITS = {django_validators.MaxValueValidator: "max", django_validators.MinValueValidator: "min"}


def _field_check(fld) -> Callable[[Any], Any] | None:
    kind = type(fld)
    if kind in (drf_fields.CharField, drf_fields.URLField):
        return _char_check(fld)
    if kind is drf_fields.ChoiceField:
        return _choice_check(fld)
    if kind is drf_fields.DateTimeField:
        return _datetime_check(fld)
    if kind is drf_fields.IntegerField:
        return _integer_check(fld)
    if kind is drf_fields.JSONField:
        return _json_check(fld)
    return None


def _char_check(fld):
    limits, others = _limits(fld.validators, _CHAR_LIMITS)
    longest, shortest = limits.get("max"), limits.get("min")
    trim, allow_blank = fld.trim_whitespace, fld.allow_blank
    run_others = _call_validators(fld, others)

    def check(value):
        if type(value) is not str:
            raise _Defer
        text = value.strip() if trim else value
        if text == "" or value == "":
            if not allow_blank:
                raise _Defer
            return ""
        if (longest is not None and len(text) > longest) or (shortest is not None and len(text) < shortest):
            raise _Defer
        if "\x00" in text:
            raise _Defer
        if not text.isascii():
            try:
                text.encode("utf-8")  # fails on a surrogate code point, as DRF's validator does
            except UnicodeEncodeError:
                raise _Defer from None
        if others:
            run_others(text)
        return text

    return check


def _choice_check(fld):
    choices = fld.choice_strings_to_values
    allow_blank = fld.allow_blank
    run_others = _call_validators(fld, fld.validators)

    def check(value):
        if type(value) is not str:
            raise _Defer
        if value == "" and allow_blank:
            result = ""
        elif value in choices:
            result = choices[value]
        else:
            raise _Defer
        if fld.validators:
            run_others(result)
        return result

    return check


def _datetime_check(fld):
    formats = getattr(fld, "input_formats", api_settings.DATETIME_INPUT_FORMATS)
    if [str(name).lower() for name in formats] != [drf_fields.ISO_8601]:
        return None
    zone = fld.timezone if hasattr(fld, "timezone") else fld.default_timezone()
    if zone is None:
        return None
    run_others = _call_validators(fld, fld.validators)

    def check(value):
        if type(value) is not str:
            raise _Defer
        try:
            parsed = datetime.fromisoformat(value)
            if parsed.utcoffset() is None:
                raise _Defer  # naive: DRF makes it aware in the field's time zone
            result = parsed.astimezone(zone)
        except (ValueError, TypeError, OverflowError):
            raise _Defer from None
        if fld.validators:
            run_others(result)
        return result

    return check


def _integer_check(fld):
    limits, others = _limits(fld.validators, _INT_LIMITS)
    highest, lowest = limits.get("max"), limits.get("min")
    run_others = _call_validators(fld, others)

    def check(value):
        if type(value) is not int or not -_FAST_INT_LIMIT < value < _FAST_INT_LIMIT:
            raise _Defer
        if (highest is not None and value > highest) or (lowest is not None and value < lowest):
            raise _Defer
        if others:
            run_others(value)
        return value

    return check


def _json_check(fld):
    if fld.binary:
        return None
    encoder = fld.encoder
    run_others = _call_validators(fld, fld.validators)

    def check(value):
        if type(value) is dict and not value:
            pass
        elif getattr(value, "is_json_string", False):
            raise _Defer
        else:
            try:
                json.dumps(value, cls=encoder)
            except Exception:
                raise _Defer from None
        if fld.validators:
            run_others(value)
        return value

    return check


def ingest_mentions(*, items: Sequence[Any], enqueue: bool = True) -> BatchOutcome:
    """Validate `items` one by one and store the valid ones with one `store_mentions` call.

    Runs in the caller's transaction if there is one (else its own); new mentions are enqueued
    for processing after commit unless `enqueue` is False. If the database refuses the batch
    (a value validation cannot see, such as a NUL character in `raw`), the valid items are
    stored one by one, each in a savepoint, and only the refused ones get an error.
    """
    validated = validate_mentions(items=items)
    valid = [data for data, errors in validated if errors is None]
    stored: list[tuple[int, bool] | FieldErrors] = []
    if valid:
        try:
            with transaction.atomic():
                stored = list(store_mentions(valid, enqueue=enqueue, savepoint=False))
        except (DataError, IntegrityError):
            logger.warning(
                "A batch of %d mentions was refused; storing them one by one", len(valid), exc_info=True
            )
            stored = [_store_one(data, enqueue=enqueue) for data in valid]
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


def _store_one(data: dict, *, enqueue: bool) -> tuple[int, bool] | FieldErrors:
    try:
        with transaction.atomic():
            [result] = store_mentions([data], enqueue=enqueue, savepoint=False)
        return result
    except (DataError, IntegrityError) as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return {"non_field_errors": [f"The database refused this mention: {message}"]}
