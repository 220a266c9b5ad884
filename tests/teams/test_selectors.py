"""teams.selectors: who belongs where, in which role, and who may see what."""

import pytest
from django.contrib.auth.models import AnonymousUser

from teams.defaults import DEPARTMENTS
from teams.models import Role
from teams.selectors import (
    department_ids_for,
    departments_for,
    headed_departments,
    is_away,
    is_board,
    leads_of,
    role_in,
)
from tests.factories import BoardSeatFactory, MembershipFactory, UserFactory, department

pytestmark = pytest.mark.django_db


@pytest.fixture
def kim():
    """An agent in service (away) and the head of sales."""
    user = UserFactory(username="kim")
    MembershipFactory(user=user, department=department("service"), role=Role.AGENT, away=True)
    MembershipFactory(user=user, department=department("sales"), role=Role.HEAD)
    return user


@pytest.fixture
def lee():
    """A lead in service, not away."""
    user = UserFactory(username="lee")
    MembershipFactory(user=user, department=department("service"), role=Role.LEAD)
    return user


def test_department_ids_for_are_the_users_memberships(kim, lee):
    assert department_ids_for(user=kim) == {department("service").pk, department("sales").pk}
    assert department_ids_for(user=lee) == {department("service").pk}
    assert department_ids_for(user=UserFactory()) == set()
    assert department_ids_for(user=AnonymousUser()) == set()


def test_departments_for_are_the_users_departments_by_name_each_once(kim, lee):
    MembershipFactory(department=department("sales"))  # someone else in sales: no duplicate row for kim
    assert [d.slug for d in departments_for(user=kim)] == ["service", "sales"]  # "Customer service" < "Sales"
    assert [d.slug for d in departments_for(user=lee)] == ["service"]
    assert not departments_for(user=UserFactory()).exists()


def test_is_board_for_a_board_seat_or_a_superuser_only(kim):
    assert is_board(user=BoardSeatFactory().user)
    assert is_board(user=UserFactory(is_superuser=True))
    assert not is_board(user=kim)  # a head is not the board
    assert not is_board(user=UserFactory(is_staff=True))
    assert not is_board(user=AnonymousUser())


def test_role_in_is_the_role_in_that_department(kim, lee):
    assert role_in(user=kim, department_id=department("service").pk) == Role.AGENT
    assert role_in(user=kim, department_id=department("sales").pk) == Role.HEAD
    assert role_in(user=lee, department_id=department("service").pk) == Role.LEAD
    assert role_in(user=lee, department_id=department("sales").pk) is None  # not a member there


def test_leads_of_are_the_leads_and_heads_of_that_department(kim, lee):
    service_head = UserFactory(username="sally")
    MembershipFactory(user=service_head, department=department("service"), role=Role.HEAD)
    MembershipFactory(user=UserFactory(username="agent"), department=department("service"), role=Role.AGENT)
    MembershipFactory(user=UserFactory(username="marketing-lead"), department=department("marketing"),
                      role=Role.LEAD)

    service = leads_of(department_id=department("service").pk)
    assert sorted((m.user.username, m.role) for m in service) == [("lee", Role.LEAD), ("sally", Role.HEAD)]
    assert [(m.user.username, m.role) for m in leads_of(department_id=department("sales").pk)] == [("kim", Role.HEAD)]
    assert not leads_of(department_id=department("legal").pk).exists()


def test_headed_departments_are_a_heads_own_or_all_for_a_superuser(kim, lee):
    assert [d.slug for d in headed_departments(user=kim)] == ["sales"]  # an agent in service, head of sales
    assert not headed_departments(user=lee).exists()  # a lead manages no rules
    every = [d.slug for d in headed_departments(user=UserFactory(is_superuser=True))]
    assert every == [slug for slug, _, _ in sorted(DEPARTMENTS, key=lambda row: row[1])]
    assert not headed_departments(user=AnonymousUser()).exists()


def test_is_away_if_away_in_any_department(kim, lee):
    assert is_away(user=kim)
    assert not is_away(user=lee)
    assert not is_away(user=UserFactory())
    assert not is_away(user=AnonymousUser())
