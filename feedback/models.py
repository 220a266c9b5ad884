from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .choices import (
    CaseStatus,
    ClockMetric,
    EventKind,
    HandoffStatus,
    Intent,
    MentionStatus,
    Priority,
    ProblemStatus,
    Sentiment,
    Source,
)


class Assessment(models.TextChoices):
    """The US Air Force web posting response assessment (domain guide)."""

    IGNORE = "ignore", "Ignore"
    CONCUR = "concur", "Concur"
    MONITOR_ONLY = "monitor_only", "Monitor only"
    FIX_FACTS = "fix_facts", "Fix the facts"
    RECTIFY = "rectify", "Rectify"


class Label(models.TextChoices):
    """The labels understanding gives a mention that a person may correct."""

    SENTIMENT = "sentiment_label", "Sentiment"
    INTENT = "intent", "Intent"
    COMPLAINT = "is_complaint", "Complaint"
    PROMISE = "promise", "Promise"
    SPAM = "is_spam", "Spam / troll"
    LANGUAGE = "language", "Language"
    ASSESSMENT = "assessment", "Assessment"


class Promise(models.Model):
    """Something marketing says ("on time", "your bags arrive with you") and the words customers use about it."""

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=50, unique=True, help_text="Stable id; the model's promise labels use it.")
    description = models.TextField(blank=True)
    phrases = models.JSONField(default=list, blank=True, help_text="Words and phrases customers use about it.")
    examples = models.JSONField(default=list, blank=True, help_text="Example posts about it.")
    department = models.ForeignKey(
        "teams.Department", null=True, blank=True, on_delete=models.SET_NULL, related_name="promises",
        help_text="The department that delivers it.",
    )
    target = models.CharField(max_length=200, blank=True, help_text="Optional measurable target.")
    is_active = models.BooleanField(default=True, help_text="Only active promises are matched to new mentions.")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


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
    # corrected (`corrected_labels`, see feedback.services.labels) is never overwritten by a re-run.
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

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="mention_unique_source_external_id"),
        ]
        indexes = [
            models.Index(fields=["status", "received_at"], name="mention_status_received"),
            models.Index(fields=["posted_at"], name="mention_posted_at"),
            models.Index(fields=["promise", "received_at"], name="mention_promise_received"),
        ]

    def __str__(self):
        return f"{self.source}:{self.external_id}"


class RoutingRule(models.Model):
    """One routing rule, edited by department heads: conditions and actions.

    Active rules are tried by `position`; the first whose conditions all hold wins (an empty
    condition always holds); the default rule (exactly one) catches the rest. Evaluated by
    `feedback.services.routing`, which compiles the active rules once per batch.
    """

    name = models.CharField(max_length=120)
    position = models.PositiveIntegerField(default=0, help_text="Rules are tried in this order, lowest first.")
    is_active = models.BooleanField(default=True)
    is_default = models.BooleanField(default=False, editable=False, help_text="Catches whatever no rule matched.")

    # Conditions: all must hold; an empty one always holds. Lists match "any of".
    intents = models.JSONField(default=list, blank=True)
    is_complaint = models.BooleanField(null=True, blank=True)
    is_spam = models.BooleanField(null=True, blank=True)
    sentiment_min = models.FloatField(null=True, blank=True)
    sentiment_max = models.FloatField(null=True, blank=True)
    promises = models.ManyToManyField(Promise, blank=True, related_name="routing_rules")
    customer_stages = models.JSONField(default=list, blank=True)
    customer_value_min = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    customer_value_max = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    followers_min = models.PositiveIntegerField(null=True, blank=True, help_text="Author reach at least.")
    sources = models.JSONField(default=list, blank=True)
    languages = models.JSONField(default=list, blank=True)
    keywords = models.TextField(blank=True, help_text="One word or phrase per line; any of them (whole words, any case).")
    priorities = models.JSONField(default=list, blank=True)

    # Actions.
    department = models.ForeignKey(
        "teams.Department", null=True, blank=True, on_delete=models.SET_NULL, related_name="routing_rules",
        help_text="Where the case goes. Empty only for a monitor-only rule.",
    )
    priority_override = models.CharField(max_length=10, choices=Priority.choices, blank=True)
    tags = models.JSONField(default=list, blank=True)
    assign_to_lead = models.BooleanField(default=False)
    require_approval = models.BooleanField(default=False, help_text="Replies on its cases need a lead's approval.")
    monitor_only = models.BooleanField(default=False, help_text="Create no case; the mention is only monitored.")

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["is_default", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="routingrule_one_default"),
        ]

    def __str__(self):
        return self.name


class Case(models.Model):
    """The unit of work a department owns."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="cases")
    department = models.ForeignKey("teams.Department", on_delete=models.PROTECT, related_name="cases")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_cases"
    )
    status = models.CharField(max_length=10, choices=CaseStatus.choices, default=CaseStatus.NEW)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    intent = models.CharField(max_length=20, choices=Intent.choices, blank=True)
    subject = models.CharField(max_length=200, blank=True)
    escalation_level = models.PositiveSmallIntegerField(default=0)
    problem = models.ForeignKey(
        "Problem", null=True, blank=True, on_delete=models.SET_NULL, related_name="cases",
        help_text="The underlying cause this case belongs to, if any.",
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)
    first_replied_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Set by routing when the case is created (null for cases older than routing rules).
    routed_by = models.ForeignKey(RoutingRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases")
    tags = models.JSONField(default=list, blank=True)
    requires_approval = models.BooleanField(default=False, help_text="Replies need a lead's approval.")

    class Meta:
        indexes = [
            models.Index(fields=["department", "status", "-created_at"], name="case_dept_status_created"),
            models.Index(fields=["customer", "department", "status"], name="case_customer_dept_status"),
            models.Index(fields=["created_at"], name="case_created_at"),
        ]

    def __str__(self):
        return f"Case #{self.pk}"

    @property
    def is_open(self):
        return self.status in (CaseStatus.NEW, CaseStatus.OPEN, CaseStatus.PENDING)


class CaseEvent(models.Model):
    """The case timeline: one row per thing that happened, with who did it."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=12, choices=EventKind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["case", "created_at"], name="caseevent_case_created")]

    def __str__(self):
        return f"{self.get_kind_display()} on case #{self.case_id}"


class SlaPolicy(models.Model):
    """Targets per department and priority, in minutes: calendar minutes, or open minutes of the
    department's business hours when `business_hours` is set. A change applies to new clocks only
    (each clock stores its target)."""

    department = models.ForeignKey("teams.Department", on_delete=models.CASCADE, related_name="sla_policies")
    priority = models.CharField(max_length=10, choices=Priority.choices)
    first_reply_minutes = models.PositiveIntegerField()
    resolution_minutes = models.PositiveIntegerField()
    next_reply_minutes = models.PositiveIntegerField(default=4 * 60)
    handoff_acceptance_minutes = models.PositiveIntegerField(default=4 * 60)
    warn_share = models.FloatField(default=0.75, help_text="The warning fires at this share of the target.")
    business_hours = models.BooleanField(
        default=False, help_text="Count only the department's business hours (else calendar hours)."
    )

    class Meta:
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"
        constraints = [
            models.UniqueConstraint(fields=["department", "priority"], name="slapolicy_unique_department_priority"),
        ]

    def __str__(self):
        return f"{self.department} / {self.priority}"


class SlaClock(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="clocks")
    metric = models.CharField(max_length=20, choices=ClockMetric.choices)
    started_at = models.DateTimeField()
    due_at = models.DateTimeField()
    warn_at = models.DateTimeField()
    stopped_at = models.DateTimeField(null=True, blank=True)
    warned_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    # What the clock was started with: a later policy change does not move it.
    department = models.ForeignKey(
        "teams.Department", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Whose policy (and business hours) the target came from.",
    )
    target_minutes = models.PositiveIntegerField(default=0)
    warn_share = models.FloatField(default=0.75)
    business_hours = models.BooleanField(default=False)
    # Paused while the case waits on the customer; remaining_minutes (business minutes for a
    # business-hours clock) is what was left to the due time when it paused.
    paused_at = models.DateTimeField(null=True, blank=True)
    remaining_minutes = models.FloatField(null=True, blank=True)
    # The next escalation (level 1 warning, 2 breach, 3 breach plus half the target) and when;
    # NULL when none is left. The sweep is one range scan of the partial index below.
    next_level = models.PositiveSmallIntegerField(null=True, blank=True)
    next_escalation_at = models.DateTimeField(null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = "SLA clock"
        constraints = [
            models.UniqueConstraint(
                fields=["case", "metric"], condition=Q(stopped_at__isnull=True), name="slaclock_one_running_per_metric"
            ),
        ]
        # The sweep reads only running, unpaused clocks with an escalation due: its cost follows
        # due clocks, not open cases.
        indexes = [
            models.Index(
                fields=["next_escalation_at"],
                condition=Q(stopped_at__isnull=True, paused_at__isnull=True, next_escalation_at__isnull=False),
                name="slaclock_next_escalation",
            ),
        ]

    def __str__(self):
        return f"{self.get_metric_display()} clock of case #{self.case_id}"

    @property
    def is_running(self):
        return self.stopped_at is None

    @property
    def is_paused(self):
        return self.stopped_at is None and self.paused_at is not None


class Escalation(models.Model):
    """One row per (clock, level): the unique constraint is what makes escalation exactly-once."""

    clock = models.ForeignKey(SlaClock, on_delete=models.CASCADE, related_name="escalations")
    level = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["clock", "level"], name="escalation_unique_clock_level")]

    def __str__(self):
        return f"Level {self.level} on {self.clock}"


class Notification(models.Model):
    """An in-app notification (the bell), also sent by email once (`emailed_at`)."""

    class Kind(models.TextChoices):
        SLA_WARNING = "sla_warning", "SLA warning"
        SLA_BREACH = "sla_breach", "SLA breached"
        SLA_HEAD = "sla_head", "SLA breached long ago"
        SLA_BOARD = "sla_board", "Urgent case breached"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications")
    escalation = models.ForeignKey(
        Escalation, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    text = models.CharField(max_length=500)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["escalation", "user"], name="notification_unique_escalation_user"),
        ]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="notification_user_created"),
            models.Index(fields=["user"], condition=Q(read_at__isnull=True), name="notification_user_unread"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} for {self.user}"


class Handoff(models.Model):
    """A case passed to another department; it waits for that department to accept or send it back.

    The case moves to the receiving department when it is handed off and back on a return;
    at most one handoff per case is pending (a partial unique constraint).
    """

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="handoffs")
    from_department = models.ForeignKey("teams.Department", on_delete=models.PROTECT, related_name="handoffs_out")
    to_department = models.ForeignKey("teams.Department", on_delete=models.PROTECT, related_name="handoffs_in")
    note = models.TextField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                           related_name="handoffs_made")
    created_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=HandoffStatus.choices, default=HandoffStatus.PENDING)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="handoffs_decided")
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True, help_text="Why the receiving department sent it back.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=Q(status="pending"), name="handoff_one_pending_per_case"
            ),
        ]
        indexes = [models.Index(fields=["to_department", "status"], name="handoff_to_status")]

    def __str__(self):
        return f"Handoff of case #{self.case_id} to {self.to_department_id} ({self.status})"


class FeedbackNote(models.Model):
    """Feedback up the journey: a note to another department about a case, without moving it."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="feedback_notes")
    from_department = models.ForeignKey("teams.Department", on_delete=models.PROTECT, related_name="feedback_out")
    to_department = models.ForeignKey("teams.Department", on_delete=models.PROTECT, related_name="feedback_in")
    text = models.TextField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                           related_name="feedback_sent")
    created_at = models.DateTimeField()
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="feedback_acknowledged")
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["to_department"], condition=Q(acknowledged_at__isnull=True),
                         name="feedbacknote_unacknowledged"),
        ]

    def __str__(self):
        return f"Feedback on case #{self.case_id} to {self.to_department_id}"


class Problem(models.Model):
    """One underlying cause (a defect, a policy, a region or store) that explains several cases."""

    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    owner_department = models.ForeignKey("teams.Department", on_delete=models.PROTECT, related_name="problems")
    status = models.CharField(max_length=10, choices=ProblemStatus.choices, default=ProblemStatus.OPEN)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="problems_created")
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["owner_department", "status"], name="problem_owner_status")]

    def __str__(self):
        return f"Problem #{self.pk}: {self.title}"


class AccountPlatform(models.TextChoices):
    X = "x", "X (Twitter)"
    FACEBOOK = "facebook", "Facebook"
    INSTAGRAM = "instagram", "Instagram"


class Account(models.Model):
    """A connected brand account: where its webhooks arrive and the secrets that verify them.

    Secrets are stored encrypted (`feedback.webhooks.crypto`), or read from the environment
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
        import os

        from feedback.webhooks.crypto import SecretUnavailable, decrypt

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
        from feedback.webhooks.crypto import encrypt

        self.secret_ciphertext = encrypt(value) if value else ""

    def set_verify_token(self, value: str) -> None:
        from feedback.webhooks.crypto import encrypt

        self.verify_token_ciphertext = encrypt(value) if value else ""

    def _hint(self, attribute: str) -> str:
        from feedback.webhooks.crypto import SecretUnavailable, hint

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

    # Reasons that mean the signature was never checked successfully.
    UNVERIFIED_REASONS = (
        Reason.MISSING_SIGNATURE, Reason.BAD_SIGNATURE, Reason.UNKNOWN_ACCOUNT,
        Reason.ACCOUNT_MISCONFIGURED, Reason.TOO_LARGE,
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


class LabelCorrection(models.Model):
    """A person's correction of one label of one mention: the audit row and a training example."""

    mention = models.ForeignKey(Mention, on_delete=models.CASCADE, related_name="label_corrections")
    label = models.CharField(max_length=20, choices=Label.choices)
    old_value = models.CharField(max_length=100, blank=True)
    new_value = models.CharField(max_length=100, blank=True)
    old_confidence = models.FloatField(null=True, blank=True)
    model_version = models.CharField(max_length=40, blank=True, help_text="The model that gave the old value.")
    text = models.TextField(help_text="The post's text when it was corrected (the training example).")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                           related_name="label_corrections")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["label", "at"], name="labelcorrection_label_at")]

    def __str__(self):
        return f"{self.get_label_display()} of {self.mention}: {self.old_value or '-'} -> {self.new_value or '-'}"
