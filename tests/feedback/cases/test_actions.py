"""Case actions of the portal: take, assign, priority, pending (clocks pause) and resume."""

from datetime import timedelta

import pytest
from django.utils import timezone

from config.errors import NotAllowed, TransitionError
from feedback.cases import actions
from feedback.cases.models import CaseEvent
from feedback.choices import CaseStatus, EventKind, Priority
from feedback.sla import clocks as sla
from feedback.sla.models import SlaClock
from teams.models import Role
from tests.factories import CaseFactory, MembershipFactory, UserFactory, department

pytestmark = pytest.mark.django_db


@pytest.fixture
def case():
    case = CaseFactory(created_at=timezone.now() - timedelta(hours=1))
    sla.start_clocks(case=case, now=case.created_at)
    return case


@pytest.fixture
def lead():
    return MembershipFactory(user=UserFactory(username="lee", first_name="Lee", last_name="Chen"),
                             department=department("service"), role=Role.LEAD).user


def test_take(case, service_agent):
    service_agent.first_name, service_agent.last_name = "Dana", "Ortiz"
    service_agent.save()
    actions.take_case(case=case, user=service_agent)
    case.refresh_from_db()
    assert case.assignee == service_agent
    event = CaseEvent.objects.get(case=case, kind=EventKind.ASSIGNED)
    assert (event.actor, event.data["assignee_name"]) == (service_agent, "Dana Ortiz")
    with pytest.raises(TransitionError, match="already yours"):
        actions.take_case(case=case, user=service_agent)


def test_a_lead_assigns_an_agent_only_themselves(case, service_agent, lead):
    other = MembershipFactory(user=UserFactory(username="other-agent"), department=department("service")).user
    with pytest.raises(NotAllowed):
        actions.assign_case(case=case, assignee=other, by=service_agent)
    actions.assign_case(case=case, assignee=other, by=lead)
    case.refresh_from_db()
    assert case.assignee == other
    sales = MembershipFactory(user=UserFactory(username="s"), department=department("sales")).user
    with pytest.raises(TransitionError) as refused:
        actions.assign_case(case=case, assignee=sales, by=lead)
    assert "assignee" in refused.value.fields
    actions.assign_case(case=case, assignee=None, by=lead)
    case.refresh_from_db()
    assert case.assignee is None
    assert CaseEvent.objects.filter(case=case, kind=EventKind.ASSIGNED).count() == 2


def test_priority(case, service_agent):
    actions.set_priority(case=case, priority=Priority.URGENT, by=service_agent)
    case.refresh_from_db()
    assert case.priority == Priority.URGENT
    assert CaseEvent.objects.get(case=case, kind=EventKind.PRIORITY).data == {"from": "normal", "to": "urgent"}
    with pytest.raises(TransitionError):
        actions.set_priority(case=case, priority="whenever", by=service_agent)


def test_pending_pauses_the_clocks_and_resume_keeps_what_was_left(case, service_agent):
    now = timezone.now()
    due_before = SlaClock.objects.get(case=case, metric="first_reply").due_at
    actions.set_pending(case=case, by=service_agent, note="Asked for the bag tag number by DM", now=now)
    case.refresh_from_db()
    assert case.status == CaseStatus.PENDING
    clock = SlaClock.objects.get(case=case, metric="first_reply")
    assert clock.paused_at == now and clock.remaining_minutes == pytest.approx((due_before - now).total_seconds() / 60)
    assert CaseEvent.objects.get(case=case, kind=EventKind.STATUS).data["reason"] == "Asked for the bag tag number by DM"
    actions.resume_case(case=case, by=service_agent, now=now + timedelta(hours=2))
    clock.refresh_from_db()
    assert clock.paused_at is None and clock.due_at == due_before + timedelta(hours=2)
    with pytest.raises(TransitionError):
        actions.resume_case(case=case, by=service_agent)


def test_another_department_cannot_act(case, sales_agent):
    with pytest.raises(NotAllowed):
        actions.take_case(case=case, user=sales_agent)
    with pytest.raises(NotAllowed):
        actions.set_pending(case=case, by=sales_agent)
