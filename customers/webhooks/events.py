"""The event types Baton sends to subscribers, in one place (models, API and portal read them here)."""

from django.db import models


class EventType(models.TextChoices):
    CUSTOMER_CREATED = "customer.created", "Customer created"
    CUSTOMER_UPDATED = "customer.updated", "Customer updated"
    CUSTOMER_MERGED = "customer.merged", "Customers merged"
    CASE_CREATED = "case.created", "Case created"
    CASE_HANDED_OFF = "case.handed_off", "Case handed off"
    CASE_RESOLVED = "case.resolved", "Case resolved"
    CASE_SLA_BREACHED = "case.sla_breached", "Case SLA breached"
    MENTION_LINKED = "mention.linked", "Mention linked to a customer"


EVENT_TYPES: tuple[str, ...] = tuple(EventType.values)
