"""Business-hours arithmetic (teams/business_hours.py): pure functions, no database."""

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest

from teams.business_hours import (
    Schedule,
    add_business_time,
    business_minutes_between,
    parse_week,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
WEEKDAYS_9_17 = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
SPLIT = {day: [["09:00", "12:00"], ["13:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


def local(zone, *args):
    return datetime(*args, tzinfo=zone)


def berlin(**kwargs):
    return Schedule.from_config(week=WEEKDAYS_9_17, tz="Europe/Berlin", **kwargs)


def roundtrip(start, minutes, schedule):
    """add and between agree: the open minutes from start to the result are the minutes asked."""
    end = add_business_time(start, minutes, schedule)
    assert business_minutes_between(start, end, schedule) == pytest.approx(minutes)
    return end


class TestAddBusinessTime:
    def test_within_one_day(self):
        # Monday 2026-03-02 10:00 Berlin + 2 h = 12:00
        assert roundtrip(local(BERLIN, 2026, 3, 2, 10), 120, berlin()) == local(BERLIN, 2026, 3, 2, 12)

    def test_the_result_is_in_utc(self):
        result = add_business_time(local(BERLIN, 2026, 3, 2, 10), 60, berlin())
        assert result.tzinfo == UTC

    def test_overnight_carries_to_the_next_morning(self):
        # Monday 16:00 + 2 h: one hour today, one tomorrow from 9:00
        assert roundtrip(local(BERLIN, 2026, 3, 2, 16), 120, berlin()) == local(BERLIN, 2026, 3, 3, 10)

    def test_ending_exactly_at_closing_time(self):
        assert roundtrip(local(BERLIN, 2026, 3, 2, 16), 60, berlin()) == local(BERLIN, 2026, 3, 2, 17)

    def test_friday_afternoon_carries_over_the_weekend(self):
        # Friday 2026-03-06 15:00 + 4 h: 2 h on Friday, 2 h on Monday
        assert roundtrip(local(BERLIN, 2026, 3, 6, 15), 240, berlin()) == local(BERLIN, 2026, 3, 9, 11)

    def test_starting_outside_hours_counts_from_the_next_opening(self):
        schedule = berlin()
        assert roundtrip(local(BERLIN, 2026, 3, 2, 6, 30), 30, schedule) == local(BERLIN, 2026, 3, 2, 9, 30)
        assert roundtrip(local(BERLIN, 2026, 3, 2, 20), 30, schedule) == local(BERLIN, 2026, 3, 3, 9, 30)
        # Saturday night -> Monday morning
        assert roundtrip(local(BERLIN, 2026, 3, 7, 23), 30, schedule) == local(BERLIN, 2026, 3, 9, 9, 30)

    def test_public_holidays_of_the_country_are_closed(self):
        schedule = berlin(closed=holidays.country_holidays("DE"))
        # Thursday 2026-04-02 16:00; Good Friday (3rd) and Easter Monday (6th) are closed.
        assert roundtrip(local(BERLIN, 2026, 4, 2, 16), 120, schedule) == local(BERLIN, 2026, 4, 7, 10)

    def test_custom_closed_days(self):
        schedule = berlin(closed=frozenset({date(2026, 3, 3), date(2026, 3, 4)}))
        assert roundtrip(local(BERLIN, 2026, 3, 2, 16), 120, schedule) == local(BERLIN, 2026, 3, 5, 10)

    def test_split_days_skip_the_lunch_break(self):
        schedule = Schedule.from_config(week=SPLIT, tz="Europe/Berlin")
        # Monday 11:00 + 2 h: 11-12, then 13-14
        assert roundtrip(local(BERLIN, 2026, 3, 2, 11), 120, schedule) == local(BERLIN, 2026, 3, 2, 14)
        # starting in the break
        assert roundtrip(local(BERLIN, 2026, 3, 2, 12, 30), 30, schedule) == local(BERLIN, 2026, 3, 2, 13, 30)
        # a split day is 7 hours: 7 h from Monday 9:00 ends at 17:00, 7 h 1 min on Tuesday
        assert roundtrip(local(BERLIN, 2026, 3, 2, 9), 7 * 60, schedule) == local(BERLIN, 2026, 3, 2, 17)
        assert roundtrip(local(BERLIN, 2026, 3, 2, 9), 7 * 60 + 1, schedule) == local(BERLIN, 2026, 3, 3, 9, 1)

    def test_a_target_longer_than_a_week(self):
        # 60 open hours = 7.5 working days: Monday 9:00 -> Wednesday of the next week, 13:00
        assert roundtrip(local(BERLIN, 2026, 3, 2, 9), 60 * 60, berlin()) == local(BERLIN, 2026, 3, 11, 13)
        # 200 working days across a year end, with holidays
        schedule = berlin(closed=holidays.country_holidays("DE"))
        end = roundtrip(local(BERLIN, 2026, 10, 1, 9), 200 * 8 * 60, schedule)
        assert end.astimezone(BERLIN).year == 2027

    def test_zero_minutes_is_the_start(self):
        start = local(BERLIN, 2026, 3, 7, 23)
        assert add_business_time(start, 0, berlin()) == start

    def test_calendar_hours_all_week(self):
        always = Schedule.from_config(week={day: [["00:00", "24:00"]] for day in
                                            ("mon", "tue", "wed", "thu", "fri", "sat", "sun")})
        start = datetime(2026, 3, 6, 22, 15, tzinfo=UTC)
        assert roundtrip(start, 3 * 24 * 60 + 7, always) == start + timedelta(days=3, minutes=7)


class TestDaylightSaving:
    def test_berlin_spring_forward_day_keeps_its_working_hours(self):
        # 2026-03-29 (Sunday) 02:00 -> 03:00 in Berlin; a 7-days-a-week 9-17 schedule.
        every_day = Schedule.from_config(
            week={day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
            tz="Europe/Berlin",
        )
        start = local(BERLIN, 2026, 3, 28, 16)  # Saturday, UTC+1
        end = roundtrip(start, 120, every_day)
        assert end == local(BERLIN, 2026, 3, 29, 10)  # Sunday, UTC+2
        assert end - start == timedelta(hours=17)  # the night was an hour shorter

    def test_berlin_round_the_clock_schedule_has_a_23_hour_day(self):
        always = Schedule.from_config(
            week={day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
            tz="Europe/Berlin",
        )
        day_start, next_day = local(BERLIN, 2026, 3, 29, 0), local(BERLIN, 2026, 3, 30, 0)
        assert business_minutes_between(day_start, next_day, always) == 23 * 60
        autumn = local(BERLIN, 2026, 10, 25, 0), local(BERLIN, 2026, 10, 26, 0)
        assert business_minutes_between(*autumn, always) == 25 * 60
        # 24 open hours from the start of the spring day end at 01:00 the next day
        assert roundtrip(day_start, 24 * 60, always) == local(BERLIN, 2026, 3, 30, 1)

    def test_new_york_fall_back(self):
        # 2026-11-01 (Sunday) 02:00 -> 01:00 in New York.
        schedule = Schedule.from_config(week=WEEKDAYS_9_17, tz="America/New_York")
        start = local(NEW_YORK, 2026, 10, 30, 16)  # Friday, UTC-4
        end = roundtrip(start, 120, schedule)
        assert end == local(NEW_YORK, 2026, 11, 2, 10)  # Monday, UTC-5
        assert end.utcoffset() == timedelta(0) and end.astimezone(NEW_YORK).utcoffset() == timedelta(hours=-5)

    def test_new_york_spring_forward_with_night_shift(self):
        # A 00:00-04:00 shift on Sunday 2026-03-08: 2-3 am does not exist, so it is 3 hours long.
        schedule = Schedule.from_config(week={"sun": [["00:00", "04:00"]]}, tz="America/New_York")
        sunday = local(NEW_YORK, 2026, 3, 8, 0)
        assert business_minutes_between(sunday, local(NEW_YORK, 2026, 3, 9, 0), schedule) == 180
        assert roundtrip(sunday, 180, schedule) == local(NEW_YORK, 2026, 3, 8, 4)


class TestBusinessMinutesBetween:
    def test_overnight_and_weekend(self):
        schedule = berlin()
        assert business_minutes_between(local(BERLIN, 2026, 3, 6, 16), local(BERLIN, 2026, 3, 9, 10), schedule) == 120

    def test_reversed_is_negative(self):
        schedule = berlin()
        a, b = local(BERLIN, 2026, 3, 2, 10), local(BERLIN, 2026, 3, 2, 11)
        assert business_minutes_between(b, a, schedule) == -60

    def test_outside_hours_is_zero(self):
        schedule = berlin()
        assert business_minutes_between(local(BERLIN, 2026, 3, 7, 8), local(BERLIN, 2026, 3, 8, 20), schedule) == 0

    def test_holidays_count_nothing(self):
        schedule = berlin(closed=holidays.country_holidays("DE"))
        # Good Friday 2026-04-03 whole day
        assert business_minutes_between(local(BERLIN, 2026, 4, 3, 0), local(BERLIN, 2026, 4, 4, 0), schedule) == 0


class TestSchedule:
    def test_parse_week(self):
        week = parse_week({"mon": [["13:00", "17:00"], ["09:00", "12:00"]], "sat": [["10:00", "24:00"]]})
        assert week[0] == ((540, 720), (780, 1020))
        assert week[5] == ((600, 1440),)
        assert week[6] == ()

    @pytest.mark.parametrize("week", [
        {"mon": [["17:00", "09:00"]]},
        {"mon": [["09:00", "12:00"], ["11:00", "13:00"]]},
        {"mon": [["09:00", "25:00"]]},
    ])
    def test_bad_weeks_are_refused(self, week):
        with pytest.raises(ValueError):
            parse_week(week)

    def test_a_schedule_never_open_is_refused(self):
        with pytest.raises(ValueError):
            Schedule.from_config(week={})

    def test_each_local_day_is_worked_out_once(self):
        """Per-day intervals are memoised (what keeps the sweep fast; `manage.py bench` measures the
        speed): 10,000 due times with a week-long target ask the holiday calendar about each day once."""

        class CountingCalendar:
            def __init__(self, closed):
                self.closed, self.lookups = closed, Counter()

            def __contains__(self, day):
                self.lookups[day] += 1
                return day in self.closed

        calendar = CountingCalendar(holidays.country_holidays("DE"))
        schedule = berlin(closed=calendar)
        start = local(BERLIN, 2026, 3, 2, 10)  # a Monday
        due = [add_business_time(start + timedelta(minutes=i), 5 * 8 * 60, schedule) for i in range(10_000)]

        assert due[0] == local(BERLIN, 2026, 3, 9, 10)  # five 8-hour days later
        assert due[-1] == local(BERLIN, 2026, 3, 13, 17)  # from Monday 08:39, before opening: Friday's close
        assert due == sorted(due)
        assert calendar.lookups == Counter({date(2026, 3, 2) + timedelta(days=n): 1 for n in range(12)})
