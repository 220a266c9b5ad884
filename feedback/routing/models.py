from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from feedback.choices import Priority


class RoutingRule(models.Model):
    """One routing rule, edited by department heads: conditions and actions.

    Active rules are tried by `position`; the first whose conditions all hold wins (an empty
    condition always holds); the default rule (exactly one) catches the rest. Evaluated by
    `feedback.routing.services`, which compiles the active rules once per batch.
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
    promises = models.ManyToManyField("feedback.Promise", blank=True, related_name="routing_rules")
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
    # Who changed what and when, before and after (django-simple-history; feedback.audit reads it).
    history = HistoricalRecords(m2m_fields=["promises"], excluded_fields=["updated_at"])

    class Meta:
        ordering = ["is_default", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="routingrule_one_default"),
        ]

    def __str__(self):
        return self.name
