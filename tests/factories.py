"""factory_boy factories shared by the whole suite."""

from datetime import UTC, datetime, timedelta

import factory
from django.contrib.auth import get_user_model

from customers.models import Customer, Identity
from feedback.cases.models import Case
from feedback.choices import ClockMetric
from feedback.intake.models import Mention
from feedback.sla.models import SlaClock
from teams.models import BoardSeat, Department, Membership, Role


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw")


def department(slug: str) -> Department:
    """Departments are seeded by a migration; tests look them up by slug."""
    return Department.objects.get(slug=slug)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    department = factory.LazyFunction(lambda: department("service"))
    role = Role.AGENT


class BoardSeatFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BoardSeat

    user = factory.SubFactory(UserFactory)


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    external_id = factory.Sequence(lambda n: f"crm-{n}")
    name = factory.Faker("name")


class IdentityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Identity

    channel = "x"
    handle = factory.Sequence(lambda n: f"handle{n}")
    customer = factory.SubFactory(CustomerFactory)


class MentionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Mention

    source = "x"
    external_id = factory.Sequence(lambda n: f"tweet-{n}")
    author_handle = factory.Sequence(lambda n: f"author{n}")
    text = "@airline my flight is delayed again"
    posted_at = factory.LazyFunction(lambda: datetime(2026, 11, 1, 12, 0, tzinfo=UTC))


class CaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Case

    customer = factory.SubFactory(CustomerFactory)
    department = factory.LazyFunction(lambda: department("service"))
    created_at = factory.LazyFunction(lambda: datetime(2026, 11, 1, 12, 0, tzinfo=UTC))
    subject = "A case"


class SlaClockFactory(factory.django.DjangoModelFactory):
    """A running first-reply clock of four hours, warning at three, started when the case was."""

    class Meta:
        model = SlaClock

    case = factory.SubFactory(CaseFactory)
    metric = ClockMetric.FIRST_REPLY
    started_at = factory.LazyAttribute(lambda clock: clock.case.created_at)
    warn_at = factory.LazyAttribute(lambda clock: clock.started_at + timedelta(hours=3))
    due_at = factory.LazyAttribute(lambda clock: clock.started_at + timedelta(hours=4))
    target_minutes = factory.LazyAttribute(lambda clock: int((clock.due_at - clock.started_at).total_seconds() // 60))
    department = factory.LazyAttribute(lambda clock: clock.case.department)
    next_level = 1  # the sweep's next escalation: the warning
    next_escalation_at = factory.LazyAttribute(lambda clock: clock.warn_at)
