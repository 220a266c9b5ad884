"""Filters on cases, one FilterSet for the API list and the pages that list cases."""

import django_filters

from config.filters import IdFilter, SinceFilter
from feedback.cases.models import Case
from feedback.choices import CaseStatus, Priority


class CaseFilterSet(django_filters.FilterSet):
    updated_since = SinceFilter(field_name="updated_at", help_text="Cases changed at or after this time (ISO 8601).")
    status = django_filters.ChoiceFilter(choices=CaseStatus.choices)
    priority = django_filters.ChoiceFilter(choices=Priority.choices)
    department = django_filters.CharFilter(field_name="department__slug", max_length=50,
                                           help_text="The owning department's slug (service, sales, ...).")
    customer = IdFilter(field_name="customer_id", help_text="The customer's Baton id.")
    customer_external_id = django_filters.CharFilter(field_name="customer__external_id", max_length=120,
                                                     help_text="The customer's CRM id.")

    class Meta:
        model = Case
        fields = ["updated_since", "status", "priority", "department", "customer", "customer_external_id"]
