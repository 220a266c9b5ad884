"""What the OpenAPI schema says beyond what drf-spectacular reads off the serializers, so that it describes exactly
what the API takes and answers (schemathesis checks both ways: tests/feedback/api/test_schemathesis.py).

Field-level: the list variant of the mention intake carries its limits (1 to `MAX_LIST_ITEMS` items), a body is
required (except a PATCH's: no body changes nothing), an output URL or an optional e-mail may be blank, a pattern
documents a rule a service checks, an input that refuses unknown keys says so (`ClosedInput`).

Operation-level, in the postprocessing hooks (SPECTACULAR_SETTINGS), which apply to every operation, so a new
endpoint is described the same way without a line here:
- `describe_inputs`: every request string refuses U+0000 (PostgreSQL cannot store it) and a required one refuses
  white space only (the services strip it), as patterns; a string query parameter may not be blank (the filter
  backend answers `?stage=` with 400);
- `document_errors`: every operation lists the refusals the platform may give it, in the one error shape (401, 403
  and 429 for a token; 400 for anything it reads; 404 for a path id; 411, 413 and 415 for a body);
- `add_links`: OpenAPI links from an answer that gives an object's ETag to the operations that take it as
  If-Match (schemathesis infers the links that carry ids; its stateful run follows both);
- `add_list_limits`: minItems and maxItems of list bodies.
"""

from django.core.validators import RegexValidator
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.serializers import PolymorphicProxySerializerExtension
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from config import patterns
from config.patterns import HTTP_URL, WHITESPACE, anchored
from feedback.api.permissions import scope_text, scopes_needed
from feedback.intake.batch import MAX_LIST_ITEMS
from feedback.intake.validation import (
    FOLLOWERS_MAX,
    FOLLOWERS_MIN,
    FOLLOWERS_TEXT,
    MAX_LENGTH,
    NUMBER_AS_TEXT_MAX,
    URL_MESSAGE,
)

# For the schema (`pattern`): the rules refuse U+0000 in a text and a required text of white space only.
NO_NUL = anchored(patterns.NO_NUL)
NOT_BLANK = anchored(patterns.NOT_BLANK)


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
    infers it from required properties, which a one-of-two body does not have at its top). A PATCH keeps what
    drf-spectacular infers: its fields are all optional, and no body changes nothing (200 with the object)."""

    def _get_request_body(self, direction="request"):
        body = super()._get_request_body(direction)
        if body and self.method != "PATCH":
            body["required"] = True
        return body


class BlankableUrlField(serializers.CharField):
    """A stored URL, or "" when there is none. Not `format: uri`: Baton takes an http(s) URL as config.patterns
    says (RFC 3986 would want `[` or a space in a query percent-encoded), and keeps what it took."""


class BlankableUrlFieldExtension(OpenApiSerializerFieldExtension):
    target_class = BlankableUrlField

    def map_serializer_field(self, auto_schema, direction):
        return {"type": "string", "maxLength": MAX_LENGTH["url"], "description": "An http(s) URL, or blank."}


class BlankableEmailField(serializers.EmailField):
    """An input e-mail address that may be blank (it clears the stored one): "", or white space only, which the
    services strip to "" (a format alone would call both invalid)."""


class BlankableEmailFieldExtension(OpenApiSerializerFieldExtension):
    target_class = BlankableEmailField

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        return {"anyOf": [{**schema, "pattern": NO_NUL},
                          {"type": "string", "pattern": f"^[{WHITESPACE}]*$", "description": "Blank: no e-mail."}]}


class RawJsonField(serializers.JSONField):
    """A mention's `raw`: any JSON value but null, whose strings (keys too) hold no U+0000 (PostgreSQL's jsonb cannot
    store it; feedback.intake.validation refuses it)."""


JSON_VALUE = "JsonValue"
_JSON_VALUE_REF = {"$ref": f"#/components/schemas/{JSON_VALUE}"}


def _json_options(*, nullable: bool) -> list[dict]:
    return [{"type": "object", "additionalProperties": _JSON_VALUE_REF, "propertyNames": {"pattern": NO_NUL}},
            {"type": "array", "items": _JSON_VALUE_REF},
            {"type": "string", "pattern": NO_NUL},
            {"type": "number"},
            {"type": "boolean", "nullable": nullable}]


class RawJsonFieldExtension(OpenApiSerializerFieldExtension):
    target_class = RawJsonField

    def map_serializer_field(self, auto_schema, direction):
        auto_schema.registry.register_on_missing(ResolvedComponent(
            name=JSON_VALUE, type=ResolvedComponent.SCHEMA, object=JSON_VALUE,
            schema={"description": "Any JSON value; no U+0000 in its strings.", "anyOf": _json_options(nullable=True)}))
        return {"anyOf": _json_options(nullable=False)}


class _Pattern:
    """A field whose schema carries `pattern`, documentation of a rule that `feedback.intake.validation` checks
    (the field itself validates as its DRF base class). `numbers`: the rules also take a JSON number (as DRF does:
    12345 is the text "12345"), up to NUMBER_AS_TEXT_MAX either way."""

    def __init__(self, *args, pattern: str, numbers: bool = False, **kwargs):
        self.pattern = pattern
        self.numbers = numbers
        super().__init__(*args, **kwargs)


class PatternCharField(_Pattern, serializers.CharField):
    pass


class PatternUrlField(_Pattern, serializers.CharField):
    """An http(s) URL as config.patterns says (feedback.intake.validation checks the same pattern): a CharField with
    that check, so that DRF validates it as the plain rules do (their messages, in their order)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.validators.append(RegexValidator(rf"^(?:{HTTP_URL})\Z", message=URL_MESSAGE))


def padded(pattern: str) -> str:
    """The schema's pattern of an optional text the rules strip first: `pattern` or nothing, white space around."""
    return f"^[{WHITESPACE}]*(?:{pattern})?[{WHITESPACE}]*$"


class PatternFieldExtension(OpenApiSerializerFieldExtension):
    target_class = _Pattern
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        schema = {**auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True),
                  "pattern": self.target.pattern}
        if not self.target.numbers:
            return schema
        description = schema.pop("description", None)
        schema["maxLength"] = self.target.max_length  # spectacular adds it to a string's schema, not to an anyOf
        number = {"type": "number", "minimum": -NUMBER_AS_TEXT_MAX, "maximum": NUMBER_AS_TEXT_MAX,
                  "description": "Taken as its text (12345 is \"12345\")."}
        return {"anyOf": [schema, number], **({"description": description} if description else {})}


@extend_schema_field({"anyOf": [
    {"type": "integer", "minimum": FOLLOWERS_MIN, "maximum": FOLLOWERS_MAX, "nullable": True},
    {"type": "number", "multipleOf": 1, "minimum": FOLLOWERS_MIN, "maximum": FOLLOWERS_MAX,
     "description": "A whole number written as a float (12.0)."},
    {"type": "string", "pattern": anchored(FOLLOWERS_TEXT), "description": "A whole number as text (\"12\")."},
]})
class FollowersField(serializers.IntegerField):
    """A follower count as feedback.intake.validation takes it (as DRF's IntegerField does, but text only in ASCII
    digits)."""


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

def bound_list_body(operation_id: str, *, min_items: int, max_items: int, any_items: bool = False) -> str:
    LIST_BODY_LIMITS[operation_id] = (min_items, max_items, any_items)
    return operation_id


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


# --- Hooks over every operation ------------------------------------------------------------------------------

HTTP_METHODS = ("get", "put", "post", "patch", "delete", "head", "options", "trace")
ERROR_TEXT = {
    400: "Invalid input: `fields` says which and why.",
    401: "No credentials, or an invalid or revoked token.",
    403: "The token lacks the scope this operation needs.",
    404: "No such object.",
    409: "The request conflicts with the object's state.",
    411: "A chunked body without Content-Length.",
    412: "If-Match does not match the current ETag: the object changed since it was read.",
    413: "A body over BATON_API_MAX_BYTES (16 MiB).",
    415: "A body that is not application/json.",
    422: "The Idempotency-Key was already used for another request.",
    428: "This operation needs an If-Match header.",
    429: "Too many requests for this token: wait Retry-After seconds.",
}
ERROR_SCHEMA = {"$ref": "#/components/schemas/ApiError"}


def _operations(result):
    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            if method in HTTP_METHODS and isinstance(operation, dict):
                yield path, method, operation


def _body_schema(operation) -> dict | None:
    return operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")


def _describe_strings(schema, schemas: dict, seen: set) -> None:
    """Patterns on every string of an input schema (its components once each): no U+0000 anywhere, and not
    white space only where a value is required (minLength 1: DRF and the services strip it first). A string that
    already has a pattern or is an enum says what it takes."""
    if not isinstance(schema, dict):
        return
    ref = schema.get("$ref")
    if ref:
        name = ref.rsplit("/", 1)[-1]
        if name not in seen and name in schemas:
            seen.add(name)
            _describe_strings(schemas[name], schemas, seen)
        return
    if schema.get("type") == "string" and "pattern" not in schema and "enum" not in schema:
        schema["pattern"] = NOT_BLANK if schema.get("minLength", 0) >= 1 else NO_NUL
    for key in ("items", "additionalProperties", "not"):
        _describe_strings(schema.get(key), schemas, seen)
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            _describe_strings(option, schemas, seen)
    for child in schema.get("properties", {}).values():
        _describe_strings(child, schemas, seen)


def describe_inputs(result, generator, request, public):
    """A postprocessing hook (SPECTACULAR_SETTINGS), for every operation: the strings of its request body refuse
    U+0000 (and white space only where required), and a string query parameter is neither blank nor holds U+0000
    (feedback.api.filtering answers `?stage=` with 400), unless its schema already says what it takes (a pattern or
    a format: a date-time is never blank; the cursor, format `baton-cursor`, may be)."""
    schemas = result.get("components", {}).get("schemas", {})
    seen: set[str] = set()
    for _path, _method, operation in _operations(result):
        _describe_strings(_body_schema(operation), schemas, seen)
        for parameter in operation.get("parameters", []):
            schema = parameter.get("schema", {})
            if (parameter.get("in") != "query" or schema.get("type") != "string" or "pattern" in schema
                    or "format" in schema):
                continue
            schema.setdefault("minLength", 1)
            if "enum" not in schema:
                schema["pattern"] = NOT_BLANK
    return result


def document_errors(result, generator, request, public):
    """A postprocessing hook (SPECTACULAR_SETTINGS): every operation lists the refusals the platform may give it,
    each in the one error shape (config.api): 401, 403 and 429 where a token is needed, 400 where it reads a
    parameter or a body, 404 where its path names an object, 411, 413 and 415 where it takes a body
    (config.middleware and the JSON parser). What an operation documents itself stays."""
    for _path, _method, operation in _operations(result):
        parameters = operation.get("parameters", [])
        codes = set()
        if operation.get("security"):
            codes |= {401, 403, 429}
        if "requestBody" in operation or any(parameter.get("in") != "path" for parameter in parameters):
            codes.add(400)
        if any(parameter.get("in") == "path" for parameter in parameters):
            codes.add(404)
        if "requestBody" in operation:
            codes |= {411, 413, 415}
        responses = operation.setdefault("responses", {})
        for code in sorted(codes):
            responses.setdefault(str(code), {"content": {"application/json": {"schema": ERROR_SCHEMA}},
                                             "description": ERROR_TEXT[code]})
    return result


def _takes_if_match(operation) -> bool:
    return any(parameter.get("in") == "header" and parameter.get("name", "").lower() == "if-match"
               for parameter in operation.get("parameters", []))


def add_links(result, generator, request, public):
    """A postprocessing hook (SPECTACULAR_SETTINGS): an answer that gives an object's ETag links to the operations
    on the same path that take If-Match, with the same path parameters and that ETag (read, then change it; change
    it again with the ETag the change answered). schemathesis infers the links that carry ids (a created object to
    its reads, changes and deletion) from the schema itself; the ETag it cannot guess."""
    for path, _method, source in _operations(result):
        targets = [(method, target) for target_path, method, target in _operations(result)
                   if target_path == path and _takes_if_match(target)]
        if not targets:
            continue
        path_names = [parameter["name"] for parameter in source.get("parameters", []) if parameter.get("in") == "path"]
        for status_code, response in source.get("responses", {}).items():
            if not status_code.startswith("2") or "ETag" not in response.get("headers", {}):
                continue
            links = response.setdefault("links", {})
            for method, target in targets:
                parameters = {f"path.{name}": f"$request.path.{name}" for name in path_names}
                parameters["header.If-Match"] = "$response.header.ETag"
                links.setdefault(f"{target.get('operationId', method)}_with_etag", {
                    "operationId": target["operationId"], "parameters": parameters,
                    "description": "The object as read, changed only if nobody changed it since (If-Match)."})
    return result
