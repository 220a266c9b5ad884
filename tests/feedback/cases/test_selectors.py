"""Reads scoped to the asking user (feedback/cases/selectors.py)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.http import Http404

from feedback.cases.models import CaseEvent
from feedback.cases.selectors import case_detail, case_for_user, inbox_cases
from feedback.choices import CaseStatus, EventKind
from tests.factories import CaseFactory, MembershipFactory, MentionFactory, SlaClockFactory, department

pytestmark = pytest.mark.django_db


class TestInbox:
    def test_only_open_cases_of_my_departments_newest_first(self, service_agent):
        base = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
        oldest = CaseFactory(status=CaseStatus.OPEN, created_at=base)
        newest = CaseFactory(status=CaseStatus.NEW, created_at=base + timedelta(hours=2))
        pending = CaseFactory(status=CaseStatus.PENDING, created_at=base + timedelta(hours=1))
        CaseFactory(status=CaseStatus.RESOLVED, created_at=base + timedelta(hours=3))
        CaseFactory(status=CaseStatus.CLOSED, created_at=base + timedelta(hours=4))
        CaseFactory(department=department("sales"), status=CaseStatus.NEW, created_at=base + timedelta(hours=5))
        assert list(inbox_cases(user=service_agent)) == [newest, pending, oldest]

    def test_running_clocks_come_along(self, service_agent):
        case = CaseFactory()
        running = SlaClockFactory(case=case)
        SlaClockFactory(case=case, metric="resolution", stopped_at=case.created_at)
        [row] = inbox_cases(user=service_agent)
        assert row.running_clocks == [running]

    def test_a_member_of_two_departments_can_narrow_to_one(self, service_agent):
        MembershipFactory(user=service_agent, department=department("sales"))
        service_case = CaseFactory()
        sales_case = CaseFactory(department=department("sales"))
        assert set(inbox_cases(user=service_agent)) == {service_case, sales_case}
        assert list(inbox_cases(user=service_agent, department_id=department("sales").pk)) == [sales_case]
        # Asking for a department you are not in shows nothing, not that department's cases.
        CaseFactory(department=department("legal"))
        assert list(inbox_cases(user=service_agent, department_id=department("legal").pk)) == []

    def test_a_user_without_a_department_sees_nothing(self, django_user_model):
        CaseFactory()
        assert list(inbox_cases(user=django_user_model.objects.create(username="nobody"))) == []


class TestCaseForUser:
    def test_my_department_case(self, service_agent):
        case = CaseFactory()
        assert case_for_user(user=service_agent, case_id=case.pk) == case

    def test_another_departments_case_is_404(self, sales_agent):
        case = CaseFactory()
        with pytest.raises(Http404):
            case_for_user(user=sales_agent, case_id=case.pk)

    def test_a_missing_case_is_the_same_404(self, service_agent):
        with pytest.raises(Http404):
            case_for_user(user=service_agent, case_id=999_999)

    def test_case_detail_collects_the_timeline(self):
        case = CaseFactory()
        MentionFactory(case=case, customer=case.customer)
        CaseEvent.objects.create(case=case, kind=EventKind.NOTE, data={"text": "a"}, created_at=case.created_at)
        CaseEvent.objects.create(case=case, kind=EventKind.NOTE, data={"text": "b"},
                                 created_at=case.created_at + timedelta(minutes=1))
        detail = case_detail(case=case)
        assert [event.data["text"] for event in detail["events"]] == ["b", "a"]  # newest first
        assert (len(detail["mentions"]), detail["customer_mentions"], detail["customer_cases"]) == (1, 1, 1)
