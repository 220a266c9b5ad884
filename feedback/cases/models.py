from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from feedback.choices import CaseStatus, EventKind, HandoffStatus, Intent, Priority, ProblemStatus


class CaseQuerySet(models.QuerySet):
    """Every write of cases moves their `updated_at`, which the CRM's incremental sync reads them by (`GET
    /api/v1/cases/?updated_since=`, the cursor): `save()` does it through auto_now, and these do it for the bulk
    writes auto_now never sees (`.update()`, `bulk_update()`: the SLA sweep, the flood guard, merge, erasure,
    retention). A write of nothing the API shows (`next_due_at`) keeps it by passing updated_at=F("updated_at")."""

    def update(self, **kwargs):
        kwargs.setdefault("updated_at", timezone.now())
        return super().update(**kwargs)

    def bulk_update(self, objs, fields, batch_size=None):
        objs, fields = list(objs), list(fields)
        if "updated_at" not in fields:
            now = timezone.now()
            for case in objs:
                case.updated_at = now
            fields.append("updated_at")
        return super().bulk_update(objs, fields, batch_size=batch_size)


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
    routed_by = models.ForeignKey("feedback.RoutingRule", null=True, blank=True, on_delete=models.SET_NULL, related_name="cases")
    tags = models.JSONField(default=list, blank=True)
    requires_approval = models.BooleanField(default=False, help_text="Replies need a lead's approval.")
    # The due time of the nearest running, unpaused SLA clock (NULL: none runs, e.g. pending):
    # written by `feedback.sla.clocks.refresh_next_due` whenever clocks start, stop, pause or resume.
    # The inbox's default order ("most urgent clock first") and its "breached" tab read it.
    next_due_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = CaseQuerySet.as_manager()  # bulk writes move updated_at too

    class Meta:
        indexes = [
            models.Index(fields=["department", "status", "-created_at"], name="case_dept_status_created"),
            # The inbox: open cases of a department, most urgent clock first.
            models.Index(fields=["department", "next_due_at", "id"], name="case_open_dept_next_due",
                         condition=Q(status__in=["new", "open", "pending"])),
            models.Index(fields=["assignee", "department"], name="case_open_assignee",
                         condition=Q(status__in=["new", "open", "pending"])),
            models.Index(fields=["customer", "department", "status"], name="case_customer_dept_status"),
            models.Index(fields=["created_at"], name="case_created_at"),
            # The API's sync order (feedback.api.pagination).
            models.Index(fields=["updated_at", "id"], name="case_updated_id"),
        ]

    def __str__(self):
        return f"Case #{self.pk}"

    @property
    def is_open(self):
        return self.status in (CaseStatus.NEW, CaseStatus.OPEN, CaseStatus.PENDING)


# The events that record a change people (or the system) made to a case, with its before and after: what
# the audit log reads (feedback.audit.case_actions), through the partial index `caseevent_audit`. Label
# corrections are notes with a `correction`.
AUDITED_EVENT_KINDS = [
    EventKind.ASSIGNED, EventKind.PRIORITY, EventKind.STATUS, EventKind.HANDOFF, EventKind.ACCEPTED,
    EventKind.RETURNED, EventKind.FEEDBACK, EventKind.ACKNOWLEDGED, EventKind.STAGE, EventKind.PROBLEM,
    EventKind.PROBLEM_FIX, EventKind.APPROVAL,
]
AUDITED_EVENTS = Q(kind__in=AUDITED_EVENT_KINDS) | Q(kind=EventKind.NOTE, data__has_key="correction")


class CaseEvent(models.Model):
    """The case timeline: one row per thing that happened, with who did it."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=12, choices=EventKind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["case", "created_at"], name="caseevent_case_created"),
            # The audit log's case actions, newest first (feedback.audit.case_actions).
            models.Index(fields=["-created_at", "-id"], name="caseevent_audit", condition=AUDITED_EVENTS),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} on case #{self.case_id}"


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
    history = HistoricalRecords()  # the audit trail (feedback.audit): opened, resolved, its owner or title changed

    class Meta:
        indexes = [models.Index(fields=["owner_department", "status"], name="problem_owner_status")]

    def __str__(self):
        return f"Problem #{self.pk}: {self.title}"


class SavedView(models.Model):
    """A user's named inbox view: the inbox's query string (tab, filters, search, sort)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    name = models.CharField(max_length=80)
    query = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="savedview_unique_user_name")]

    def __str__(self):
        return f"{self.name} ({self.user})"
