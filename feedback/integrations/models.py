"""Integration tokens (a CRM or listening tool calling the API) and the answers kept for Idempotency-Key."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from config.history import AuditedHistory


class ApiToken(models.Model):
    """A token for one integration, with scopes. The key is shown once when it is made; only its
    SHA-256 is kept (the key is 256 random bits: a fast hash is enough). `prefix` (the key's first
    characters) finds the row; the hash decides."""

    name = models.CharField(max_length=100, help_text="The integration, e.g. 'Salesforce sync'.")
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(default=list)
    rate_per_minute = models.PositiveIntegerField(
        null=True, blank=True, help_text="Requests per minute; empty: BATON_API_RATE_PER_MINUTE.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="api_tokens_created")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="api_tokens_revoked")
    # The audit trail (feedback.audit): made, revoked. Not the key's hash; its use is no change.
    history = AuditedHistory(excluded_fields=["key_hash"], quiet=["last_used_at"])

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class IdempotencyRecord(models.Model):
    """The answer to a request sent with an Idempotency-Key, per token: a replay gets it back."""

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="idempotency_records")
    key = models.CharField(max_length=200)
    claim = models.UUIDField(help_text="Which request wrote the row (the one that runs; the others replay).")
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body.")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["token", "key"], name="idempotency_unique_token_key")]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created")]

    def __str__(self):
        return f"{self.key} ({self.token_id})"
