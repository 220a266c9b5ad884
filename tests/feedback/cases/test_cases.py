"""Case state changes (feedback/cases/services.py): the status machine, replies, handoffs, reopening."""

import re
from datetime import UTC, datetime, timedelta
from itertools import product

import pytest
from django.db import transaction

from config.errors import NotAllowed, TransitionError
from feedback.cases.journey import accept_handoff
from feedback.cases.models import Case, CaseEvent
from feedback.cases.services import (
    REOPEN_WINDOW,
    add_note,
    attach_mention,
    change_status,
    hand_off,
    record_reply,
    resolve,
)
from feedback.choices import CaseStatus, ClockMetric, EventKind, HandoffStatus, Intent, Priority
from feedback.sla import clocks as sla
from feedback.sla.models import SlaClock
from tests.factories import CaseFactory, CustomerFactory, MentionFactory, department

pytestmark = pytest.mark.django_db

OPENED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
LATER = OPENED + timedelta(minutes=45)

ALLOWED = {
    (CaseStatus.NEW, CaseStatus.OPEN),
    (CaseStatus.NEW, CaseStatus.PENDING),
    (CaseStatus.NEW, CaseStatus.RESOLVED),
    (CaseStatus.OPEN, CaseStatus.PENDING),
    (CaseStatus.OPEN, CaseStatus.RESOLVED),
    (CaseStatus.PENDING, CaseStatus.OPEN),
    (CaseStatus.PENDING, CaseStatus.RESOLVED),
    (CaseStatus.RESOLVED, CaseStatus.OPEN),
    (CaseStatus.RESOLVED, CaseStatus.CLOSED),
}
ILLEGAL = sorted(set(product(CaseStatus.values, CaseStatus.values)) - ALLOWED)


def _case(status=CaseStatus.NEW, **kwargs):
    case = CaseFactory(status=status, created_at=OPENED, **kwargs)
    sla.start_clocks(case=case, now=OPENED)
    return case


def _running(case):
    return set(SlaClock.objects.filter(case=case, stopped_at__isnull=True).values_list("metric", flat=True))


def _kinds(case):
    return list(CaseEvent.objects.filter(case=case).values_list("kind", flat=True))


@pytest.mark.parametrize(("start", "to"), sorted(ALLOWED))
def test_allowed_transition(start, to, service_agent):
    case = _case(start)
    change_status(case=case, to=to, by=service_agent, reason="because", now=LATER)
    case.refresh_from_db()
    assert case.status == to
    event = CaseEvent.objects.get(case=case)
    assert (event.kind, event.actor, event.data) == (
        EventKind.STATUS, service_agent, {"from": start, "to": to, "reason": "because"},
    )
    assert case.resolved_at == (LATER if to == CaseStatus.RESOLVED else None)
    assert case.closed_at == (LATER if to == CaseStatus.CLOSED else None)


@pytest.mark.parametrize(("start", "to"), ILLEGAL)
def test_illegal_transition_is_refused_with_a_clear_message(start, to, service_agent):
    case = _case(start)
    expected = f"A {CaseStatus(start).label.lower()} case cannot become {CaseStatus(to).label.lower()}."
    with pytest.raises(TransitionError, match=re.escape(expected)) as refused:
        change_status(case=case, to=to, by=service_agent, now=LATER)
    assert refused.value.code == "illegal_transition"
    assert refused.value.fields["status"][0].startswith(f"Allowed from {start}:")
    case.refresh_from_db()
    assert case.status == start
    assert not CaseEvent.objects.filter(case=case).exists()


def test_transition_table_covers_every_pair():
    assert len(ALLOWED) + len(ILLEGAL) == len(CaseStatus.values) ** 2 == 25


def test_a_closed_case_allows_nothing(service_agent):
    case = _case(CaseStatus.CLOSED)
    with pytest.raises(TransitionError) as refused:
        change_status(case=case, to=CaseStatus.OPEN, by=service_agent)
    assert refused.value.fields == {"status": ["Allowed from closed: none."]}


class TestReply:
    def test_first_reply_stops_the_first_reply_clock_and_opens_the_case(self, service_agent):
        case = _case()
        event = record_reply(case=case, by=service_agent, text="  Sorry Dana, we are on it.  ", now=LATER)
        case.refresh_from_db()
        assert case.status == CaseStatus.OPEN
        assert case.first_replied_at == LATER
        assert (event.kind, event.actor, event.data) == (EventKind.REPLY, service_agent, {"text": "Sorry Dana, we are on it."})
        first_reply = SlaClock.objects.get(case=case, metric=ClockMetric.FIRST_REPLY)
        assert first_reply.stopped_at == LATER
        assert _running(case) == {ClockMetric.RESOLUTION}
        assert _kinds(case) == [EventKind.REPLY, EventKind.STATUS]

    def test_a_second_reply_keeps_the_first_reply_time(self, service_agent):
        case = _case()
        record_reply(case=case, by=service_agent, text="First", now=LATER)
        record_reply(case=case, by=service_agent, text="Second", now=LATER + timedelta(hours=1))
        case.refresh_from_db()
        assert case.first_replied_at == LATER
        assert case.status == CaseStatus.OPEN
        assert _kinds(case) == [EventKind.REPLY, EventKind.STATUS, EventKind.REPLY]

    def test_replying_to_a_pending_case_leaves_it_pending(self, service_agent):
        case = _case(CaseStatus.PENDING)
        record_reply(case=case, by=service_agent, text="Any news on your side?", now=LATER)
        case.refresh_from_db()
        assert case.status == CaseStatus.PENDING

    def test_empty_reply_is_refused(self, service_agent):
        case = _case()
        with pytest.raises(TransitionError) as refused:
            record_reply(case=case, by=service_agent, text="   ")
        assert refused.value.fields == {"text": ["Write the reply."]}
        assert not CaseEvent.objects.filter(case=case).exists()

    def test_closed_case_rejects_replies(self, service_agent):
        case = _case(CaseStatus.CLOSED)
        with pytest.raises(TransitionError, match="This case is closed"):
            record_reply(case=case, by=service_agent, text="Hello again")
        assert not CaseEvent.objects.filter(case=case).exists()

    def test_a_resolved_case_can_still_be_answered(self, service_agent):
        case = _case(CaseStatus.RESOLVED)
        record_reply(case=case, by=service_agent, text="Glad it worked out!", now=LATER)
        case.refresh_from_db()
        assert case.status == CaseStatus.RESOLVED
        assert _kinds(case) == [EventKind.REPLY]


class TestResolve:
    def test_resolve_stops_every_clock_and_sets_resolved_at(self, service_agent):
        case = _case(CaseStatus.OPEN)
        resolve(case=case, by=service_agent, note="Bag delivered to the hotel.", now=LATER)
        case.refresh_from_db()
        assert case.status == CaseStatus.RESOLVED
        assert case.resolved_at == LATER
        assert _running(case) == set()
        assert set(SlaClock.objects.filter(case=case).values_list("stopped_at", flat=True)) == {LATER}
        event = CaseEvent.objects.get(case=case)
        assert event.data == {"from": "open", "to": "resolved", "reason": "Bag delivered to the hotel."}

    def test_closing_a_resolved_case_keeps_resolved_at(self, service_agent):
        case = _case(CaseStatus.OPEN)
        resolve(case=case, by=service_agent, now=LATER)
        change_status(case=case, to=CaseStatus.CLOSED, by=service_agent, now=LATER + timedelta(days=8))
        case.refresh_from_db()
        assert (case.status, case.resolved_at, case.closed_at) == (
            CaseStatus.CLOSED, LATER, LATER + timedelta(days=8),
        )


class TestCustomerWritesAgain:
    def _attach(self, case, now, text="@airline it happened again"):
        mention = MentionFactory(customer=case.customer, text=text)
        with transaction.atomic():
            return attach_mention(
                mention=mention, customer=case.customer, department=case.department,
                priority=Priority.NORMAL, intent=Intent.COMPLAINT, now=now,
            ), mention

    def test_a_recently_resolved_case_is_reopened(self, service_agent):
        case = _case(CaseStatus.OPEN)
        resolve(case=case, by=service_agent, now=LATER)
        again = LATER + REOPEN_WINDOW - timedelta(minutes=1)
        (attached, created), mention = self._attach(case, again)
        assert attached.pk == case.pk
        assert not created
        assert mention.case == case
        case.refresh_from_db()
        assert case.status == CaseStatus.OPEN
        assert case.resolved_at is None
        assert Case.objects.count() == 1
        # The resolution clock runs again from the new message; the first reply was already given.
        clock = SlaClock.objects.get(case=case, stopped_at__isnull=True)
        assert (clock.metric, clock.started_at) == (ClockMetric.RESOLUTION, again)
        status = CaseEvent.objects.filter(case=case, kind=EventKind.STATUS).last()
        assert status.data["from"] == "resolved" and status.data["to"] == "open"
        assert CaseEvent.objects.filter(case=case, kind=EventKind.MENTION, data__mention_id=mention.pk).exists()

    def test_a_case_resolved_long_ago_stays_resolved_and_a_new_case_opens(self, service_agent):
        case = _case(CaseStatus.OPEN)
        resolve(case=case, by=service_agent, now=LATER)
        (attached, created), _ = self._attach(case, LATER + REOPEN_WINDOW + timedelta(minutes=1))
        assert created
        assert attached.pk != case.pk
        case.refresh_from_db()
        assert case.status == CaseStatus.RESOLVED
        assert _running(attached) == {ClockMetric.FIRST_REPLY, ClockMetric.RESOLUTION}

    def test_reopening_by_hand_restarts_the_resolution_clock(self, service_agent):
        case = CaseFactory(created_at=OPENED)
        sla.start_clocks(case=case, now=OPENED)
        resolve(case=case, by=service_agent, now=LATER)
        assert not SlaClock.objects.filter(case=case, stopped_at__isnull=True).exists()
        change_status(case=case, to=CaseStatus.OPEN, by=service_agent, reason="Customer called", now=LATER)
        running = SlaClock.objects.get(case=case, stopped_at__isnull=True)
        assert (running.metric, running.started_at) == (ClockMetric.RESOLUTION, LATER)

    def test_a_closed_case_is_never_reopened(self):
        case = _case(CaseStatus.CLOSED, resolved_at=LATER)
        (attached, created), _ = self._attach(case, LATER + timedelta(hours=1))
        assert created and attached.pk != case.pk

    def test_pending_becomes_open(self):
        case = _case(CaseStatus.PENDING)
        (attached, created), _ = self._attach(case, LATER, text="@airline here is my booking reference")
        assert attached.pk == case.pk and not created
        case.refresh_from_db()
        assert case.status == CaseStatus.OPEN
        assert _kinds(case) == [EventKind.MENTION, EventKind.STATUS]
        assert CaseEvent.objects.get(case=case, kind=EventKind.STATUS).data["reason"] == "The customer wrote again."

    def test_an_open_case_just_collects_the_mention(self):
        case = _case(CaseStatus.OPEN)
        (attached, created), _ = self._attach(case, LATER)
        assert attached.pk == case.pk and not created
        case.refresh_from_db()
        assert case.status == CaseStatus.OPEN
        assert _kinds(case) == [EventKind.MENTION]

    def test_a_new_customer_gets_a_new_case_with_clocks(self):
        customer = CustomerFactory()
        mention = MentionFactory(customer=customer, text="@airline where is my bag")
        with transaction.atomic():
            case, created = attach_mention(
                mention=mention, customer=customer, department=department("service"),
                priority=Priority.HIGH, intent=Intent.COMPLAINT, now=OPENED,
            )
        assert created
        assert (case.status, case.priority, case.intent, case.subject) == (
            CaseStatus.NEW, Priority.HIGH, Intent.COMPLAINT, "@airline where is my bag",
        )
        assert _kinds(case) == [EventKind.CREATED, EventKind.MENTION]
        assert _running(case) == {ClockMetric.FIRST_REPLY, ClockMetric.RESOLUTION}


class TestHandoff:
    def test_handoff_moves_the_case_and_waits_for_acceptance(self, service_agent, sales_agent):
        case = _case(CaseStatus.OPEN, assignee=service_agent)
        handoff = hand_off(case=case, to_department=department("sales"), note="Wants to upgrade to business.",
                           by=service_agent, now=LATER)
        case.refresh_from_db()
        assert case.department.slug == "sales"
        assert case.assignee is None
        assert case.status == CaseStatus.OPEN
        assert (handoff.status, handoff.from_department.slug, handoff.to_department.slug, handoff.by,
                handoff.note, handoff.created_at) == (
            HandoffStatus.PENDING, "service", "sales", service_agent, "Wants to upgrade to business.", LATER,
        )
        event = CaseEvent.objects.get(case=case)
        assert (event.kind, event.actor, event.created_at) == (EventKind.HANDOFF, service_agent, LATER)
        assert event.data == {
            "from": "service", "to": "sales", "from_name": "Customer service", "to_name": "Sales",
            "note": "Wants to upgrade to business.", "handoff_id": handoff.pk,
            # Who had it (the audit log shows the assignee before and after).
            "assignee": {"from": {"id": service_agent.pk, "name": "service-agent"}, "to": {"id": None, "name": ""}},
        }
        # The customer-facing clocks keep running across the handoff; the acceptance clock starts.
        assert _running(case) == {ClockMetric.FIRST_REPLY, ClockMetric.RESOLUTION, ClockMetric.HANDOFF_ACCEPTANCE}
        acceptance = SlaClock.objects.get(case=case, metric=ClockMetric.HANDOFF_ACCEPTANCE)
        assert acceptance.started_at == LATER
        # Nobody works the case until the receiving team accepts it; the sending team no longer may.
        with pytest.raises(TransitionError, match="waits for Sales to accept the handoff"):
            add_note(case=case, by=sales_agent, text="Called the customer.")
        with pytest.raises(NotAllowed):
            add_note(case=case, by=service_agent, text="One more thing")
        accept_handoff(handoff=handoff, by=sales_agent, now=LATER + timedelta(minutes=5))
        add_note(case=case, by=sales_agent, text="Called the customer.")
        with pytest.raises(NotAllowed):
            add_note(case=case, by=service_agent, text="One more thing")

    @pytest.mark.parametrize("note", ["", "   ", None])
    def test_handoff_requires_a_note(self, note, service_agent):
        case = _case(CaseStatus.OPEN)
        with pytest.raises(TransitionError, match="needs a note") as refused:
            hand_off(case=case, to_department=department("sales"), note=note, by=service_agent)
        assert "note" in refused.value.fields
        case.refresh_from_db()
        assert case.department.slug == "service"
        assert not CaseEvent.objects.filter(case=case).exists()

    def test_cannot_hand_off_to_the_same_department(self, service_agent):
        case = _case(CaseStatus.OPEN)
        with pytest.raises(TransitionError, match="already with Customer service") as refused:
            hand_off(case=case, to_department=department("service"), note="Back to us", by=service_agent)
        assert refused.value.fields == {"to_department": ["Choose another department."]}
        assert not CaseEvent.objects.filter(case=case).exists()

    @pytest.mark.parametrize("status", [CaseStatus.RESOLVED, CaseStatus.CLOSED])
    def test_only_open_cases_are_handed_off(self, status, service_agent):
        case = _case(status)
        with pytest.raises(TransitionError, match=f"A {status} case cannot be handed off"):
            hand_off(case=case, to_department=department("sales"), note="Please take it", by=service_agent)


class TestMembership:
    def test_a_non_member_gets_not_allowed_for_every_action(self, sales_agent):
        case = _case(CaseStatus.OPEN)
        actions = [
            lambda: record_reply(case=case, by=sales_agent, text="Hi"),
            lambda: add_note(case=case, by=sales_agent, text="Hi"),
            lambda: hand_off(case=case, to_department=department("sales"), note="Mine now", by=sales_agent),
            lambda: change_status(case=case, to=CaseStatus.PENDING, by=sales_agent),
            lambda: resolve(case=case, by=sales_agent),
        ]
        for action in actions:
            with pytest.raises(NotAllowed, match="not a member of Customer service") as refused:
                action()
            assert refused.value.code == "not_allowed"
        case.refresh_from_db()
        assert (case.status, case.department.slug) == (CaseStatus.OPEN, "service")
        assert not CaseEvent.objects.filter(case=case).exists()

    def test_the_system_acts_without_a_user(self):
        case = _case(CaseStatus.OPEN)
        change_status(case=case, to=CaseStatus.PENDING, by=None, now=LATER)
        case.refresh_from_db()
        assert case.status == CaseStatus.PENDING

    def test_notes_are_recorded_for_members(self, service_agent):
        case = _case(CaseStatus.OPEN)
        note = add_note(case=case, by=service_agent, text=" Customer is a frequent flyer. ", now=LATER)
        assert (note.kind, note.data, note.actor) == (EventKind.NOTE, {"text": "Customer is a frequent flyer."}, service_agent)
        with pytest.raises(TransitionError):
            add_note(case=case, by=service_agent, text="")
