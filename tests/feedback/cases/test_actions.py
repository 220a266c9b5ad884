"""The everyday case actions (feedback/cases/actions.py): take, assign, priority, pending (clocks pause) and
resume, mark spam, and their bulk form."""

from datetime import timedelta

import pytest
from django.utils import timezone

from config.errors import NotAllowed, TransitionError
from feedback.cases import actions
from feedback.cases import services as case_services
from feedback.cases.models import Case, CaseEvent, Handoff
from feedback.choices import CaseStatus, EventKind, HandoffStatus, Intent, Priority
from feedback.intake.models import Mention
from feedback.sla import clocks as sla
from feedback.sla.models import SlaClock
from teams.models import Role
from tests.factories import CaseFactory, MembershipFactory, MentionFactory, UserFactory, department

pytestmark = pytest.mark.django_db


@pytest.fixture
def case():
    now = timezone.now()
    case = CaseFactory(created_at=now - timedelta(minutes=30), status=CaseStatus.OPEN)
    MentionFactory(case=case, customer=case.customer, text="@airline where is my bag")
    sla.start_clocks(case=case, now=case.created_at)
    return case


@pytest.fixture
def lead():
    return MembershipFactory(user=UserFactory(username="lee", first_name="Lee", last_name="Chen"),
                             department=department("service"), role=Role.LEAD).user


def test_take(case, service_agent):
    service_agent.first_name, service_agent.last_name = "Dana", "Ortiz"
    service_agent.save()
    actions.take_case(case=case, by=service_agent)
    case.refresh_from_db()
    assert case.assignee == service_agent
    event = CaseEvent.objects.get(case=case, kind=EventKind.ASSIGNED)
    assert (event.actor, event.data["to"]["name"]) == (service_agent, "Dana Ortiz")
    actions.take_case(case=case, by=service_agent)  # already theirs: nothing changes, no second entry
    assert CaseEvent.objects.filter(case=case, kind=EventKind.ASSIGNED).count() == 1


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
    actions.set_pending(case=case, by=service_agent, reason="Asked for the bag tag number by DM", now=now)
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
        actions.take_case(case=case, by=sales_agent)
    with pytest.raises(NotAllowed):
        actions.set_pending(case=case, by=sales_agent)


def _events(case, kind):
    return list(CaseEvent.objects.filter(case=case, kind=kind).order_by("id"))


class TestTakeAndAssign:
    def test_take_makes_me_the_assignee_with_a_timeline_entry_naming_me(self, case, service_agent):
        service_agent.first_name, service_agent.last_name = "Priya", "Nair"
        service_agent.save()
        actions.take_case(case=case, by=service_agent)
        case.refresh_from_db()
        assert case.assignee == service_agent
        [event] = _events(case, EventKind.ASSIGNED)
        assert event.actor == service_agent
        assert event.data["to"] == {"id": service_agent.pk, "name": "Priya Nair"}
        # Taking it again changes nothing and writes nothing.
        actions.take_case(case=case, by=service_agent)
        assert len(_events(case, EventKind.ASSIGNED)) == 1

    def test_assign_to_a_colleague_and_unassign(self, case, lead):
        colleague = MembershipFactory(department=department("service")).user
        actions.assign_case(case=case, assignee=colleague, by=lead)
        assert Case.objects.get(pk=case.pk).assignee == colleague
        actions.assign_case(case=case, assignee=None, by=lead)
        assert Case.objects.get(pk=case.pk).assignee is None
        assert [e.data["to"]["id"] for e in _events(case, EventKind.ASSIGNED)] == [colleague.pk, None]

    def test_only_a_member_of_the_cases_department_can_be_the_assignee(self, case, lead, sales_agent):
        with pytest.raises(TransitionError) as refused:
            actions.assign_case(case=case, assignee=sales_agent, by=lead)
        assert "assignee" in refused.value.fields
        assert Case.objects.get(pk=case.pk).assignee is None

    def test_another_department_may_not_act(self, case, sales_agent):
        with pytest.raises(NotAllowed):
            actions.take_case(case=case, by=sales_agent)

    def test_a_resolved_case_is_not_assigned(self, case, service_agent):
        case_services.resolve(case=case, by=service_agent)
        with pytest.raises(TransitionError):
            actions.take_case(case=case, by=service_agent)


class TestPriorityPendingResume:
    def test_priority_change_is_on_the_timeline(self, case, service_agent):
        actions.set_priority(case=case, priority=Priority.URGENT, by=service_agent)
        assert Case.objects.get(pk=case.pk).priority == Priority.URGENT
        [event] = _events(case, EventKind.PRIORITY)
        assert (event.data["from"], event.data["to"]) == (Priority.NORMAL, Priority.URGENT)

    def test_unknown_priority_is_a_field_error(self, case, service_agent):
        with pytest.raises(TransitionError) as refused:
            actions.set_priority(case=case, priority="whenever", by=service_agent)
        assert "priority" in refused.value.fields

    def test_pending_pauses_the_clocks_and_resume_restarts_them(self, case, service_agent):
        assert Case.objects.get(pk=case.pk).next_due_at is not None
        actions.set_pending(case=case, by=service_agent, reason="Asked for the booking reference.")
        case.refresh_from_db()
        assert case.status == CaseStatus.PENDING
        assert case.next_due_at is None  # nothing counts down while the customer is asked
        assert not SlaClock.objects.filter(case=case, stopped_at__isnull=True, paused_at__isnull=True).exists()
        with pytest.raises(TransitionError):
            actions.set_pending(case=case, by=service_agent)
        later = timezone.now() + timedelta(hours=1)
        actions.resume_case(case=case, by=service_agent, now=later)
        case.refresh_from_db()
        assert case.status == CaseStatus.OPEN
        assert case.next_due_at is not None and case.next_due_at > later
        statuses = [(e.data["from"], e.data["to"]) for e in _events(case, EventKind.STATUS)]
        assert statuses[-2:] == [("open", "pending"), ("pending", "open")]

    def test_only_a_pending_case_resumes(self, case, service_agent):
        with pytest.raises(TransitionError):
            actions.resume_case(case=case, by=service_agent)


class TestSpam:
    def test_mark_spam_labels_the_post_tags_and_resolves(self, case, service_agent):
        actions.mark_spam(case=case, by=service_agent)
        case.refresh_from_db()
        assert case.status == CaseStatus.RESOLVED
        assert "spam" in case.tags and case.intent == Intent.SPAM_TROLL
        mention = Mention.objects.get(case=case)
        assert mention.is_spam is True and "is_spam" in mention.corrected_labels


class TestBulk:
    def test_each_case_is_done_or_refused_on_its_own(self, service_agent):
        mine = [CaseFactory(status=CaseStatus.OPEN) for _ in range(3)]
        other = CaseFactory(department=department("sales"), status=CaseStatus.OPEN)
        closed = CaseFactory(status=CaseStatus.CLOSED)
        result = actions.bulk_apply(case_ids=[c.pk for c in mine] + [other.pk, closed.pk], action="take",
                                    by=service_agent)
        assert result.done == sorted(c.pk for c in mine)
        assert set(result.failed) == {other.pk, closed.pk}
        assert Case.objects.get(pk=other.pk).assignee is None
        assert all(Case.objects.get(pk=c.pk).assignee == service_agent for c in mine)

    def test_bulk_handoff_needs_a_note_and_moves_every_case(self, service_agent):
        cases = [CaseFactory(status=CaseStatus.OPEN) for _ in range(2)]
        with pytest.raises(TransitionError):
            actions.bulk_apply(case_ids=[c.pk for c in cases], action="handoff", by=service_agent,
                               to_department_id=department("after-sales").pk, note=" ")
        result = actions.bulk_apply(case_ids=[c.pk for c in cases], action="handoff", by=service_agent,
                                    to_department_id=department("after-sales").pk, note="Refund requests.")
        assert len(result.done) == 2
        assert Handoff.objects.filter(status=HandoffStatus.PENDING, to_department=department("after-sales")).count() == 2

    def test_bulk_priority_and_resolve(self, service_agent):
        cases = [CaseFactory(status=CaseStatus.OPEN) for _ in range(2)]
        ids = [c.pk for c in cases]
        actions.bulk_apply(case_ids=ids, action="priority", priority=Priority.HIGH, by=service_agent)
        actions.bulk_apply(case_ids=ids, action="resolve", note="Answered.", by=service_agent)
        assert set(Case.objects.filter(pk__in=ids).values_list("priority", "status")) == {
            (Priority.HIGH, CaseStatus.RESOLVED)}

    def test_unknown_action_or_assignee(self, service_agent):
        case = CaseFactory(status=CaseStatus.OPEN)
        with pytest.raises(TransitionError):
            actions.bulk_apply(case_ids=[case.pk], action="explode", by=service_agent)
        with pytest.raises(TransitionError):
            actions.bulk_apply(case_ids=[case.pk], action="assign", assignee_id=10**9, by=service_agent)
        stranger = UserFactory()
        result = actions.bulk_apply(case_ids=[case.pk], action="assign", assignee_id=stranger.pk, by=service_agent)
        assert case.pk in result.failed
