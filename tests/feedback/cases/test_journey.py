"""The journey (feedback/cases/journey.py, problems.py): handoff acceptance and return,
feedback up, customer stage, problems. Every transition and who may make it."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, transaction

from config.errors import NotAllowed, TransitionError
from customers.models import Stage
from feedback.cases import journey_selectors
from feedback.cases.journey import (
    OUTCOME_PURCHASE,
    STAGE_TRANSITIONS,
    accept_handoff,
    acknowledge_feedback,
    move_stage,
    resolve_case,
    return_handoff,
    send_feedback,
)
from feedback.cases.models import CaseEvent, FeedbackNote, Handoff, Problem
from feedback.cases.problems import link_case, resolve_problem
from feedback.cases.selectors import inbox_cases
from feedback.cases.services import add_note, hand_off, record_reply
from feedback.choices import CaseStatus, ClockMetric, EventKind, HandoffStatus, ProblemStatus
from feedback.sla import clocks as sla
from feedback.sla.models import SlaClock
from tests.factories import CaseFactory, CustomerFactory, MembershipFactory, UserFactory, department

pytestmark = pytest.mark.django_db

OPENED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
LATER = OPENED + timedelta(minutes=45)
DECIDED = LATER + timedelta(minutes=20)


def _case(status=CaseStatus.OPEN, slug="service", **kwargs):
    case = CaseFactory(status=status, created_at=OPENED, department=department(slug), **kwargs)
    sla.start_clocks(case=case, now=OPENED)
    return case


def _kinds(case):
    return list(CaseEvent.objects.filter(case=case).values_list("kind", flat=True))


def _acceptance_clock(case):
    return SlaClock.objects.get(case=case, metric=ClockMetric.HANDOFF_ACCEPTANCE)


@pytest.fixture
def after_sales_agent(db):
    return MembershipFactory(user=UserFactory(username="after-sales-agent"), department=department("after-sales")).user


@pytest.fixture
def handed_off(service_agent):
    case = _case()
    handoff = hand_off(case=case, to_department=department("sales"), note="Wants a business upgrade.",
                       by=service_agent, now=LATER)
    return case, handoff


class TestHandoff:
    def test_creates_a_pending_handoff_and_starts_the_acceptance_clock(self, handed_off):
        case, handoff = handed_off
        assert Handoff.objects.get() == handoff
        assert handoff.status == HandoffStatus.PENDING
        clock = _acceptance_clock(case)
        assert (clock.started_at, clock.stopped_at) == (LATER, None)
        assert clock.due_at > LATER

    def test_a_second_handoff_while_one_is_pending_is_refused(self, handed_off, sales_agent):
        case, _ = handed_off
        with pytest.raises(TransitionError, match="waits for Sales to accept"):
            hand_off(case=case, to_department=department("after-sales"), note="Not ours", by=sales_agent)
        with pytest.raises(TransitionError, match="already waits for a department to accept"):
            hand_off(case=case, to_department=department("after-sales"), note="By the system", by=None)
        assert Handoff.objects.count() == 1

    def test_the_database_allows_one_pending_handoff_per_case(self, handed_off):
        case, handoff = handed_off
        with pytest.raises(IntegrityError), transaction.atomic():
            Handoff.objects.create(case=case, from_department=department("sales"),
                                   to_department=department("marketing"), note="again", created_at=LATER)
        Handoff.objects.filter(pk=handoff.pk).update(status=HandoffStatus.ACCEPTED)
        Handoff.objects.create(case=case, from_department=department("sales"), to_department=department("marketing"),
                               note="again", created_at=LATER)  # decided handoffs do not count

    def test_the_system_may_still_record_on_a_pending_case(self, handed_off):
        case, _ = handed_off
        record_reply(case=case, by=None, text="Reply seen on the channel", now=DECIDED)
        assert _kinds(case)[-1] == EventKind.REPLY


class TestAccept:
    def test_accept_stops_the_clock_and_records_an_accepted_event(self, handed_off, sales_agent):
        case, handoff = handed_off
        accepted = accept_handoff(handoff=handoff, by=sales_agent, now=DECIDED)
        assert (accepted.status, accepted.decided_by, accepted.decided_at) == (
            HandoffStatus.ACCEPTED, sales_agent, DECIDED,
        )
        assert _acceptance_clock(case).stopped_at == DECIDED
        event = CaseEvent.objects.filter(case=case).last()
        assert (event.kind, event.actor, event.created_at) == (EventKind.ACCEPTED, sales_agent, DECIDED)
        assert (event.data["handoff_id"], event.data["from"], event.data["to"]) == (handoff.pk, "service", "sales")
        case.refresh_from_db()
        assert case.department.slug == "sales"
        # The customer's clocks kept running all along.
        running = set(SlaClock.objects.filter(case=case, stopped_at__isnull=True).values_list("metric", flat=True))
        assert running == {ClockMetric.FIRST_REPLY, ClockMetric.RESOLUTION}
        add_note(case=case, by=sales_agent, text="Quoted the upgrade.")
        assert case in inbox_cases(user=sales_agent)

    def test_accepting_assigns_the_case_by_the_receiving_departments_strategy(self, handed_off, sales_agent):
        case, handoff = handed_off
        assert case.assignee is None
        accept_handoff(handoff=handoff, by=sales_agent, now=DECIDED)
        case.refresh_from_db()
        assert case.assignee == sales_agent  # the only available sales agent, round robin by default

    def test_only_the_receiving_department_accepts(self, handed_off, service_agent, after_sales_agent):
        _, handoff = handed_off
        for user in (service_agent, after_sales_agent):
            with pytest.raises(NotAllowed, match="Only members of Sales can accept"):
                accept_handoff(handoff=handoff, by=user)
        handoff.refresh_from_db()
        assert handoff.status == HandoffStatus.PENDING

    def test_a_decided_handoff_cannot_be_decided_again(self, handed_off, sales_agent):
        _, handoff = handed_off
        accept_handoff(handoff=handoff, by=sales_agent, now=DECIDED)
        with pytest.raises(TransitionError, match="already accepted"):
            accept_handoff(handoff=handoff, by=sales_agent)
        with pytest.raises(TransitionError, match="already accepted"):
            return_handoff(handoff=handoff, by=sales_agent, reason="Changed our mind")


class TestReturn:
    def test_return_sends_the_case_back_with_the_reason(self, handed_off, sales_agent, service_agent):
        case, handoff = handed_off
        returned = return_handoff(handoff=handoff, by=sales_agent, reason="  No sale here: a refund.  ", now=DECIDED)
        assert (returned.status, returned.reason, returned.decided_by) == (
            HandoffStatus.RETURNED, "No sale here: a refund.", sales_agent,
        )
        case.refresh_from_db()
        assert (case.department.slug, case.assignee) == ("service", None)
        event = CaseEvent.objects.filter(case=case).last()
        assert (event.kind, event.actor, event.data["reason"], event.data["from"], event.data["to"]) == (
            EventKind.RETURNED, sales_agent, "No sale here: a refund.", "service", "sales",
        )
        assert _acceptance_clock(case).stopped_at == DECIDED
        add_note(case=case, by=service_agent, text="Back with us.")
        with pytest.raises(NotAllowed):
            add_note(case=case, by=sales_agent, text="Not ours")
        # It can be handed off again.
        hand_off(case=case, to_department=department("after-sales"), note="Refund, please.", by=service_agent)
        assert Handoff.objects.filter(case=case, status=HandoffStatus.PENDING).count() == 1

    @pytest.mark.parametrize("reason", ["", "  ", None])
    def test_a_reason_is_required(self, handed_off, sales_agent, reason):
        case, handoff = handed_off
        with pytest.raises(TransitionError, match="needs a reason") as refused:
            return_handoff(handoff=handoff, by=sales_agent, reason=reason)
        assert "reason" in refused.value.fields
        handoff.refresh_from_db()
        assert handoff.status == HandoffStatus.PENDING

    def test_only_the_receiving_department_returns(self, handed_off, service_agent):
        _, handoff = handed_off
        with pytest.raises(NotAllowed):
            return_handoff(handoff=handoff, by=service_agent, reason="Take it back")


class TestIncoming:
    def test_incoming_lists_only_the_receiving_departments_pending_handoffs(
        self, handed_off, sales_agent, service_agent, after_sales_agent
    ):
        case, handoff = handed_off
        other = _case()
        to_after_sales = hand_off(case=other, to_department=department("after-sales"), note="Refund", by=service_agent)
        assert list(journey_selectors.incoming_handoffs(user=sales_agent)) == [handoff]
        assert list(journey_selectors.incoming_handoffs(user=after_sales_agent)) == [to_after_sales]
        assert list(journey_selectors.incoming_handoffs(user=service_agent)) == []
        assert list(journey_selectors.sent_handoffs(user=service_agent)) == [handoff, to_after_sales]
        # Until accepted it is not in the receiving inbox, and not in the sender's either.
        assert case not in inbox_cases(user=sales_agent)
        assert case not in inbox_cases(user=service_agent)
        assert journey_selectors.journey_counts(user=sales_agent) == {"incoming": 1, "feedback": 0}
        accept_handoff(handoff=handoff, by=sales_agent)
        assert list(journey_selectors.incoming_handoffs(user=sales_agent)) == []


class TestFeedbackUp:
    def test_feedback_and_acknowledge(self, service_agent, sales_agent):
        case = _case()
        note = send_feedback(case=case, to_department=department("sales"), by=service_agent, now=LATER,
                             text=" The promise in this sale was wrong: no lounge access with this fare. ")
        assert (note.from_department.slug, note.to_department.slug, note.by, note.acknowledged_at) == (
            "service", "sales", service_agent, None,
        )
        assert note.text == "The promise in this sale was wrong: no lounge access with this fare."
        case.refresh_from_db()
        assert case.department.slug == "service"  # the case does not move
        assert journey_selectors.feedback_inbox(user=sales_agent)["waiting"] == [note]
        assert journey_selectors.journey_counts(user=sales_agent)["feedback"] == 1

        acknowledge_feedback(feedback=note, by=sales_agent, now=DECIDED)
        note.refresh_from_db()
        assert (note.acknowledged_by, note.acknowledged_at) == (sales_agent, DECIDED)
        assert _kinds(case) == [EventKind.FEEDBACK, EventKind.ACKNOWLEDGED]
        feedback, acknowledged = CaseEvent.objects.filter(case=case)
        assert (feedback.data["text"], feedback.data["to"], feedback.data["feedback_id"]) == (note.text, "sales", note.pk)
        assert (acknowledged.actor, acknowledged.data["department"]) == (sales_agent, "sales")
        assert journey_selectors.feedback_inbox(user=sales_agent) == {"waiting": [], "acknowledged": [note]}
        with pytest.raises(TransitionError, match="already acknowledged"):
            acknowledge_feedback(feedback=note, by=sales_agent)

    def test_only_the_target_department_acknowledges(self, service_agent, after_sales_agent):
        note = send_feedback(case=_case(), to_department=department("sales"), text="Wrong promise", by=service_agent)
        for user in (service_agent, after_sales_agent):
            with pytest.raises(NotAllowed, match="Only members of Sales"):
                acknowledge_feedback(feedback=note, by=user)

    def test_only_the_department_holding_the_case_sends_feedback(self, sales_agent):
        with pytest.raises(NotAllowed):
            send_feedback(case=_case(), to_department=department("marketing"), text="Hi", by=sales_agent)
        assert not FeedbackNote.objects.exists()

    def test_feedback_needs_text_and_another_department(self, service_agent):
        case = _case()
        with pytest.raises(TransitionError) as refused:
            send_feedback(case=case, to_department=department("sales"), text=" ", by=service_agent)
        assert "text" in refused.value.fields
        with pytest.raises(TransitionError) as refused:
            send_feedback(case=case, to_department=department("service"), text="To us", by=service_agent)
        assert "to_department" in refused.value.fields
        assert not FeedbackNote.objects.exists()


LEGAL_STAGES = sorted((start, to) for start, targets in STAGE_TRANSITIONS.items() for to in targets)
ILLEGAL_STAGES = sorted(
    (start, to) for start in Stage.values for to in Stage.values if (start, to) not in LEGAL_STAGES
)


class TestStage:
    def test_the_rules(self):
        assert set(LEGAL_STAGES) == {
            ("prospect", "lead"), ("prospect", "customer"), ("lead", "customer"),
            ("customer", "former"), ("former", "customer"),
        }

    @pytest.mark.parametrize(("start", "to"), LEGAL_STAGES)
    def test_legal_move_is_on_the_timeline_of_open_cases(self, start, to, service_agent):
        customer = CustomerFactory(stage=start)
        open_case = _case(customer=customer)
        pending_case = _case(CaseStatus.PENDING, slug="sales", customer=customer)
        closed_case = _case(CaseStatus.CLOSED, customer=customer)
        move_stage(customer=customer, to=to, by=service_agent, reason="Confirmed in the CRM", now=LATER)
        customer.refresh_from_db()
        assert customer.stage == to
        for case in (open_case, pending_case):
            event = CaseEvent.objects.get(case=case, kind=EventKind.STAGE)
            assert (event.actor, event.data) == (service_agent, {"from": start, "to": to, "reason": "Confirmed in the CRM"})
        assert not CaseEvent.objects.filter(case=closed_case).exists()

    @pytest.mark.parametrize(("start", "to"), ILLEGAL_STAGES)
    def test_illegal_move_is_refused(self, start, to, service_agent):
        customer = CustomerFactory(stage=start)
        case = _case(customer=customer)
        with pytest.raises(TransitionError, match="cannot become") as refused:
            move_stage(customer=customer, to=to, by=service_agent, reason="Because")
        assert refused.value.fields["to"][0].startswith(f"Allowed from {start}:")
        customer.refresh_from_db()
        assert customer.stage == start
        assert not CaseEvent.objects.filter(case=case).exists()

    def test_needs_a_reason_and_a_department_with_a_case(self, service_agent, sales_agent):
        customer = CustomerFactory(stage=Stage.LEAD)
        _case(customer=customer)
        with pytest.raises(TransitionError, match="needs a reason"):
            move_stage(customer=customer, to=Stage.CUSTOMER, by=service_agent, reason="")
        with pytest.raises(NotAllowed):
            move_stage(customer=customer, to=Stage.CUSTOMER, by=sales_agent, reason="Bought")
        customer.refresh_from_db()
        assert customer.stage == Stage.LEAD

    @pytest.mark.parametrize(("start", "reason"), [
        (Stage.LEAD, "First purchase"), (Stage.PROSPECT, "First purchase"), (Stage.FORMER, "Bought again"),
    ])
    def test_a_purchase_on_a_sales_case_makes_a_customer(self, start, reason, sales_agent):
        customer = CustomerFactory(stage=start)
        case = _case(slug="sales", customer=customer)
        resolve_case(case=case, by=sales_agent, note="Business upgrade sold.", outcome=OUTCOME_PURCHASE, now=LATER)
        customer.refresh_from_db()
        case.refresh_from_db()
        assert (customer.stage, case.status) == (Stage.CUSTOMER, CaseStatus.RESOLVED)
        status, stage = CaseEvent.objects.filter(case=case)
        assert (status.kind, status.data["reason"]) == (EventKind.STATUS, "Purchase. Business upgrade sold.")
        assert (stage.kind, stage.data["from"], stage.data["to"]) == (EventKind.STAGE, start, Stage.CUSTOMER)
        assert stage.data["reason"].startswith(reason)

    def test_a_purchase_by_a_customer_keeps_the_stage(self, sales_agent):
        customer = CustomerFactory(stage=Stage.CUSTOMER)
        case = _case(slug="sales", customer=customer)
        resolve_case(case=case, by=sales_agent, outcome=OUTCOME_PURCHASE, now=LATER)
        assert _kinds(case) == [EventKind.STATUS]

    def test_only_a_sales_case_ends_in_a_purchase(self, service_agent):
        customer = CustomerFactory(stage=Stage.LEAD)
        case = _case(customer=customer)
        with pytest.raises(TransitionError, match="Only a sales case") as refused:
            resolve_case(case=case, by=service_agent, outcome=OUTCOME_PURCHASE)
        assert "outcome" in refused.value.fields
        case.refresh_from_db()
        customer.refresh_from_db()
        assert (case.status, customer.stage) == (CaseStatus.OPEN, Stage.LEAD)

    def test_resolving_without_an_outcome_leaves_the_stage(self, sales_agent):
        customer = CustomerFactory(stage=Stage.LEAD)
        case = _case(slug="sales", customer=customer)
        resolve_case(case=case, by=sales_agent, note="Just a question")
        customer.refresh_from_db()
        assert customer.stage == Stage.LEAD


class TestProblems:
    def test_link_to_a_new_problem_owned_by_the_case_department(self, service_agent):
        case = _case()
        problem = link_case(case=case, by=service_agent, title=" Lost bags in Frankfurt ", description="Belt 4",
                            now=LATER)
        assert (problem.title, problem.owner_department.slug, problem.status, problem.created_by) == (
            "Lost bags in Frankfurt", "service", ProblemStatus.OPEN, service_agent,
        )
        case.refresh_from_db()
        assert case.problem == problem
        event = CaseEvent.objects.get(case=case)
        assert (event.kind, event.data["problem_id"], event.data["owner"]) == (EventKind.PROBLEM, problem.pk, "service")

    def test_link_to_an_open_problem_of_another_department(self, service_agent):
        problem = Problem.objects.create(title="Overbooking", owner_department=department("sales"))
        case = _case()
        assert link_case(case=case, by=service_agent, problem=problem) == problem
        case.refresh_from_db()
        assert case.problem == problem
        with pytest.raises(TransitionError, match="already linked"):
            link_case(case=case, by=service_agent, problem=problem)

    def test_link_refused_for_resolved_problems_non_members_and_no_choice(self, service_agent, sales_agent):
        resolved = Problem.objects.create(title="Old", owner_department=department("sales"),
                                          status=ProblemStatus.RESOLVED)
        case = _case()
        with pytest.raises(TransitionError, match="is resolved"):
            link_case(case=case, by=service_agent, problem=resolved)
        with pytest.raises(TransitionError, match="Choose an open problem"):
            link_case(case=case, by=service_agent)
        with pytest.raises(NotAllowed):
            link_case(case=case, by=sales_agent, title="Not my case")
        case.refresh_from_db()
        assert case.problem is None
        assert Problem.objects.count() == 1

    def _problem_with_cases(self, service_agent):
        problem = Problem.objects.create(title="Belt 4 broken", owner_department=department("service"))
        open_cases = [_case(), _case(CaseStatus.PENDING), _case(CaseStatus.NEW)]
        for case in open_cases:
            link_case(case=case, by=service_agent, problem=problem, now=LATER)
        closed = _case(CaseStatus.CLOSED, problem=problem)
        return problem, open_cases, closed

    def test_resolving_the_problem_resolves_its_linked_open_cases(self, service_agent):
        problem, open_cases, closed = self._problem_with_cases(service_agent)
        counts = resolve_problem(problem=problem, by=service_agent, note="Belt replaced.", resolve_cases=True,
                                 now=DECIDED)
        assert counts == {"resolved": 3, "notified": 0}
        problem.refresh_from_db()
        assert (problem.status, problem.resolved_at, problem.resolution) == (
            ProblemStatus.RESOLVED, DECIDED, "Belt replaced.",
        )
        for case in open_cases:
            case.refresh_from_db()
            assert (case.status, case.resolved_at) == (CaseStatus.RESOLVED, DECIDED)
            fix = CaseEvent.objects.get(case=case, kind=EventKind.PROBLEM_FIX)
            assert (fix.data["note"], fix.data["resolved"]) == ("Belt replaced.", True)
            status = CaseEvent.objects.filter(case=case, kind=EventKind.STATUS).last()
            assert status.data["reason"] == f"Problem #{problem.pk} resolved: Belt replaced."
            assert not SlaClock.objects.filter(case=case, stopped_at__isnull=True).exists()
        assert not CaseEvent.objects.filter(case=closed).exists()
        with pytest.raises(TransitionError, match="already resolved"):
            resolve_problem(problem=problem, by=service_agent, note="Again", resolve_cases=True)

    def test_resolving_without_resolving_cases_notifies_them(self, service_agent):
        problem, open_cases, _ = self._problem_with_cases(service_agent)
        counts = resolve_problem(problem=problem, by=service_agent, note="Belt replaced.", resolve_cases=False)
        assert counts == {"resolved": 0, "notified": 3}
        for case, status in zip(open_cases, [CaseStatus.OPEN, CaseStatus.PENDING, CaseStatus.NEW], strict=True):
            case.refresh_from_db()
            assert case.status == status
            assert CaseEvent.objects.get(case=case, kind=EventKind.PROBLEM_FIX).data["resolved"] is False

    def test_a_case_waiting_for_a_handoff_is_only_notified(self, service_agent):
        problem = Problem.objects.create(title="Belt 4 broken", owner_department=department("service"))
        case = _case()
        link_case(case=case, by=service_agent, problem=problem)
        hand_off(case=case, to_department=department("sales"), note="Upgrade", by=service_agent)
        assert resolve_problem(problem=problem, by=service_agent, note="Fixed", resolve_cases=True) == {
            "resolved": 0, "notified": 1,
        }
        case.refresh_from_db()
        assert case.status == CaseStatus.OPEN

    def test_only_the_owner_department_resolves_and_with_a_note(self, service_agent, sales_agent):
        problem, open_cases, _ = self._problem_with_cases(service_agent)
        with pytest.raises(NotAllowed, match="Only members of Customer service"):
            resolve_problem(problem=problem, by=sales_agent, note="Fixed", resolve_cases=True)
        with pytest.raises(TransitionError, match="needs a note"):
            resolve_problem(problem=problem, by=service_agent, note=" ", resolve_cases=True)
        problem.refresh_from_db()
        assert problem.status == ProblemStatus.OPEN
        assert all(case.status != CaseStatus.RESOLVED for case in open_cases)

    def test_problem_list_counts_linked_cases(self, service_agent):
        problem, _, _ = self._problem_with_cases(service_agent)
        Problem.objects.create(title="Other", owner_department=department("sales"))
        [listed] = journey_selectors.problems(department_id=department("service").pk)
        assert (listed, listed.open_cases, listed.total_cases) == (problem, 3, 4)
        assert len(journey_selectors.problems()) == 2
        assert list(journey_selectors.problems(status=ProblemStatus.RESOLVED)) == []
