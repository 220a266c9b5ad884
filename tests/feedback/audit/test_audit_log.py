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


class TestMemberships:
    """Who is in which department with which role is audited: added, changed (role, away), removed; by whom, when,
    before and after, searchable by the member's or the department's name."""

    @pytest.fixture
    def admin(self, client):
        user = UserFactory(username="root", first_name="Ada", last_name="Admin", is_superuser=True, is_staff=True)
        client.force_login(user)
        return user

    def test_adding_changing_and_removing_a_member_in_the_admin_is_logged(self, client, admin):
        priya = UserFactory(username="priya", first_name="Priya", last_name="Shah")
        service = department("service")
        response = client.post(reverse("admin:teams_membership_add"),
                               {"user": priya.pk, "department": service.pk, "role": Role.AGENT})
        assert response.status_code == 302
        membership = priya.memberships.get()
        client.post(reverse("admin:teams_membership_change", args=[membership.pk]),
                    {"user": priya.pk, "department": service.pk, "role": Role.LEAD})
        client.post(reverse("admin:teams_membership_delete", args=[membership.pk]), {"post": "yes"})
        assert not priya.memberships.exists()

        response = client.get(reverse("audit-log"), {"q": "priya", "model": "teams.membership"})
        entries = response.context["entries"]
        assert [(entry.action, entry.who, entry.object_name) for entry in entries] == [
            ("deleted", "Ada Admin", "Priya Shah in Customer service"),
            ("changed", "Ada Admin", "Priya Shah in Customer service"),
            ("created", "Ada Admin", "Priya Shah in Customer service"),
        ]
        assert [(c.field, c.before, c.after) for c in entries[1].changes] == [("role", "agent", "lead")]
        assert ("user", "—", "Priya Shah") in [(c.field, c.before, c.after) for c in entries[2].changes]
        html = response.content.decode()
        assert "Priya Shah in Customer service" in html and "agent → lead" in html
        # Found by the department's name and by the person who did it too.
        assert client.get(reverse("audit-log"), {"q": "customer serv", "model": "teams.membership"}).context[
            "total"] == 3
        assert client.get(reverse("audit-log"), {"who": "admin", "model": "teams.membership"}).context["total"] == 3

    def test_a_member_going_away_on_their_settings_page_is_logged_as_theirs(self, client):
        agent = MembershipFactory(user=UserFactory(username="dana", first_name="Dana", last_name="Ortiz"),
                                  department=department("service")).user
        client.force_login(agent)
        client.post(reverse("settings"), {"away": "on", "email_mode": "digest", "email_kinds": []})
        record = agent.memberships.get().history.latest()
        assert (record.history_type, record.history_user, record.away) == ("~", agent, True)
        assert record.prev_record.away is False

    def test_a_head_sees_their_departments_members_only(self, client, head):
        MembershipFactory(user=UserFactory(username="sam", first_name="Sam", last_name="Sales"),
                          department=department("sales"))
        MembershipFactory(user=UserFactory(username="kim", first_name="Kim", last_name="Park"),
                          department=department("service"))
        names = {entry.object_name for entry in
                 client.get(reverse("audit-log"), {"model": "teams.membership"}).context["entries"]}
        assert "Kim Park in Customer service" in names and "Rosa Delgado in Customer service" in names
        assert not any("Sam Sales" in name for name in names)

    def test_a_board_seat_given_is_logged_for_admins(self, client, admin):
        board = UserFactory(username="bea", first_name="Bea", last_name="Board")
        client.post(reverse("admin:teams_boardseat_add"), {"user": board.pk})
        entries = client.get(reverse("audit-log"), {"model": "teams.boardseat"}).context["entries"]
        assert [(entry.action, entry.who, entry.object_name) for entry in entries] == [
            ("created", "Ada Admin", "Bea Board")]

    def test_a_deleted_person_is_still_shown(self, client, admin):
        gone = MembershipFactory(user=UserFactory(username="gone"), department=department("hr")).user
        gone_id = gone.pk
        gone.delete()
        entries = client.get(reverse("audit-log"), {"model": "teams.membership"}).context["entries"]
        assert (f"#{gone_id} (deleted) in HR", "deleted") in [(entry.object_name, entry.action) for entry in entries]
