"""The sync lists' lean rows (`.values()` + plain functions, times written by PostgreSQL in UTC) are the serializers'
output exactly: the same keys in the same order and the same values, so the schema (and schemathesis) still hold;
on both paths, the database's times and Python's (another time zone)."""

import json
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from django.utils import timezone

from customers.models import Customer, TimelineEntry, TimelineKind
from feedback.api import crm_serializers as s
from feedback.api.serializers import MentionOutSerializer
from feedback.cases.models import Case
from feedback.intake.models import Mention
from tests.factories import CaseFactory, CustomerFactory, MentionFactory, department

pytestmark = pytest.mark.django_db

WHOLE = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
FRACTION = datetime(2026, 11, 1, 12, 0, 5, 250, tzinfo=UTC)


@pytest.fixture
def rows():
    customer = CustomerFactory(email="a@example.com", value="12.5", region="Lisbon")
    CustomerFactory(value=0, name="")
    CaseFactory(customer=customer, tags=["vip", "possible-flood"], intent="complaint", created_at=WHOLE)
    CaseFactory(created_at=FRACTION, resolved_at=FRACTION, first_replied_at=WHOLE, status="resolved")
    case = Case.objects.order_by("pk").first()
    MentionFactory(customer=customer, case=case, sentiment=-0.61, sentiment_label="negative", intent="complaint",
                   url="https://x.com/a/status/1", author_followers=12, posted_at=FRACTION)
    MentionFactory(posted_at=WHOLE, url="")
    TimelineEntry.objects.create(customer=customer, at=FRACTION, kind=TimelineKind.NOTE, summary="s", text="t",
                                 department=department("sales"), case_id=case.pk, ref_type="caseevent", ref_id=9,
                                 actor="Ann")
    TimelineEntry.objects.create(customer=customer, at=WHOLE, kind=TimelineKind.MERGE, summary="merged")
    return customer


def _same(lean: list[dict], serialized: list[dict]) -> None:
    assert [list(row) for row in lean] == [list(row) for row in serialized]  # keys, in order
    assert json.dumps(lean) == json.dumps(serialized)


@pytest.mark.parametrize("zone", ["UTC", "America/Sao_Paulo"])
def test_lean_rows_are_the_serializers_output(rows, zone):
    with timezone.override(zone):
        assert s.sql_times() is (zone == "UTC")
        customers = Customer.objects.order_by("pk")
        _same(s.customer_rows(s.lean_values(customers, s.CUSTOMER_FIELDS, s.CUSTOMER_TIMES)),
              s.CustomerSerializer(customers, many=True).data)
        cases = Case.objects.order_by("pk")
        _same(s.case_rows(s.lean_values(cases, s.CASE_FIELDS, s.CASE_TIMES)),
              s.CaseSerializer(cases.select_related("customer", "department"), many=True).data)
        mentions = Mention.objects.order_by("pk")
        _same(s.mention_rows(s.lean_values(mentions, s.MENTION_FIELDS, s.MENTION_TIMES)),
              MentionOutSerializer(mentions, many=True).data)
        entries = TimelineEntry.objects.order_by("pk")
        _same(s.timeline_rows(s.lean_values(entries, s.TIMELINE_FIELDS, s.TIMELINE_TIMES)),
              s.TimelineEntrySerializer([
                  SimpleNamespace(id=e.pk, at=e.at, kind=e.kind, summary=e.summary, text=e.text,
                                  department=e.department.slug if e.department else None, case=e.case_id,
                                  ref_type=e.ref_type, ref_id=e.ref_id, actor=e.actor)
                  for e in entries.select_related("department")], many=True).data)


def test_postgresql_writes_times_as_python_does(rows):
    """Whole seconds without a fraction, microseconds with six digits, NULL as null, always `Z`."""
    row = s.lean_values(Case.objects.filter(resolved_at=FRACTION), s.CASE_FIELDS, s.CASE_TIMES).get()
    assert row["resolved_at_iso"] == "2026-11-01T12:00:05.000250Z"
    assert row["first_replied_at_iso"] == "2026-11-01T12:00:00Z" and row["closed_at_iso"] is None
    assert datetime.fromisoformat(row["updated_at_iso"]) == Case.objects.get(pk=row["id"]).updated_at


def test_a_lean_list_is_built_once_and_each_request_gets_its_own_clone(rows):
    """lean_list keeps one values() per queryset and time zone answer: filtering one request's clone never reaches
    the next request's, and another time zone gets rows with Python's times."""
    base = Case.objects.all()
    first = s.lean_list(base, s.CASE_FIELDS, s.CASE_TIMES)
    assert first.filter(status="resolved").count() == 1
    again = s.lean_list(base, s.CASE_FIELDS, s.CASE_TIMES)
    assert again is not first and again.count() == 2
    assert list(again.order_by("pk")) == list(s.lean_values(base, s.CASE_FIELDS, s.CASE_TIMES).order_by("pk"))
    assert "created_at_iso" in again.first()
    with timezone.override("America/Sao_Paulo"):
        assert "created_at" in s.lean_list(base, s.CASE_FIELDS, s.CASE_TIMES).first()
