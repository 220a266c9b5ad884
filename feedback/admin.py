import json

from django import forms
from django.contrib import admin, messages
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from config.errors import BatonError
from feedback.board import upkeep
from feedback.cases import services as case_services
from feedback.cases.models import Case, CaseEvent, FeedbackNote, Handoff, Problem
from feedback.choices import Label
from feedback.intake.models import Account, InboundPayload, Mention, RejectedDeliveryCount
from feedback.intake.webhooks import services as webhooks
from feedback.pipeline import retry_failed
from feedback.replies.models import CannedResponse, Reply, SendingCredential
from feedback.routing.models import RoutingRule
from feedback.sla.models import Escalation, Notification, SlaClock, SlaPolicy
from feedback.understanding.forms import LinesField
from feedback.understanding.labels import correct_label, parse_label_value
from feedback.understanding.models import LabelCorrection, Promise
from teams.admin import HeadedDepartmentAdmin


class MentionAdminForm(forms.ModelForm):
    """Labels are read-only here: a correction goes through `labels.correct_label`, like on the case page."""

    correct_label = forms.ChoiceField(
        choices=[("", "---------"), *Label.choices], required=False, label="Correct a label",
        help_text="A person's label overrides the model's, is never overwritten by re-processing and is kept "
                  "as a training example.",
    )
    url = forms.URLField(required=False, max_length=500, assume_scheme="https")  # built when admin loads: no warning
    correct_value = forms.CharField(
        required=False, max_length=100, label="New value",
        help_text="The value's code: an intent (complaint, question...), positive/neutral/negative, true/false, "
                  "a promise slug (empty for none), an ISO 639 language code, or an assessment (rectify...).",
    )

    class Meta:
        model = Mention
        fields = "__all__"  # noqa: DJ007 - the admin lists the fields; the labels are read-only there

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("correct_label"):
            try:
                parse_label_value(cleaned["correct_label"], cleaned.get("correct_value"))
            except BatonError as exc:
                self.add_error("correct_value", exc.message)
        return cleaned


class LabelCorrectionInline(admin.TabularInline):
    model = LabelCorrection
    extra = 0
    fields = ["label", "old_value", "new_value", "old_confidence", "model_version", "by", "at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Mention)
class MentionAdmin(admin.ModelAdmin):
    form = MentionAdminForm
    inlines = [LabelCorrectionInline]
    list_display = ["external_id", "source", "author_handle", "status", "intent", "sentiment_label", "posted_at"]
    list_filter = ["status", "source", "intent", "sentiment_label", "is_complaint", "is_spam", "assessment", "promise",
                   "language"]
    search_fields = ["external_id", "author_handle", "text"]
    # The case and customer are set by processing (attach_mentions), which writes the timeline.
    readonly_fields = ["customer", "case", "received_at", "processed_at", "attempts", "error", "sentiment", "sentiment_label", "sentiment_confidence", "intent", "intent_confidence", "is_complaint", "complaint_confidence", "promise", "promise_confidence", "is_spam", "spam_confidence", "language", "assessment", "model_version", "corrected_labels", "priority"]
    date_hierarchy = "posted_at"
    actions = ["retry"]

    # What the board's rollups count of a mention that is editable here (labels change through correct_label).
    COUNTED_FIELDS = frozenset({"posted_at", "source", "raw"})

    def save_model(self, request, obj, form, change):
        counted = change and self.COUNTED_FIELDS.intersection(form.changed_data)
        if counted:
            upkeep.touch_mention_ids([obj.pk])  # the day it counted on until now
        super().save_model(request, obj, form, change)
        if counted:
            upkeep.touch_mentions(mentions=[obj])
        if change and form.cleaned_data.get("correct_label"):
            correct_label(mention=obj, label=form.cleaned_data["correct_label"],
                          value=form.cleaned_data.get("correct_value") or "", by=request.user)
            self.message_user(request, "Label corrected; it is kept as a training example.", messages.SUCCESS)

    def delete_model(self, request, obj):
        upkeep.touch_mention_ids([obj.pk])  # the board counted it
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        upkeep.touch_mention_ids(queryset.values_list("pk", flat=True))
        super().delete_queryset(request, queryset)

    @admin.action(description="Retry processing of the selected failed mentions")
    def retry(self, request, queryset):
        count = retry_failed(ids=list(queryset.values_list("id", flat=True)))
        self.message_user(request, f"{count} failed mention(s) queued again.", messages.SUCCESS)


class ReadOnlyAdminMixin:
    """Shown here, never written here: a case, its timeline, its handoffs and its clocks change only
    through the services (feedback.cases, feedback.sla), which lock the case, follow the status
    machine, keep the clocks in step and write the timeline. Actions below call those services."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CaseEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = CaseEvent
    extra = 0
    readonly_fields = ["kind", "actor", "data", "created_at"]


class SlaClockInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = SlaClock
    extra = 0
    readonly_fields = ["metric", "started_at", "warn_at", "due_at", "stopped_at", "warned_at", "breached_at"]


@admin.register(Case)
class CaseAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: status, department, priority and assignee change on the case page (the services)."""

    list_display = ["id", "customer", "department", "status", "priority", "intent", "escalation_level", "created_at"]
    list_filter = ["department", "status", "priority", "intent", "escalation_level"]
    search_fields = ["id", "subject", "customer__name"]
    raw_id_fields = ["customer", "assignee"]
    inlines = [SlaClockInline, CaseEventInline]
    actions = ["close_resolved"]

    def has_close_permission(self, request):
        return request.user.has_perm("feedback.change_case")

    @admin.action(description="Close the selected resolved cases", permissions=["close"])
    def close_resolved(self, request, queryset):
        ids = list(queryset.values_list("id", flat=True))
        closed = case_services.close_resolved(case_ids=ids, by=request.user, reason="Closed in the admin.")
        self.message_user(request, f"{closed} case(s) closed; {len(ids) - closed} not resolved, left as they were.",
                          messages.SUCCESS if closed == len(ids) else messages.WARNING)


@admin.register(RoutingRule)
class RoutingRuleAdmin(SimpleHistoryAdmin):
    """Heads edit rules in the portal (/routing/rules/); this is the superuser's view."""

    list_display = ["name", "position", "is_active", "is_default", "department", "monitor_only"]
    list_filter = ["is_active", "department"]
    ordering = ["is_default", "position", "id"]
    filter_horizontal = ["promises"]


@admin.register(CaseEvent)
class CaseEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["case", "kind", "actor", "created_at"]
    list_filter = ["kind"]
    raw_id_fields = ["case", "actor"]


@admin.register(Handoff)
class HandoffAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read here; decided on the incoming page (feedback.cases.journey), which keeps the timeline."""

    list_display = ["id", "case", "from_department", "to_department", "status", "created_at", "decided_at"]
    list_filter = ["status", "to_department", "from_department"]
    raw_id_fields = ["case", "by", "decided_by"]


@admin.register(FeedbackNote)
class FeedbackNoteAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read here; acknowledged on the case page (feedback.cases.journey), which keeps the timeline."""

    list_display = ["id", "case", "from_department", "to_department", "created_at", "acknowledged_at"]
    list_filter = ["to_department", "from_department"]
    raw_id_fields = ["case", "by", "acknowledged_by"]


@admin.register(Problem)
class ProblemAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "owner_department", "status", "created_at", "resolved_at"]
    list_filter = ["status", "owner_department"]
    search_fields = ["title", "description"]
    raw_id_fields = ["created_by"]
    # Resolving a problem resolves or tells its cases: only through its page (feedback.cases.problems).
    readonly_fields = ["status", "resolved_at", "resolution"]

    def has_delete_permission(self, request, obj=None):
        return False  # its cases would lose the link without a word on their timelines

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        upkeep.names_changed()  # the board shows problems by title and owner


@admin.register(SlaPolicy)
class SlaPolicyAdmin(HeadedDepartmentAdmin):  # staff heads: their departments' policies only
    list_display = ["department", "priority", "first_reply_minutes", "next_reply_minutes", "resolution_minutes",
                    "handoff_acceptance_minutes", "warn_share", "business_hours"]
    list_filter = ["department", "priority", "business_hours"]
    list_editable = ["business_hours"]


@admin.register(SlaClock)
class SlaClockAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: clocks follow the case's status and the sweep (feedback.sla.clocks)."""

    list_display = ["case", "metric", "started_at", "due_at", "paused_at", "stopped_at", "breached_at",
                    "escalation_level", "next_level", "next_escalation_at"]
    list_filter = ["metric", "business_hours", "escalation_level"]
    raw_id_fields = ["case"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["user", "kind", "case", "created_at", "read_at", "emailed_at"]
    list_filter = ["kind"]
    raw_id_fields = ["user", "case", "escalation"]


@admin.register(Escalation)
class EscalationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["clock", "level", "created_at"]
    list_filter = ["level"]
    raw_id_fields = ["clock"]


class AccountForm(forms.ModelForm):
    """Secrets are write-only: a new value replaces the stored one; the current one is never rendered."""

    new_secret = forms.CharField(
        required=False, strip=True, widget=forms.PasswordInput(render_value=False),
        help_text="Consumer secret (X) or app secret (Meta). Leave empty to keep the current one.",
    )
    new_verify_token = forms.CharField(
        required=False, strip=True, widget=forms.PasswordInput(render_value=False),
        help_text="Meta only: the verify token entered in the App Dashboard. Leave empty to keep the current one.",
    )

    class Meta:
        model = Account
        fields = ["platform", "slug", "handle", "platform_user_id", "is_active", "secret_env", "verify_token_env"]

    def save(self, commit=True):
        account = super().save(commit=False)
        if self.cleaned_data.get("new_secret"):
            account.set_secret(self.cleaned_data["new_secret"])
        if self.cleaned_data.get("new_verify_token"):
            account.set_verify_token(self.cleaned_data["new_verify_token"])
        if commit:
            account.save()
        return account


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    form = AccountForm
    list_display = ["slug", "platform", "handle", "platform_user_id", "secret_shown", "is_active"]
    list_filter = ["platform", "is_active"]
    search_fields = ["slug", "handle", "platform_user_id"]
    readonly_fields = ["webhook_url", "secret_shown", "verify_token_shown", "created_at"]
    fieldsets = [
        (None, {"fields": ["platform", "slug", "handle", "platform_user_id", "is_active", "webhook_url", "created_at"]}),
        ("Secrets", {
            "description": "Stored encrypted (BATON_FIELD_KEY), or read from the named environment variable. "
                           "Only the last four characters are shown.",
            "fields": ["secret_shown", "new_secret", "secret_env", "verify_token_shown", "new_verify_token",
                       "verify_token_env"],
        }),
    ]

    @admin.display(description="Secret")
    def secret_shown(self, account):
        return account.secret_hint or "not set"

    @admin.display(description="Verify token")
    def verify_token_shown(self, account):
        return account.verify_token_hint or "not set"

    @admin.display(description="Webhook URL")
    def webhook_url(self, account):
        if not account.pk:
            return "-"
        name = "webhooks:x" if account.platform == "x" else "webhooks:meta"
        try:
            return reverse(name, kwargs={"account": account.slug})
        except NoReverseMatch:
            return "-"


@admin.register(InboundPayload)
class InboundPayloadAdmin(admin.ModelAdmin):
    """The webhook log and its quarantine. The changelist title counts payloads per status and reason."""

    list_display = ["id", "received_at", "channel", "account_ref", "status", "reason", "verified", "body_size",
                    "attempts"]
    list_filter = ["status", "reason", "channel", "verified"]
    search_fields = ["account_ref", "detail", "body_sha256"]
    date_hierarchy = "received_at"
    raw_id_fields = ["account"]
    readonly_fields = ["channel", "account", "account_ref", "status", "reason", "detail", "verified", "result_shown",
                       "attempts", "received_at", "processed_at", "content_type", "body_size", "body_truncated",
                       "body_sha256", "headers_shown", "body_shown"]
    exclude = ["headers", "body", "result"]
    actions = ["replay"]

    def has_add_permission(self, request):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).defer("body")  # up to BATON_WEBHOOK_MAX_BYTES (Meta: _META_MAX_BYTES) each

    def changelist_view(self, request, extra_context=None):
        counts = webhooks.payload_counts()
        quarantined = [row for row in counts if row["status"] == InboundPayload.Status.QUARANTINED]
        reasons = dict(InboundPayload.Reason.choices)
        summary = ", ".join(f"{reasons.get(row['reason'], row['reason'] or '-')}: {row['count']}" for row in quarantined)
        totals = {}
        for row in counts:
            totals[row["status"]] = totals.get(row["status"], 0) + row["count"]
        title = (
            f"Inbound payloads: {totals.get('quarantined', 0)} quarantined"
            + (f" ({summary})" if summary else "")
            + f", {totals.get('received', 0)} waiting, {totals.get('processed', 0)} processed"
        )
        return super().changelist_view(request, extra_context={"title": title, **(extra_context or {})})

    @admin.display(description="Headers")
    def headers_shown(self, payload):
        return format_html("<pre>{}</pre>", json.dumps(payload.headers, indent=2, ensure_ascii=False))

    @admin.display(description="Result")
    def result_shown(self, payload):
        return format_html("<pre>{}</pre>", json.dumps(payload.result, indent=2, ensure_ascii=False))

    @admin.display(description="Body (first 20,000 characters)")
    def body_shown(self, payload):
        text = bytes(payload.body).decode("utf-8", errors="replace")
        return format_html("<pre>{}</pre>", text[:20_000])  # no style attribute: the CSP refuses them

    @admin.action(description="Replay the selected quarantined payloads (verified signatures only)")
    def replay(self, request, queryset):
        report = webhooks.replay_quarantined(ids=list(queryset.values_list("id", flat=True)))
        self.message_user(
            request,
            f"{report.processed} processed, {report.still_quarantined} still quarantined, {report.waiting} waiting, "
            f"{report.skipped_unverified} unverified skipped (use manage.py replay_quarantine --include-unverified).",
            messages.SUCCESS if not report.still_quarantined else messages.WARNING,
        )


@admin.register(RejectedDeliveryCount)
class RejectedDeliveryCountAdmin(admin.ModelAdmin):
    """Refused webhook deliveries per day, channel, account and reason: the flood gauge (read-only)."""

    list_display = ["day", "channel", "account_ref", "reason", "count", "bytes", "last_at"]
    list_filter = ["reason", "channel", "day"]
    search_fields = ["account_ref"]
    date_hierarchy = "day"
    readonly_fields = list_display

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class PromiseAdminForm(forms.ModelForm):
    phrases = LinesField(widget=forms.Textarea(attrs={"rows": 6}), required=False,
                         help_text="One a line: the words customers use about it.")
    examples = LinesField(widget=forms.Textarea(attrs={"rows": 4}), required=False,
                          help_text="One a line: posts about it.")

    class Meta:
        model = Promise
        fields = ["name", "slug", "description", "phrases", "examples", "department", "target", "is_active"]


@admin.register(Promise)
class PromiseAdmin(SimpleHistoryAdmin):
    form = PromiseAdminForm
    list_display = ["name", "slug", "department", "target", "is_active"]
    list_filter = ["is_active", "department"]
    search_fields = ["name", "slug", "description"]

    def has_delete_permission(self, request, obj=None):
        # As understanding.promises.delete_promise: a promise mentions were matched to is deactivated, not
        # deleted, so its mentions keep it and the board's gap history stays.
        if obj is not None and obj.mentions.exists():
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # a bulk delete would not ask has_delete_permission per promise
        return actions

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        upkeep.names_changed()  # the board shows promises by name, department and target

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        upkeep.names_changed()


@admin.register(LabelCorrection)
class LabelCorrectionAdmin(admin.ModelAdmin):
    """The audit trail of people's labels, and the training examples: read-only."""

    list_display = ["at", "mention", "label", "old_value", "new_value", "by", "model_version"]
    list_filter = ["label", "model_version"]
    search_fields = ["text", "mention__external_id", "by__username"]
    raw_id_fields = ["mention", "by"]
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class SendingCredentialForm(forms.ModelForm):
    """The token is written, never read back: the form has a password field that stays empty."""

    new_token = forms.CharField(
        required=False, strip=True, widget=forms.PasswordInput(render_value=False), label="New token",
        help_text="X: an OAuth 2.0 user access token with tweet.write. Facebook/Instagram: the Page access token. "
                  "Leave empty to keep the current one.",
    )

    class Meta:
        model = SendingCredential
        fields = ["account"]

    def clean(self):
        data = super().clean()
        if not self.instance.pk and not data.get("new_token"):
            self.add_error("new_token", "Enter the token the connector posts with.")
        return data


@admin.register(SendingCredential)
class SendingCredentialAdmin(admin.ModelAdmin):
    """Connected accounts that post replies (feedback.replies.connectors); tokens stored encrypted."""

    form = SendingCredentialForm
    list_display = ["account", "token_shown", "updated_at"]
    readonly_fields = ["token_shown", "updated_at"]

    @admin.display(description="Token")
    def token_shown(self, credential):
        return credential.token_hint or "not set" if credential.pk else "-"

    def save_model(self, request, obj, form, change):
        token = form.cleaned_data.get("new_token")
        if token:
            obj.set_token(token)
        obj.save()


@admin.register(Reply)
class ReplyAdmin(admin.ModelAdmin):
    """Replies on their way and sent: read-only (they change through the composer and the approvals page)."""

    list_display = ["id", "case", "status", "kind", "connector", "attempts", "platform_id", "created_at", "sent_at"]
    list_filter = ["status", "connector", "kind"]
    search_fields = ["text", "platform_id"]
    raw_id_fields = ["case", "in_reply_to", "author", "decided_by", "account", "canned"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(CannedResponse)
class CannedResponseAdmin(SimpleHistoryAdmin):
    list_display = ["title", "department", "assessment", "is_active", "updated_at"]
    list_filter = ["department", "assessment", "is_active"]
