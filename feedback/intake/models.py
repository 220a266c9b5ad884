import os

from django.db import models
from django.db.models import Q
from django.utils import timezone

from config.history import AuditedHistory
from feedback.choices import Assessment, Intent, MentionStatus, Priority, Sentiment, Source
from feedback.intake.webhooks.crypto import SecretUnavailable, decrypt, encrypt, hint


class Mention(models.Model):
    """One public post about the brand, stored exactly once per (source, external_id)."""

    source = models.CharField(max_length=20, choices=Source.choices)
    external_id = models.CharField(max_length=200)
    author_handle = models.CharField(max_length=200, blank=True)
    author_name = models.CharField(max_length=200, blank=True)
    author_followers = models.PositiveIntegerField(null=True, blank=True)
    text = models.TextField()
    url = models.URLField(max_length=500, blank=True)
    posted_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)
    raw = models.JSONField(default=dict, blank=True)

    # Processing state: a mention is never lost; a failure is kept with its error.
    status = models.CharField(max_length=10, choices=MentionStatus.choices, default=MentionStatus.RECEIVED)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)

    # Understanding.
    sentiment = models.FloatField(null=True, blank=True, help_text="VADER compound score in [-1, 1]")
    sentiment_label = models.CharField(max_length=10, choices=Sentiment.choices, blank=True)
    intent = models.CharField(max_length=20, choices=Intent.choices, blank=True)
    # Every label keeps its confidence and the model version that produced it; a label a person
    # corrected (`corrected_labels`, see feedback.understanding.labels) is never overwritten by a re-run.
    sentiment_confidence = models.FloatField(null=True, blank=True)
    intent_confidence = models.FloatField(null=True, blank=True)
    is_complaint = models.BooleanField(null=True, blank=True, help_text="A breach of expectation, not just a negative tone.")
    complaint_confidence = models.FloatField(null=True, blank=True)
    promise = models.ForeignKey(
        "Promise", null=True, blank=True, on_delete=models.SET_NULL, related_name="mentions",
        help_text="The company promise the post is about, if any.",
        db_index=False,  # mention_promise_received (promise, received_at) serves promise lookups
    )
    promise_confidence = models.FloatField(null=True, blank=True)
    is_spam = models.BooleanField(null=True, blank=True, help_text="Spam or a troll: monitored, no case.")
    spam_confidence = models.FloatField(null=True, blank=True)
    language = models.CharField(max_length=8, blank=True, help_text="ISO 639 code; und when undetermined.")
    assessment = models.CharField(max_length=20, choices=Assessment.choices, blank=True)
    model_version = models.CharField(max_length=40, blank=True)
    corrected_labels = models.JSONField(default=list, blank=True, help_text="Labels a person corrected.")
    priority = models.CharField(max_length=10, choices=Priority.choices, blank=True,
                                help_text="Computed from intent, complaint, sentiment, reach and customer value.")

    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="mentions"
    )
    case = models.ForeignKey("Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="mentions")

    # Threads and changes on the platform (webhooks): a reply keeps its parent's external id;
    # an edit replaces `text` (the previous text stays in raw["history"]); a removal is only marked.
    parent_external_id = models.CharField(max_length=200, blank=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)
    # Privacy: when the author's data and the text were removed (retention policy or erasure,
    # feedback.linking.services); the labels stay for the aggregates.
    anonymised_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="mention_unique_source_external_id"),
        ]
        indexes = [
            models.Index(fields=["status", "received_at"], name="mention_status_received"),
            models.Index(fields=["posted_at"], name="mention_posted_at"),
            models.Index(fields=["promise", "received_at"], name="mention_promise_received"),
            # The retention sweep walks the mentions not yet anonymised, oldest first.
            models.Index(fields=["posted_at"], condition=Q(anonymised_at__isnull=True), name="mention_retention"),
            # The API's list order (feedback.api.pagination).
            models.Index(fields=["received_at", "id"], name="mention_received_id"),
        ]

    def __str__(self):
        return f"{self.source}:{self.external_id}"


class AccountPlatform(models.TextChoices):
    X = "x", "X (Twitter)"
    FACEBOOK = "facebook", "Facebook"
    INSTAGRAM = "instagram", "Instagram"


class Account(models.Model):
    """A connected brand account: where its webhooks arrive and the secrets that verify them.

    Secrets are stored encrypted (`feedback.intake.webhooks.crypto`), or read from the environment
    variable named in `*_env`. Only their last four characters are ever shown.
    """

    platform = models.CharField(max_length=20, choices=AccountPlatform.choices)
    slug = models.SlugField(
        max_length=100, unique=True,
        help_text="The <account> part of the webhook URL: /hooks/x/<slug>/ or /hooks/meta/<slug>/.",
    )
    handle = models.CharField(max_length=200, help_text="The brand's screen name, page name or username.")
    platform_user_id = models.CharField(
        max_length=100, blank=True,
        help_text="X user id (for_user_id), Facebook page id or Instagram professional account id.",
    )
    secret_ciphertext = models.TextField(blank=True, editable=False)
    secret_env = models.CharField(
        max_length=100, blank=True,
        help_text="Read the consumer secret (X) or app secret (Meta) from this environment variable instead.",
    )
    verify_token_ciphertext = models.TextField(blank=True, editable=False)
    verify_token_env = models.CharField(
        max_length=100, blank=True, help_text="Meta only: read the verify token from this environment variable instead."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    # The audit trail (feedback.audit): connected, changed, switched off, removed; a secret replaced is said,
    # never kept.
    history = AuditedHistory(secrets={"secret_ciphertext": "secret", "verify_token_ciphertext": "verify token"})

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "platform_user_id"], condition=~Q(platform_user_id=""),
                name="account_unique_platform_user_id",
            ),
        ]

    def __str__(self):
        return f"{self.get_platform_display()} @{self.handle}"

    def _reveal(self, ciphertext: str, env_name: str, what: str) -> str:
        if env_name:
            value = os.environ.get(env_name, "")
            if not value:
                raise SecretUnavailable(f"The environment variable {env_name} ({what} of {self.slug}) is not set.")
            return value
        if not ciphertext:
            raise SecretUnavailable(f"No {what} is configured for account {self.slug}.")
        return decrypt(ciphertext)

    @property
    def secret(self) -> str:
        """The consumer secret (X) or app secret (Meta). Raises SecretUnavailable."""
        return self._reveal(self.secret_ciphertext, self.secret_env, "secret")

    @property
    def verify_token(self) -> str:
        """Meta's hub.verify_token. Raises SecretUnavailable."""
        return self._reveal(self.verify_token_ciphertext, self.verify_token_env, "verify token")

    def set_secret(self, value: str) -> None:
        self.secret_ciphertext = encrypt(value) if value else ""

    def set_verify_token(self, value: str) -> None:
        self.verify_token_ciphertext = encrypt(value) if value else ""

    def _hint(self, attribute: str) -> str:
        try:
            return hint(getattr(self, attribute))
        except SecretUnavailable:
            return ""

    @property
    def secret_hint(self) -> str:
        return self._hint("secret")

    @property
    def verify_token_hint(self) -> str:
        return self._hint("verify_token")


class InboundPayload(models.Model):
    """One webhook delivery exactly as received: nothing that reaches Baton is dropped.

    A payload is `received` (verified, waiting for its parse), `processed`, or `quarantined`
    with a reason: kept with its headers and body so it can be inspected and replayed.
    """

    class Channel(models.TextChoices):
        X = "x", "X (Twitter)"
        META = "meta", "Meta (Facebook, Instagram)"

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        QUARANTINED = "quarantined", "Quarantined"

    class Reason(models.TextChoices):
        MISSING_SIGNATURE = "missing_signature", "Missing signature"
        BAD_SIGNATURE = "bad_signature", "Bad signature"
        UNKNOWN_ACCOUNT = "unknown_account", "Unknown account"
        ACCOUNT_MISCONFIGURED = "account_misconfigured", "Account secret unavailable"
        TOO_LARGE = "too_large", "Body too large"
        UNSUPPORTED_CONTENT_TYPE = "unsupported_content_type", "Unsupported content type"
        INVALID_JSON = "invalid_json", "Invalid JSON"
        UNKNOWN_SHAPE = "unknown_shape", "Unknown shape"
        PARSE_ERROR = "parse_error", "Error while parsing"
        REPLY_PARENT_PENDING = "reply_parent_pending", "Reply to a mention never processed"
        ITEMS_REJECTED = "items_rejected", "Some items rejected (the rest applied)"
        RATE_LIMITED = "rate_limited", "Rate limited (counted only)"

    # Reasons that mean the signature was never checked successfully: such a delivery is refused and only the
    # first BATON_WEBHOOK_REJECTED_KEEP_BYTES of its body are kept.
    UNVERIFIED_REASONS = (
        Reason.MISSING_SIGNATURE, Reason.BAD_SIGNATURE, Reason.UNKNOWN_ACCOUNT,
        Reason.ACCOUNT_MISCONFIGURED, Reason.TOO_LARGE, Reason.RATE_LIMITED,
    )

    channel = models.CharField(max_length=10, choices=Channel.choices)
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="payloads")
    account_ref = models.CharField(max_length=200, help_text="The <account> of the URL, as requested.")
    headers = models.JSONField(default=dict, blank=True)
    content_type = models.CharField(max_length=200, blank=True)
    body = models.BinaryField(help_text="The raw body; only its first part when it was too large.")
    body_size = models.PositiveBigIntegerField(help_text="Bytes announced (Content-Length) or read.")
    body_truncated = models.BooleanField(default=False)
    body_sha256 = models.CharField(max_length=64, blank=True)
    verified = models.BooleanField(default=False, help_text="The signature matched the account's secret.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RECEIVED)
    reason = models.CharField(max_length=30, choices=Reason.choices, blank=True)
    detail = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True, help_text="What the parse did: counts per outcome.")
    attempts = models.PositiveSmallIntegerField(default=0)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "inbound webhook payload"
        indexes = [
            models.Index(fields=["status", "received_at"], name="inbound_status_received"),
            models.Index(fields=["reason"], condition=Q(status="quarantined"), name="inbound_quarantined_reason"),
        ]

    def __str__(self):
        return f"{self.get_channel_display()} payload #{self.pk}"


class RejectedDeliveryCount(models.Model):
    """Refused webhook deliveries, counted per day, channel, account and reason (the ones answered 429 too,
    which are not kept at all). `feedback.intake.webhooks.services.count_rejection` adds to it with one upsert."""

    day = models.DateField()
    channel = models.CharField(max_length=10, choices=InboundPayload.Channel.choices)
    account_ref = models.CharField(
        max_length=100, blank=True,
        help_text="The account's slug; empty for unknown accounts and for deliveries limited by client address.",
    )
    reason = models.CharField(max_length=30, choices=InboundPayload.Reason.choices)
    count = models.PositiveIntegerField(default=0)
    bytes = models.PositiveBigIntegerField(default=0, help_text="Body bytes announced or read, summed.")
    last_at = models.DateTimeField()

    class Meta:
        verbose_name = "rejected webhook delivery count"
        constraints = [
            models.UniqueConstraint(fields=["day", "channel", "account_ref", "reason"],
                                    name="rejected_delivery_count_unique"),
        ]

    def __str__(self):
        return f"{self.day} {self.channel} {self.account_ref or '-'} {self.reason}: {self.count}"
