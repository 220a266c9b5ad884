"""Filters on mentions, one FilterSet for the API list and the pages that list mentions."""

import django_filters

from config.filters import IdFilter, SinceFilter
from feedback.choices import Intent, MentionStatus, Source
from feedback.intake.models import Mention


class MentionFilterSet(django_filters.FilterSet):
    received_since = SinceFilter(field_name="received_at",
                                 help_text="Mentions received at or after this time (ISO 8601).")
    source = django_filters.ChoiceFilter(choices=Source.choices)
    status = django_filters.ChoiceFilter(choices=MentionStatus.choices)
    intent = django_filters.ChoiceFilter(choices=Intent.choices)
    customer = IdFilter(field_name="customer_id", help_text="The customer's Baton id.")
    case = IdFilter(field_name="case_id", help_text="The case's id.")

    class Meta:
        model = Mention
        fields = ["received_since", "source", "status", "intent", "customer", "case"]
