from django.conf import settings
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from feedback.choices import Label


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
    history = HistoricalRecords(excluded_fields=["updated_at"])  # the audit trail (feedback.audit)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class LabelCorrection(models.Model):
    """A person's correction of one label of one mention: the audit row and a training example."""

    mention = models.ForeignKey("feedback.Mention", on_delete=models.CASCADE, related_name="label_corrections")
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
