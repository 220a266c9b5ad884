from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .choices import (
    CaseStatus,
    ClockMetric,
    EventKind,
    Intent,
    MentionStatus,
    Priority,
    Sentiment,
    Source,
)


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

    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="mentions"
    )
    case = models.ForeignKey("Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="mentions")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="mention_unique_source_external_id"),
        ]
        indexes = [
            models.Index(fields=["status", "received_at"], name="mention_status_received"),
            models.Index(fields=["posted_at"], name="mention_posted_at"),
        ]

    def __str__(self):
        return f"{self.source}:{self.external_id}"


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
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)
    first_replied_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

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
    """Targets per department and priority, in calendar minutes (business hours come later)."""

    department = models.ForeignKey("teams.Department", on_delete=models.CASCADE, related_name="sla_policies")
    priority = models.CharField(max_length=10, choices=Priority.choices)
    first_reply_minutes = models.PositiveIntegerField()
    resolution_minutes = models.PositiveIntegerField()

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

    class Meta:
        verbose_name = "SLA clock"
        constraints = [
            models.UniqueConstraint(
                fields=["case", "metric"], condition=Q(stopped_at__isnull=True), name="slaclock_one_running_per_metric"
            ),
        ]
        # The sweep reads only running clocks that are due: its cost follows due clocks, not open cases.
        indexes = [
            models.Index(
                fields=["due_at"], condition=Q(stopped_at__isnull=True, breached_at__isnull=True), name="slaclock_due"
            ),
            models.Index(
                fields=["warn_at"], condition=Q(stopped_at__isnull=True, warned_at__isnull=True), name="slaclock_warn"
            ),
        ]

    def __str__(self):
        return f"{self.get_metric_display()} clock of case #{self.case_id}"

    @property
    def is_running(self):
        return self.stopped_at is None


class Escalation(models.Model):
    """One row per (clock, level): the unique constraint is what makes escalation exactly-once."""

    clock = models.ForeignKey(SlaClock, on_delete=models.CASCADE, related_name="escalations")
    level = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["clock", "level"], name="escalation_unique_clock_level")]

    def __str__(self):
        return f"Level {self.level} on {self.clock}"
