from django import forms
from django.contrib import admin

from .matching import refresh_keys
from .models import AuditEntry, Customer, Identity, MatchSuggestion
from .services import normalize_handle
from .signals import send_regions_changed


class IdentityForm(forms.ModelForm):
    class Meta:
        model = Identity
        fields = ["channel", "handle", "display_name", "customer", "method", "confidence"]

    def clean_handle(self):
        return normalize_handle(self.cleaned_data["handle"])


class IdentityInline(admin.TabularInline):
    model = Identity
    form = IdentityForm
    extra = 0


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "external_id", "stage", "value", "region", "updated_at"]
    list_filter = ["stage", "region"]
    search_fields = ["name", "external_id", "email", "identities__handle"]
    inlines = [IdentityInline]
    raw_id_fields = ["merged_into"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "region" in form.changed_data:
            send_regions_changed([obj.pk])  # the board counts the customer's posts by region

    def delete_model(self, request, obj):
        send_regions_changed([obj.pk])  # before: the posts lose their customer, and so its region
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        send_regions_changed(queryset.values_list("pk", flat=True))
        super().delete_queryset(request, queryset)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        refresh_keys(customer_ids=[form.instance.pk])  # name, email, phone or handles may have changed


@admin.register(MatchSuggestion)
class MatchSuggestionAdmin(admin.ModelAdmin):
    list_display = ["prospect", "candidate", "method", "confidence", "status", "created_at"]
    list_filter = ["status", "method"]
    raw_id_fields = ["prospect", "candidate", "decided_by"]


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Privacy audit log: read-only."""

    list_display = ["action", "customer_id_ref", "actor", "at"]
    list_filter = ["action"]
    search_fields = ["=customer_id_ref"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Identity)
class IdentityAdmin(admin.ModelAdmin):
    form = IdentityForm
    list_display = ["channel", "handle", "customer", "method", "confidence"]
    list_filter = ["channel", "method"]
    search_fields = ["handle", "customer__name"]
    raw_id_fields = ["customer"]
