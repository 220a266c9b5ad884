"""The audit trail of settings (django-simple-history): routing rules, promises, SLA policies,
department settings, business schedules and closed days record who changed what, when, with the
values before and after; the admin shows it."""

from datetime import date, timedelta

import pytest
from django.urls import reverse

from feedback.routing.models import RoutingRule
from feedback.sla.models import SlaPolicy
from feedback.understanding.models import Promise
from teams.models import BusinessSchedule, ClosedDay, Department, Role
from tests.factories import MembershipFactory, UserFactory, department

pytestmark = pytest.mark.django_db


def _changes(record) -> dict:
    """{field: (before, after)} between a history record and the one before it."""
    delta = record.diff_against(record.prev_record)
    return {change.field: (change.old, change.new) for change in delta.changes}


@pytest.fixture
def head(client):
    user = MembershipFactory(user=UserFactory(username="service-head"), department=department("service"),
                             role=Role.HEAD).user
    client.force_login(user)
    return user


def _rule_post(**overrides):
    data = {"name": "VIP complaints", "is_active": "on", "intents": ["complaint"], "is_complaint": "",
            "is_spam": "", "keywords": "", "languages": "", "tags": "vip", "department": department("service").pk,
            "priority_override": "urgent", "customer_value_min": "5000"}
    data.update(overrides)
    return data


def test_editing_a_rule_in_the_portal_records_who_when_and_before_and_after(client, head):
    client.post(reverse("rule-create"), _rule_post())
    rule = RoutingRule.objects.get(name="VIP complaints")
    created = rule.history.earliest()
    assert (created.history_type, created.history_user) == ("+", head)

    response = client.post(reverse("rule-edit", args=[rule.pk]),
                           _rule_post(name="VIP", is_complaint="true", priority_override="high"))
    assert response.status_code == 302
    latest = rule.history.latest()
    assert (latest.history_type, latest.history_user) == ("~", head)
    assert latest.history_date > created.history_date
    assert _changes(latest) == {"name": ("VIP complaints", "VIP"), "is_complaint": (None, True),
                                "priority_override": ("urgent", "high")}
    # Every record is a full copy: the rule as it was before the edit.
    assert (latest.prev_record.name, latest.prev_record.priority_override) == ("VIP complaints", "urgent")


def test_a_rules_promises_are_part_of_its_history(client, head):
    client.post(reverse("rule-create"), _rule_post())
    rule = RoutingRule.objects.get(name="VIP complaints")
    on_time = Promise.objects.get(slug="on_time")
    client.post(reverse("rule-edit", args=[rule.pk]), _rule_post(promises=[on_time.pk]))
    latest = rule.history.latest()
    assert latest.history_user == head
    assert [row.promise_id for row in latest.promises.all()] == [on_time.pk]
    assert list(rule.history.earliest().promises.all()) == []


def test_moving_and_deleting_a_rule_are_recorded_with_the_user(client, head):
    ordered = list(RoutingRule.objects.filter(is_default=False).order_by("position"))
    # Two adjacent rules routing to departments this user heads (a head moves only their own rules).
    first, second = next((a, b) for a, b in zip(ordered, ordered[1:], strict=False) if a.department and b.department)
    for dept in {first.department, second.department} - {department("service")}:
        MembershipFactory(user=head, department=dept, role=Role.HEAD)
    client.post(reverse("rule-move", args=[second.pk, "up"]))
    moved = {record.id: _changes(record) for record in RoutingRule.history.filter(history_user=head)}
    assert moved == {second.pk: {"position": (second.position, first.position),
                                 "updated_by": (None, head.pk)},
                     first.pk: {"position": (first.position, second.position),
                                "updated_by": (None, head.pk)}}
    client.post(reverse("rule-delete", args=[second.pk]))
    gone = RoutingRule.history.filter(id=second.pk).latest()
    assert (gone.history_type, gone.history_user, gone.name) == ("-", head, second.name)


def test_department_settings_changed_in_the_portal_are_recorded(client, head):
    service = department("service")
    client.post(reverse("rule-list"), {"department": service.pk, f"dept{service.pk}-assignment": "least_open",
                                       f"dept{service.pk}-reopen_window_days": "2"})
    latest = service.history.latest()
    assert latest.history_user == head
    assert _changes(latest) == {"assignment": ("round_robin", "least_open"),
                                "reopen_window": (timedelta(days=7), timedelta(days=2))}


def test_a_promise_edited_in_the_portal_is_recorded(client):
    lead = MembershipFactory(user=UserFactory(username="marketing-lead"), department=department("marketing"),
                             role=Role.LEAD).user
    client.force_login(lead)
    promise = Promise.objects.get(slug="on_time")
    response = client.post(reverse("promise-edit", args=["on_time"]), {
        "name": promise.name, "description": promise.description, "phrases": "\n".join(promise.phrases),
        "examples": "\n".join(promise.examples), "department": promise.department_id or "",
        "target": "90% within 15 minutes", "is_active": "on",
    })
    assert response.status_code == 302
    latest = promise.history.latest()
    assert latest.history_user == lead
    assert _changes(latest) == {"target": (promise.target, "90% within 15 minutes")}


def test_sla_policies_schedules_and_closed_days_changed_in_the_admin_are_recorded(admin_client, admin_user):
    policy = SlaPolicy.objects.get(department=department("service"), priority="high")
    url = reverse("admin:feedback_slapolicy_change", args=[policy.pk])
    response = admin_client.post(url, {
        "department": policy.department_id, "priority": "high", "first_reply_minutes": 30,
        "resolution_minutes": policy.resolution_minutes, "next_reply_minutes": policy.next_reply_minutes,
        "handoff_acceptance_minutes": policy.handoff_acceptance_minutes, "warn_share": policy.warn_share,
    })
    assert response.status_code == 302
    latest = policy.history.latest()
    assert latest.history_user == admin_user
    assert _changes(latest)["first_reply_minutes"] == (policy.first_reply_minutes, 30)
    history_page = admin_client.get(reverse("admin:feedback_slapolicy_history", args=[policy.pk]))
    assert history_page.status_code == 200
    assert admin_user.username in history_page.content.decode()

    schedule = BusinessSchedule.objects.create(department=department("sales"), time_zone="UTC")
    response = admin_client.post(reverse("admin:teams_businessschedule_change", args=[schedule.pk]), {
        "department": schedule.department_id, "time_zone": "Europe/Berlin", "week": '{"mon": [["09:00", "17:00"]]}',
        "holiday_country": "", "holiday_subdivision": "",
        "closed_days-TOTAL_FORMS": "1", "closed_days-INITIAL_FORMS": "0", "closed_days-MIN_NUM_FORMS": "0",
        "closed_days-MAX_NUM_FORMS": "1000", "closed_days-0-date": "2026-12-24", "closed_days-0-name": "Office party",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    assert _changes(schedule.history.latest())["time_zone"] == ("UTC", "Europe/Berlin")
    assert schedule.history.latest().history_user == admin_user
    day = ClosedDay.objects.get(schedule=schedule)
    assert (day.history.latest().history_type, day.history.latest().history_user, day.history.latest().date) == (
        "+", admin_user, date(2026, 12, 24))


def test_changes_outside_a_request_are_recorded_without_a_user():
    Department.objects.filter(slug="hr").first().save()
    assert department("hr").history.latest().history_user is None
