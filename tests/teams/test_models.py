"""teams.models: a BusinessSchedule refuses what the SLA clocks could not use; ClosedDay."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from feedback.sla.clocks import schedules_for
from teams.models import BusinessSchedule, ClosedDay
from tests.factories import department

pytestmark = pytest.mark.django_db

WEEK = {"mon": [["09:00", "12:00"], ["13:00", "17:00"]], "fri": [["09:00", "15:00"]]}


def _errors(**fields) -> dict[str, list[str]]:
    schedule = BusinessSchedule(department=department("service"), **{"time_zone": "Europe/Berlin", "week": WEEK,
                                                                       **fields})
    with pytest.raises(ValidationError) as error:
        schedule.full_clean()
    return error.value.message_dict


def test_a_good_schedule_and_the_default_one_are_valid():
    BusinessSchedule(department=department("service"), time_zone="Europe/Berlin", week=WEEK,
                     holiday_country="DE", holiday_subdivision="BY").full_clean()
    default = BusinessSchedule(department=department("sales"))
    default.full_clean()
    assert (default.time_zone, default.holiday_country) == ("UTC", "")
    assert default.week == {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


@pytest.mark.parametrize(
    ("week", "message"),
    [
        ({"mon": [["17:00", "09:00"]]}, "mon: 17:00-09:00 is not an interval within one day."),
        ({"tue": [["09:00", "25:00"]]}, "tue: 09:00-25:00 is not an interval within one day."),
        ({"wed": [["09:00", "12:00"], ["11:00", "13:00"]]}, "wed: intervals overlap."),
        ({"thu": [["9am", "17:00"]]}, "invalid literal for int() with base 10: '9am'"),
        ({"fri": [["09:00", "12:00", "13:00"]]}, "too many values to unpack (expected 2)"),
        ({"sat": []}, "A schedule needs at least one open interval in the week."),
        ([["09:00", "17:00"]], "A schedule needs at least one open interval in the week."),
        ({"mon": [["09:00", "17:00"]], "Tuesday": [["09:00", "17:00"]]},
         "Unknown day(s) Tuesday: the days are mon, tue, wed, thu, fri, sat, sun."),
    ],
    ids=["backwards", "past-midnight", "overlap", "not-a-time", "three-times", "never-open", "a-list",
         "misspelt-day"],
)
def test_a_bad_week_is_refused_with_the_reason(week, message):
    assert _errors(week=week) == {"week": [message]}


@pytest.mark.parametrize(
    ("zone", "message"),
    [
        ("Mars/Olympus", "Unknown time zone 'Mars/Olympus'."),
        ("utc", "Unknown time zone 'utc'."),
        ("../etc/passwd", "Unknown time zone '../etc/passwd'."),
    ],
)
def test_a_bad_time_zone_is_refused(zone, message):
    assert _errors(time_zone=zone) == {"time_zone": [message]}


@pytest.mark.parametrize(
    ("country", "subdivision", "message"),
    [
        ("XX", "", "Country XX not available"),
        ("de", "", "Country de not available"),
        ("DE", "XX", "Entity `DE` does not have subdivision XX"),
    ],
)
def test_an_unknown_holiday_country_or_region_is_refused(country, subdivision, message):
    assert _errors(holiday_country=country, holiday_subdivision=subdivision) == {"holiday_country": [message]}


def test_every_problem_is_reported_at_once():
    assert set(_errors(time_zone="Mars/Olympus", week={"mon": [["9", "8"]]}, holiday_country="XX")) == {
        "time_zone", "week", "holiday_country",
    }


class TestClosedDay:
    @pytest.fixture
    def schedule(self):
        return BusinessSchedule.objects.create(department=department("service"), time_zone="Europe/Berlin", week=WEEK)

    def test_one_per_date_listed_by_date(self, schedule):
        ClosedDay.objects.create(schedule=schedule, date=date(2026, 12, 31), name="Year end")
        ClosedDay.objects.create(schedule=schedule, date=date(2026, 6, 1))
        other = BusinessSchedule.objects.create(department=department("sales"))
        ClosedDay.objects.create(schedule=other, date=date(2026, 6, 1))  # another schedule may close that day too
        with pytest.raises(IntegrityError), transaction.atomic():
            ClosedDay.objects.create(schedule=schedule, date=date(2026, 6, 1), name="Again")
        assert [str(day) for day in schedule.closed_days.all()] == ["2026-06-01 (closed)", "2026-12-31 (Year end)"]

    def test_go_with_their_schedule(self, schedule):
        ClosedDay.objects.create(schedule=schedule, date=date(2026, 6, 1))
        schedule.delete()
        assert not ClosedDay.objects.exists()

    def test_a_closed_day_added_later_closes_that_day_for_the_clocks_at_once(self, schedule):
        service = department("service").pk
        monday = date(2026, 6, 1)
        assert len(schedules_for([service])[service].day(monday)) == 2  # 9-12 and 13-17: built and memoised
        ClosedDay.objects.create(schedule=schedule, date=monday, name="Team day")
        assert schedules_for([service])[service].day(monday) == ()
        assert len(schedules_for([service])[service].day(date(2026, 6, 8))) == 2  # the next Monday is open
