"""The CRM's writes on customers: bulk upsert by external_id and a single update guarded by its ETag.

Field rules are plain Python (`clean_fields`), so the API's serializers document them and this
module checks them, for 1,000 rows per request without a serializer per row. Every change is
told to webhook subscribers (`customer.created`, `customer.updated`) in the same transaction.
"""

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from config.errors import BatonError
from customers import bulk, timeline
from customers.matching import add_keys, refresh_keys
from customers.models import Customer, Stage
from customers.signals import send_regions_changed
from customers.webhooks.events import EventType
from customers.webhooks.services import emit_events, subscribed_event_types

MAX_UPSERT_ROWS = 1_000
MAX_LENGTH = {"external_id": 120, "name": 200, "email": 254, "phone": 40, "region": 80}
WRITABLE = ("name", "email", "phone", "stage", "value", "region")
FIELDS = ("external_id", *WRITABLE)
STAGES = tuple(Stage.values)
VALUE_MAX_DIGITS, VALUE_DECIMALS = 12, 2
CENT = Decimal("0.01")
VALUE_MAX = Decimal(10) ** (VALUE_MAX_DIGITS - VALUE_DECIMALS) - CENT
# A value as text: as the API writes it ("1234.50"), at most 2 decimal places. A JSON number may have more: a CRM
# holding money as a float sends 0.1 + 0.2 as 0.30000000000000004, so a number is rounded to the cent (half up).
VALUE_TEXT = re.compile(rf"[0-9]{{1,{VALUE_MAX_DIGITS - VALUE_DECIMALS}}}(\.[0-9]{{1,{VALUE_DECIMALS}}})?")

# Addresses Django's validate_email surely takes (a dot-atom of letters, digits, "_", "+", "-"; host labels of
# letters, digits and inner hyphens; a TLD of 2 to 63 letters), checked by one regex: the validator's own checks
# (the user part, then the domain, its IDN and literal forms) run only for the others. Every address fits in the
# field's 254 characters, under the validator's 320. tests/customers/test_sync.py compares both on edge cases.
PLAIN_EMAIL = re.compile(
    r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}")

FieldErrors = dict[str, list[str]]


class PreconditionFailed(BatonError):
    code = "precondition_failed"
    http_status = 412


class PreconditionRequired(BatonError):
    code = "precondition_required"
    http_status = 428


# --- Field rules ------------------------------------------------------------------------------------

def printable(value: Any, limit: int = 100) -> str:
    """`value` as text safe to echo in a message and to store as JSON in PostgreSQL (a lone surrogate cannot be
    encoded as UTF-8; jsonb refuses NUL)."""
    return str(value)[:limit].encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")


def _text(name: str, value: Any, *, required: bool) -> str:
    """A text field: its length as sent (the schema's maxLength), then stripped of white space around it."""
    if not isinstance(value, str):
        raise ValueError("Not a valid string.")
    if len(value) > MAX_LENGTH[name]:
        raise ValueError(f"Ensure this field has no more than {MAX_LENGTH[name]} characters.")
    text = value.strip()
    if required and not text:
        raise ValueError("This field may not be blank.")
    if "\x00" in text:
        raise ValueError("Null characters are not allowed.")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("Surrogate characters are not allowed.") from None
    return text


def _value(value: Any) -> Decimal:
    """A lifetime value: a JSON number from 0 to VALUE_MAX, rounded to the cent (half up), or a text of at most 2
    decimal places (VALUE_TEXT)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError("A valid number is required.")
    if isinstance(value, str):
        if not VALUE_TEXT.fullmatch(value):
            raise ValueError(f'A number, or a text of digits with at most {VALUE_DECIMALS} decimal places ("120.50").')
        return Decimal(value).quantize(CENT)
    number = Decimal(value) if isinstance(value, int) else Decimal(repr(value))  # repr: the float as it was sent
    if not number.is_finite():
        raise ValueError("A valid number is required.")
    if number < 0:
        raise ValueError("Ensure this value is greater than or equal to 0.")
    if number > VALUE_MAX:
        raise ValueError(f"Ensure this value is less than or equal to {VALUE_MAX}.")
    return number.quantize(CENT, rounding=ROUND_HALF_UP) + 0  # + 0: -0.0 is 0.00


def clean_fields(data: Any, *, partial: bool, allow_external_id: bool = True) -> tuple[dict, FieldErrors]:
    """(cleaned fields, field errors) for one customer. `partial`: absent fields stay as they are;
    otherwise external_id is required (the others default as a new customer's do)."""
    if not isinstance(data, dict):
        return {}, {"non_field_errors": ["Send a customer as a JSON object."]}
    cleaned: dict[str, Any] = {}
    errors: FieldErrors = {}
    allowed = FIELDS if allow_external_id else WRITABLE
    for key in data:
        if key not in allowed:
            read_only = key in FIELDS or key in ("id", "created_at", "updated_at")
            errors[printable(key)] = ["This field is read only." if read_only else "Unknown field."]
    if allow_external_id and not partial and "external_id" not in data:
        errors["external_id"] = ["This field is required."]
    for name in allowed:
        if name not in data:
            continue
        value = data[name]
        try:
            if value is None:
                raise ValueError("This field may not be null.")
            if name == "stage":
                if value not in STAGES:
                    raise ValueError(f'"{printable(value, 50)}" is not a valid choice.')
                cleaned[name] = value
            elif name == "value":
                cleaned[name] = _value(value)
            else:
                text = _text(name, value, required=name == "external_id")
                if name == "email" and text:
                    if not PLAIN_EMAIL.fullmatch(text):  # Django's validator, for what the plain pattern leaves
                        try:
                            validate_email(text)
                        except ValidationError:
                            raise ValueError("Enter a valid email address.") from None
                    text = text.lower()
                cleaned[name] = text
        except ValueError as exc:
            errors[name] = [str(exc)]
    return cleaned, errors


# --- Reading --------------------------------------------------------------------------------------

def etag(customer: Customer) -> str:
    """The customer's version: changes with every write (updated_at moves on each one)."""
    version = f"{customer.pk}:{customer.updated_at.isoformat()}".encode()
    return '"' + hashlib.sha256(version).hexdigest()[:32] + '"'


def customer_data(customer: Customer) -> dict:
    """The customer as webhooks send it (the API's CustomerSerializer has the same fields)."""
    return {
        "id": customer.pk, "external_id": customer.external_id, "name": customer.name, "email": customer.email,
        "phone": customer.phone, "stage": customer.stage, "value": f"{Decimal(customer.value):.2f}",
        "region": customer.region, "created_at": customer.created_at, "updated_at": customer.updated_at,
    }


# --- Bulk upsert -------------------------------------------------------------------------------------

@dataclass
class RowOutcome:
    index: int
    outcome: str  # created, updated, unchanged, error
    external_id: str | None = None
    id: int | None = None
    fields: FieldErrors = field(default_factory=dict)

    def as_dict(self) -> dict:
        row: dict[str, Any] = {"index": self.index, "outcome": self.outcome}
        if self.external_id is not None:
            row["external_id"] = self.external_id
        if self.id is not None:
            row["id"] = self.id
        if self.fields:
            row["fields"] = self.fields
        return row


@dataclass
class UpsertResult:
    results: list[RowOutcome]

    def count(self, outcome: str) -> int:
        return sum(1 for row in self.results if row.outcome == outcome)

    def as_dict(self) -> dict:
        return {
            "results": [row.as_dict() for row in self.results],
            "created": self.count("created"), "updated": self.count("updated"),
            "unchanged": self.count("unchanged"), "errors": self.count("error"),
        }


def _update_rows(changed: list[tuple[int, dict]], fields: list[str]) -> None:
    """`fields` of each (id, values) written. On PostgreSQL one statement for the batch, its rows one JSON
    parameter: UPDATE ... FROM json_to_recordset(...), each value its column's type without a length (so a text
    too long is refused, not cut). psycopg's client-side binding parsed a VALUES list's 7,000 placeholders in Python
    on every batch (a query that long is not cached): more than the rest of an update's Python. bulk_update
    elsewhere."""
    if not changed:
        return
    if connection.vendor != "postgresql":
        Customer.objects.bulk_update([Customer(pk=pk, **{name: values[name] for name in fields})
                                      for pk, values in changed], fields, batch_size=500)
        return
    quote = connection.ops.quote_name
    columns = [Customer._meta.get_field(name) for name in fields]
    typed = ", ".join(f"{quote(column.column)} {re.sub(r'[(].*[)]', '', column.db_type(connection))}"
                      for column in columns)
    sets = ", ".join(f"{quote(column.column)} = v.{quote(column.column)}" for column in columns)
    rows = json.dumps([{"id": pk, **{column.column: values[column.attname] for column in columns}}
                       for pk, values in changed], default=_json_value, ensure_ascii=False, separators=(",", ":"))
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {quote(Customer._meta.db_table)} AS t SET {sets} "
                       f"FROM json_to_recordset(%s::json) AS v(id bigint, {typed}) WHERE t.id = v.id", [rows])


def _json_value(value: Any) -> str:
    """A Decimal as its digits, an aware datetime as ISO 8601 with its offset and microseconds (DjangoJSONEncoder
    keeps milliseconds only): the text PostgreSQL reads back as the same value."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime) and value.utcoffset() is not None:
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not written to a customer's row as JSON")


def _insert_rows(new: list[dict], *, now) -> list[int]:
    """Insert customers from their cleaned fields (the other columns get their defaults; created_at and updated_at
    `now`); returns their ids, in order. On PostgreSQL the ids are drawn from the table's sequence first and the
    rows go by COPY (`customers.bulk`: encoded in C, where the arrays of an INSERT ... FROM unnest(...) were built
    in Python, and Django's bulk_create prepares every value of every row). bulk_create elsewhere."""
    if not new:
        return []
    if connection.vendor != "postgresql":
        return [customer.pk for customer in Customer.objects.bulk_create(
            [Customer(**cleaned, created_at=now, updated_at=now) for cleaned in new])]
    columns = [column.attname for column in Customer._meta.concrete_fields if not column.primary_key]
    defaults = {column.attname: column.get_default() for column in Customer._meta.concrete_fields
                if not column.primary_key} | {"created_at": now, "updated_at": now}
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                       [Customer._meta.db_table, len(new)])
        ids = sorted(pk for (pk,) in cursor.fetchall())
    bulk.copy_rows(Customer, ["id", *columns], (
        (pk, *[cleaned.get(name, default) for name, default in defaults.items()])
        for pk, cleaned in zip(ids, new, strict=True)))
    return ids


def upsert_customers(*, rows: list[Any], now=None) -> UpsertResult:
    """Create or update customers by external_id, up to MAX_UPSERT_ROWS; one outcome per row, in
    order. A row with errors never refuses the others. Rows that change nothing are `unchanged`
    (their updated_at stays, so an incremental sync does not see them again)."""
    if len(rows) > MAX_UPSERT_ROWS:
        raise ValueError(f"At most {MAX_UPSERT_ROWS} rows per request.")
    results: list[RowOutcome] = []
    valid: dict[str, tuple[RowOutcome, dict]] = {}
    for index, row in enumerate(rows):
        cleaned, errors = clean_fields(row, partial=False)
        external_id = cleaned.get("external_id")
        outcome = RowOutcome(index=index, outcome="error", external_id=external_id)
        if not errors and external_id in valid:
            errors = {"external_id": [f"Repeats item {valid[external_id][0].index} of this request."]}
        if errors:
            outcome.fields = errors
        else:
            valid[external_id] = (outcome, cleaned)
        results.append(outcome)
    for attempt in range(2):
        try:
            with transaction.atomic():
                _apply(valid, now=now or timezone.now())
            break
        except IntegrityError:
            # Another request created one of these external ids meanwhile: do it again, now as updates.
            if attempt:
                raise
    return UpsertResult(results=results)


# The fields the matcher reads (customers.matching.refresh_keys rebuilds its keys when they change).
MATCHED_FIELDS = frozenset({"name", "email", "phone", "attributes"})


def _after_crm_write(*, created: list[Customer], diffs: dict[int, list[str]], now) -> None:
    """The matcher's keys of the records written, a line on the timeline of each one updated, and a word to
    whoever counts posts by region (the board) about those whose region changed."""
    add_keys(customers=created)
    send_regions_changed(pk for pk, diff in diffs.items() if "region" in diff)
    refresh_keys(customer_ids=[pk for pk, diff in diffs.items() if MATCHED_FIELDS.intersection(diff)])
    # Updates only: a record's creation shows on its profile ("Since"), and a full sync creates thousands.
    timeline.record(entries=[timeline.crm_updated(customer_id=pk, fields=diff, at=now) for pk, diff in diffs.items()])


def _lock_known(external_ids: list[str]) -> list[tuple]:
    """(external_id, id, created_at, *WRITABLE) of the stored customers among `external_ids`, locked, in id order:
    tuples, not models (only the fields compared, and what a webhook sends). On PostgreSQL the ids go as one array
    (`= ANY(%s)`): an IN list of 1,000 parameters cost Django and the server more than the rows it found."""
    read = ("external_id", "id", "created_at", *WRITABLE)
    if connection.vendor != "postgresql":
        return list(Customer.objects.select_for_update().filter(external_id__in=external_ids).order_by("pk")
                    .values_list(*read))
    quote = connection.ops.quote_name
    columns = ", ".join(quote(Customer._meta.get_field(name).column) for name in read)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {quote(Customer._meta.db_table)} WHERE {quote('external_id')} = "
                       f"ANY(%s::varchar[]) ORDER BY {quote('id')} FOR UPDATE", [external_ids])
        return cursor.fetchall()


def _apply(valid: dict[str, tuple[RowOutcome, dict]], *, now) -> None:
    existing = {
        external_id: (pk, created_at, dict(zip(WRITABLE, values, strict=True)))
        for external_id, pk, created_at, *values in _lock_known(list(valid))
    }
    new, changed, changed_fields, diffs = [], [], set(), {}
    for external_id, (outcome, cleaned) in valid.items():
        found = existing.get(external_id)
        if found is None:
            new.append((outcome, cleaned))
            continue
        pk, created_at, values = found
        outcome.id = pk
        diff = [name for name in WRITABLE if name in cleaned and values[name] != cleaned[name]]
        if diff:
            for name in diff:
                values[name] = cleaned[name]
            values["updated_at"] = now
            changed.append((external_id, pk, created_at, values))
            changed_fields.update(diff)
            diffs[pk] = diff
            outcome.outcome = "updated"
        else:
            outcome.outcome = "unchanged"
    ids = _insert_rows([cleaned for _, cleaned in new], now=now)
    for (outcome, _), pk in zip(new, ids, strict=True):
        outcome.outcome, outcome.id = "created", pk
    _update_rows([(pk, values) for _, pk, _, values in changed], sorted(changed_fields | {"updated_at"}))
    _after_crm_write(created=[(pk, cleaned) for (_, cleaned), pk in zip(new, ids, strict=True)], diffs=diffs,
                     now=now)
    wanted = subscribed_event_types() if new or changed else set()  # no payloads built for nobody
    events = []
    if EventType.CUSTOMER_CREATED in wanted:
        events += [(EventType.CUSTOMER_CREATED, customer_data(Customer(pk=pk, **cleaned, created_at=now,
                                                                       updated_at=now)))
                   for (_, cleaned), pk in zip(new, ids, strict=True)]
    if EventType.CUSTOMER_UPDATED in wanted:
        events += [(EventType.CUSTOMER_UPDATED, customer_data(Customer(pk=pk, external_id=external_id,
                                                                       created_at=created_at, **values)))
                   for external_id, pk, created_at, values in changed]
    emit_events(events=events)


# --- One update, guarded --------------------------------------------------------------------------------

def update_customer(*, customer_id: int, changes: Any, if_match: str | None, now=None) -> tuple[Customer, bool]:
    """Change some fields of one customer if its ETag is still `if_match` (else 412; no If-Match: 428).
    Returns (customer, changed). external_id is not writable here."""
    if not if_match:
        raise PreconditionRequired(
            "Send If-Match with the customer's ETag (from GET), so a change made meanwhile is not overwritten.")
    cleaned, errors = clean_fields(changes, partial=True, allow_external_id=False)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer_id)
        tags = {tag.strip() for tag in if_match.split(",")}
        if "*" not in tags and etag(customer) not in tags and f"W/{etag(customer)}" not in tags:
            raise PreconditionFailed(
                "The customer changed since you read it: GET it again, then send its new ETag in If-Match.",
                fields={"If-Match": [f"The current ETag is {etag(customer)}."]},
            )
        diff = [name for name in WRITABLE if name in cleaned and getattr(customer, name) != cleaned[name]]
        if not diff:
            return customer, False
        for name in diff:
            setattr(customer, name, cleaned[name])
        customer.updated_at = now or timezone.now()
        Customer.objects.filter(pk=customer.pk).update(**{name: getattr(customer, name) for name in diff},
                                                         updated_at=customer.updated_at)
        _after_crm_write(created=[], diffs={customer.pk: diff}, now=customer.updated_at)
        emit_events(events=[(EventType.CUSTOMER_UPDATED, customer_data(customer))])
    return customer, True
