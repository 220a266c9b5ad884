from django.db import models
from django.db.models.functions import Lower


class Stage(models.TextChoices):
    PROSPECT = "prospect", "Prospect"
    LEAD = "lead", "Lead"
    CUSTOMER = "customer", "Customer"
    FORMER = "former", "Former"


class Customer(models.Model):
    """A CRM record. Unknown authors become prospects with a Baton-made external_id."""

    external_id = models.CharField(max_length=120, unique=True)
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    stage = models.CharField(max_length=10, choices=Stage.choices, default=Stage.PROSPECT)
    value = models.DecimalField("lifetime value", max_digits=12, decimal_places=2, default=0)
    region = models.CharField(max_length=80, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        # The API's sync order: lists are paged by (updated_at, id) (feedback.api.pagination).
        indexes = [models.Index(fields=["updated_at", "id"], name="customer_updated_id")]

    def __str__(self):
        return self.name or self.external_id


class LinkMethod(models.TextChoices):
    HANDLE = "handle", "Handle"
    EMAIL = "email", "Email"
    PHONE = "phone", "Phone"
    FUZZY_NAME = "fuzzy_name", "Fuzzy name"
    MANUAL = "manual", "Manual"


class Identity(models.Model):
    """A channel handle that belongs to a customer. Handles are stored lower-case."""

    channel = models.CharField(max_length=20)
    handle = models.CharField(max_length=200)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identities")
    method = models.CharField(max_length=12, choices=LinkMethod.choices, default=LinkMethod.HANDLE)
    confidence = models.FloatField(default=1.0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "identities"
        constraints = [
            models.UniqueConstraint(fields=["channel", "handle"], name="identity_unique_channel_handle"),
            # Matching is by lower-case handle, so a mixed-case one could never match.
            models.CheckConstraint(condition=models.Q(handle=Lower("handle")), name="identity_handle_lower_case"),
        ]

    def __str__(self):
        return f"{self.channel}:@{self.handle}"


# The outbound webhooks' tables live beside their code (customers/webhooks/models.py); Django finds them here.
from customers.webhooks.models import (  # noqa: E402
    WebhookAttempt,
    WebhookDelivery,
    WebhookPayload,
    WebhookSubscription,
)

__all__ = ["Customer", "Identity", "LinkMethod", "Stage", "WebhookAttempt", "WebhookDelivery", "WebhookPayload",
           "WebhookSubscription"]
