"""What the OpenAPI schema says beyond what drf-spectacular reads off the serializers: the list variant of the
mention intake carries its limits (1 to `MAX_LIST_ITEMS` items), its body is required, and an output URL may be
blank."""

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.serializers import PolymorphicProxySerializerExtension
from drf_spectacular.utils import PolymorphicProxySerializer
from rest_framework import serializers

from feedback.api.permissions import scope_text, scopes_needed
from feedback.intake.batch import MAX_LIST_ITEMS
from feedback.intake.validation import MAX_LENGTH


class MentionInOrList(PolymorphicProxySerializer):
    """One mention, or a list of 1 to MAX_LIST_ITEMS (the request body of POST /api/v1/mentions/)."""


class MentionInOrListExtension(PolymorphicProxySerializerExtension):
    target_class = MentionInOrList
    priority = 1

    def map_serializer(self, auto_schema, direction):
        schema = super().map_serializer(auto_schema, direction)
        for option in schema["oneOf"]:
            if option.get("type") == "array":
                # The list takes any items: each is a MentionIn or answered as an error in its result (200).
                option.update(minItems=1, maxItems=MAX_LIST_ITEMS, items={"anyOf": [option["items"], {
                    "description": "Any other value: answered in `results` with outcome `error` and field "
                                   "messages; the other items are stored."}]})
        return schema


class BodyRequiredSchema(AutoSchema):
    """For an operation that needs a body (one mention or a list): `requestBody.required` (drf-spectacular
    infers it from required properties, which a one-of-two body does not have at its top)."""

    def _get_request_body(self, direction="request"):
        body = super()._get_request_body(direction)
        if body:
            body["required"] = True
        return body


class BlankableUrlField(serializers.URLField):
    """A stored URL, or "" when there is none (a URI format alone would call "" invalid)."""


class BlankableUrlFieldExtension(OpenApiSerializerFieldExtension):
    target_class = BlankableUrlField

    def map_serializer_field(self, auto_schema, direction):
        return {"anyOf": [{"type": "string", "format": "uri", "maxLength": MAX_LENGTH["url"]},
                          {"type": "string", "maxLength": 0}]}


# For the schema only (`pattern`): the rules refuse U+0000 in a text and a required text of white space only.
NO_NUL = r"^[^\u0000]*$"
NOT_BLANK = r"^[^\u0000]*[^\s\u0000][^\u0000]*$"


class _Pattern:
    """A field whose schema carries `pattern`, documentation of a rule that `feedback.intake.validation` checks
    (the field itself validates as its DRF base class)."""

    def __init__(self, *args, pattern: str, **kwargs):
        self.pattern = pattern
        super().__init__(*args, **kwargs)


class PatternCharField(_Pattern, serializers.CharField):
    pass


class PatternUrlField(_Pattern, serializers.URLField):
    pass


class PatternFieldExtension(OpenApiSerializerFieldExtension):
    target_class = _Pattern
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        return {**schema, "pattern": self.target.pattern}


# --- The CRM sync API (feedback.api.crm_views) -----------------------------------------------------------------

class ScopedAutoSchema(BodyRequiredSchema):
    """Each operation's description ends with the integration token scope(s) it needs (the view's `required_scopes`)."""

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        scopes = scopes_needed(self.view, self.method) if hasattr(self.view, "required_scopes") else ()
        if operation is not None and scopes:
            description = operation.get("description", "")
            label = "scope" if len(scopes) == 1 else "scopes (all of them)"
            operation["description"] = f"{description}\n\nIntegration token {label}: {scope_text(scopes)}.".strip()
        return operation


# operationId -> (minItems, maxItems, any_items) of its JSON list body (spectacular writes list bodies without
# limits, and cannot say that an item of any shape is answered in the result rather than refusing the list).
LIST_BODY_LIMITS: dict[str, tuple[int, int, bool]] = {}

# Input objects whose service refuses a key it does not know ("Unknown field.", customers.sync.clean_fields): the
# schema says so (additionalProperties: false), so a client (and schemathesis) knows extra keys are refused.
CLOSED_INPUTS = {"PatchedCustomerFieldsIn", "CustomerUpsertIn"}


def bound_list_body(operation_id: str, *, min_items: int, max_items: int, any_items: bool = False) -> str:
    LIST_BODY_LIMITS[operation_id] = (min_items, max_items, any_items)
    return operation_id


def close_input_objects(result, generator, request, public):
    """A postprocessing hook (SPECTACULAR_SETTINGS): additionalProperties false on the CLOSED_INPUTS."""
    schemas = result.get("components", {}).get("schemas", {})
    for name in CLOSED_INPUTS:
        if name in schemas:
            schemas[name]["additionalProperties"] = False
    return result


def add_list_limits(result, generator, request, public):
    """A postprocessing hook (SPECTACULAR_SETTINGS): minItems and maxItems on the list bodies named above."""
    for path in result.get("paths", {}).values():
        for operation in path.values():
            limits = LIST_BODY_LIMITS.get(operation.get("operationId")) if isinstance(operation, dict) else None
            if not limits:
                continue
            schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if schema and schema.get("type") == "array":
                schema["minItems"], schema["maxItems"], any_items = limits
                if any_items:
                    schema["items"] = {"anyOf": [schema["items"], {
                        "description": "Any other value: answered in `results` with outcome `error` and field "
                                       "messages; the other items are still taken."}]}
    return result
