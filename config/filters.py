"""django-filter pieces that every FilterSet (API lists and pages) shares: ids and times parsed so that
no query string can reach the database as something it refuses (a 500)."""

from datetime import UTC

import django_filters
from django import forms
from django.core.exceptions import ValidationError

from config.query import MAX_ID


class IdField(forms.IntegerField):
    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)


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
