"""The CRM sync API's shapes. Writes are validated by the services' plain rules (customers.sync,
customers.webhooks.services); the input serializers here state those rules for the schema."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.patterns import HTTP_URL
from customers.models import Customer, Identity, LinkMethod, Stage
from customers.sync import MAX_LENGTH, MAX_UPSERT_ROWS, VALUE_DECIMALS, VALUE_MAX, VALUE_TEXT
from customers.webhooks.events import EVENT_TYPES
from customers.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from customers.webhooks.services import URL_MESSAGE
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


def customer_rows(customers) -> list[dict]:
    """CustomerSerializer's output for a page of customers, without a serializer per row (the sync list is the
    API's hottest path; a test keeps the two equal)."""
    zone = timezone.get_current_timezone()
    return [
        {"id": c.pk, "external_id": c.external_id, "name": c.name, "email": c.email, "phone": c.phone,
         "stage": c.stage, "value": f"{c.value:.2f}", "region": c.region, "created_at": _moment(c.created_at, zone),
         "updated_at": _moment(c.updated_at, zone)}
        for c in customers
    ]


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
    url = StrictCharField(max_length=500, pattern=HTTP_URL, pattern_message=URL_MESSAGE,
                          help_text="An http or https URL that receives the POSTs.")
    event_types = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_TYPES), min_length=1)
    is_active = StrictBooleanField(required=False, default=True)


class WebhookSubscriptionPatch(ClosedInput, serializers.Serializer):
    """The fields to change; absent ones keep their value."""

    name = StrictCharField(max_length=100, required=False)
    url = StrictCharField(max_length=500, pattern=HTTP_URL, pattern_message=URL_MESSAGE, required=False,
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
