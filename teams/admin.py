from django.contrib import admin

from .models import BoardSeat, Department, Membership


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "department", "role"]
    list_filter = ["department", "role"]
    search_fields = ["user__username", "department__name"]
    autocomplete_fields = ["user", "department"]


@admin.register(BoardSeat)
class BoardSeatAdmin(admin.ModelAdmin):
    list_display = ["user", "created_at"]
    autocomplete_fields = ["user"]
