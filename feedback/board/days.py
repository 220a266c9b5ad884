"""The rollups' days: dates in settings.TIME_ZONE."""

from datetime import date, datetime, time, timedelta

from django.utils import timezone


def day_of(moment: datetime) -> date:
    """The day a moment belongs to, in settings.TIME_ZONE."""
    return timezone.localtime(moment, timezone.get_default_timezone()).date()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a day in settings.TIME_ZONE, as aware datetimes."""
    zone = timezone.get_default_timezone()
    return (datetime.combine(day, time.min, tzinfo=zone),
            datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone))


def today() -> date:
    return day_of(timezone.now())
