"""Notifications are taken once (feedback/sla/notifications.py: send_emails): two senders given
the same notifications at once, in real threads on real PostgreSQL, email each exactly once."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail

from feedback.sla import clocks as sla
from feedback.sla import notifications
from feedback.sla.models import Notification
from teams.models import Role
from tests.concurrency import run_at_once
from tests.factories import CaseFactory, MembershipFactory, SlaClockFactory, UserFactory, department

OPENED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.mark.django_db(transaction=True)
def test_two_senders_taking_the_same_notifications_at_once_email_each_once():
    agent = UserFactory(username="agent", email="agent@example.com")
    MembershipFactory(user=agent, department=department("service"), role=Role.AGENT)
    MembershipFactory(user=UserFactory(username="lead", email="lead@example.com"), department=department("service"),
                      role=Role.LEAD)
    for _ in range(10):
        SlaClockFactory(case=CaseFactory(assignee=agent, created_at=OPENED))
    assert sla.escalate_due(now=OPENED + timedelta(hours=3)) == 10  # each warns its assignee and the lead
    ids = list(Notification.objects.order_by("pk").values_list("pk", flat=True))
    assert len(ids) == 20

    for sent_before in (0, 20):  # and once more: the second time, nothing is left to send
        counts, errors = run_at_once(lambda: notifications.send_emails(notification_ids=ids), 2)
        assert errors == []
        assert sum(counts) == 20 - sent_before
        assert len(mail.outbox) == 20
    assert sorted(message.to[0] for message in mail.outbox) == ["agent@example.com"] * 10 + ["lead@example.com"] * 10
    subjects = [message.subject for message in mail.outbox]
    assert len(set(subjects) & {f"[Baton] SLA warning: case #{n.case_id}" for n in Notification.objects.all()}) == 10
    assert not Notification.objects.filter(emailed_at__isnull=True).exists()
