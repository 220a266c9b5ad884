from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import BoardSeat, BusinessSchedule, ClosedDay, Department, Membership
from .selectors import headed_departments
from .signals import send_departments_changed


class HeadedDepartmentAdmin(SimpleHistoryAdmin):
    """Least privilege for a department's own settings (SLA policies, business schedules): staff who are not
    superusers list, open, change and delete only the rows of departments they head, and choose only those."""

    department_field = "department"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{f"{self.department_field}__in": headed_departments(user=request.user)})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == self.department_field and not request.user.is_superuser:
            kwargs["queryset"] = headed_departments(user=request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


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

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and {"name", "slug"} & set(form.changed_data):  # the board shows departments by name
            send_departments_changed([obj.pk], slugs_changed="slug" in form.changed_data)

    def delete_model(self, request, obj):
        send_departments_changed([obj.pk])  # a department with cases, handoffs or notes is protected
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        send_departments_changed(queryset.values_list("pk", flat=True))
        super().delete_queryset(request, queryset)


@admin.register(Membership)
class MembershipAdmin(SimpleHistoryAdmin):
    list_display = ["user", "department", "role", "away"]
    list_filter = ["department", "role", "away"]
    search_fields = ["user__username", "department__name"]
    autocomplete_fields = ["user", "department"]


@admin.register(BoardSeat)
class BoardSeatAdmin(SimpleHistoryAdmin):
    list_display = ["user", "created_at"]
    autocomplete_fields = ["user"]


class ClosedDayInline(admin.TabularInline):
    model = ClosedDay
    extra = 1


@admin.register(BusinessSchedule)
class BusinessScheduleAdmin(HeadedDepartmentAdmin):
    list_display = ["department", "time_zone", "holiday_country", "holiday_subdivision", "updated_at"]
    inlines = [ClosedDayInline]


@admin.register(ClosedDay)
class ClosedDayAdmin(SimpleHistoryAdmin):
    """Edited with their schedule (where heads see only their departments'); listed here, read-only, for their
    history (who added or removed a day)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    list_display = ["schedule", "date", "name"]
    list_filter = ["schedule"]
