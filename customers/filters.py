"""Filters on customers, one FilterSet for the API list and any page that lists customers."""

import django_filters

from config.filters import SinceFilter
from customers.models import Customer, Stage, TimelineEntry, TimelineKind


class CustomerFilterSet(django_filters.FilterSet):
    updated_since = SinceFilter(field_name="updated_at",
                                help_text="Customers changed at or after this time (ISO 8601).")
    stage = django_filters.ChoiceFilter(choices=Stage.choices, help_text="Lifecycle stage.")
    external_id = django_filters.CharFilter(field_name="external_id", max_length=120,
                                            help_text="The CRM's id (exact).")

    class Meta:
        model = Customer
        fields = ["updated_since", "stage", "external_id"]


class TimelineFilterSet(django_filters.FilterSet):
    """A customer's timeline (the API's; the 360 page filters the same two things by department id)."""

    kind = django_filters.ChoiceFilter(choices=TimelineKind.choices, help_text="Only entries of this kind.")
    department = django_filters.CharFilter(field_name="department__slug", max_length=50,
                                           help_text="Only entries of this department (its slug: service, sales, ...).")

    class Meta:
        model = TimelineEntry
        fields = ["kind", "department"]
