"""Erasing a person also blanks what the replies room and the notifications kept of them: reply texts (sent,
waiting, rejected), the outbox's copies and the notifications about their cases; a reply not sent yet never goes
out. `feedback.linking.services.erase_customer` calls these two services in its transaction."""

from datetime import timedelta

import pytest
from django.utils import timezone

from feedback.cases.services import hand_off
from feedback.choices import Intent
from feedback.replies import services
from feedback.replies.models import OutboxMessage, Reply, ReplyStatus
from feedback.replies.rules import CONSIDERATIONS
from feedback.sla import notifications
from feedback.sla.models import Notification
from teams.models import Role
from tests.factories import CaseFactory, CustomerFactory, MembershipFactory, MentionFactory, UserFactory, department

pytestmark = pytest.mark.django_db
ALL = [key for key, _ in CONSIDERATIONS]


def _case(customer, *, intent=Intent.COMPLAINT, handle="ritaflies"):
    now = timezone.now()
    case = CaseFactory(customer=customer, intent=intent, created_at=now - timedelta(minutes=30))
    MentionFactory(case=case, customer=customer, source="x", author_handle=handle, text="@airline my bag is lost",
                   posted_at=now - timedelta(minutes=30))
    return case


def _reply(case, by, text):
    return services.compose_reply(case=case, by=by, text=text, considerations=ALL)


@pytest.fixture
def world(task_queue, service_agent, django_capture_on_commit_callbacks):
    rita = CustomerFactory(name="Rita Flies")
    old_record = CustomerFactory(name="Rita F.", merged_into=rita)  # merged into Rita: erased with her
    other = CustomerFactory(name="Omar Other")
    lead = MembershipFactory(user=UserFactory(username="svc-lead"), department=department("service"),
                             role=Role.LEAD).user
    MembershipFactory(user=lead, department=department("marketing"), role=Role.LEAD)
    marketer = MembershipFactory(user=UserFactory(username="mia"), department=department("marketing")).user
    case, merged_case, others = _case(rita), _case(old_record, handle="rita_old"), _case(other, handle="omar")
    with django_capture_on_commit_callbacks(execute=True):
        sent = _reply(case, service_agent, "Hi Rita, we found your bag in Lisbon.")
        queued_old = _reply(merged_case, service_agent, "Rita, your refund is on its way.")
        kept = _reply(others, service_agent, "Hi Omar, we are on it.")
    task_queue.run()  # the outbox "sends" the three
    queued_old.refresh_from_db()
    queued_old.status = ReplyStatus.QUEUED  # as if its message were still on its way
    queued_old.save()
    press = _case(rita, intent=Intent.PRESS)
    press.department = department("marketing")
    press.save()
    waiting = _reply(press, marketer, "Rita, our statement follows by DM.")
    rejected = _reply(press, marketer, "Rita Flies: we confirm the date.")
    services.reject_reply(reply=rejected, by=lead, reason="Do not name Rita Flies in public.")
    hand_off(case=case, to_department=department("sales"), note="Rita wants a refund for seat 12A.", by=service_agent)
    return {"rita": rita, "other": other, "sent": sent, "queued_old": queued_old, "kept": kept, "waiting": waiting,
            "rejected": rejected, "cases": [case, merged_case, press], "others": others}


def test_the_replies_and_outbox_of_the_person_are_blanked_and_unsent_ones_stopped(world, task_queue):
    counts = services.erase_customer_data(customer=world["rita"])
    assert counts == {"replies": 4, "replies_stopped": 2, "rejection_reasons": 1, "outbox_messages": 2}
    replies = {reply.pk: reply for reply in Reply.objects.all()}
    for name in ("sent", "queued_old", "waiting", "rejected"):
        reply = replies[world[name].pk]
        assert (reply.text, reply.original_text, reply.last_error) == ("[erased]", "", ""), name
    assert replies[world["sent"].pk].status == ReplyStatus.SENT
    assert replies[world["rejected"].pk].rejection_reason == "[erased]"
    for name in ("queued_old", "waiting"):
        assert replies[world[name].pk].status == ReplyStatus.REJECTED
        assert replies[world[name].pk].rejection_reason == "Not sent: the customer's personal data was erased."
    erased_outbox = OutboxMessage.objects.filter(case__in=world["cases"])
    assert {(row.text, row.to_handle, row.in_reply_to) for row in erased_outbox} == {("[erased]", "", "")}
    # Another person's reply and outbox copy stay as they were.
    assert replies[world["kept"].pk].text == "Hi Omar, we are on it."
    assert OutboxMessage.objects.get(case=world["others"]).to_handle == "omar"
    # The stopped reply's message, if it was still on the broker, sends nothing.
    assert services.deliver_reply(reply_id=world["queued_old"].pk) == "skipped"
    assert OutboxMessage.objects.filter(reply=world["queued_old"]).count() == 1
    assert all("Rita" not in reply.text for reply in replies.values() if reply.case.customer_id != world["other"].pk)


def test_the_notifications_about_the_persons_cases_keep_only_the_case_number(world):
    about_rita = Notification.objects.filter(case__in=world["cases"])
    assert about_rita.filter(text__contains="Rita").exists()  # the approval requests and the handoff quote her
    theirs = Notification.objects.create(user=UserFactory(), case=world["others"], kind=Notification.Kind.SLA_BREACH,
                                         text="Case: Omar's flight breached.", created_at=timezone.now())
    assert notifications.erase_customer_data(customer=world["rita"]) == about_rita.count()
    assert {(row.case_id, row.text) for row in about_rita} == {
        (row.case_id, f"Case #{row.case_id}: [erased]") for row in about_rita}
    theirs.refresh_from_db()
    assert theirs.text == "Case: Omar's flight breached."


def test_a_stopped_reply_is_not_queued_again_by_the_recovery(world):
    services.erase_customer_data(customer=world["rita"])
    later = timezone.now() + timedelta(days=1)
    assert world["queued_old"].pk not in services.stuck_reply_ids(older_than=later)
