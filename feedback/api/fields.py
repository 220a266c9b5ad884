"""Input fields that take exactly what the schema says: JSON's own types, no coercion (DRF's CharField takes 12 as
"12", its BooleanField takes 0, "yes" and "on"), a length counted as sent, and an optional pattern that is both
checked and published. For the CRM API's own serializers; the mention intake keeps DRF's coercions on purpose
(feedback.intake.validation)."""

import re
from collections.abc import Callable, Mapping

from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from rest_framework import serializers

from config.patterns import anchored
from customers.sync import printable

UNKNOWN_FIELD = "Unknown field."


class ClosedInput:
    """A mixin for an input serializer that refuses a key it does not know ("Unknown field.", as
    customers.sync.clean_fields does for the serializers that only document it): the schema says so
    (additionalProperties: false), so a client (and schemathesis) knows a misspelt field is not ignored."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            unknown = {printable(key): [UNKNOWN_FIELD] for key in data if key not in self.fields}
            if unknown:
                raise serializers.ValidationError(unknown)
        return super().to_internal_value(data)


class ClosedInputExtension(OpenApiSerializerExtension):
    target_class = ClosedInput
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        return {**auto_schema._map_serializer(self.target, direction, bypass_extensions=True),
                "additionalProperties": False}


class StrictCharField(serializers.CharField):
    """A JSON string, at most `max_length` characters as sent (DRF counts them after stripping the white space
    around them), then as CharField: stripped, not blank unless allowed, no U+0000. With `pattern` (the regex the
    whole value must match, without anchors): not stripped, and refused with `pattern_message` unless it matches
    (a text, or a function of the value giving one); the schema carries it anchored."""

    def __init__(self, *, pattern: str | None = None,
                 pattern_message: str | Callable[[str], str] = "Enter a valid value.", **kwargs):
        self.pattern = pattern
        self.pattern_message = pattern_message
        if pattern is not None:
            kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        if self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        text = super().to_internal_value(data)
        if self.pattern is not None and not re.fullmatch(self.pattern, text):
            message = self.pattern_message(text) if callable(self.pattern_message) else self.pattern_message
            raise serializers.ValidationError(message, code="invalid")
        return text


class StrictBooleanField(serializers.BooleanField):
    """JSON true or false, nothing else."""

    def to_internal_value(self, data):
        if data is True or data is False:
            return data
        self.fail("invalid", input=data)


class StrictCharFieldExtension(OpenApiSerializerFieldExtension):
    target_class = StrictCharField
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if self.target.pattern is not None:
            schema = {key: value for key, value in schema.items() if key != "format"}
            schema["pattern"] = anchored(self.target.pattern)
        return schema
