"""Shift patterns expanded into shifts: daily or weekly recurrence, aware of working days.

`expand_pattern` is pure apart from the working-day calendar it is given (one query to load
for a whole window), so it is easy to test and fast for a year of shifts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from egov.core.calendar import WorkingCalendar
from egov.duty.choices import DayKind, Frequency

MAX_EXPANSION_DAYS = 400


@dataclass(frozen=True)
class PatternSpec:
    """What a pattern says, independent of the model (tests build these directly)."""

    frequency: str
    start_time: time
    duration_minutes: int
    valid_from: date
    valid_until: date | None = None
    interval: int = 1
    weekdays: frozenset[int] = frozenset()
    day_kind: str = DayKind.ANY


def spec_of(pattern: object) -> PatternSpec:
    return PatternSpec(
        frequency=pattern.frequency,  # type: ignore[attr-defined]
        start_time=pattern.start_time,  # type: ignore[attr-defined]
        duration_minutes=pattern.duration_minutes,  # type: ignore[attr-defined]
        valid_from=pattern.valid_from,  # type: ignore[attr-defined]
        valid_until=pattern.valid_until,  # type: ignore[attr-defined]
        interval=pattern.interval,  # type: ignore[attr-defined]
        weekdays=frozenset(pattern.weekday_set()),  # type: ignore[attr-defined]
        day_kind=pattern.day_kind,  # type: ignore[attr-defined]
    )


def _matches(spec: PatternSpec, day: date) -> bool:
    if day < spec.valid_from or (spec.valid_until is not None and day > spec.valid_until):
        return False
    if spec.frequency == Frequency.DAILY:
        return (day - spec.valid_from).days % spec.interval == 0
    # Weekly: the weekday is in the set, in every `interval`-th week counted from valid_from.
    weekdays = spec.weekdays or frozenset({spec.valid_from.weekday()})
    if day.weekday() not in weekdays:
        return False
    week_start = spec.valid_from - timedelta(days=spec.valid_from.weekday())
    return ((day - week_start).days // 7) % spec.interval == 0


def expand_pattern(
    spec: PatternSpec,
    start: date,
    end: date,
    *,
    calendar: WorkingCalendar | None = None,
    tz: ZoneInfo | None = None,
) -> list[tuple[datetime, datetime]]:
    """The (starts_at, ends_at) of every shift starting on a day from `start` to `end` inclusive.

    Times are local wall-clock times in `tz` (the project's time zone by default), so a
    08:30 shift starts at 08:30 every day.
    """
    if end < start:
        return []
    if (end - start).days > MAX_EXPANSION_DAYS:
        raise ValueError("expand at most 400 days at a time")
    zone = tz or timezone.get_current_timezone()
    needs_calendar = spec.day_kind != DayKind.ANY
    if needs_calendar and calendar is None:
        calendar = WorkingCalendar.load(start, end)
    shifts = []
    day = start
    while day <= end:
        if _matches(spec, day):
            keep = True
            if needs_calendar and calendar is not None:
                working = calendar.is_working_day(day)
                keep = working if spec.day_kind == DayKind.WORKING else not working
            if keep:
                begins = datetime.combine(day, spec.start_time, tzinfo=zone)
                shifts.append((begins, begins + timedelta(minutes=spec.duration_minutes)))
        day += timedelta(days=1)
    return shifts
