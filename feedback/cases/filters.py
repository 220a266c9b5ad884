"""The case list's filters, search and sort: one django-filter FilterSet that the inbox page uses
and the API's case list can reuse (`CaseFilter(data, queryset=..., user=...)`).

It filters a queryset the caller already scoped to the user (`selectors.inbox_base`); a value that
is not one of the choices is ignored (django-filter leaves invalid fields out), never a 500.
"""

import django_filters
from django import forms
from django.db import connection
from django.db.models import Case as When_
from django.db.models import Exists, F, IntegerField, OuterRef, Value, When
from django.utils import timezone

from config.filters import IdFilter, SinceFilter
from customers.models import Stage
from feedback.cases.models import Case
from feedback.cases.selectors import search_cases
from feedback.choices import CaseStatus, Intent, Priority, Source
from feedback.intake.models import Mention
from feedback.sla.models import SlaClock
from feedback.understanding.models import Promise
from teams.models import Membership
from teams.selectors import department_ids_for

SLA_STATES = [
    ("breached", "Breached"),
    ("warning", "Warning (under a quarter left)"),
    ("ok", "On time"),
    ("paused", "Paused (pending)"),
    ("none", "No clock running"),
]
SORTS = [
    ("due", "Most urgent clock first"),
    ("priority", "Priority"),
    ("oldest", "Oldest first"),
    ("newest", "Newest first"),
]
PRIORITY_RANK = When_(
    *(When(priority=value, then=Value(rank)) for rank, value in enumerate(Priority.values)),
    default=Value(len(Priority.values)), output_field=IntegerField(),
)


class CaseFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_search", label="Search posts and customer names",
                                  widget=forms.TextInput(attrs={"type": "search", "placeholder": "Search (/)"}))
    intent = django_filters.ChoiceFilter(choices=Intent.choices, empty_label="Any intent", label="Intent")
    priority = django_filters.ChoiceFilter(choices=Priority.choices, empty_label="Any priority", label="Priority")
    promise = django_filters.ModelChoiceFilter(queryset=Promise.objects.order_by("name"), method="filter_promise",
                                               empty_label="Any promise", label="Promise")
    source = django_filters.ChoiceFilter(choices=Source.choices, method="filter_source", empty_label="Any source",
                                       label="Source")
    sla = django_filters.ChoiceFilter(choices=SLA_STATES, method="filter_sla", empty_label="Any SLA state",
                                      label="SLA")
    assignee = django_filters.ChoiceFilter(method="filter_assignee", empty_label="Anyone", label="Assignee")
    tag = django_filters.CharFilter(method="filter_tag", label="Tag", max_length=50)
    stage = django_filters.ChoiceFilter(field_name="customer__stage", choices=Stage.choices,
                                        empty_label="Any stage", label="Customer stage")
    sort = django_filters.ChoiceFilter(choices=SORTS, method="filter_sort", empty_label=None, label="Sort")

    class Meta:
        model = Case
        fields = []

    def __init__(self, data=None, *args, user=None, now=None, department_ids=None, **kwargs):
        super().__init__(data if data is not None else {}, *args, **kwargs)  # always bound: always sorted
        self.user = user
        self.now = now or timezone.now()
        members = []
        if user is not None and user.is_authenticated:
            if department_ids is None:
                department_ids = department_ids_for(user=user)
            members = list(
                Membership.objects.filter(department_id__in=department_ids, user__is_active=True)
                .select_related("user").order_by("user__first_name", "user__username").distinct()
            )
        seen, choices = set(), [("me", "Me"), ("none", "Nobody")]
        for membership in members:
            if membership.user_id not in seen:
                seen.add(membership.user_id)
                choices.append((str(membership.user_id),
                                membership.user.get_full_name() or membership.user.get_username()))
        self.filters["assignee"].extra["choices"] = choices
        self.member_choices = choices[2:]

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if not self.form.cleaned_data.get("sort"):  # absent or not a sort: the default order
            queryset = self.filter_sort(queryset, "sort", "due")
        return queryset

    def filter_search(self, queryset, name, value):
        return search_cases(queryset, value)

    def filter_promise(self, queryset, name, value):
        return queryset.filter(Exists(Mention.objects.filter(case_id=OuterRef("pk"), promise=value)))

    def filter_source(self, queryset, name, value):
        return queryset.filter(Exists(Mention.objects.filter(case_id=OuterRef("pk"), source=value)))

    def filter_sla(self, queryset, name, value):
        now = self.now
        warning = Exists(SlaClock.objects.filter(case_id=OuterRef("pk"), stopped_at__isnull=True,
                                                 paused_at__isnull=True, warn_at__lte=now))
        if value == "breached":
            return queryset.filter(next_due_at__lte=now)
        if value == "warning":
            return queryset.filter(warning, next_due_at__gt=now)
        if value == "ok":
            return queryset.filter(~warning, next_due_at__gt=now)
        if value == "paused":
            return queryset.filter(status="pending")
        return queryset.filter(next_due_at__isnull=True).exclude(status="pending")

    def filter_assignee(self, queryset, name, value):
        if value == "none":
            return queryset.filter(assignee__isnull=True)
        if value == "me":
            return queryset.filter(assignee=self.user)
        return queryset.filter(assignee_id=int(value))

    def filter_tag(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        if connection.vendor == "postgresql":
            return queryset.filter(tags__contains=[value])
        return queryset.filter(tags__icontains=f'"{value}"')  # SQLite has no JSON containment

    def filter_sort(self, queryset, name, value):
        due = F("next_due_at").asc(nulls_last=True)
        if value == "priority":
            return queryset.alias(priority_rank=PRIORITY_RANK).order_by("priority_rank", due, "id")
        if value == "oldest":
            return queryset.order_by("created_at", "id")
        if value == "newest":
            return queryset.order_by("-created_at", "-id")
        return queryset.order_by(due, "id")


def active_filters(filterset: CaseFilter) -> bool:
    """Whether any filter or search (not the sort) narrows the list."""
    filterset.form.errors  # noqa: B018 (validates the form: cleaned_data holds the valid fields)
    data = getattr(filterset.form, "cleaned_data", {})
    return any(value not in (None, "") for key, value in data.items() if key != "sort")


# The API's case list (/api/v1/cases/): the CRM's sync filters.
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
