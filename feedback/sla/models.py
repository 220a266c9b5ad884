from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from feedback.choices import ClockMetric, Priority


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
    history = HistoricalRecords()  # the audit trail (feedback.audit)

    class Meta:
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"
        constraints = [
            models.UniqueConstraint(fields=["department", "priority"], name="slapolicy_unique_department_priority"),
        ]

    def __str__(self):
        return f"{self.department} / {self.priority}"


class SlaClock(models.Model):
    case = models.ForeignKey("feedback.Case", on_delete=models.CASCADE, related_name="clocks")
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
            # The inbox's "SLA: warning" filter: the running clocks past their warning time, read from the index
            # alone (their cases), instead of every clock (37 -> 16 ms with 50,000 open cases).
            models.Index(
                fields=["warn_at"], include=["case"], condition=Q(stopped_at__isnull=True, paused_at__isnull=True),
                name="slaclock_running_warn",
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
        HANDOFF = "handoff", "Case handed to your department"
        FEEDBACK = "feedback", "Feedback for your department"
        APPROVAL = "approval", "Reply waiting for your approval"
        REPLY_APPROVED = "reply_approved", "Your reply approved"
        REPLY_REJECTED = "reply_rejected", "Your reply rejected"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    case = models.ForeignKey("feedback.Case", null=True, blank=True, on_delete=models.CASCADE, related_name="notifications")
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
            models.Index(fields=["user", "case", "kind"], name="notification_user_case_kind"),
            models.Index(fields=["user"], condition=Q(read_at__isnull=True), name="notification_user_unread"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} for {self.user}"


class NotificationSettings(models.Model):
    """A person's choices for notification e-mails: at once, in an hourly digest, or none; and for
    which kinds. In-app notifications (the bell) always come; these only decide the e-mails."""

    class Mode(models.TextChoices):
        IMMEDIATE = "immediate", "Each one at once"
        DIGEST = "digest", "One digest an hour"
        OFF = "off", "No e-mails"

    # Warnings stay in the app unless a person asks for them by e-mail.
    DEFAULT_KINDS = [Notification.Kind.SLA_BREACH, Notification.Kind.SLA_HEAD, Notification.Kind.SLA_BOARD,
                     Notification.Kind.HANDOFF, Notification.Kind.FEEDBACK, Notification.Kind.APPROVAL,
                     Notification.Kind.REPLY_APPROVED, Notification.Kind.REPLY_REJECTED]

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="notification_settings")
    email_mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.DIGEST)
    email_kinds = models.JSONField(default=list, blank=True, help_text="The kinds of notification e-mailed.")
    last_digest_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "notification settings"

    def __str__(self):
        return f"Notification settings of {self.user}"
