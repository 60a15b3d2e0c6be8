"""Working-day deadlines of supervised tasks and the one function that picks a status colour.

Colours (UI.md), in order of precedence:

* grey  `closed`   — archived (归档);
* green `done`     — done (办结);
* red   `overdue`  — today is after the deadline (a date deadline runs to the end of its day);
* yellow `behind`  — a progress report is missed (today after `next_report_due`) or the units
  have not signed in after the sign-in deadline;
* blue  `due_soon` — at most `DUE_SOON_WORKING_DAYS` working days left before the deadline;
* none  `on_time`  — otherwise.
"""

from __future__ import annotations

from datetime import date, timedelta

from egov.core.calendar import WorkingCalendar
from egov.supervision.choices import Colour, TaskState

DUE_SOON_WORKING_DAYS = 3
# Automatic reminders before the deadline, in working days (the default: 3 and 1).
REMINDER_OFFSETS = (3, 1)
# An extension may move the deadline by at most this many working days past the current one.
MAX_EXTENSION_WORKING_DAYS = 60
MAX_SIGN_IN_DAYS = 20


def task_colour(
    *,
    state: str,
    deadline: date,
    today: date,
    calendar: WorkingCalendar,
    next_report_due: date | None = None,
    sign_deadline: date | None = None,
) -> Colour:
    """The status colour of a task on `today` (see the module docstring)."""
    if state == TaskState.ARCHIVED:
        return Colour.CLOSED
    if state == TaskState.DONE:
        return Colour.DONE
    if today > deadline:
        return Colour.OVERDUE
    if next_report_due is not None and today > next_report_due:
        return Colour.BEHIND
    if state == TaskState.ASSIGNED and sign_deadline is not None and today > sign_deadline:
        return Colour.BEHIND
    if calendar.working_days_between(today, deadline) <= DUE_SOON_WORKING_DAYS:
        return Colour.DUE_SOON
    return Colour.ON_TIME


def nth_working_day_of_month(year: int, month: int, n: int, calendar: WorkingCalendar) -> date:
    """The n-th working day of a month (n ≥ 1): the day before the 1st plus n working days."""
    first = date(year, month, 1)
    return calendar.add_working_days(first - timedelta(days=1), n)


def next_monthly_report_due(
    after: date, nth: int, deadline: date, calendar: WorkingCalendar
) -> date | None:
    """The report due date for the month after `after`'s month (monthly by the n-th working
    day), or None when it would fall after the task's deadline (the deadline governs)."""
    year, month = (after.year + 1, 1) if after.month == 12 else (after.year, after.month + 1)
    due = nth_working_day_of_month(year, month, nth, calendar)
    return due if due < deadline else None
