"""teams.services.ensure_default_departments: puts back what is missing, touches nothing else."""

import pytest

from teams.defaults import DEPARTMENTS
from teams.models import Department, Membership
from teams.services import ensure_default_departments
from tests.factories import MembershipFactory, department

pytestmark = pytest.mark.django_db


def _all():
    return sorted(Department.objects.values_list("slug", "name", "description"))


def test_the_seven_defaults_are_there_and_a_second_call_creates_nothing():
    assert _all() == sorted(DEPARTMENTS)  # the data migration (and the suite's autouse fixture) made them
    assert ensure_default_departments() == 0
    assert _all() == sorted(DEPARTMENTS)


def test_only_missing_ones_are_created_and_edits_are_kept():
    membership = MembershipFactory(department=department("service"))
    Department.objects.filter(slug="service").update(name="Care team", description="Our words.")
    Department.objects.filter(slug__in=["hr", "legal"]).delete()
    Department.objects.create(slug="press", name="Press office")

    assert ensure_default_departments() == 2
    assert ensure_default_departments() == 0

    rows = {slug: (name, description) for slug, name, description in _all()}
    assert set(rows) == {slug for slug, _, _ in DEPARTMENTS} | {"press"}
    assert rows["service"] == ("Care team", "Our words.")  # not reset to the default
    assert rows["hr"] == ("HR", "Praise of named employees, conduct issues.")
    assert rows["press"] == ("Press office", "")
    assert Membership.objects.get().pk == membership.pk and membership.department_id == department("service").pk
