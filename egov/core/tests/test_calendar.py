"""The working-day calendar: statutory holidays, adjusted workdays, overrides, fallback years."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import factory
import pytest
import time_machine
from factory.django import DjangoModelFactory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from egov.core import calendar
from egov.core.calendar import (
    WorkingCalendar,
    add_working_days,
    covered_years,
    deadline_state,
    is_working_day,
    uncovered_years_warning,
    working_days_between,
)
from egov.core.choices import DeadlineState
from egov.core.models import CalendarOverride, CalendarYear

SH = ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db


class CalendarOverrideFactory(DjangoModelFactory[CalendarOverride]):
    class Meta:
        model = CalendarOverride
        django_get_or_create = ("date",)

    date = factory.Sequence(lambda n: date(2027, 1, 1) + timedelta(days=n))
    is_working_day = False
    note = ""


class CalendarYearFactory(DjangoModelFactory[CalendarYear]):
    class Meta:
        model = CalendarYear

    year = 2027
    confirmed_by = "sysadmin"


# --- the statutory calendar, 2025 -----------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2025, 1, 24), True),  # Friday before the Spring Festival
        (date(2025, 1, 25), False),  # Saturday
        (date(2025, 1, 26), True),  # adjusted workday (Sunday)
        (date(2025, 1, 28), False),  # 除夕 eve: first day off
        (date(2025, 2, 4), False),  # last day of the Spring Festival break
        (date(2025, 2, 5), True),
        (date(2025, 2, 8), True),  # adjusted workday (Saturday)
        (date(2025, 9, 27), False),  # Saturday
        (date(2025, 9, 28), True),  # adjusted workday (Sunday) before National Day
        (date(2025, 10, 1), False),
        (date(2025, 10, 6), False),  # Mid-autumn inside the National Day break
        (date(2025, 10, 8), False),
        (date(2025, 10, 9), True),
        (date(2025, 10, 11), True),  # adjusted workday (Saturday)
        (date(2025, 10, 12), False),
    ],
)
def test_2025_holiday_edges(day: date, working: bool) -> None:
    assert is_working_day(day) is working


def test_national_day_2025_counting() -> None:
    assert add_working_days(date(2025, 9, 26), 1) == date(2025, 9, 28)  # Friday → the Sunday
    assert add_working_days(date(2025, 9, 30), 1) == date(2025, 10, 9)
    assert add_working_days(date(2025, 9, 30), 3) == date(2025, 10, 11)  # the Saturday
    assert add_working_days(date(2025, 9, 30), 4) == date(2025, 10, 13)
    assert add_working_days(date(2025, 10, 9), -1) == date(2025, 9, 30)
    assert add_working_days(date(2025, 10, 1), -1) == date(2025, 9, 30)
    assert working_days_between(date(2025, 9, 30), date(2025, 10, 9)) == 1
    assert working_days_between(date(2025, 9, 26), date(2025, 10, 13)) == 7
    assert working_days_between(date(2025, 10, 13), date(2025, 9, 26)) == -7


def test_spring_festival_2025_counting() -> None:
    assert add_working_days(date(2025, 1, 27), 1) == date(2025, 2, 5)
    assert add_working_days(date(2025, 1, 24), 1) == date(2025, 1, 26)
    assert add_working_days(date(2025, 2, 5), 3) == date(2025, 2, 8)  # Wed → Thu, Fri, the Sat
    assert working_days_between(date(2025, 1, 27), date(2025, 2, 5)) == 1


# --- 2026, per the library ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 1, 1), False),
        (date(2026, 1, 2), False),
        (date(2026, 1, 4), True),  # adjusted workday (Sunday)
        (date(2026, 2, 14), True),  # adjusted workday (Saturday)
        (date(2026, 2, 15), False),
        (date(2026, 2, 23), False),
        (date(2026, 2, 24), True),
        (date(2026, 2, 28), True),  # adjusted workday (Saturday)
        (date(2026, 9, 20), True),  # adjusted workday (Sunday)
        (date(2026, 10, 1), False),
        (date(2026, 10, 7), False),
        (date(2026, 10, 8), True),
        (date(2026, 10, 10), True),  # adjusted workday (Saturday)
    ],
)
def test_2026_holiday_edges(day: date, working: bool) -> None:
    assert is_working_day(day) is working


def test_2026_counting() -> None:
    assert add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 14)
    assert add_working_days(date(2026, 2, 14), 1) == date(2026, 2, 24)
    assert add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 1)  # 2027: fallback


# --- a year the library does not cover ------------------------------------------------------


def test_2027_falls_back_to_weekends() -> None:
    assert 2027 not in covered_years()
    assert is_working_day(date(2027, 1, 1)) is True  # New Year's Day, not entered yet
    assert is_working_day(date(2027, 1, 2)) is False  # Saturday
    assert add_working_days(date(2027, 1, 1), 1) == date(2027, 1, 4)
    assert working_days_between(date(2027, 1, 1), date(2027, 1, 8)) == 5


def test_2027_with_the_administrators_table() -> None:
    CalendarOverrideFactory.create(date=date(2027, 1, 1), is_working_day=False, note="元旦")
    CalendarOverrideFactory.create(date=date(2027, 1, 9), is_working_day=True, note="调休")
    assert is_working_day(date(2027, 1, 1)) is False
    assert add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 4)
    assert add_working_days(date(2027, 1, 8), 1) == date(2027, 1, 9)  # the Saturday
    assert working_days_between(date(2026, 12, 31), date(2027, 1, 9)) == 6


def test_override_wins_over_the_library() -> None:
    CalendarOverrideFactory.create(date=date(2025, 10, 11), is_working_day=False)
    CalendarOverrideFactory.create(date=date(2025, 10, 3), is_working_day=True)
    assert is_working_day(date(2025, 10, 11)) is False
    assert add_working_days(date(2025, 9, 30), 1) == date(2025, 10, 3)
    assert add_working_days(date(2025, 9, 30), 4) == date(2025, 10, 13)


def test_zero_days_rolls_a_rest_day_forward() -> None:
    assert add_working_days(date(2025, 10, 9), 0) == date(2025, 10, 9)
    assert add_working_days(date(2025, 10, 1), 0) == date(2025, 10, 9)


def test_datetimes_keep_the_local_time() -> None:
    start = datetime(2025, 9, 30, 15, 30, tzinfo=SH)
    result = add_working_days(start, 1)
    assert result == datetime(2025, 10, 9, 15, 30, tzinfo=SH)
    # Late evening UTC is already the next day in Beijing.
    utc_start = datetime(2025, 9, 30, 17, 0, tzinfo=ZoneInfo("UTC"))  # 10-01 01:00 in Beijing
    assert add_working_days(utc_start, 1).astimezone(SH) == datetime(2025, 10, 9, 1, 0, tzinfo=SH)
    assert working_days_between(utc_start, date(2025, 10, 9)) == 1


def test_naive_datetimes_and_wrong_types_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        add_working_days(datetime(2025, 1, 1, 9, 0), 1)
    with pytest.raises(TypeError):
        add_working_days("2025-01-01", 1)  # type: ignore[call-overload]


def test_one_query_per_call(django_assert_num_queries) -> None:
    CalendarOverrideFactory.create(date=date(2026, 3, 2), is_working_day=False)
    with django_assert_num_queries(1):
        result = add_working_days(date(2025, 1, 2), 300)
    with django_assert_num_queries(1):
        assert working_days_between(date(2025, 1, 2), result) == 300
    with django_assert_num_queries(1):
        assert add_working_days(result, -300) == date(2025, 1, 2)
    with django_assert_num_queries(1):
        is_working_day(date(2026, 3, 2))


def test_loaded_calendar_answers_many_questions_with_one_query(django_assert_num_queries) -> None:
    now = datetime(2025, 9, 29, 10, 0, tzinfo=SH)
    with django_assert_num_queries(1):
        cal = WorkingCalendar.load(date(2025, 9, 1), date(2025, 12, 31))
        states = [
            cal.deadline_state(date(2025, 9, 1) + timedelta(days=i), now=now) for i in range(100)
        ]
    assert states.count(DeadlineState.OVERDUE) == 28


def test_a_window_too_small_reads_again_but_stays_right() -> None:
    cal = WorkingCalendar.load(date(2025, 9, 30), date(2025, 9, 30))
    assert cal.add_working_days(date(2025, 9, 30), 4) == date(2025, 10, 13)
    assert cal.add_working_days(date(2025, 9, 30), -2) == date(2025, 9, 28)


# --- deadline state -------------------------------------------------------------------------


def test_deadline_state_for_dates() -> None:
    now = datetime(2025, 9, 30, 10, 0, tzinfo=SH)  # Tuesday before National Day
    assert deadline_state(date(2025, 9, 29), now=now) == DeadlineState.OVERDUE
    assert deadline_state(date(2025, 9, 30), now=now) == DeadlineState.DUE_SOON  # due today
    # Eight days of holiday in between, but only one working day left: due soon.
    assert deadline_state(date(2025, 10, 9), now=now) == DeadlineState.DUE_SOON
    assert deadline_state(date(2025, 10, 10), now=now) == DeadlineState.ON_TIME
    assert (
        deadline_state(date(2025, 10, 10), now=now, due_soon_working_days=2)
        == DeadlineState.DUE_SOON
    )
    assert deadline_state(date(2025, 9, 29), now=now, done=True) == DeadlineState.DONE
    assert deadline_state(None, now=now) == DeadlineState.ON_TIME


def test_deadline_state_for_datetimes() -> None:
    due = datetime(2025, 9, 30, 17, 0, tzinfo=SH)
    assert deadline_state(due, now=datetime(2025, 9, 30, 16, 59, tzinfo=SH)) == (
        DeadlineState.DUE_SOON
    )
    assert deadline_state(due, now=datetime(2025, 9, 30, 17, 1, tzinfo=SH)) == (
        DeadlineState.OVERDUE
    )
    with pytest.raises(ValueError):
        deadline_state(due, due_soon_working_days=-1)


def test_deadline_state_defaults_to_now() -> None:
    with time_machine.travel(datetime(2026, 10, 9, 9, 0, tzinfo=SH), tick=False):
        assert deadline_state(date(2026, 10, 8)) == DeadlineState.OVERDUE
        assert deadline_state(date(2026, 10, 10)) == DeadlineState.DUE_SOON  # the Saturday
        assert deadline_state(date(2026, 10, 13)) == DeadlineState.ON_TIME


# --- coverage warning -----------------------------------------------------------------------


def test_uncovered_years_warning() -> None:
    assert uncovered_years_warning(date(2025, 6, 1)) == []
    assert uncovered_years_warning(date(2026, 11, 25)) == [2027]
    assert uncovered_years_warning(date(2027, 3, 1)) == [2027, 2028]
    CalendarYearFactory.create(year=2027)
    assert uncovered_years_warning(date(2026, 11, 25)) == []
    assert uncovered_years_warning(date(2027, 3, 1)) == [2028]


def test_uncovered_years_warning_defaults_to_today() -> None:
    with time_machine.travel(datetime(2026, 11, 25, 9, 0, tzinfo=SH), tick=False):
        assert uncovered_years_warning() == [2027]


def test_library_days_for_year() -> None:
    days = calendar.library_days_for_year(2025)
    assert (date(2025, 9, 28), True, "国庆节") in days
    assert (date(2025, 10, 1), False, "国庆节") in days
    assert calendar.library_days_for_year(2027) == []


# --- properties -----------------------------------------------------------------------------

dates = st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 12, 31))
HYPOTHESIS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def some_overrides() -> None:
    CalendarOverrideFactory.create(date=date(2027, 1, 1), is_working_day=False)
    CalendarOverrideFactory.create(date=date(2027, 2, 6), is_working_day=True)
    CalendarOverrideFactory.create(date=date(2025, 10, 13), is_working_day=False)


@HYPOTHESIS
@given(start=dates, n=st.integers(min_value=1, max_value=120))
def test_adding_then_counting_round_trips(some_overrides: None, start: date, n: int) -> None:
    result = add_working_days(start, n)
    assert result > start
    assert is_working_day(result)
    assert working_days_between(start, result) == n
    # No working day is skipped: the day before the result is n-1 working days away.
    assert working_days_between(start, result - timedelta(days=1)) == n - 1


@HYPOTHESIS
@given(start=dates, n=st.integers(min_value=1, max_value=120))
def test_going_back_round_trips(some_overrides: None, start: date, n: int) -> None:
    result = add_working_days(start, -n)
    assert result < start
    assert is_working_day(result)
    assert working_days_between(result, start) == n - 1 + int(is_working_day(start))
    assert working_days_between(start, result) == -working_days_between(result, start)


@HYPOTHESIS
@given(a=dates, b=dates, c=dates)
def test_counting_is_additive(some_overrides: None, a: date, b: date, c: date) -> None:
    assert working_days_between(a, b) + working_days_between(b, c) == working_days_between(a, c)


@HYPOTHESIS
@given(start=dates)
def test_zero_days_gives_the_first_working_day_from_start(
    some_overrides: None, start: date
) -> None:
    result = add_working_days(start, 0)
    assert result >= start
    assert is_working_day(result)
    assert working_days_between(start, result) == (0 if result == start else 1)
