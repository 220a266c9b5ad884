from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower


class Stage(models.TextChoices):
    PROSPECT = "prospect", "Prospect"
    LEAD = "lead", "Lead"
    CUSTOMER = "customer", "Customer"
    FORMER = "former", "Former"


class Customer(models.Model):
    """A CRM record. Unknown authors become prospects with a Baton-made external_id.

    A record merged into another (`customers.merge`) stays, pointing at its survivor (`merged_into`);
    its identities, keys and timeline moved there. An erased record (`customers.privacy`) keeps its
    row and external id, with every personal field blanked.
    """

    external_id = models.CharField(max_length=120, unique=True)
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    stage = models.CharField(max_length=10, choices=Stage.choices, default=Stage.PROSPECT)
    value = models.DecimalField("lifetime value", max_digits=12, decimal_places=2, default=0)
    region = models.CharField(max_length=80, blank=True)
    owner_department = models.ForeignKey(
        "teams.Department", null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_customers",
    )
    attributes = models.JSONField(default=dict, blank=True, help_text="Other CRM fields, as the CRM sends them.")
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_from",
        help_text="The record this one was merged into (it is kept, empty, as a pointer).",
    )
    merged_at = models.DateTimeField(null=True, blank=True)
    erased_at = models.DateTimeField(null=True, blank=True, help_text="When the person's data was erased.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [
            # The list page's order. Its search by the start of a name (LOWER(name) LIKE 'x%') has the
            # PostgreSQL index `customer_name_prefix` (text_pattern_ops), made by migration 0004.
            models.Index(fields=["name", "id"], name="customer_name"),
            # The API's sync order: lists are paged by (updated_at, id) (feedback.api.pagination).
            models.Index(fields=["updated_at", "id"], name="customer_updated_id"),
        ]

    def __str__(self):
        return self.name or self.external_id


class LinkMethod(models.TextChoices):
    HANDLE = "handle", "Handle"
    EMAIL = "email", "Email"
    PHONE = "phone", "Phone"
    CROSS_CHANNEL = "cross_channel", "Same handle and name on another channel"
    FUZZY_NAME = "fuzzy_name", "Fuzzy name"
    MANUAL = "manual", "Manual"


class Identity(models.Model):
    """A channel handle that belongs to a customer. Handles are stored lower-case.

    `method` and `confidence` say how the handle was linked (`customers.matching`); `display_name`
    is the name the author showed there, which the cross-channel step compares.
    """

    channel = models.CharField(max_length=20)
    handle = models.CharField(max_length=200)
    display_name = models.CharField(max_length=200, blank=True)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identities")
    method = models.CharField(max_length=20, choices=LinkMethod.choices, default=LinkMethod.HANDLE)
    confidence = models.FloatField(default=1.0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "identities"
        constraints = [
            models.UniqueConstraint(fields=["channel", "handle"], name="identity_unique_channel_handle"),
            # Matching is by lower-case handle, so a mixed-case one could never match.
            models.CheckConstraint(condition=models.Q(handle=Lower("handle")), name="identity_handle_lower_case"),
        ]
        # The cross-channel step looks a handle up on every channel: (channel, handle) cannot serve it.
        indexes = [models.Index(fields=["handle"], name="identity_handle")]

    def __str__(self):
        return f"{self.channel}:@{self.handle}"


class MatchKey(models.Model):
    """An indexed key that finds a customer without scanning them all (`customers.matching.keys_for`):
    `email:<normalised address>`, `phone:<E.164>`, `name:<blocking key>`. Rebuilt by
    `customers.matching.refresh_keys` whenever a customer's name, email, phone or region changes."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="match_keys")
    key = models.CharField(max_length=260)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "customer"], name="matchkey_unique_key_customer")]

    def __str__(self):
        return self.key


class SuggestionStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    CONFIRMED = "confirmed", "Confirmed"
    REJECTED = "rejected", "Rejected"


class MatchSuggestion(models.Model):
    """A possible link the matcher was not sure enough of: the prospect made for an author may be
    `candidate`. An agent confirms it (the prospect is merged into the candidate) or rejects it;
    a pair is suggested once (unique), so a rejected pair never comes back."""

    prospect = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="suggestions")
    candidate = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="suggested_for")
    channel = models.CharField(max_length=20)
    handle = models.CharField(max_length=200)
    method = models.CharField(max_length=20, choices=LinkMethod.choices)
    confidence = models.FloatField()
    status = models.CharField(max_length=10, choices=SuggestionStatus.choices, default=SuggestionStatus.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["prospect", "candidate"], name="suggestion_unique_pair"),
        ]
        indexes = [
            models.Index(fields=["prospect"], condition=Q(status="pending"), name="suggestion_pending"),
        ]

    def __str__(self):
        return f"{self.prospect_id} may be {self.candidate_id} ({self.confidence:.2f})"


class TimelineKind(models.TextChoices):
    MENTION = "mention", "Mention"
    CASE = "case", "Case opened"
    STATUS = "status", "Status change"
    REPLY = "reply", "Reply"
    HANDOFF = "handoff", "Handoff"
    NOTE = "note", "Note"
    STAGE = "stage", "Stage change"
    MERGE = "merge", "Merge"
    CRM = "crm", "CRM update"
    ESCALATION = "escalation", "Escalation"
    OTHER = "other", "Other"


class TimelineEntry(models.Model):
    """One line of a customer's timeline (the 360 page), denormalised so one index range serves a page.

    Written by `customers.timeline.record` (the feedback side calls it when it writes its mentions and
    case events; customers never reads feedback tables). `ref_type`/`ref_id` name the source row
    (`mention`, `caseevent`, ...); `case_id` the case, if any.
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="timeline")
    at = models.DateTimeField()
    kind = models.CharField(max_length=12, choices=TimelineKind.choices)
    department = models.ForeignKey("teams.Department", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", db_index=False)
    summary = models.CharField(max_length=300)
    text = models.TextField(blank=True)
    case_id = models.IntegerField(null=True, blank=True)
    ref_type = models.CharField(max_length=20, blank=True)
    ref_id = models.BigIntegerField(null=True, blank=True)
    actor = models.CharField(max_length=150, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["customer", "-at", "-id"], name="timeline_customer_at"),
            models.Index(fields=["customer", "kind", "-at", "-id"], name="timeline_customer_kind_at"),
            models.Index(fields=["ref_type", "ref_id"], name="timeline_ref"),
            # Which customers a department has worked with (customers.selectors.visible_customers).
            models.Index(fields=["department", "customer"], name="timeline_department_customer"),
        ]
        verbose_name_plural = "timeline entries"

    def __str__(self):
        return f"{self.kind} {self.at:%Y-%m-%d %H:%M}: {self.summary}"


class PrivacyAction(models.TextChoices):
    EXPORT = "export", "Export"
    ERASE = "erase", "Erasure"
    RETENTION = "retention", "Retention anonymisation"
    MERGE = "merge", "Merge"


class AuditEntry(models.Model):
    """The fact that something was done to a person's data (export, erasure, retention, merge):
    who, when, which record and counts, never the personal data itself."""

    action = models.CharField(max_length=10, choices=PrivacyAction.choices)
    customer_id_ref = models.IntegerField(null=True, blank=True, help_text="The customer's id (kept after erasure).")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    at = models.DateTimeField()
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["customer_id_ref", "at"], name="auditentry_customer_at")]

    def __str__(self):
        return f"{self.action} of customer {self.customer_id_ref} at {self.at:%Y-%m-%d %H:%M}"


# The outbound webhooks' tables live beside their code (customers/webhooks/models.py); Django finds them here.
from customers.webhooks.models import (  # noqa: E402
    WebhookAttempt,
    WebhookDelivery,
    WebhookPayload,
    WebhookSubscription,
)

__all__ = ["AuditEntry", "Customer", "Identity", "LinkMethod", "MatchKey", "MatchSuggestion", "PrivacyAction", "Stage",
           "SuggestionStatus", "TimelineEntry", "TimelineKind", "WebhookAttempt", "WebhookDelivery", "WebhookPayload",
           "WebhookSubscription"]
