"""Outbound webhooks in four tables: subscription, payload, delivery, attempt."""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from config.history import AuditedHistory


class WebhookSubscription(models.Model):
    """A receiver: where to POST, the secret that signs each body, and the event types it wants."""

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    secret_ciphertext = models.TextField(editable=False)
    event_types = models.JSONField(default=list, help_text="Event types sent here (customers.webhooks.events).")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    # The audit trail (feedback.audit): added, changed, paused, removed; a new signing secret is said, never kept.
    history = AuditedHistory(secrets={"secret_ciphertext": "signing secret"})

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.name} ({self.url})"


class WebhookPayload(models.Model):
    """One event, as the exact bytes every subscriber receives (signed as stored)."""

    event_id = models.UUIDField(unique=True, help_text="The body's `id`: one per event, whoever receives it.")
    event_type = models.CharField(max_length=40)
    body = models.TextField(help_text="The JSON body, byte for byte as sent.")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.event_type} #{self.pk}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    """One payload for one subscription. Its id is `X-Baton-Delivery`, the same on every retry.
    Deliveries of a subscription are sent in id order: a later one waits while an earlier one is pending."""

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    payload = models.ForeignKey(WebhookPayload, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        indexes = [
            # The queue of each subscription: its pending deliveries in order (the sender's one query).
            models.Index(fields=["subscription", "id"], condition=Q(status="pending"), name="webhookdelivery_queue"),
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"), name="webhookdelivery_due"),
        ]

    def __str__(self):
        return f"Delivery {self.pk} of {self.payload_id} to {self.subscription_id} ({self.status})"


class WebhookAttempt(models.Model):
    """One HTTP request of a delivery and what came back."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_rows")
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, help_text="A timeout or connection error, or why the answer was refused.")
    response_body = models.TextField(blank=True, help_text="The receiver's answer, cut to 2,000 characters.")

    class Meta:
        ordering = ["started_at", "id"]

    def __str__(self):
        return f"Attempt {self.pk} of delivery {self.delivery_id}"
