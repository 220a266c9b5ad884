from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import BoardSeat, BusinessSchedule, ClosedDay, Department, Membership


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Department)
class DepartmentAdmin(SimpleHistoryAdmin):
    list_display = ["name", "slug", "assignment", "reopen_window"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "department", "role", "away"]
    list_filter = ["department", "role", "away"]
    search_fields = ["user__username", "department__name"]
    autocomplete_fields = ["user", "department"]


@admin.register(BoardSeat)
class BoardSeatAdmin(admin.ModelAdmin):
    list_display = ["user", "created_at"]
    autocomplete_fields = ["user"]


class ClosedDayInline(admin.TabularInline):
    model = ClosedDay
    extra = 1


@admin.register(BusinessSchedule)
class BusinessScheduleAdmin(SimpleHistoryAdmin):
    list_display = ["department", "time_zone", "holiday_country", "holiday_subdivision", "updated_at"]
    inlines = [ClosedDayInline]


@admin.register(ClosedDay)
class ClosedDayAdmin(SimpleHistoryAdmin):
    """Edited with their schedule; listed here for their history (who added or removed a day)."""

    list_display = ["schedule", "date", "name"]
    list_filter = ["schedule"]
