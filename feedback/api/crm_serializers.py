"""The CRM sync API's shapes. Writes are validated by the services' plain rules (customers.sync,
customers.webhooks.services); the input serializers here state those rules for the schema."""

from django.db import connection
from django.db.models import CharField, Func
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.patterns import RECEIVER_URL
from config.query import MAX_ID
from customers.models import Customer, Identity, LinkMethod, Stage, TimelineKind
from customers.sync import MAX_LENGTH, MAX_UPSERT_ROWS, VALUE_DECIMALS, VALUE_MAX, VALUE_TEXT
from customers.webhooks.events import EVENT_TYPES
from customers.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from customers.webhooks.services import url_message
from feedback.api.fields import ClosedInput, StrictBooleanField, StrictCharField
from feedback.api.schema import BlankableEmailField
from feedback.cases.models import Case
from feedback.choices import CaseStatus, Intent, Priority


class IdentitySerializer(serializers.ModelSerializer):
    method = serializers.ChoiceField(choices=LinkMethod.choices)

    class Meta:
        model = Identity
        fields = ["channel", "handle", "method", "confidence", "created_at"]
        read_only_fields = fields


def _blankable(help_text: str = ""):
    """A read-only text that may be empty (a read-only model field would lose `allow_blank`, and the schema would
    say minLength 1)."""
    return serializers.CharField(read_only=True, allow_blank=True, help_text=help_text or None)


class CustomerSerializer(serializers.ModelSerializer):
    name = _blankable()
    email = _blankable("An email address, or empty.")
    phone = _blankable()
    region = _blankable()
    stage = serializers.ChoiceField(choices=Stage.choices)
    value = serializers.DecimalField(max_digits=12, decimal_places=2, help_text="Lifetime value.")

    class Meta:
        model = Customer
        fields = ["id", "external_id", "name", "email", "phone", "stage", "value", "region", "created_at",
                  "updated_at"]
        read_only_fields = fields


def _moment(value, zone) -> str | None:
    """A datetime as DRF's DateTimeField writes it (in the current time zone, UTC as `Z`)."""
    if value is None:
        return None
    text = value.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


# --- Lean list rows --------------------------------------------------------------------------------------------
# The sync lists are the API's hottest path: their pages are read with `.values()` and turned into the serializers'
# output by plain functions (no serializer per row, no model instances), and PostgreSQL writes their times as text
# in DRF's format when the API answers in UTC (no datetime parsed and formatted again per row). Tests keep every
# row function equal to its serializer, on both paths.

class IsoTime(Func):
    """A timestamp as DRF's DateTimeField writes it in UTC: `2026-11-01T12:00:00.250000Z`, no fraction on a whole
    second (as Python's isoformat), NULL as NULL. PostgreSQL only (`sql_times`)."""

    output_field = CharField()
    template = ("to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN "
                "date_trunc('second', %(expressions)s) = %(expressions)s THEN '' ELSE "
                "to_char(%(expressions)s AT TIME ZONE 'UTC', '.US') END || 'Z'")


def sql_times() -> bool:
    """Whether the database writes the times: PostgreSQL, with the API answering in UTC (the default)."""
    return connection.vendor == "postgresql" and getattr(timezone.get_current_timezone(), "key", "") == "UTC"


def lean_values(queryset, fields: tuple[str, ...], times: tuple[str, ...]):
    """`queryset.values()` of `fields` and `times`: each time as `<name>_iso` text where the database writes it."""
    if sql_times():
        return queryset.values(*fields, **{f"{name}_iso": IsoTime(name) for name in times})
    return queryset.values(*fields, *times)


_LEAN_LISTS: dict[tuple, tuple] = {}


def lean_list(queryset, fields: tuple[str, ...], times: tuple[str, ...]):
    """`lean_values(queryset, fields, times)` for a list view's fixed queryset (its `queryset` attribute), built once
    per process (and per answer of `sql_times()`) and cloned for each request, which filters, orders and slices the
    clone: building the values() and its time expressions was a sixth of a case page's ORM time (0.38 of 2.3 ms of
    CPU, measured) and the same for every request."""
    key = (id(queryset), fields, times, sql_times())
    built = _LEAN_LISTS.get(key)
    if built is None or built[0] is not queryset:  # the queryset is kept with it: its id cannot be another's
        built = _LEAN_LISTS[key] = (queryset, lean_values(queryset.all(), fields, times))
    return built[1].all()


def _times(row: dict, names: tuple[str, ...], zone) -> dict:
    return {name: row[f"{name}_iso"] if f"{name}_iso" in row else _moment(row[name], zone) for name in names}


CUSTOMER_FIELDS = ("id", "external_id", "name", "email", "phone", "stage", "value", "region")
CUSTOMER_TIMES = ("created_at", "updated_at")


def customer_rows(customers) -> list[dict]:
    """CustomerSerializer's output (its fields, in its order) for `lean_values` rows, or Customer objects."""
    zone = timezone.get_current_timezone()
    rows = []
    for c in customers:
        c = c if isinstance(c, dict) else {name: getattr(c, name) for name in CUSTOMER_FIELDS + CUSTOMER_TIMES}
        rows.append({"id": c["id"], "external_id": c["external_id"], "name": c["name"], "email": c["email"],
                     "phone": c["phone"], "stage": c["stage"], "value": f"{c['value']:.2f}", "region": c["region"],
                     **_times(c, CUSTOMER_TIMES, zone)})
    return rows


class CustomerDetailSerializer(CustomerSerializer):
    identities = IdentitySerializer(many=True, read_only=True)

    class Meta(CustomerSerializer.Meta):
        fields = [*CustomerSerializer.Meta.fields, "identities"]
        read_only_fields = fields


def _text(name: str, **kwargs):
    return serializers.CharField(max_length=MAX_LENGTH[name], **kwargs)


@extend_schema_field({"anyOf": [
    {"type": "number", "minimum": 0, "maximum": float(VALUE_MAX)},
    {"type": "string", "pattern": f"^{VALUE_TEXT.pattern}$"},
]})
class LifetimeValueField(serializers.DecimalField):
    """For the schema: what customers.sync takes as a lifetime value."""


class CustomerFieldsIn(ClosedInput, serializers.Serializer):
    """The writable fields (customers.sync.clean_fields checks them). Absent fields keep their value."""

    name = _text("name", required=False, allow_blank=True)
    email = BlankableEmailField(max_length=MAX_LENGTH["email"], required=False, allow_blank=True)
    phone = _text("phone", required=False, allow_blank=True)
    stage = serializers.ChoiceField(choices=Stage.choices, required=False)
    value = LifetimeValueField(
        max_digits=12, decimal_places=2, min_value=0, max_value=VALUE_MAX, required=False,
        help_text=f"Lifetime value: a number from 0 to {VALUE_MAX}, rounded to the cent (half up: 0.125 is "
                  f"0.13), or a text of digits with at most {VALUE_DECIMALS} decimal places, as the API writes it "
                  '("120.50").')
    region = _text("region", required=False, allow_blank=True)


class CustomerUpsertIn(CustomerFieldsIn):
    """One row of a bulk upsert: found by external_id, created when missing (stage defaults to prospect,
    value to 0), otherwise updated with the fields given."""

    external_id = _text("external_id", help_text="The CRM's id: unique.")


class CustomerUpsertOutcome(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the row in the request, from 0.")
    outcome = serializers.ChoiceField(choices=["created", "updated", "unchanged", "error"])
    external_id = serializers.CharField(required=False)
    id = serializers.IntegerField(required=False, help_text="The customer's Baton id (not for `error`).")
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False,
                                   help_text="Field messages, for a row refused with outcome `error`.")


class CustomerUpsertResult(serializers.Serializer):
    results = CustomerUpsertOutcome(many=True)
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    errors = serializers.IntegerField()


CUSTOMER_UPSERT_REQUEST = CustomerUpsertIn(many=True, min_length=1, max_length=MAX_UPSERT_ROWS)


class CustomerMergeIn(ClosedInput, serializers.Serializer):
    merged = serializers.IntegerField(
        min_value=1, max_value=MAX_ID,
        help_text="The Baton id of the record to merge into this one (the path's record survives).")


class TimelineEntrySerializer(serializers.Serializer):
    """One line of a customer's timeline (TimelineEntry)."""

    id = serializers.IntegerField()
    at = serializers.DateTimeField(help_text="When it happened (a post: when it was posted).")
    kind = serializers.ChoiceField(choices=TimelineKind.choices)
    summary = serializers.CharField(allow_blank=True, help_text="One line, as the customer page shows it.")
    text = serializers.CharField(allow_blank=True, help_text="The words (a post's, a note's...), or empty.")
    department = serializers.CharField(allow_null=True, help_text="The department's slug, or null.")
    case = serializers.IntegerField(allow_null=True, help_text="The case's id, or null.")
    ref_type = serializers.CharField(allow_blank=True, help_text="The kind of row it comes from (mention, caseevent, "
                                                                 "customer, case), or empty.")
    ref_id = serializers.IntegerField(allow_null=True, help_text="That row's id, or null.")
    actor = serializers.CharField(allow_blank=True, help_text="Who did it, or empty.")


TIMELINE_FIELDS = ("id", "kind", "summary", "text", "department__slug", "case_id", "ref_type", "ref_id", "actor")
TIMELINE_TIMES = ("at",)


def timeline_rows(entries) -> list[dict]:
    """TimelineEntrySerializer's shape for `lean_values(entries, TIMELINE_FIELDS, TIMELINE_TIMES)` rows."""
    zone = timezone.get_current_timezone()
    return [
        {"id": e["id"], "at": _times(e, TIMELINE_TIMES, zone)["at"], "kind": e["kind"], "summary": e["summary"],
         "text": e["text"], "department": e["department__slug"], "case": e["case_id"], "ref_type": e["ref_type"],
         "ref_id": e["ref_id"], "actor": e["actor"]}
        for e in entries
    ]


def _rows(help_text: str):
    return serializers.ListField(child=serializers.DictField(), help_text=help_text)


class CustomerExportSerializer(serializers.Serializer):
    """Everything Baton holds about a person (`feedback.linking.services.export_customer`, the portal's export)."""

    customer = serializers.DictField(help_text="The record: CRM fields, stage, value, attributes, merge and erasure.")
    merged_records = _rows("Records merged into this one (kept as pointers).")
    identities = _rows("Every channel handle linked to the person, with how it was linked.")
    suggestions = _rows("Possible links the matcher suggested for the person's records.")
    timeline = _rows("The timeline, newest first.")
    audit = _rows("What was done to the person's data (exports, erasures, merges), without the data.")
    mentions = _rows("Every post of the person, with its raw payload as received.")
    cases = _rows("Every case of the person, each with its timeline events.")


class CustomerErasureSerializer(serializers.Serializer):
    customer = serializers.IntegerField(help_text="The erased record's id (the record stays, without personal data).")
    erased_at = serializers.DateTimeField(help_text="When the person's data was first erased.")
    counts = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="What this request blanked or removed: identities, timeline_entries, mentions, cases, case_events, "
                  "replies, replies_stopped, rejection_reasons, outbox_messages, notifications.")


class CaseSerializer(serializers.ModelSerializer):
    customer_external_id = serializers.CharField(source="customer.external_id", read_only=True)
    department = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    status = serializers.ChoiceField(choices=CaseStatus.choices)
    priority = serializers.ChoiceField(choices=Priority.choices)
    intent = serializers.ChoiceField(choices=Intent.choices, allow_blank=True)
    subject = _blankable()
    tags = serializers.ListField(child=serializers.CharField(allow_blank=True))

    class Meta:
        model = Case
        fields = ["id", "customer", "customer_external_id", "department", "status", "priority", "intent", "subject",
                  "escalation_level", "tags", "created_at", "updated_at", "first_replied_at", "resolved_at",
                  "closed_at"]
        read_only_fields = fields


CASE_FIELDS = ("id", "customer_id", "customer__external_id", "department__slug", "status", "priority", "intent",
               "subject", "escalation_level", "tags")
CASE_TIMES = ("created_at", "updated_at", "first_replied_at", "resolved_at", "closed_at")


def case_rows(cases) -> list[dict]:
    """CaseSerializer's output (its fields, in its order) for `lean_values(cases, CASE_FIELDS, CASE_TIMES)` rows."""
    zone = timezone.get_current_timezone()
    return [
        {"id": c["id"], "customer": c["customer_id"], "customer_external_id": c["customer__external_id"],
         "department": c["department__slug"], "status": c["status"], "priority": c["priority"], "intent": c["intent"],
         "subject": c["subject"], "escalation_level": c["escalation_level"], "tags": c["tags"],
         **_times(c, CASE_TIMES, zone)}
        for c in cases
    ]


class WebhookSubscriptionSerializer(serializers.ModelSerializer):
    event_types = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_TYPES))
    url = serializers.CharField(read_only=True, help_text="The http(s) URL the POSTs go to.")

    class Meta:
        model = WebhookSubscription
        fields = ["id", "name", "url", "event_types", "is_active", "created_at"]
        read_only_fields = fields


class WebhookSubscriptionCreatedSerializer(WebhookSubscriptionSerializer):
    secret = serializers.CharField(help_text="The signing secret: shown this once. Verify X-Baton-Signature with it.")

    class Meta(WebhookSubscriptionSerializer.Meta):
        fields = [*WebhookSubscriptionSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookSubscriptionIn(ClosedInput, serializers.Serializer):
    """A new subscription: who receives which events where."""

    name = StrictCharField(max_length=100)
    url = StrictCharField(max_length=500, pattern=RECEIVER_URL, pattern_message=url_message,
                          help_text="An http or https URL that receives the POSTs.")
    event_types = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_TYPES), min_length=1)
    is_active = StrictBooleanField(required=False, default=True)


class WebhookSubscriptionPatch(ClosedInput, serializers.Serializer):
    """The fields to change; absent ones keep their value."""

    name = StrictCharField(max_length=100, required=False)
    url = StrictCharField(max_length=500, pattern=RECEIVER_URL, pattern_message=url_message, required=False,
                          help_text="An http or https URL that receives the POSTs.")
    event_types = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_TYPES), min_length=1,
                                        required=False)
    is_active = StrictBooleanField(required=False)


class WebhookDeliverySerializer(serializers.ModelSerializer):
    event_type = serializers.CharField(source="payload.event_type", read_only=True)
    event_id = serializers.UUIDField(source="payload.event_id", read_only=True)
    status = serializers.ChoiceField(choices=DeliveryStatus.choices)
    last_error = _blankable()

    class Meta:
        model = WebhookDelivery
        fields = ["id", "subscription", "event_type", "event_id", "status", "attempts", "next_attempt_at",
                  "last_status_code", "last_error", "created_at", "finished_at"]
        read_only_fields = fields


MENTION_FIELDS = ("id", "source", "external_id", "author_handle", "author_name", "author_followers", "text", "url",
                  "status", "sentiment", "sentiment_label", "intent", "customer_id", "case_id")
MENTION_TIMES = ("posted_at", "received_at")


def mention_rows(mentions) -> list[dict]:
    """MentionOutSerializer's output (its fields, in its order) for `lean_values(mentions, MENTION_FIELDS,
    MENTION_TIMES)` rows."""
    zone = timezone.get_current_timezone()
    rows = []
    for m in mentions:
        times = _times(m, MENTION_TIMES, zone)
        rows.append({"id": m["id"], "source": m["source"], "external_id": m["external_id"],
                     "author_handle": m["author_handle"], "author_name": m["author_name"],
                     "author_followers": m["author_followers"], "text": m["text"], "url": m["url"],
                     "posted_at": times["posted_at"], "received_at": times["received_at"], "status": m["status"],
                     "sentiment": m["sentiment"], "sentiment_label": m["sentiment_label"], "intent": m["intent"],
                     "customer": m["customer_id"], "case": m["case_id"]})
    return rows
