"""Reporting deadlines from a rule: pure functions, counted from the time of the event.

- By phone within `phone_minutes` and in writing within `written_minutes` of the event.
- After the written first report, a follow-up (续报) every `follow_up_minutes` from the previous
  report; once the event has lasted `daily_after_hours`, one daily report (日报) a day.
- The final report (终报) ends the case: nothing more is due.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from egov.duty.choices import DueKind

DAY = timedelta(days=1)


@dataclass(frozen=True)
class Limits:
    phone_minutes: int
    written_minutes: int
    follow_up_minutes: int
    daily_after_hours: int
    escalation_minutes: int = 10


def limits_of(rule: object) -> Limits:
    return Limits(
        phone_minutes=rule.phone_minutes,  # type: ignore[attr-defined]
        written_minutes=rule.written_minutes,  # type: ignore[attr-defined]
        follow_up_minutes=rule.follow_up_minutes,  # type: ignore[attr-defined]
        daily_after_hours=rule.daily_after_hours,  # type: ignore[attr-defined]
        escalation_minutes=rule.escalation_minutes,  # type: ignore[attr-defined]
    )


def phone_due(limits: Limits, occurred_at: datetime) -> datetime:
    return occurred_at + timedelta(minutes=limits.phone_minutes)


def written_due(limits: Limits, occurred_at: datetime) -> datetime:
    return occurred_at + timedelta(minutes=limits.written_minutes)


def is_daily_phase(limits: Limits, occurred_at: datetime, at: datetime) -> bool:
    """Whether the event has lasted long enough at `at` to switch to daily reports."""
    return at >= occurred_at + timedelta(hours=limits.daily_after_hours)


def next_due(
    limits: Limits,
    occurred_at: datetime,
    *,
    first_reported_at: datetime | None,
    last_report_at: datetime | None,
    closed: bool = False,
) -> tuple[datetime | None, str]:
    """(when the next report is due, its kind) — (None, NONE) once closed."""
    if closed:
        return None, DueKind.NONE
    if first_reported_at is None:
        return written_due(limits, occurred_at), DueKind.FIRST
    previous = last_report_at or first_reported_at
    candidate = previous + timedelta(minutes=limits.follow_up_minutes)
    if is_daily_phase(limits, occurred_at, candidate):
        return previous + DAY, DueKind.DAILY
    return candidate, DueKind.FOLLOW_UP
