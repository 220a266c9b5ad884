"""Routing, first version: the default table of the domain guide.

Rules become data (ordered, editable) in a later step; `route` stays the entry point.
"""

from dataclasses import dataclass
from decimal import Decimal

from feedback.choices import Intent, Priority

DEFAULT_ROUTES: dict[str, str | None] = {
    Intent.PURCHASE_INTENT: "sales",
    Intent.WARRANTY_RETURN: "after-sales",
    Intent.COMPLAINT: "service",
    Intent.QUESTION: "service",
    Intent.IDEA: "product",
    Intent.PRAISE: "marketing",
    Intent.PRESS: "marketing",
    Intent.SPAM_TROLL: None,  # no case: monitored only
}
DEFAULT_DEPARTMENT = "marketing"  # the social team owns whatever nothing else claims

PRIORITY_STEPS = [Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT]
HIGH_REACH_FOLLOWERS = 10_000
HIGH_VALUE_CUSTOMER = Decimal("5000")


@dataclass(frozen=True)
class RouteDecision:
    department_slug: str | None
    priority: str
    rule: str

    @property
    def creates_case(self) -> bool:
        return self.department_slug is not None


def raise_priority(priority: str, steps: int = 1) -> str:
    index = min(PRIORITY_STEPS.index(priority) + steps, len(PRIORITY_STEPS) - 1)
    return PRIORITY_STEPS[index]


def score_priority(*, intent: str, sentiment: float, followers: int | None, customer_value: Decimal | None) -> str:
    if intent in (Intent.SPAM_TROLL, Intent.OTHER, Intent.PRAISE, Intent.IDEA):
        priority = Priority.LOW
    elif intent in (Intent.COMPLAINT, Intent.WARRANTY_RETURN) and sentiment <= -0.5:
        priority = Priority.HIGH
    else:
        priority = Priority.NORMAL
    if intent != Intent.SPAM_TROLL:
        bumps = int((followers or 0) >= HIGH_REACH_FOLLOWERS) + int((customer_value or 0) >= HIGH_VALUE_CUSTOMER)
        if bumps:
            priority = raise_priority(priority, bumps)
    return priority


def route(*, intent: str, sentiment: float, followers: int | None = None, customer_value=None) -> RouteDecision:
    slug = DEFAULT_ROUTES.get(intent, DEFAULT_DEPARTMENT)
    rule = f"default:{intent}" if intent in DEFAULT_ROUTES else "default:fallback"
    priority = score_priority(intent=intent, sentiment=sentiment, followers=followers, customer_value=customer_value)
    return RouteDecision(department_slug=slug, priority=priority, rule=rule)
