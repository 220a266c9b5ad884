"""The seeded default rules and priority scoring (feedback/routing/services.py).

Rule conditions, actions and pages: test_routing_rules.py."""

from decimal import Decimal

import pytest

from feedback.choices import Intent, Priority
from feedback.routing.models import RoutingRule
from feedback.routing.services import (
    DEFAULT_DEPARTMENT,
    HIGH_REACH_FOLLOWERS,
    HIGH_VALUE_CUSTOMER,
    raise_priority,
    route,
    score_priority,
)


@pytest.mark.parametrize(
    ("intent", "department"),
    [
        (Intent.PURCHASE_INTENT, "sales"),
        (Intent.WARRANTY_RETURN, "after-sales"),
        (Intent.COMPLAINT, "service"),
        (Intent.QUESTION, "service"),
        (Intent.IDEA, "product"),
        (Intent.PRAISE, "marketing"),
        (Intent.PRESS, "marketing"),
    ],
)
@pytest.mark.django_db
def test_default_table_sends_each_intent_to_its_department(intent, department):
    decision = route(intent=intent, sentiment=0.0)
    assert decision.department_slug == department
    assert decision.creates_case
    rule = RoutingRule.objects.get(pk=decision.rule_id)
    assert rule.intents == [intent] or intent in rule.intents
    assert decision.rule == rule.name


@pytest.mark.django_db
def test_spam_and_trolls_get_no_case_whatever_their_reach():
    decision = route(intent=Intent.SPAM_TROLL, sentiment=-0.9, followers=2_000_000, customer_value=Decimal("99999"))
    assert decision.department_slug is None
    assert not decision.creates_case
    assert decision.priority == Priority.LOW  # no reach or value bump for spam


@pytest.mark.parametrize("intent", [Intent.OTHER, "an_intent_we_do_not_know_yet"])
@pytest.mark.django_db
def test_anything_unclaimed_falls_back_to_marketing(intent):
    decision = route(intent=intent, sentiment=0.0)
    assert DEFAULT_DEPARTMENT == "marketing"
    assert decision.department_slug == "marketing"
    assert decision.rule_id == RoutingRule.objects.get(is_default=True).pk
    assert decision.creates_case


@pytest.mark.parametrize(
    ("intent", "sentiment", "priority"),
    [
        (Intent.COMPLAINT, -0.8, Priority.HIGH),
        (Intent.COMPLAINT, -0.5, Priority.HIGH),  # the line is inclusive
        (Intent.COMPLAINT, -0.49, Priority.NORMAL),
        (Intent.WARRANTY_RETURN, -0.7, Priority.HIGH),
        (Intent.WARRANTY_RETURN, 0.0, Priority.NORMAL),
        (Intent.QUESTION, -0.9, Priority.NORMAL),  # only complaints and returns go high on anger
        (Intent.PURCHASE_INTENT, 0.4, Priority.NORMAL),
        (Intent.PRESS, 0.0, Priority.NORMAL),
        (Intent.PRAISE, 0.9, Priority.LOW),
        (Intent.IDEA, 0.2, Priority.LOW),
        (Intent.OTHER, 0.0, Priority.LOW),
        (Intent.SPAM_TROLL, -0.9, Priority.LOW),
    ],
)
@pytest.mark.django_db
def test_base_priority_from_intent_and_sentiment(intent, sentiment, priority):
    assert score_priority(intent=intent, sentiment=sentiment, followers=None, customer_value=None) == priority
    assert route(intent=intent, sentiment=sentiment).priority == priority


@pytest.mark.parametrize(
    ("followers", "value", "priority"),
    [
        (None, None, Priority.NORMAL),
        (HIGH_REACH_FOLLOWERS - 1, HIGH_VALUE_CUSTOMER - Decimal("0.01"), Priority.NORMAL),
        (HIGH_REACH_FOLLOWERS, None, Priority.HIGH),  # reach bump
        (None, HIGH_VALUE_CUSTOMER, Priority.HIGH),  # customer value bump
        (50_000, Decimal("12000"), Priority.URGENT),  # both bumps
    ],
)
def test_reach_and_customer_value_each_raise_priority_one_step(followers, value, priority):
    assert (
        score_priority(intent=Intent.QUESTION, sentiment=0.0, followers=followers, customer_value=value) == priority
    )


def test_bumps_stop_at_urgent():
    # An angry complaint (high) from a big account (+1) that is also a valuable customer (+1) is urgent, not beyond.
    assert (
        score_priority(intent=Intent.COMPLAINT, sentiment=-0.9, followers=1_000_000, customer_value=Decimal("10000"))
        == Priority.URGENT
    )
    assert raise_priority(Priority.URGENT) == Priority.URGENT
    assert raise_priority(Priority.LOW, 10) == Priority.URGENT


def test_raise_priority_one_step_at_a_time():
    assert raise_priority(Priority.LOW) == Priority.NORMAL
    assert raise_priority(Priority.NORMAL) == Priority.HIGH
    assert raise_priority(Priority.HIGH) == Priority.URGENT
    assert raise_priority(Priority.LOW, 2) == Priority.HIGH


@pytest.mark.django_db
def test_praise_from_a_big_account_is_raised_from_low():
    decision = route(intent=Intent.PRAISE, sentiment=0.9, followers=250_000)
    assert decision.department_slug == "marketing"
    assert decision.priority == Priority.NORMAL
