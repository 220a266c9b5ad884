"""What the case locks promise, checked with real threads on real PostgreSQL, released together
by a barrier: one open case per customer and department, one worker per mention, one decision
per handoff. Each test repeats its race a few times: one lost race is enough to fail it."""

from datetime import UTC, datetime
from functools import partial

import pytest
from django.db import transaction

from config.errors import TransitionError
from feedback.cases.journey import accept_handoff, return_handoff
from feedback.cases.models import Case, CaseEvent, Handoff
from feedback.cases.services import Attachment, attach_mentions, hand_off
from feedback.choices import (
    OPEN_STATUSES,
    CaseStatus,
    ClockMetric,
    EventKind,
    HandoffStatus,
    Intent,
    MentionStatus,
    Priority,
)
from feedback.intake.ingest import store_mention
from feedback.intake.models import Mention
from feedback.pipeline import process_mentions
from feedback.sla import clocks as sla
from feedback.sla.models import SlaClock
from teams.models import Role
from tests.concurrency import run_at_once
from tests.factories import CaseFactory, CustomerFactory, MembershipFactory, MentionFactory, UserFactory, department

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
ROUNDS = 5


def _each_at_once(*calls):
    """Run each call in its own thread, all released together. Returns (results, errors)."""
    pending = list(calls)
    return run_at_once(lambda: pending.pop()(), len(calls))


@pytest.mark.django_db(transaction=True)
def test_two_batches_for_one_customer_and_department_open_one_case():
    service = department("service")
    policies = sla.policy_targets()

    def attach(mention, customer):
        def batch():
            with transaction.atomic():
                [item] = attach_mentions([Attachment(mention=mention, customer=customer, department=service,
                                                     priority=Priority.NORMAL, intent=Intent.QUESTION, now=NOW)],
                                         policies=policies)
            return item.case.pk, item.created
        return batch

    for _ in range(ROUNDS):
        customer = CustomerFactory()
        first, second = MentionFactory(customer=customer), MentionFactory(customer=customer)
        results, errors = _each_at_once(attach(first, customer), attach(second, customer))
        assert errors == []
        [case] = Case.objects.filter(customer=customer, department=service, status__in=OPEN_STATUSES)
        assert sorted(results) == [(case.pk, False), (case.pk, True)]  # one opened it, the other joined it
        assert sorted(CaseEvent.objects.filter(case=case).values_list("kind", flat=True)) == sorted(
            [EventKind.CREATED, EventKind.MENTION, EventKind.MENTION])
        assert SlaClock.objects.filter(case=case, metric=ClockMetric.FIRST_REPLY).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_on_one_mention_process_it_once():
    for round_ in range(ROUNDS):
        mention, _ = store_mention(source="x", external_id=f"race-{round_}", posted_at=NOW, enqueue=False,
                                   text="@airline my flight is delayed for the third time, unacceptable",
                                   author_handle=f"racer{round_}")
        worker = partial(process_mentions, mention_ids=[mention.pk])
        results, errors = _each_at_once(worker, worker)
        assert errors == []
        assert sorted(results) == [0, 1]  # the second worker found nothing left to do
        mention = Mention.objects.get(pk=mention.pk)
        assert (mention.status, mention.attempts) == (MentionStatus.PROCESSED, 1)
        assert Case.objects.filter(customer=mention.customer).count() == 1
        assert sorted(CaseEvent.objects.filter(case=mention.case).values_list("kind", flat=True)) == sorted(
            [EventKind.CREATED, EventKind.MENTION])
        assert SlaClock.objects.filter(case=mention.case).count() == 2  # first reply and resolution, once


@pytest.fixture
def people(transactional_db):
    service = MembershipFactory(user=UserFactory(username="svc"), department=department("service")).user
    sales = [MembershipFactory(user=UserFactory(username=f"sales{i}"), department=department("sales"),
                               role=Role.AGENT).user for i in range(2)]
    return service, sales


DECISIONS = {
    "accept": lambda handoff, user: accept_handoff(handoff=handoff, by=user, now=NOW),
    "return": lambda handoff, user: return_handoff(handoff=handoff, by=user, reason="Not for sales.", now=NOW),
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("first", "second"), [("accept", "accept"), ("accept", "return"), ("return", "return")])
def test_two_people_deciding_one_handoff_at_once_one_wins_and_the_other_is_told(people, first, second):
    service_agent, (one, other) = people
    for _ in range(ROUNDS):
        case = CaseFactory(status=CaseStatus.OPEN, created_at=NOW)
        sla.start_clocks(case=case, now=NOW)
        handoff = hand_off(case=case, to_department=department("sales"), note="Wants an upgrade.", by=service_agent,
                           now=NOW)
        results, errors = _each_at_once(partial(DECISIONS[first], handoff, one),
                                        partial(DECISIONS[second], handoff, other))
        assert len(results) == 1 and len(errors) == 1, errors
        [error] = errors
        assert isinstance(error, TransitionError)
        handoff = Handoff.objects.select_related("decided_by").get(pk=handoff.pk)
        decided = "accepted" if handoff.status == HandoffStatus.ACCEPTED else "sent back"
        assert error.message == f"This handoff was already {decided}."
        assert handoff.decided_by in (one, other)
        decisions = CaseEvent.objects.filter(case=case, kind__in=[EventKind.ACCEPTED, EventKind.RETURNED])
        assert [(event.kind, event.actor_id) for event in decisions] == [
            (EventKind.ACCEPTED if handoff.status == HandoffStatus.ACCEPTED else EventKind.RETURNED,
             handoff.decided_by_id)]
        case.refresh_from_db()
        assert case.department.slug == ("sales" if handoff.status == HandoffStatus.ACCEPTED else "service")
        [clock] = SlaClock.objects.filter(case=case, metric=ClockMetric.HANDOFF_ACCEPTANCE)
        assert clock.stopped_at == NOW
