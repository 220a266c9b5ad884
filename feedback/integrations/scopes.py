"""What an integration token may do: one scope per kind of access (the API's views name theirs; the per-customer
export needs the three read scopes of what it holds: customers, cases and mentions)."""

from django.db import models


class Scope(models.TextChoices):
    CUSTOMERS_READ = "customers:read", "Read customers and their timelines"
    CUSTOMERS_WRITE = "customers:write", "Create, update, merge and erase customers"
    CASES_READ = "cases:read", "Read cases"
    MENTIONS_READ = "mentions:read", "Read mentions"
    MENTIONS_WRITE = "mentions:write", "Post mentions"
    WEBHOOKS_MANAGE = "webhooks:manage", "Manage webhook subscriptions"


SCOPES: tuple[str, ...] = tuple(Scope.values)
