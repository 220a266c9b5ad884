"""Notifications that help instead of flooding: grouped by case and kind, per-user e-mail settings
(at once, hourly digest, none; which kinds), and handoffs and feedback telling the receiving department."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from feedback.cases import journey
from feedback.cases import services as case_services
from feedback.choices import CaseStatus
from feedback.sla import notifications
from feedback.sla.models import Notification, NotificationSettings
from feedback.tasks import send_notification_digests
from teams.models import Role
from tests.factories import CaseFactory, MembershipFactory, UserFactory, department

pytestmark = pytest.mark.django_db


def _note(user, case, kind=Notification.Kind.SLA_BREACH, *, minutes_ago=0, text="Case: breached."):
    return Notification.objects.create(user=user, case=case, kind=kind, text=text,
                                       created_at=timezone.now() - timedelta(minutes=minutes_ago))


@pytest.fixture
def lead(client):
    user = MembershipFactory(user=UserFactory(username="svc-lead", email="lead@example.com"),
                             department=department("service"), role=Role.LEAD).user
    client.force_login(user)
    return user


class TestGroups:
    def test_one_line_per_case_and_kind_newest_first(self, client, lead):
        first, second = CaseFactory(), CaseFactory()
        for minutes in (30, 20, 10):
            _note(lead, first, minutes_ago=minutes, text=f"First case, {minutes} min ago")
        _note(lead, first, Notification.Kind.SLA_WARNING, minutes_ago=40)
        _note(lead, second, minutes_ago=5, text="Second case")
        response = client.get(reverse("notifications"))
        groups = response.context["groups"]
        assert [(g["case_id"], g["kind"], g["count"]) for g in groups] == [
            (second.pk, "sla_breach", 1), (first.pk, "sla_breach", 3), (first.pk, "sla_warning", 1)]
        assert groups[1]["text"] == "First case, 10 min ago"  # the latest of the group
        assert "3 notifications" in response.content.decode()

    def test_filters_and_mark_a_group_read(self, client, lead):
        case = CaseFactory()
        for _ in range(3):
            _note(lead, case)
        warning = _note(lead, case, Notification.Kind.SLA_WARNING)
        other = _note(UserFactory(), case)  # someone else's
        response = client.get(reverse("notifications"), {"kind": "sla_warning"})
        assert [g["kind"] for g in response.context["groups"]] == ["sla_warning"]
        response = client.post(reverse("notifications"), {"group": f"{case.pk}:sla_breach", "query": "unread=on"})
        assert response.status_code == 302 and response["Location"].endswith("?unread=on")
        assert not Notification.objects.filter(user=lead, kind="sla_breach", read_at__isnull=True).exists()
        assert Notification.objects.get(pk=warning.pk).read_at is None
        assert Notification.objects.get(pk=other.pk).read_at is None
        unread = client.get(reverse("notifications"), {"unread": "on"}).context["groups"]
        assert [g["kind"] for g in unread] == ["sla_warning"]
        # A made-up group changes nothing and is no error.
        assert client.post(reverse("notifications"), {"group": "x:nonsense"}).status_code == 302

    def test_thirteen_hundred_notifications_are_a_few_lines(self, client, lead, django_assert_max_num_queries):
        cases = [CaseFactory() for _ in range(5)]
        Notification.objects.bulk_create([
            Notification(user=lead, case=cases[i % 5], kind=Notification.Kind.values[i % 4], text=f"n{i}",
                         created_at=timezone.now() - timedelta(minutes=i))
            for i in range(1300)
        ])
        with django_assert_max_num_queries(12):
            response = client.get(reverse("notifications"))
        assert len(response.context["groups"]) == 20  # 5 cases x 4 kinds
        assert sum(g["count"] for g in response.context["groups"]) == 1300


class TestEmails:
    def test_default_is_an_hourly_digest_without_warnings(self, lead):
        case = CaseFactory()
        for _ in range(3):
            _note(lead, case, text="Case: the first reply clock breached.")
        _note(lead, case, Notification.Kind.SLA_WARNING, text="Case: warning.")
        _note(lead, case, minutes_ago=60 * 30, text="Too old for a digest")
        assert send_notification_digests.run() == 1
        [message] = mail.outbox
        assert message.to == ["lead@example.com"]
        assert message.subject == "[Baton] 3 new notifications"
        assert "(3 times)" in message.body and "warning" not in message.body.lower()
        assert reverse("case-detail", args=[case.pk]) in message.body
        # Each notification is e-mailed once.
        assert send_notification_digests.run() == 0
        assert len(mail.outbox) == 1
        assert Notification.objects.get(kind="sla_warning").emailed_at is None

    def test_read_ones_and_people_who_chose_none_get_no_digest(self, lead):
        case = CaseFactory()
        read = _note(lead, case)
        Notification.objects.filter(pk=read.pk).update(read_at=timezone.now())
        assert notifications.send_digests() == 0
        notifications.save_settings(user=lead, email_mode="off", email_kinds=["sla_breach"])
        _note(lead, case)
        assert notifications.send_digests() == 0
        assert mail.outbox == []

    def test_settings_page_saves_away_and_email_choices(self, client, lead):
        page = client.get(reverse("settings"))
        assert page.status_code == 200
        assert 'name="email_mode" value="digest"' in page.content.decode()
        response = client.post(reverse("settings"), {"away": "on", "email_mode": "immediate",
                                                     "email_kinds": ["sla_warning", "handoff"]})
        assert response.status_code == 302
        row = NotificationSettings.objects.get(user=lead)
        assert (row.email_mode, row.email_kinds) == ("immediate", ["sla_warning", "handoff"])
        assert lead.memberships.get().away is True
        assert client.post(reverse("settings"), {"email_mode": "loud"}).status_code == 400
        assert NotificationSettings.objects.get(user=lead).email_mode == "immediate"


class TestDepartmentNotifications:
    def test_a_handoff_tells_the_receiving_department(self, lead, django_capture_on_commit_callbacks, task_queue):
        receiver = MembershipFactory(user=UserFactory(username="as-agent", email="as@example.com"),
                                     department=department("after-sales")).user
        notifications.save_settings(user=receiver, email_mode="immediate", email_kinds=["handoff"])
        quiet = MembershipFactory(department=department("after-sales"), role=Role.LEAD).user
        case = CaseFactory(status=CaseStatus.OPEN)
        with django_capture_on_commit_callbacks(execute=True):
            case_services.hand_off(case=case, to_department=department("after-sales"), note="Refund please.",
                                   by=lead)
        rows = Notification.objects.filter(kind=Notification.Kind.HANDOFF)
        assert set(rows.values_list("user_id", flat=True)) == {receiver.pk, quiet.pk}
        assert "Refund please." in rows.first().text
        assert not rows.filter(user=lead).exists()
        assert [name for name, _ in task_queue.run()] == ["feedback.tasks.send_notification_emails"]
        [message] = mail.outbox  # only the person who asked for handoff e-mails at once
        assert message.to == ["as@example.com"] and f"Case #{case.pk}" in message.subject

    def test_feedback_up_tells_the_target_department(self, lead):
        sales = MembershipFactory(department=department("sales")).user
        case = CaseFactory(status=CaseStatus.OPEN)
        journey.send_feedback(case=case, to_department=department("sales"), text="Promise was wrong.", by=lead)
        [row] = Notification.objects.filter(kind=Notification.Kind.FEEDBACK)
        assert row.user == sales and "Promise was wrong." in row.text


@pytest.mark.parametrize(("debug", "backend"), [("true", "filebased"), ("false", "smtp")])
def test_make_run_writes_emails_to_files_never_to_the_console(tmp_path, debug, backend):
    """`make run` (DEBUG on) must not print e-mails: they go to files under var/mail; production sends by SMTP."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {key: value for key, value in os.environ.items() if key not in ("EMAIL_BACKEND", "BATON_MAIL_DIR")}
    env.update({"DJANGO_DEBUG": debug, "DJANGO_SECRET_KEY": "x" * 50, "BATON_VAR_DIR": str(tmp_path)})
    result = subprocess.run(
        [sys.executable, "-c", "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings');"
         "django.setup(); from django.conf import settings; print(settings.EMAIL_BACKEND, settings.EMAIL_FILE_PATH)"],
        cwd=Path(__file__).resolve().parents[3], env=env, capture_output=True, text=True, timeout=60, check=True)
    chosen, path = result.stdout.split()
    assert chosen == f"django.core.mail.backends.{backend}.EmailBackend"
    assert "console" not in chosen
    assert path == str(tmp_path / "mail")


@pytest.mark.parametrize("kind", Notification.Kind.values)
def test_every_kind_is_emailed_with_its_own_subject_text_and_html(lead, kind):
    case = CaseFactory()
    row = _note(lead, case, kind, text=f"Case #{case.pk}: what happened.")
    assert notifications.send_emails(notification_ids=[row.pk]) == 1
    message = mail.outbox[-1]
    assert message.subject.startswith("[Baton]") and f"#{case.pk}" in message.subject
    assert f"Case #{case.pk}: what happened." in message.body
    assert f"Case #{case.pk}: what happened." in message.alternatives[0][0]
