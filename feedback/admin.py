from django.contrib import admin, messages

from .choices import MentionStatus
from .models import Case, CaseEvent, Escalation, Mention, SlaClock, SlaPolicy
from .services.pipeline import retry_failed


@admin.register(Mention)
class MentionAdmin(admin.ModelAdmin):
    list_display = ["external_id", "source", "author_handle", "status", "intent", "sentiment_label", "posted_at"]
    list_filter = ["status", "source", "intent", "sentiment_label"]
    search_fields = ["external_id", "author_handle", "text"]
    raw_id_fields = ["customer", "case"]
    readonly_fields = ["received_at", "processed_at", "attempts", "error"]
    date_hierarchy = "posted_at"
    actions = ["retry"]

    @admin.action(description="Retry processing of the selected failed mentions")
    def retry(self, request, queryset):
        count = retry_failed(ids=list(queryset.values_list("id", flat=True)))
        self.message_user(request, f"{count} failed mention(s) queued again.", messages.SUCCESS)


class CaseEventInline(admin.TabularInline):
    model = CaseEvent
    extra = 0
    readonly_fields = ["kind", "actor", "data", "created_at"]
    can_delete = False


class SlaClockInline(admin.TabularInline):
    model = SlaClock
    extra = 0
    readonly_fields = ["metric", "started_at", "warn_at", "due_at", "stopped_at", "warned_at", "breached_at"]
    can_delete = False


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ["id", "customer", "department", "status", "priority", "intent", "escalation_level", "created_at"]
    list_filter = ["department", "status", "priority", "intent", "escalation_level"]
    search_fields = ["id", "subject", "customer__name"]
    raw_id_fields = ["customer", "assignee"]
    inlines = [SlaClockInline, CaseEventInline]


@admin.register(CaseEvent)
class CaseEventAdmin(admin.ModelAdmin):
    list_display = ["case", "kind", "actor", "created_at"]
    list_filter = ["kind"]
    raw_id_fields = ["case", "actor"]


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = ["department", "priority", "first_reply_minutes", "resolution_minutes"]
    list_filter = ["department", "priority"]


@admin.register(SlaClock)
class SlaClockAdmin(admin.ModelAdmin):
    list_display = ["case", "metric", "started_at", "due_at", "stopped_at", "breached_at"]
    list_filter = ["metric"]
    raw_id_fields = ["case"]


@admin.register(Escalation)
class EscalationAdmin(admin.ModelAdmin):
    list_display = ["clock", "level", "created_at"]
    list_filter = ["level"]
    raw_id_fields = ["clock"]
