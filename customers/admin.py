from django import forms
from django.contrib import admin

from .models import Customer, Identity
from .services import normalize_handle


class IdentityForm(forms.ModelForm):
    class Meta:
        model = Identity
        fields = ["channel", "handle", "customer", "method", "confidence"]

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


@admin.register(Identity)
class IdentityAdmin(admin.ModelAdmin):
    form = IdentityForm
    list_display = ["channel", "handle", "customer", "method", "confidence"]
    list_filter = ["channel", "method"]
    search_fields = ["handle", "customer__name"]
    raw_id_fields = ["customer"]
