from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.db import models
from simple_history import register
from simple_history.models import HistoricalRecords

from config.history import AuditedHistory
from teams.business_hours import WEEKDAYS, Schedule, parse_week
from teams.defaults import DEFAULT_WEEK


class Assignment(models.TextChoices):
    ROUND_ROBIN = "round_robin", "Round robin among available agents"
    LEAST_OPEN = "least_open", "The available agent with the fewest open cases"
    NONE = "none", "Leave new cases unassigned"


class Department(models.Model):
    """A team that owns cases: marketing, sales, after-sales, service, product, hr, legal."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=80)
    description = models.TextField(blank=True)
    # Settings a head edits (feedback.cases.assignment, feedback.cases.services).
    reopen_window = models.DurationField(
        default=timedelta(days=7), help_text="A post this long after a case was resolved reopens it."
    )
    assignment = models.CharField(max_length=12, choices=Assignment.choices, default=Assignment.ROUND_ROBIN)
    # Round robin: the user id assigned last; moved under the department's row lock.
    assignment_cursor = models.BigIntegerField(default=0, editable=False)
    # The audit trail of the settings (django-simple-history); not of the cursor, which every assignment moves.
    history = HistoricalRecords(excluded_fields=["assignment_cursor"])

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


def _default_week():
    return {day: [list(span) for span in spans] for day, spans in DEFAULT_WEEK.items()}


class BusinessSchedule(models.Model):
    """A department's business hours: a weekly schedule in a time zone, minus the public holidays
    of a country (the `holidays` package) and custom closed days. SLA policies in business hours
    count only these hours (teams.business_hours)."""

    department = models.OneToOneField(Department, on_delete=models.CASCADE, related_name="business_schedule")
    time_zone = models.CharField(max_length=64, default="UTC", help_text="An IANA name, e.g. Europe/Berlin.")
    week = models.JSONField(
        default=_default_week,
        help_text='Open intervals per weekday, local time: {"mon": [["09:00", "12:00"], ["13:00", "17:00"]], ...}; '
                  "a day left out is closed.",
    )
    holiday_country = models.CharField(
        max_length=10, blank=True, help_text="ISO country code whose public holidays are closed (e.g. DE, US).",
    )
    holiday_subdivision = models.CharField(max_length=10, blank=True, help_text="Optional state or region, e.g. BY.")
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])  # the audit trail (django-simple-history)

    def __str__(self):
        return f"Business hours of {self.department}"

    def clean(self):
        errors = {}
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            errors["time_zone"] = f"Unknown time zone {self.time_zone!r}."
        try:
            Schedule(week=parse_week(self.week))
        except (ValueError, TypeError, AttributeError) as exc:
            errors["week"] = str(exc)
        unknown = sorted(set(self.week) - set(WEEKDAYS)) if isinstance(self.week, dict) else []
        if unknown and "week" not in errors:  # a misspelt day would otherwise be closed without a word
            errors["week"] = f"Unknown day(s) {', '.join(unknown)}: the days are {', '.join(WEEKDAYS)}."
        if self.holiday_country:
            import holidays  # here, not at the top: 50 ms of country tables, for schedules that name a country

            try:
                holidays.country_holidays(self.holiday_country, subdiv=self.holiday_subdivision or None)
            except NotImplementedError as exc:
                errors["holiday_country"] = str(exc)
        if errors:
            raise ValidationError(errors)


class ClosedDay(models.Model):
    """A custom closed date of a schedule (company holiday, office move)."""

    schedule = models.ForeignKey(BusinessSchedule, on_delete=models.CASCADE, related_name="closed_days")
    date = models.DateField()
    name = models.CharField(max_length=100, blank=True)
    history = HistoricalRecords()  # the audit trail (django-simple-history)

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["schedule", "date"], name="closedday_unique_schedule_date")]

    def __str__(self):
        return f"{self.date} ({self.name or 'closed'})"


class Role(models.TextChoices):
    AGENT = "agent", "Agent"
    LEAD = "lead", "Lead"
    HEAD = "head", "Head"


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.AGENT)
    away = models.BooleanField(default=False, help_text="Away: gets no new cases.")
    # The audit trail (django-simple-history): who added or removed a member, changed a role or went away.
    history = HistoricalRecords()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "department"], name="membership_unique_user_department")]

    def __str__(self):
        return f"{self.user} ({self.role}, {self.department})"


class BoardSeat(models.Model):
    """The board role: sees aggregates on the board dashboard, not customer-level data."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="board_seat")
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()  # the audit trail: who gave or took the board role

    def __str__(self):
        return f"Board: {self.user}"


# --- People's accounts: the audit trail of who changed them (feedback.audit) ---------------------------------


def _password_rehashed(user, written: frozenset[str]) -> bool:
    """A login upgrading the password's hash (Django's `check_password` saves it alone, having cleared
    `_password`): the same password, not a change."""
    return written == {"password"} and getattr(user, "_password", None) is None


# People's accounts (created, renamed, deactivated, staff and admin rights, groups and permissions, a password
# changed: never the hash) and the groups' permissions; a login (`last_login`) is no change.
register(User, app="teams", records_class=AuditedHistory, secrets={"password": "password"}, quiet=["last_login"],
         ignore_save=_password_rehashed, m2m_fields=["groups", "user_permissions"])
register(Group, app="teams", m2m_fields=["permissions"])
