"""Business-hours arithmetic: pure functions over a `Schedule`, no database.

A `Schedule` is a weekly list of open intervals (local wall-clock time, split days allowed:
9-12 and 13-17), a time zone, and closed dates (public holidays of a country from the `holidays`
package plus custom closed days). Each local day is turned into its open intervals in UTC once
and memoised on the schedule, so `add_business_time` and `business_minutes_between` walk whole
days (a closed day costs one dict lookup) and only split the first and last day. Time-zone
changes (DST) are handled by converting each day's local intervals to UTC: a 9-17 day is 8
hours on the day the clocks change, and the 2-3 am hour that does not exist is not counted.
"""

from collections.abc import Callable, Container
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# Days are Monday=0 .. Sunday=6, as date.weekday().
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_DAYS = 3 * 366  # a target that needs more than this many days of searching is a schedule error

Interval = tuple[int, int]  # minutes after local midnight: [start, end), end <= 1440


def parse_week(week: dict[str, list[list[str]]] | list) -> tuple[tuple[Interval, ...], ...]:
    """{"mon": [["09:00", "12:00"], ["13:00", "17:00"]], ...} -> 7 tuples of minute intervals.
    Raises ValueError for a malformed, overlapping or empty interval ("24:00" ends a day)."""
    days = []
    for day in WEEKDAYS:
        spans = week.get(day, []) if isinstance(week, dict) else []
        parsed = []
        for span in spans:
            start, end = (_minutes(value) for value in span)
            if not 0 <= start < end <= 1440:
                raise ValueError(f"{day}: {span[0]}-{span[1]} is not an interval within one day.")
            parsed.append((start, end))
        parsed.sort()
        for (_, end), (start, _) in zip(parsed, parsed[1:], strict=False):
            if start < end:
                raise ValueError(f"{day}: intervals overlap.")
        days.append(tuple(parsed))
    return tuple(days)


def _minutes(value: str) -> int:
    hours, _, minutes = str(value).partition(":")
    return int(hours) * 60 + int(minutes or 0)


@dataclass(eq=False)
class Schedule:
    """Open hours per weekday in `tz`, minus `closed` dates (anything supporting `in`)."""

    week: tuple[tuple[Interval, ...], ...]
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    closed: Container[date] = frozenset()
    _days: dict[date, tuple[tuple[float, float], ...]] = field(default_factory=dict, repr=False)

    def __post_init__(self):
        if len(self.week) != 7:
            raise ValueError("A schedule has 7 days.")
        if not any(self.week):
            raise ValueError("A schedule needs at least one open interval in the week.")

    @classmethod
    def from_config(cls, *, week, tz: str = "UTC", closed: Container[date] = frozenset()) -> "Schedule":
        return cls(week=parse_week(week), tz=ZoneInfo(tz), closed=closed)

    def day(self, day: date) -> tuple[tuple[float, float], ...]:
        """Open intervals of one local day, as UTC POSIX timestamps (memoised)."""
        spans = self._days.get(day)
        if spans is None:
            if day in self.closed:
                spans = ()
            else:
                spans = tuple(
                    (self._timestamp(day, start), self._timestamp(day, end)) for start, end in self.week[day.weekday()]
                )
            self._days[day] = spans
        return spans

    def _timestamp(self, day: date, minute: int) -> float:
        if minute >= 1440:
            day, minute = day + timedelta(days=1), minute - 1440
        local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=self.tz)
        return local.timestamp()

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.tz).date()


def _walk(schedule: Schedule, start: datetime) -> Callable[[], tuple[date, tuple[tuple[float, float], ...]]]:
    day = schedule.local_date(start) - timedelta(days=1)  # the day before, in case an interval spans midnight UTC

    def next_day():
        nonlocal day
        day += timedelta(days=1)
        return day, schedule.day(day)

    return next_day


def add_business_time(start: datetime, minutes: float, schedule: Schedule) -> datetime:
    """The moment `minutes` of open time after `start` (which may be outside hours). An aware
    datetime in UTC. Zero or negative minutes return `start`."""
    if minutes <= 0:
        return start
    remaining = minutes * 60.0
    now = start.timestamp()
    next_day = _walk(schedule, start)
    for _ in range(MAX_DAYS):
        _, spans = next_day()
        for opens, closes in spans:
            if closes <= now:
                continue
            begin = max(opens, now)
            available = closes - begin
            if remaining <= available:
                return datetime.fromtimestamp(begin + remaining, tz=UTC)
            remaining -= available
            now = closes
    raise ValueError(f"No {minutes} open minutes within {MAX_DAYS} days of {start}: check the schedule.")


def business_minutes_between(a: datetime, b: datetime, schedule: Schedule) -> float:
    """Open minutes from `a` to `b`; negative when `b` is before `a`."""
    if b < a:
        return -business_minutes_between(b, a, schedule)
    low, high = a.timestamp(), b.timestamp()
    total = 0.0
    next_day = _walk(schedule, a)
    last = schedule.local_date(b) + timedelta(days=1)
    while True:
        day, spans = next_day()
        if day > last:
            break
        for opens, closes in spans:
            begin, end = max(opens, low), min(closes, high)
            if end > begin:
                total += end - begin
    return total / 60.0


# The calendar: every minute counts. Used when a policy is in calendar hours.
def add_calendar_time(start: datetime, minutes: float) -> datetime:
    return start + timedelta(minutes=minutes) if minutes > 0 else start


def calendar_minutes_between(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 60.0
