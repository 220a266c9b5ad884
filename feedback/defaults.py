"""Baton's defaults: SLA targets and routing rules (the business week is `teams.defaults.DEFAULT_WEEK`).
Constants, plus `create_routing_rules`, which takes the model classes it writes so that the data
migration (with historical models) and `routing.ensure_default_rules` share it."""

SLA_TARGETS = {
    "urgent": (60, 8 * 60),
    "high": (2 * 60, 24 * 60),
    "normal": (4 * 60, 72 * 60),
    "low": (24 * 60, 7 * 24 * 60),
}
# Next reply and handoff acceptance targets in minutes per priority (added with business hours).
NEXT_REPLY_TARGETS = {"urgent": 60, "high": 2 * 60, "normal": 4 * 60, "low": 24 * 60}
HANDOFF_ACCEPTANCE_TARGETS = {"urgent": 30, "high": 60, "normal": 4 * 60, "low": 8 * 60}
SLA_WARN_SHARE = 0.75

# The domain guide's routing defaults, in order (first match wins). Each: (name, conditions,
# actions); the last one is the default rule. Constants only: the data migration and
# `routing.ensure_default_rules` read them. Departments are given by slug.
EMPLOYEE_PRAISE_PHRASES = [
    "shout out to", "shoutout to", "kudos to", "thanks to", "thank you to", "special thanks",
    "crew member", "staff member", "flight attendant", "our pilot", "the captain", "agent named",
    "employee", "went above and beyond", "above and beyond",
]
ROUTING_RULES = [
    ("Spam flagged by understanding: monitor only", {"is_spam": True}, {"monitor_only": True}),
    ("Spam and trolls: monitor only", {"intents": ["spam_troll"]}, {"monitor_only": True}),
    ("Press: marketing, with legal review", {"intents": ["press"]},
     {"department": "marketing", "require_approval": True, "tags": ["legal-review"]}),
    ("Purchase intent: sales", {"intents": ["purchase_intent"]}, {"department": "sales"}),
    ("Warranty and returns: after-sales", {"intents": ["warranty_return"]}, {"department": "after-sales"}),
    ("Complaints and questions: service", {"intents": ["complaint", "question"]}, {"department": "service"}),
    ("Ideas: product", {"intents": ["idea"]}, {"department": "product"}),
    ("Praise of a named employee: hr", {"intents": ["praise"], "keywords": "\n".join(EMPLOYEE_PRAISE_PHRASES)},
     {"department": "hr", "tags": ["employee-praise"]}),
    ("Praise: marketing", {"intents": ["praise"]}, {"department": "marketing"}),
    ("Any other complaint: service", {"is_complaint": True}, {"department": "service"}),
    ("Default: marketing", {}, {"department": "marketing"}),
]


def create_routing_rules(RoutingRule, departments: dict) -> int:  # noqa: N803 - a model class
    """Create ROUTING_RULES in order, the last as the default; `departments` maps slug -> department.
    Only into an empty rule table. Returns how many were created."""
    if RoutingRule.objects.exists():
        return 0
    for position, (name, conditions, actions) in enumerate(ROUTING_RULES):
        actions = dict(actions)
        slug = actions.pop("department", None)
        RoutingRule.objects.create(
            name=name, position=(position + 1) * 10, is_default=position == len(ROUTING_RULES) - 1,
            department=departments.get(slug) if slug else None, **conditions, **actions,
        )
    return len(ROUTING_RULES)
