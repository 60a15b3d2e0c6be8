"""The working-day calendar (工作日历) and deadline states.

A day is a working day when, in this order:

1. the administrator's override table (`CalendarOverride`) says so — it always wins;
2. otherwise chinese-calendar's statutory holidays (法定节假日) and adjusted workdays (调休上班日)
   say so, for the years the library covers;
3. otherwise (a year the library does not cover yet, e.g. 2027 before the State Council's
   notice is packaged) Monday to Friday are working days. The administrator's page warns about
   such years until someone confirms they are filled in (`CalendarYear`). A deadline never fails
   to compute.

Counting follows the civil code's rule for periods (民法典 第二百零一条): the day the period starts
is not counted. `add_working_days(start, n)`:

* `n > 0`: the n-th working day after `start` (start itself never counts);
* `n == 0`: `start` if it is a working day, else the next working day (a period ending on a rest
  day ends on the next working day, 第二百零三条);
* `n < 0`: the |n|-th working day before `start` (reminders: "3 working days before the due date").

`working_days_between(a, b)` counts working days `d` with `a < d <= b`; it is negative
(`-working_days_between(b, a)`) when `b` is before `a`. So for n > 0,
`working_days_between(s, add_working_days(s, n)) == n`.

Both accept a `date` or a timezone-aware `datetime` (read in the current time zone,
Asia/Shanghai). `add_working_days` returns the same type it was given: a datetime keeps its local
time of day.

Each public function reads the override table once for the span it needs (one query); for many
questions in a loop (a list page) load a `WorkingCalendar` once and ask it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from functools import cache
from typing import TypeVar, overload

import chinese_calendar
from django.utils import timezone

from egov.core.choices import DeadlineState

logger = logging.getLogger(__name__)

DateOrDatetime = TypeVar("DateOrDatetime", date, datetime)

# How far past the estimated end a calendar window reaches before it is extended by another read.
_WINDOW_SLACK_DAYS = 60
# A guard against a runaway walk (an override table that marks years of days as rest days).
_MAX_WALK_DAYS = 366 * 20


@cache
def _library_years() -> tuple[int, int]:
    years = [d.year for d in chinese_calendar.holidays]
    return min(years), max(years)


def covered_years() -> range:
    """The years whose statutory holidays chinese-calendar knows."""
    first, last = _library_years()
    return range(first, last + 1)


def library_covers(year: int) -> bool:
    first, last = _library_years()
    return first <= year <= last


_warned_years: set[int] = set()


def _library_working_day(d: date) -> bool:
    """What the statutory calendar (or, outside its years, the plain week) says about `d`."""
    if not library_covers(d.year):
        if d.year not in _warned_years:
            _warned_years.add(d.year)
            logger.warning(
                "calendar.year_not_covered",
                extra={"year": d.year, "fallback": "weekends plus the override table"},
            )
        return d.weekday() < 5
    if d in chinese_calendar.workdays:
        return True
    if d in chinese_calendar.holidays:
        return False
    return d.weekday() < 5


def library_holiday_detail(d: date) -> tuple[bool, str | None]:
    """(is a rest day, holiday name) from chinese-calendar; (weekend, None) outside its years."""
    if not library_covers(d.year):
        return d.weekday() > 4, None
    is_rest, name = chinese_calendar.get_holiday_detail(d)
    return bool(is_rest), name


def _as_local_date(value: date | datetime) -> date:
    if isinstance(value, datetime):
        if timezone.is_naive(value):
            raise ValueError("calendar functions need timezone-aware datetimes")
        return timezone.localtime(value).date()
    if isinstance(value, date):
        return value
    raise TypeError(f"expected a date or datetime, got {type(value).__name__}")


class WorkingCalendar:
    """The working-day calendar over a window of dates with the override table read once.

    Questions outside the loaded window read the table again for a wider window, so the
    answers are always right; size the window to the questions to keep to one query.
    """

    def __init__(self, overrides: Mapping[date, bool], start: date, end: date) -> None:
        self._overrides = dict(overrides)
        self._start = start
        self._end = end

    @classmethod
    def load(cls, start: date | datetime, end: date | datetime) -> WorkingCalendar:
        """Read the overrides between `start` and `end` (inclusive, either order): one query."""
        a, b = sorted((_as_local_date(start), _as_local_date(end)))
        return cls(_read_overrides(a, b), a, b)

    @property
    def window(self) -> tuple[date, date]:
        return self._start, self._end

    def _ensure(self, d: date) -> None:
        if self._start <= d <= self._end:
            return
        if d < self._start:
            new_start, new_end = d - timedelta(days=_WINDOW_SLACK_DAYS), self._start
            self._start = new_start
        else:
            new_start, new_end = self._end, d + timedelta(days=_WINDOW_SLACK_DAYS)
            self._end = new_end
        self._overrides.update(_read_overrides(new_start, new_end))

    def is_working_day(self, day: date | datetime) -> bool:
        d = _as_local_date(day)
        self._ensure(d)
        override = self._overrides.get(d)
        if override is not None:
            return override
        return _library_working_day(d)

    @overload
    def add_working_days(self, start: datetime, n: int) -> datetime: ...
    @overload
    def add_working_days(self, start: date, n: int) -> date: ...
    def add_working_days(self, start: date | datetime, n: int) -> date | datetime:
        d = _as_local_date(start)
        if n == 0:
            result = d
            while not self.is_working_day(result):
                result += timedelta(days=1)
                _check_walk(d, result)
        else:
            step = timedelta(days=1 if n > 0 else -1)
            remaining = abs(n)
            result = d
            while remaining:
                result += step
                _check_walk(d, result)
                if self.is_working_day(result):
                    remaining -= 1
        if isinstance(start, datetime):
            local = timezone.localtime(start)
            return timezone.make_aware(
                datetime.combine(result, local.time().replace(tzinfo=None)),
                timezone.get_current_timezone(),
            )
        return result

    def working_days_between(self, a: date | datetime, b: date | datetime) -> int:
        start, end = _as_local_date(a), _as_local_date(b)
        if end < start:
            return -self.working_days_between(end, start)
        self._ensure(start)
        self._ensure(end)
        count = 0
        d = start + timedelta(days=1)
        while d <= end:
            if self.is_working_day(d):
                count += 1
            d += timedelta(days=1)
        return count

    def deadline_state(
        self,
        due: date | datetime | None,
        *,
        now: datetime | None = None,
        done: bool = False,
        due_soon_working_days: int = 1,
    ) -> DeadlineState:
        """Done, overdue, due soon (within `due_soon_working_days` working days) or on time.

        A date deadline runs to the end of that day; a datetime deadline to that instant.
        `due=None` (no deadline) is on time.
        """
        if due_soon_working_days < 0:
            raise ValueError("due_soon_working_days must not be negative")
        if done:
            return DeadlineState.DONE
        if due is None:
            return DeadlineState.ON_TIME
        now = now if now is not None else timezone.now()
        today = _as_local_date(now)
        if isinstance(due, datetime):
            if timezone.is_naive(due):
                raise ValueError("calendar functions need timezone-aware datetimes")
            if now > due:
                return DeadlineState.OVERDUE
        elif today > due:
            return DeadlineState.OVERDUE
        if self.working_days_between(today, due) <= due_soon_working_days:
            return DeadlineState.DUE_SOON
        return DeadlineState.ON_TIME


def _check_walk(origin: date, current: date) -> None:
    if abs((current - origin).days) > _MAX_WALK_DAYS:
        raise ValueError("no working day found within twenty years; check the override table")


def _read_overrides(start: date, end: date) -> dict[date, bool]:
    from egov.core.models import CalendarOverride

    rows = CalendarOverride.objects.filter(date__range=(start, end)).values_list(
        "date", "is_working_day"
    )
    return dict(rows)


def _estimate_span(n: int) -> int:
    # 5 working days a week plus the longest holiday run (Spring Festival: 9 days) and slack.
    return abs(n) * 7 // 5 + 15 + _WINDOW_SLACK_DAYS


def is_working_day(day: date | datetime) -> bool:
    """Whether `day` is a working day (one query)."""
    return WorkingCalendar.load(day, day).is_working_day(day)


@overload
def add_working_days(start: datetime, n: int) -> datetime: ...
@overload
def add_working_days(start: date, n: int) -> date: ...
def add_working_days(start: date | datetime, n: int) -> date | datetime:
    """The n-th working day after (n > 0) or before (n < 0) `start`; see the module docstring."""
    d = _as_local_date(start)
    if abs(n) > _MAX_WALK_DAYS:
        raise ValueError("too many working days: at most twenty years")
    span = timedelta(days=min(_estimate_span(n), _MAX_WALK_DAYS))
    calendar = WorkingCalendar.load(d - span, d) if n < 0 else WorkingCalendar.load(d, d + span)
    return calendar.add_working_days(start, n)


def working_days_between(a: date | datetime, b: date | datetime) -> int:
    """Working days `d` with `a < d <= b` (negative when `b` is before `a`)."""
    return WorkingCalendar.load(a, b).working_days_between(a, b)


def deadline_state(
    due: date | datetime | None,
    *,
    now: datetime | None = None,
    done: bool = False,
    due_soon_working_days: int = 1,
) -> DeadlineState:
    """The state of a deadline: DONE, OVERDUE, DUE_SOON or ON_TIME (one query at most)."""
    if due_soon_working_days < 0:
        raise ValueError("due_soon_working_days must not be negative")
    if done:
        return DeadlineState.DONE
    if due is None:
        return DeadlineState.ON_TIME
    current = now if now is not None else timezone.now()
    calendar = WorkingCalendar.load(current, due)
    return calendar.deadline_state(
        due, now=current, done=done, due_soon_working_days=due_soon_working_days
    )


def confirmed_years() -> set[int]:
    from egov.core.models import CalendarYear

    return set(CalendarYear.objects.values_list("year", flat=True))


def uncovered_years_warning(today: date | None = None) -> list[int]:
    """The current and next year when neither the library nor a confirmed `CalendarYear`
    covers them: the administrator's page warns about these until they are filled in."""
    today = today if today is not None else timezone.localdate()
    candidates = [y for y in (today.year, today.year + 1) if not library_covers(y)]
    if not candidates:
        return []
    confirmed = confirmed_years()
    return [y for y in candidates if y not in confirmed]


def library_days_for_year(year: int) -> list[tuple[date, bool, str]]:
    """The library's statutory holidays and adjusted workdays of `year`: (date, working, name)."""
    if not library_covers(year):
        return []
    days: Iterable[tuple[date, bool, str]] = [
        *(
            (d, False, _holiday_name(name))
            for d, name in chinese_calendar.holidays.items()
            if d.year == year
        ),
        *(
            (d, True, _holiday_name(name))
            for d, name in chinese_calendar.workdays.items()
            if d.year == year
        ),
    ]
    return sorted(days)


def _holiday_name(value: str) -> str:
    """The Chinese name of a chinese-calendar holiday (春节), the English one if unknown."""
    try:
        return str(chinese_calendar.Holiday(value).chinese)
    except ValueError:
        return value
