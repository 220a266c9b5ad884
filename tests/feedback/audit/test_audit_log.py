"""The audit log page: heads and admins search who changed which setting, when, before and after."""

import pytest
from django.urls import reverse

from feedback.routing.models import RoutingRule
from teams.models import Role
from tests.factories import BoardSeatFactory, MembershipFactory, UserFactory, department

pytestmark = pytest.mark.django_db


def _rule_post(**overrides):
    data = {"name": "VIP complaints", "is_active": "on", "intents": ["complaint"], "is_complaint": "",
            "is_spam": "", "keywords": "", "languages": "", "tags": "vip", "department": department("service").pk,
            "priority_override": "urgent", "customer_value_min": "5000"}
    data.update(overrides)
    return data


@pytest.fixture
def head(client):
    user = MembershipFactory(user=UserFactory(username="service-head", first_name="Rosa", last_name="Delgado"),
                             department=department("service"), role=Role.HEAD).user
    client.force_login(user)
    return user


def test_who_what_when_before_and_after(client, head):
    client.post(reverse("rule-create"), _rule_post())
    rule = RoutingRule.objects.get(name="VIP complaints")
    client.post(reverse("rule-edit", args=[rule.pk]), _rule_post(name="VIP", priority_override="high"))
    response = client.get(reverse("audit-log"), {"q": "VIP", "model": "feedback.routingrule"})
    assert response.status_code == 200
    entries = response.context["entries"]
    assert [entry.action for entry in entries] == ["changed", "created"]
    changed = entries[0]
    assert changed.who == "Rosa Delgado" and changed.object_name == "VIP"
    changes = {change.field: (change.before, change.after) for change in changed.changes}
    assert changes["name"] == ("VIP complaints", "VIP")
    assert changes["priority override"] == ("urgent", "high")
    html = response.content.decode()
    assert "VIP complaints → VIP" in html and "Rosa Delgado" in html


def test_filters_by_person_and_kind(client, head):
    client.post(reverse("rule-create"), _rule_post(name="Press"))
    assert client.get(reverse("audit-log"), {"who": "delgado"}).context["total"] >= 1
    assert client.get(reverse("audit-log"), {"who": "nobody-like-this"}).context["total"] == 0
    assert client.get(reverse("audit-log"), {"model": "teams.closedday"}).context["total"] == 0
    # Bad values are ignored, never a 500.
    response = client.get(reverse("audit-log"), {"since": "yesterday", "model": "x", "page": "²"})
    assert response.status_code == 200


def test_a_head_sees_only_their_departments_settings(client, head):
    MembershipFactory(user=UserFactory(username="hr-head"), department=department("hr"), role=Role.HEAD)
    hr_rule = RoutingRule.objects.create(name="HR only rule", department=department("hr"), position=5)
    hr_rule.save()
    response = client.get(reverse("audit-log"), {"q": "HR only rule"})
    assert response.context["total"] == 0


def test_only_heads_and_admins(client):
    agent = MembershipFactory(department=department("service")).user
    client.force_login(agent)
    assert client.get(reverse("audit-log")).status_code == 403
    client.force_login(BoardSeatFactory().user)
    assert client.get(reverse("audit-log")).status_code == 403
    client.force_login(UserFactory(username="root", is_superuser=True, is_staff=True))
    assert client.get(reverse("audit-log")).status_code == 200
