"""Filters on customers, one FilterSet for the API list and any page that lists customers."""

import django_filters

from config.filters import SinceFilter
from customers.models import Customer, Stage


class CustomerFilterSet(django_filters.FilterSet):
    updated_since = SinceFilter(field_name="updated_at",
                                help_text="Customers changed at or after this time (ISO 8601).")
    stage = django_filters.ChoiceFilter(choices=Stage.choices, help_text="Lifecycle stage.")
    external_id = django_filters.CharFilter(field_name="external_id", max_length=120,
                                            help_text="The CRM's id (exact).")

    class Meta:
        model = Customer
        fields = ["updated_since", "stage", "external_id"]
