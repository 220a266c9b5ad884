"""SLA clocks per metric, pause and resume, business hours, escalation levels 3 and 4, and the
notifications they send (feedback/sla/clocks.py, feedback/cases/services.py, feedback/sla/notifications.py)."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from feedback.cases.journey import accept_handoff
from feedback.cases.models import Case
from feedback.cases.services import attach_mention, change_status, hand_off, record_reply, resolve
from feedback.choices import CaseStatus, ClockMetric, Intent, Priority
from feedback.sla import clocks as sla
from feedback.sla import notifications
from feedback.sla.models import Escalation, Notification, SlaClock, SlaPolicy
from feedback.tasks import send_notification_emails
from teams.models import BusinessSchedule, ClosedDay, Role
from tests.concurrency import run_at_once
from tests.factories import (
    BoardSeatFactory,
    CaseFactory,
    MembershipFactory,
    MentionFactory,
    SlaClockFactory,
    UserFactory,
    department,
)

# Monday 2026-03-02, 10:00 in Berlin (09:00 UTC).
MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)


def _clock(case, metric):
    return SlaClock.objects.get(case=case, metric=metric, stopped_at__isnull=True)


def _policy(slug="service", priority=Priority.NORMAL, **fields):
    SlaPolicy.objects.filter(department=department(slug), priority=priority).update(**fields)


def _attach(case, now):
    mention = MentionFactory(customer=case.customer)
    with transaction.atomic():
        return attach_mention(mention=mention, customer=case.customer, department=case.department,
                              priority=case.priority, intent=Intent.COMPLAINT, now=now)


def _new_case(now=MONDAY, **kwargs):
    case = CaseFactory(created_at=now, **kwargs)
    sla.start_clocks(case=case, now=now)
    return case


@pytest.mark.django_db
class TestMetrics:
    def test_first_reply_and_resolution_start_with_the_case_from_the_policy(self):
        _policy(first_reply_minutes=30, resolution_minutes=600, warn_share=0.5)
        case = _new_case()
        first = _clock(case, ClockMetric.FIRST_REPLY)
        assert (first.due_at, first.warn_at, first.target_minutes, first.warn_share) == (
            MONDAY + timedelta(minutes=30), MONDAY + timedelta(minutes=15), 30, 0.5)
        assert (first.next_level, first.next_escalation_at) == (1, first.warn_at)
        assert _clock(case, ClockMetric.RESOLUTION).due_at == MONDAY + timedelta(minutes=600)

    def test_a_policy_change_applies_to_new_clocks_only(self):
        case = _new_case()
        before = _clock(case, ClockMetric.FIRST_REPLY).due_at
        _policy(first_reply_minutes=5)
        sla.escalate_due(now=MONDAY + H)  # nothing recomputes a running clock
        assert _clock(case, ClockMetric.FIRST_REPLY).due_at == before
        assert _clock(_new_case(), ClockMetric.FIRST_REPLY).due_at == MONDAY + timedelta(minutes=5)

    def test_first_reply_is_met_by_the_first_public_reply(self, service_agent):
        case = _new_case()
        record_reply(case=case, by=service_agent, text="On it", now=MONDAY + H)
        first = SlaClock.objects.get(case=case, metric=ClockMetric.FIRST_REPLY)
        assert first.stopped_at == MONDAY + H
        assert sla.escalate_due(now=MONDAY + 10 * H) == 0

    def test_next_reply_starts_when_the_customer_writes_after_a_reply_and_stops_at_the_next_reply(
        self, service_agent
    ):
        _policy(next_reply_minutes=90)
        case = _new_case()
        _attach(case, MONDAY + 30 * timedelta(minutes=1))  # before any reply: no next-reply clock
        assert not SlaClock.objects.filter(case=case, metric=ClockMetric.NEXT_REPLY).exists()
        record_reply(case=case, by=service_agent, text="Looking into it", now=MONDAY + H)
        _attach(case, MONDAY + 2 * H)
        _attach(case, MONDAY + 3 * H)  # a second message keeps the running clock
        clock = _clock(case, ClockMetric.NEXT_REPLY)
        assert (clock.started_at, clock.due_at) == (MONDAY + 2 * H, MONDAY + 2 * H + timedelta(minutes=90))
        assert SlaClock.objects.filter(case=case, metric=ClockMetric.NEXT_REPLY).count() == 1
        record_reply(case=case, by=service_agent, text="Fixed", now=MONDAY + 4 * H)
        assert not SlaClock.objects.filter(case=case, metric=ClockMetric.NEXT_REPLY, stopped_at__isnull=True).exists()

    def test_a_reopened_case_that_had_a_reply_waits_for_a_next_reply(self, service_agent):
        case = _new_case()
        record_reply(case=case, by=service_agent, text="Done", now=MONDAY + H)
        resolve(case=case, by=service_agent, now=MONDAY + 2 * H)
        _attach(case, MONDAY + 3 * H)
        running = set(SlaClock.objects.filter(case=case, stopped_at__isnull=True).values_list("metric", flat=True))
        assert running == {ClockMetric.RESOLUTION, ClockMetric.NEXT_REPLY}

    def test_resolving_meets_every_customer_clock(self, service_agent):
        case = _new_case()
        record_reply(case=case, by=service_agent, text="Hi", now=MONDAY + H)
        _attach(case, MONDAY + 2 * H)
        resolve(case=case, by=service_agent, now=MONDAY + 3 * H)
        assert not SlaClock.objects.filter(case=case, stopped_at__isnull=True).exists()

    def test_handoff_acceptance_uses_the_receiving_departments_policy(self, service_agent, sales_agent):
        _policy("service", handoff_acceptance_minutes=999)
        _policy("sales", handoff_acceptance_minutes=20)
        case = _new_case(status=CaseStatus.OPEN)
        handoff = hand_off(case=case, to_department=department("sales"), note="A sale", by=service_agent,
                           now=MONDAY + H)
        clock = _clock(case, ClockMetric.HANDOFF_ACCEPTANCE)
        assert (clock.due_at, clock.department.slug, clock.target_minutes) == (
            MONDAY + H + timedelta(minutes=20), "sales", 20)
        accept_handoff(handoff=handoff, by=sales_agent, now=MONDAY + H + timedelta(minutes=5))
        assert SlaClock.objects.get(case=case, metric=ClockMetric.HANDOFF_ACCEPTANCE).stopped_at == MONDAY + H + timedelta(
            minutes=5)

    def test_start_clocks_directly_for_handoff_acceptance(self):
        case = CaseFactory(department=department("legal"), priority=Priority.URGENT, created_at=MONDAY)
        [clock] = sla.start_clocks(case=case, now=MONDAY, metrics=[ClockMetric.HANDOFF_ACCEPTANCE])
        assert clock.due_at == MONDAY + timedelta(minutes=30)  # seeded urgent acceptance target
        assert sla.start_clocks(case=case, now=MONDAY, metrics=[ClockMetric.HANDOFF_ACCEPTANCE]) == []
        assert sla.stop_clocks(case=case, metrics=[ClockMetric.HANDOFF_ACCEPTANCE], now=MONDAY + H) == 1


@pytest.mark.django_db
class TestPause:
    def test_pending_pauses_and_the_customer_writing_resumes_with_the_time_left(self, service_agent):
        _policy(first_reply_minutes=120, resolution_minutes=600)
        case = _new_case(status=CaseStatus.OPEN)
        change_status(case=case, to=CaseStatus.PENDING, by=service_agent, now=MONDAY + H)
        first = _clock(case, ClockMetric.FIRST_REPLY)
        assert (first.paused_at, first.remaining_minutes) == (MONDAY + H, 60)
        # paused clocks never escalate, however long the customer takes
        assert sla.escalate_due(now=MONDAY + 48 * H) == 0
        _attach(case, MONDAY + 50 * H)
        case.refresh_from_db()
        assert case.status == CaseStatus.OPEN
        first = _clock(case, ClockMetric.FIRST_REPLY)
        assert first.paused_at is None
        assert first.due_at == MONDAY + 51 * H  # the 60 minutes left count from the customer's message
        assert first.next_escalation_at == first.warn_at == MONDAY + 50 * H + timedelta(minutes=30)
        resolution = _clock(case, ClockMetric.RESOLUTION)
        assert resolution.due_at == MONDAY + timedelta(minutes=600) + 49 * H  # time in pending excluded

    def test_moving_out_of_pending_by_hand_resumes(self, service_agent):
        case = _new_case(status=CaseStatus.OPEN)
        change_status(case=case, to=CaseStatus.PENDING, by=service_agent, now=MONDAY + H)
        change_status(case=case, to=CaseStatus.OPEN, by=service_agent, now=MONDAY + 3 * H)
        assert _clock(case, ClockMetric.FIRST_REPLY).due_at == MONDAY + 6 * H  # 4 h target + 2 h paused

    def test_resolving_a_pending_case_meets_the_clocks_on_time(self, service_agent):
        case = _new_case(status=CaseStatus.OPEN)
        change_status(case=case, to=CaseStatus.PENDING, by=service_agent, now=MONDAY + H)
        resolve(case=case, by=service_agent, now=MONDAY + 100 * H)
        resolution = SlaClock.objects.get(case=case, metric=ClockMetric.RESOLUTION)
        assert resolution.stopped_at <= resolution.due_at

    def test_a_breached_clock_keeps_its_overdue_time_and_its_next_level(self, service_agent):
        case = _new_case(status=CaseStatus.OPEN)  # first reply: 4 h
        sla.escalate_due(now=MONDAY + 5 * H)  # breach
        change_status(case=case, to=CaseStatus.PENDING, by=service_agent, now=MONDAY + 5 * H)
        assert _clock(case, ClockMetric.FIRST_REPLY).remaining_minutes == -60
        change_status(case=case, to=CaseStatus.OPEN, by=service_agent, now=MONDAY + 10 * H)
        first = _clock(case, ClockMetric.FIRST_REPLY)
        assert first.due_at == MONDAY + 9 * H
        assert (first.next_level, first.next_escalation_at) == (3, MONDAY + 11 * H)  # due + 2 h
        assert sla.escalate_due(now=MONDAY + 11 * H - timedelta(seconds=1)) == 0
        assert sla.escalate_due(now=MONDAY + 11 * H) == 1

    def test_handoff_acceptance_does_not_pause(self, service_agent):
        case = _new_case(status=CaseStatus.OPEN)
        sla.start_clocks(case=case, now=MONDAY, metrics=[ClockMetric.HANDOFF_ACCEPTANCE])
        change_status(case=case, to=CaseStatus.PENDING, by=service_agent, now=MONDAY + H)
        assert _clock(case, ClockMetric.HANDOFF_ACCEPTANCE).paused_at is None


@pytest.mark.django_db
class TestBusinessHoursClocks:
    def _berlin(self, slug="service", **fields):
        schedule = BusinessSchedule.objects.create(department=department(slug), time_zone="Europe/Berlin",
                                                   holiday_country="DE", **fields)
        _policy(slug, business_hours=True, first_reply_minutes=240, resolution_minutes=16 * 60)
        return schedule

    def test_due_times_count_only_open_hours(self):
        self._berlin()
        friday = datetime(2026, 3, 6, 14, 0, tzinfo=UTC)  # 15:00 in Berlin
        case = _new_case(now=friday)
        first = _clock(case, ClockMetric.FIRST_REPLY)
        assert first.business_hours
        assert first.due_at == datetime(2026, 3, 9, 10, 0, tzinfo=UTC)  # Monday 11:00 Berlin
        assert first.warn_at == datetime(2026, 3, 9, 9, 0, tzinfo=UTC)  # 3 h of 4: Monday 10:00
        assert _clock(case, ClockMetric.RESOLUTION).due_at == datetime(2026, 3, 10, 14, 0, tzinfo=UTC)

    def test_public_holidays_and_closed_days(self):
        schedule = self._berlin()
        ClosedDay.objects.create(schedule=schedule, date=date(2026, 4, 7), name="Team day")
        thursday = datetime(2026, 4, 2, 14, 0, tzinfo=UTC)  # 16:00 Berlin; Good Friday, Easter Monday closed
        first = _clock(_new_case(now=thursday), ClockMetric.FIRST_REPLY)
        assert first.due_at == datetime(2026, 4, 8, 10, 0, tzinfo=UTC)  # 1 h Thursday, 3 h Wednesday: 12:00 CEST

    def test_pause_keeps_business_minutes(self, service_agent):
        self._berlin()
        case = _new_case(status=CaseStatus.OPEN)  # Monday 10:00 Berlin, due 14:00
        change_status(case=case, to=CaseStatus.PENDING, by=service_agent, now=MONDAY + H)  # 11:00
        assert _clock(case, ClockMetric.FIRST_REPLY).remaining_minutes == 180
        saturday = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)
        change_status(case=case, to=CaseStatus.OPEN, by=service_agent, now=saturday)
        assert _clock(case, ClockMetric.FIRST_REPLY).due_at == datetime(2026, 3, 9, 11, 0, tzinfo=UTC)

    def test_level_3_is_half_the_target_again_in_business_hours(self):
        self._berlin()
        friday = datetime(2026, 3, 6, 12, 0, tzinfo=UTC)  # 13:00 Berlin, due 17:00 Berlin
        case = _new_case(now=friday)
        assert sla.escalate_due(now=datetime(2026, 3, 6, 16, 0, tzinfo=UTC)) == 1  # breach at 17:00
        first = SlaClock.objects.get(case=case, metric=ClockMetric.FIRST_REPLY)
        assert first.next_level == 3
        assert first.next_escalation_at == datetime(2026, 3, 9, 10, 0, tzinfo=UTC)  # Monday 11:00 Berlin

    def test_a_schedule_is_validated(self):
        from django.core.exceptions import ValidationError

        bad = BusinessSchedule(department=department("hr"), time_zone="Mars/Olympus", week={"mon": [["9", "8"]]},
                               holiday_country="XX")
        with pytest.raises(ValidationError) as error:
            bad.full_clean()
        assert set(error.value.message_dict) == {"time_zone", "week", "holiday_country"}


def _staff():
    """A service lead and head, an assignee and a board member, each with an email address."""
    people = {}
    for name, role in (("lead", Role.LEAD), ("head", Role.HEAD), ("agent", Role.AGENT)):
        user = UserFactory(username=f"svc-{name}", email=f"{name}@example.com")
        MembershipFactory(user=user, department=department("service"), role=role)
        people[name] = user
    people["board"] = BoardSeatFactory(user=UserFactory(username="chair", email="chair@example.com")).user
    MembershipFactory(user=UserFactory(username="sales-lead", email="s@example.com"), department=department("sales"),
                      role=Role.LEAD)
    return people


def _recipients(level):
    return sorted(Notification.objects.filter(escalation__level=level).values_list("user__username", flat=True))


@pytest.mark.django_db
class TestLevelsAndNotifications:
    def test_every_level_once_with_the_right_people(self, django_capture_on_commit_callbacks, task_queue):
        people = _staff()
        for person in people.values():  # e-mails at once, every kind (the default is an hourly digest)
            notifications.save_settings(user=person, email_mode="immediate", email_kinds=Notification.Kind.values)
        case = CaseFactory(priority=Priority.HIGH, assignee=people["agent"], created_at=MONDAY)
        clock = SlaClockFactory(case=case)  # warn +3 h, due +4 h, level 3 at +6 h
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            assert sla.escalate_due(now=MONDAY + 3 * H) == 1
        assert len(callbacks) == 2  # the notification emails, and the board's rollup refresh (feedback.board.upkeep)
        assert _recipients(1) == ["svc-agent", "svc-lead"]
        with django_capture_on_commit_callbacks(execute=True):
            assert sla.escalate_due(now=MONDAY + 4 * H) == 1
        assert _recipients(2) == ["svc-lead"]
        case.refresh_from_db()
        assert (case.priority, case.escalation_level) == (Priority.URGENT, 2)  # raised one step, once
        with django_capture_on_commit_callbacks(execute=True):
            assert sla.escalate_due(now=MONDAY + 6 * H) == 1
            assert sla.escalate_due(now=MONDAY + 60 * H) == 0
        assert _recipients(3) == ["svc-head"]
        assert _recipients(4) == []  # the case was high, not urgent, when the clock breached
        case.refresh_from_db()
        assert (case.priority, case.escalation_level) == (Priority.URGENT, 3)
        assert sorted(Escalation.objects.filter(clock=clock).values_list("level", flat=True)) == [1, 2, 3]
        assert SlaClock.objects.get(pk=clock.pk).escalation_level == 3
        # one email per notification, sent by the task enqueued after each commit
        assert [name for name, _ in task_queue.run()] == ["feedback.tasks.send_notification_emails"] * 3
        assert sorted(message.to[0] for message in mail.outbox) == sorted(
            ["agent@example.com", "lead@example.com", "lead@example.com", "head@example.com"])
        assert mail.outbox[0].subject == f"[Baton] SLA warning: case #{case.pk}"
        assert reverse("case-detail", args=[case.pk]) in mail.outbox[0].body
        assert mail.outbox[0].alternatives[0][1] == "text/html"

    def test_an_urgent_case_breaching_tells_the_board(self):
        _staff()
        SlaClockFactory(case=CaseFactory(priority=Priority.URGENT, created_at=MONDAY))
        assert sla.escalate_due(now=MONDAY + 5 * H) == 2  # breach and board at once (warning skipped)
        assert _recipients(2) == ["svc-lead"]
        assert _recipients(4) == ["chair"]
        assert Notification.objects.get(escalation__level=4).kind == Notification.Kind.SLA_BOARD
        assert sla.escalate_due(now=MONDAY + 5 * H) == 0
        assert Case.objects.get().escalation_level == 4

    def test_a_very_late_sweep_fires_breach_and_level_3_together(self):
        clock = SlaClockFactory(case=CaseFactory(created_at=MONDAY))
        assert sla.escalate_due(now=MONDAY + 100 * H) == 2
        assert sorted(Escalation.objects.filter(clock=clock).values_list("level", flat=True)) == [2, 3]

    def test_the_email_task_is_idempotent(self):
        people = _staff()
        SlaClockFactory(case=CaseFactory(assignee=people["agent"], created_at=MONDAY))
        sla.escalate_due(now=MONDAY + 3 * H)
        ids = list(Notification.objects.values_list("pk", flat=True))
        assert send_notification_emails.run(ids) == 2
        assert send_notification_emails.run(ids) == 0
        assert len(mail.outbox) == 2
        assert all(n.emailed_at for n in Notification.objects.all())

    def test_users_without_email_get_the_bell_only(self):
        MembershipFactory(user=UserFactory(username="quiet"), department=department("service"), role=Role.LEAD)
        SlaClockFactory(case=CaseFactory(created_at=MONDAY))
        sla.escalate_due(now=MONDAY + 3 * H)
        assert _recipients(1) == ["quiet"]
        assert notifications.send_emails(notification_ids=[Notification.objects.get().pk]) == 0
        assert mail.outbox == []


@pytest.mark.django_db
class TestNotificationPages:
    def test_bell_list_and_mark_read(self, client):
        people = _staff()
        SlaClockFactory(case=CaseFactory(assignee=people["agent"], created_at=MONDAY))
        sla.escalate_due(now=MONDAY + 3 * H)
        client.force_login(people["agent"])
        page = client.get(reverse("inbox"))
        assert 'class="bell"' in page.content.decode()
        assert '<span class="badge">1<span class="visually-hidden"> unread</span></span>' in page.content.decode()
        listing = client.get(reverse("notifications"))
        assert listing.status_code == 200
        assert "passed its warning time" in listing.content.decode()
        mine = Notification.objects.get(user=people["agent"])
        before = timezone.now()
        response = client.post(reverse("notifications"), {"id": mine.pk})
        assert response.status_code == 302
        mine.refresh_from_db()
        assert before <= mine.read_at <= timezone.now()
        assert Notification.objects.get(user=people["lead"]).read_at is None  # only mine
        client.force_login(people["lead"])
        client.post(reverse("notifications"), {"all": "1"})
        assert not Notification.objects.filter(read_at__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_create_each_notification_once():
    people = _staff()
    now = MONDAY + 10 * H
    for _ in range(20):
        SlaClockFactory(case=CaseFactory(priority=Priority.URGENT, assignee=people["agent"], created_at=MONDAY))
    _, errors = run_at_once(lambda: sla.sweep(now=now, limit=3), 4)
    assert errors == []
    # breach, board and level 3 (10 h > 4 h + 2 h) for each clock; never a warning for a clock already due
    assert Escalation.objects.count() == 60
    assert sorted(set(Escalation.objects.values_list("level", flat=True))) == [2, 3, 4]
    assert Notification.objects.filter(escalation__level=2).count() == 20  # the lead
    assert Notification.objects.filter(escalation__level=3).count() == 20  # the head
    assert Notification.objects.filter(escalation__level=4).count() == 20  # the board
    assert set(Case.objects.values_list("priority", flat=True)) == {Priority.URGENT}
