"""The admin shows cases, their timelines, handoffs and clocks but never writes them; its one
case action goes through the services (feedback/admin.py, feedback/cases/services.py)."""

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from feedback.cases.models import Case, CaseEvent, Handoff
from feedback.cases.services import hand_off
from feedback.choices import CaseStatus, EventKind, Priority
from feedback.sla import clocks as sla
from feedback.sla.models import SlaClock
from tests.factories import CaseFactory, UserFactory, department

pytestmark = pytest.mark.django_db

OPENED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.fixture
def case():
    case = CaseFactory(created_at=OPENED)
    sla.start_clocks(case=case, now=OPENED)
    return case


def _url(model, action, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{action}", args=args)


def test_a_case_is_shown_read_only_and_cannot_be_changed_added_or_deleted(admin_client, case):
    page = admin_client.get(_url(Case, "change", case.pk))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="status"' not in html and 'name="priority"' not in html and 'name="department"' not in html
    assert 'name="_save"' not in html

    response = admin_client.post(_url(Case, "change", case.pk), {"status": CaseStatus.CLOSED,
                                                                   "priority": Priority.URGENT,
                                                                   "department": department("sales").pk})
    assert response.status_code == 403
    assert admin_client.get(_url(Case, "add")).status_code == 403
    assert admin_client.post(_url(Case, "delete", case.pk), {"post": "yes"}).status_code == 403
    case.refresh_from_db()
    assert (case.status, case.priority, case.department.slug) == (CaseStatus.NEW, Priority.NORMAL, "service")


def test_clocks_events_and_handoffs_are_read_only(admin_client, case, service_agent):
    handoff = hand_off(case=case, to_department=department("sales"), note="Upgrade.", by=service_agent)
    clock = SlaClock.objects.filter(case=case).first()
    event = CaseEvent.objects.filter(case=case).first()
    for model, obj in ((SlaClock, clock), (CaseEvent, event), (Handoff, handoff)):
        assert admin_client.get(_url(model, "change", obj.pk)).status_code == 200
        assert admin_client.post(_url(model, "change", obj.pk), {}).status_code == 403, model
        assert admin_client.post(_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403, model
        assert admin_client.get(_url(model, "add")).status_code == 403, model
    assert SlaClock.objects.filter(pk=clock.pk, due_at=clock.due_at).exists()
    assert Handoff.objects.filter(pk=handoff.pk, status="pending").exists()


def test_closing_resolved_cases_goes_through_the_status_machine(admin_client, admin_user):
    resolved = CaseFactory(status=CaseStatus.RESOLVED, created_at=OPENED, resolved_at=OPENED)
    fresh = CaseFactory(created_at=OPENED)
    response = admin_client.post(_url(Case, "changelist"), {
        "action": "close_resolved", "_selected_action": [resolved.pk, fresh.pk],
    }, follow=True)
    assert response.status_code == 200
    assert "1 case(s) closed; 1 not resolved" in response.content.decode()
    resolved.refresh_from_db()
    fresh.refresh_from_db()
    assert resolved.status == CaseStatus.CLOSED and resolved.closed_at is not None
    assert fresh.status == CaseStatus.NEW
    [event] = CaseEvent.objects.filter(case=resolved)
    assert (event.kind, event.actor, event.data) == (
        EventKind.STATUS, admin_user, {"from": "resolved", "to": "closed", "reason": "Closed in the admin."})
    assert not CaseEvent.objects.filter(case=fresh).exists()


def test_the_close_action_needs_the_change_permission(client):
    viewer = UserFactory(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_case", content_type__app_label="feedback"))
    client.force_login(viewer)
    resolved = CaseFactory(status=CaseStatus.RESOLVED, created_at=OPENED, resolved_at=OPENED)
    page = client.get(_url(Case, "changelist"))
    assert page.status_code == 200 and "close_resolved" not in page.content.decode()
    client.post(_url(Case, "changelist"), {"action": "close_resolved", "_selected_action": [resolved.pk]})
    resolved.refresh_from_db()
    assert resolved.status == CaseStatus.RESOLVED
