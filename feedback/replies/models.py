"""Replies to customers: canned responses, the reply itself on its way out, the outbox, and the
credentials a connector posts with."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from config.history import AuditedHistory
from feedback.choices import Assessment
from feedback.intake.webhooks.crypto import SecretUnavailable, decrypt, encrypt, hint


class CannedResponse(models.Model):
    """A reply template a department's leads keep: for any assessment, or for one.

    The text may use `{{ first_name }}` and the other fields of `feedback.replies.templating.FIELDS`."""

    department = models.ForeignKey("teams.Department", on_delete=models.CASCADE, related_name="canned_responses")
    assessment = models.CharField(max_length=20, choices=Assessment.choices, blank=True,
                                  help_text="Offered for posts with this assessment; empty: for every post.")
    title = models.CharField(max_length=120)
    text = models.TextField()
    is_active = models.BooleanField(default=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])  # the audit trail (django-simple-history)

    class Meta:
        ordering = ["department", "assessment", "title"]
        indexes = [models.Index(fields=["department", "is_active"], name="canned_department_active")]

    def __str__(self):
        return self.title


class ReplyStatus(models.TextChoices):
    AWAITING_APPROVAL = "awaiting", "Awaiting approval"
    QUEUED = "queued", "Queued to send"
    SENDING = "sending", "Sending"
    RETRYING = "retrying", "Send failed, retrying"
    SENT = "sent", "Sent"
    FAILED = "failed", "Send failed"
    REJECTED = "rejected", "Rejected"


class ReplyKind(models.TextChoices):
    PUBLIC = "public", "Public reply"
    PRIVATE = "private", "Private message"


# Replies that are still on their way (shown on the case, counted as "in flight").
OUTGOING = (ReplyStatus.AWAITING_APPROVAL, ReplyStatus.QUEUED, ReplyStatus.SENDING, ReplyStatus.RETRYING)


class Reply(models.Model):
    """One reply to a customer's post, from the composer to the platform.

    awaiting (approval) -> queued -> sending -> sent, or retrying -> ... -> failed; or rejected. A reply
    stuck in sending (its worker died) goes back to retrying once, and the platform is asked first.
    The timeline gets its "Public reply" entry when the platform took it (`services.deliver_reply`)."""

    case = models.ForeignKey("feedback.Case", on_delete=models.CASCADE, related_name="replies")
    in_reply_to = models.ForeignKey("feedback.Mention", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="replies")
    kind = models.CharField(max_length=10, choices=ReplyKind.choices, default=ReplyKind.PUBLIC)
    text = models.TextField()
    status = models.CharField(max_length=10, choices=ReplyStatus.choices)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="replies")
    created_at = models.DateTimeField(default=timezone.now)
    considerations = models.JSONField(default=list, blank=True, help_text="The considerations the author ticked.")
    canned = models.ForeignKey(CannedResponse, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Approval.
    approval_reason = models.CharField(max_length=200, blank=True, help_text="Why it needs approval.")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="replies_decided")
    decided_at = models.DateTimeField(null=True, blank=True)
    original_text = models.TextField(blank=True, help_text="The author's text, when the approver edited it.")
    rejection_reason = models.TextField(blank=True)
    # Sending.
    connector = models.CharField(max_length=20, blank=True)
    account = models.ForeignKey("feedback.Account", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # The attempt being sent (`sending`) started then; past BATON_REPLY_SENDING_TIMEOUT its worker is taken for
    # dead (`services.recover_stuck_sending`), and that attempt is `unconfirmed`: it may have reached the platform,
    # which is asked (`connectors.*.find_sent`) before the reply is posted again.
    attempt_started_at = models.DateTimeField(null=True, blank=True)
    unconfirmed_attempt = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="An attempt whose worker stopped while sending: it may have been posted.")
    last_error = models.TextField(blank=True)
    platform_id = models.CharField(max_length=200, blank=True, help_text="The platform's id of the sent post.")
    platform_url = models.URLField(max_length=500, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "replies"
        indexes = [
            models.Index(fields=["case", "created_at"], name="reply_case_created"),
            models.Index(fields=["status", "created_at"], name="reply_outgoing",
                         condition=Q(status__in=["awaiting", "queued", "sending", "retrying"])),
        ]

    def __str__(self):
        return f"Reply #{self.pk} on case #{self.case_id} ({self.status})"


class OutboxMessage(models.Model):
    """What the default connector "sent": where no brand account is connected (the demo), a reply
    lands here and the case shows it, instead of on the platform."""

    reply = models.OneToOneField(Reply, on_delete=models.CASCADE, related_name="outbox")
    case = models.ForeignKey("feedback.Case", on_delete=models.CASCADE, related_name="outbox")
    channel = models.CharField(max_length=20)
    kind = models.CharField(max_length=10, choices=ReplyKind.choices)
    to_handle = models.CharField(max_length=200, blank=True)
    in_reply_to = models.CharField(max_length=200, blank=True, help_text="The platform id of the post answered.")
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"Outbox #{self.pk} ({self.channel})"


class SendingCredential(models.Model):
    """The token a connector posts with for a connected brand account, stored encrypted (Fernet,
    `feedback.intake.webhooks.crypto`). Nobody reads it back: admin shows its last four characters.

    X: an OAuth 2.0 user access token with tweet.write (Authorization: Bearer). Meta: the Page
    access token (pages_manage_engagement for comments, pages_messaging for private replies)."""

    account = models.OneToOneField("feedback.Account", on_delete=models.CASCADE, related_name="sending")
    token_ciphertext = models.TextField(editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    # The audit trail (feedback.audit): a token entered, replaced or removed (never the token itself).
    history = AuditedHistory(secrets={"token_ciphertext": "token"}, excluded_fields=["updated_at"])

    def __str__(self):
        return f"Sending credential of {self.account}"

    @property
    def token(self) -> str:
        """Raises SecretUnavailable when it cannot be decrypted with the current keys."""
        if not self.token_ciphertext:
            raise SecretUnavailable(f"No sending token for {self.account}.")
        return decrypt(self.token_ciphertext)

    def set_token(self, value: str) -> None:
        self.token_ciphertext = encrypt(value)

    @property
    def token_hint(self) -> str:
        try:
            return hint(self.token)
        except SecretUnavailable:
            return ""
