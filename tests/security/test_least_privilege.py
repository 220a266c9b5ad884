"""Least privilege: the head of HR, acting on customer service's rules, SLA policies and business schedule, is
refused every object and every action, and changes nothing; on HR's own, the same actions work."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from feedback.choices import Priority
from feedback.routing.models import RoutingRule
from feedback.sla.models import SlaPolicy
from teams.models import BusinessSchedule, Department, Role
from tests.factories import MembershipFactory, UserFactory, department

pytestmark = pytest.mark.django_db


def _snapshot(rule: RoutingRule) -> tuple:
    rule.refresh_from_db()
    return rule.name, rule.is_active, rule.position, rule.department_id, rule.keywords, rule.updated_at


def _positions() -> list[int]:
    return list(RoutingRule.objects.filter(is_default=False).order_by("position", "id").values_list("pk", flat=True))


def _rule_post(**overrides):
    data = {"name": "Hijacked", "is_active": "on", "is_complaint": "", "is_spam": "", "keywords": "refund",
            "languages": "", "tags": "", "department": department("hr").pk, "priority_override": ""}
    data.update(overrides)
    return data


@pytest.fixture
def hr_head(db):
    head = MembershipFactory(user=UserFactory(username="grace"), department=department("hr"), role=Role.HEAD).user
    head.is_staff = True  # so the admin's own permission checks are not what stops them
    head.save()
    head.user_permissions.add(*Permission.objects.filter(
        content_type__app_label__in=["feedback", "teams"],
        content_type__model__in=["slapolicy", "businessschedule", "closedday"],
    ))
    client = Client()
    client.force_login(head)
    return client


@pytest.fixture
def service_rules(db):
    rules = list(RoutingRule.objects.filter(department=department("service")))
    assert len(rules) == 2
    return rules


@pytest.fixture
def hr_rule(db):
    return RoutingRule.objects.get(department=department("hr"), is_default=False)


def test_rule_pages_of_another_department_are_refused(hr_head, service_rules):
    for rule in service_rules:
        before, order = _snapshot(rule), _positions()
        assert hr_head.get(reverse("rule-edit", args=[rule.pk])).status_code == 403
        assert hr_head.post(reverse("rule-edit", args=[rule.pk]), _rule_post()).status_code == 403
        assert hr_head.post(reverse("rule-test", args=[rule.pk]), _rule_post()).status_code == 403
        assert hr_head.post(reverse("rule-toggle", args=[rule.pk])).status_code == 403
        assert hr_head.post(reverse("rule-move", args=[rule.pk, "up"])).status_code == 403
        assert hr_head.post(reverse("rule-move", args=[rule.pk, "down"])).status_code == 403
        assert hr_head.post(reverse("rule-delete", args=[rule.pk])).status_code == 403
        assert _snapshot(rule) == before
        assert _positions() == order


def test_the_default_rule_of_another_department_is_refused(hr_head):
    default = RoutingRule.objects.get(is_default=True)
    assert default.department.slug == "marketing"
    before = _snapshot(default)
    assert hr_head.get(reverse("rule-edit", args=[default.pk])).status_code == 403
    assert hr_head.post(reverse("rule-edit", args=[default.pk]), {"name": "Default: hr", "tags": "",
                                                                  "department": department("hr").pk}).status_code == 403
    assert _snapshot(default) == before


def test_a_missing_rule_is_404_not_403(hr_head):
    assert hr_head.get(reverse("rule-edit", args=[987654])).status_code == 404


def test_the_rule_list_offers_no_action_on_other_departments_rules(hr_head, service_rules, hr_rule):
    page = hr_head.get(reverse("rule-list")).content.decode()
    for rule in service_rules:
        assert rule.name in page  # the order matters to everyone, so every rule is listed
        for name in ["rule-edit", "rule-toggle", "rule-delete"]:
            assert f'"{reverse(name, args=[rule.pk])}"' not in page
        assert f'"{reverse("rule-move", args=[rule.pk, "up"])}"' not in page
    assert f'"{reverse("rule-edit", args=[hr_rule.pk])}"' in page
    assert f'"{reverse("rule-toggle", args=[hr_rule.pk])}"' in page


def test_the_new_rule_form_offers_only_the_heads_departments(hr_head):
    form = hr_head.get(reverse("rule-create")).context["form"]
    assert list(form.fields["department"].queryset) == [department("hr")]
    assert "monitor_only" not in form.fields  # a monitor-only rule takes posts from every department

    response = hr_head.post(reverse("rule-create"), _rule_post(department=department("service").pk))
    assert response.status_code == 400 and "department" in response.context["form"].errors
    response = hr_head.post(reverse("rule-test-new"), _rule_post(department=department("service").pk))
    assert "cannot be tested" in response.content.decode()
    response = hr_head.post(reverse("rule-create"), _rule_post(department="", monitor_only="on"))
    assert response.status_code == 400
    assert not RoutingRule.objects.filter(name="Hijacked").exists()


def test_an_own_rule_cannot_be_moved_to_another_department_or_past_its_rules(hr_head, hr_rule):
    before, order = _snapshot(hr_rule), _positions()
    response = hr_head.post(reverse("rule-edit", args=[hr_rule.pk]),
                            _rule_post(name=hr_rule.name, department=department("service").pk))
    assert response.status_code == 400
    response = hr_head.post(reverse("rule-move", args=[hr_rule.pk, "up"]), follow=True)
    assert "Only an administrator can move a rule past" in response.content.decode()
    assert _snapshot(hr_rule) == before and _positions() == order

    reordered = [hr_rule.pk] + [pk for pk in order if pk != hr_rule.pk]  # HR's rule first: it would take their posts
    assert hr_head.post(reverse("rule-reorder"), {"rule": reordered}).status_code == 403
    assert _positions() == order


def test_a_head_still_manages_their_own_rules(hr_head, hr_rule):
    response = hr_head.post(reverse("rule-edit", args=[hr_rule.pk]), _rule_post(name="Staff praise: hr"))
    assert response.status_code == 302
    hr_rule.refresh_from_db()
    assert (hr_rule.name, hr_rule.keywords) == ("Staff praise: hr", "refund")
    assert hr_head.post(reverse("rule-toggle", args=[hr_rule.pk])).status_code == 302
    hr_rule.refresh_from_db()
    assert not hr_rule.is_active

    # Two adjacent HR rules (a new rule goes last) swap places; nobody else's rule moves.
    assert hr_head.post(reverse("rule-create"), _rule_post(name="HR one")).status_code == 302
    assert hr_head.post(reverse("rule-create"), _rule_post(name="HR two")).status_code == 302
    one, two = RoutingRule.objects.get(name="HR one"), RoutingRule.objects.get(name="HR two")
    order = _positions()
    assert order[-2:] == [one.pk, two.pk]
    assert hr_head.post(reverse("rule-move", args=[two.pk, "up"])).status_code == 302
    assert _positions() == order[:-2] + [two.pk, one.pk]
    assert hr_head.post(reverse("rule-reorder"), {"rule": order}).status_code == 302
    assert _positions() == order
    assert hr_head.post(reverse("rule-delete", args=[two.pk])).status_code == 302
    assert not RoutingRule.objects.filter(pk=two.pk).exists()


def test_department_settings_of_another_department_are_refused(hr_head):
    service = department("service")
    before = (service.assignment, service.reopen_window)
    response = hr_head.post(reverse("rule-list"), {"department": service.pk,
                                                   f"dept{service.pk}-assignment": "round_robin",
                                                   f"dept{service.pk}-reopen_window_days": "60"})
    assert response.status_code == 403
    service.refresh_from_db()
    assert (service.assignment, service.reopen_window) == before


# --- SLA policies and business schedules (the admin) -----------------------------------------------------


def _admin_url(model, action, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{action}", args=args)


def test_sla_policies_of_another_department_are_hidden_and_refused(hr_head):
    policy = SlaPolicy.objects.get(department=department("service"), priority=Priority.HIGH)
    before = policy.first_reply_minutes
    listed = hr_head.get(_admin_url(SlaPolicy, "changelist"))
    assert listed.status_code == 200
    shown = {row.department.slug for row in listed.context["cl"].result_list}
    assert shown == {"hr"}
    # Opening, changing or deleting it: the admin finds no such object (a redirect with a message).
    assert hr_head.get(_admin_url(SlaPolicy, "change", policy.pk)).status_code == 302
    data = {"department": policy.department_id, "priority": policy.priority, "first_reply_minutes": 1,
            "resolution_minutes": 1, "next_reply_minutes": 1, "handoff_acceptance_minutes": 1, "warn_share": 0.5}
    hr_head.post(_admin_url(SlaPolicy, "change", policy.pk), data)
    hr_head.post(_admin_url(SlaPolicy, "delete", policy.pk), {"post": "yes"})
    policy.refresh_from_db()
    assert policy.first_reply_minutes == before
    # Adding: only HR to choose.
    form = hr_head.get(_admin_url(SlaPolicy, "add")).context["adminform"].form
    assert list(form.fields["department"].queryset) == [department("hr")]
    # HR's own policy changes.
    own = SlaPolicy.objects.get(department=department("hr"), priority=Priority.HIGH)
    response = hr_head.post(_admin_url(SlaPolicy, "change", own.pk), {**data, "department": own.department_id,
                                                                       "priority": own.priority})
    assert response.status_code == 302
    own.refresh_from_db()
    assert own.first_reply_minutes == 1


def test_business_schedules_of_another_department_are_hidden_and_refused(hr_head):
    schedule = BusinessSchedule.objects.create(department=department("service"), time_zone="Europe/Berlin")
    own = BusinessSchedule.objects.create(department=department("hr"), time_zone="Europe/Paris")
    listed = hr_head.get(_admin_url(BusinessSchedule, "changelist"))
    assert [row.pk for row in listed.context["cl"].result_list] == [own.pk]
    assert hr_head.get(_admin_url(BusinessSchedule, "change", schedule.pk)).status_code == 302
    hr_head.post(_admin_url(BusinessSchedule, "delete", schedule.pk), {"post": "yes"})
    assert BusinessSchedule.objects.filter(pk=schedule.pk, time_zone="Europe/Berlin").exists()
    form = hr_head.get(_admin_url(BusinessSchedule, "add")).context["adminform"].form
    assert list(form.fields["department"].queryset) == [department("hr")]


def test_a_superuser_still_sees_every_department(client):
    client.force_login(UserFactory(username="root", is_superuser=True, is_staff=True))
    listed = client.get(_admin_url(SlaPolicy, "changelist"), {"all": ""})
    assert {row.department_id for row in listed.context["cl"].result_list} >= set(
        Department.objects.values_list("pk", flat=True))
