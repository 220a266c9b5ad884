"""django-filter pieces that every FilterSet (API lists and pages) shares: ids and times parsed so that
no query string can reach the database as something it refuses (a 500)."""

from datetime import UTC

import django_filters
from django import forms
from django.core.exceptions import ValidationError

from config.query import MAX_ID

MAX_DIGITS = 100  # a longer number is not converted (Python refuses over 4,300 digits); it is over MAX_ID anyway


class IdField(forms.IntegerField):
    """ASCII digits only (forms.IntegerField also takes " 5", "5.0" and "٥", which no id is written as)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = str(value)
        if not (text.isascii() and text.isdigit()):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return int(text) if len(text) <= MAX_DIGITS else self.max_value + 1  # over the maximum, as it says


class IdFilter(django_filters.NumberFilter):
    """An id (1 to PostgreSQL's bigint): anything else is a field error, not a database error."""

    field_class = IdField


class UtcDateTimeField(forms.DateTimeField):
    """ISO 8601 with an offset (without one: the current time zone), as an aware datetime that
    PostgreSQL can store (a year 9999 with a negative offset, say, is refused here)."""

    def to_python(self, value):
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            return moment.astimezone(UTC)
        except (OverflowError, ValueError):
            raise ValidationError("Datetime value out of range.", code="invalid") from None


class SinceFilter(django_filters.DateTimeFilter):
    """`field >= value`."""

    field_class = UtcDateTimeField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("lookup_expr", "gte")
        super().__init__(*args, **kwargs)
