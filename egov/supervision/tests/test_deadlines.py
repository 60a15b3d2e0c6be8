"""Working-day deadlines across holidays (2025/2026 edges) and the status colour at its edges."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from egov.core.calendar import WorkingCalendar
from egov.supervision import services
from egov.supervision.choices import Colour, ReportCycle, TaskState
from egov.supervision.deadlines import (
    next_monthly_report_due,
    nth_working_day_of_month,
    task_colour,
)

TZ = ZoneInfo("Asia/Shanghai")
DEADLINE = date(2026, 10, 12)  # a Monday after the 2026 National Day holiday (10-01..10-07)


def colour_at(moment: datetime, **kwargs) -> Colour:
    with time_machine.travel(moment, tick=False):
        today = timezone.localdate()
        cal = WorkingCalendar.load(date(2026, 9, 1), date(2026, 12, 31))
        fields = {"state": TaskState.IN_PROGRESS, "deadline": DEADLINE}
        fields.update(kwargs)
        return task_colour(today=today, calendar=cal, **fields)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        # four working days left across the holiday (10-08, 10-09, Saturday 10-10, 10-12)
        (datetime(2026, 9, 30, 9, 0, tzinfo=TZ), Colour.ON_TIME),
        (datetime(2026, 10, 7, 23, 59, 59, tzinfo=TZ), Colour.ON_TIME),
        # three working days left: blue
        (datetime(2026, 10, 8, 0, 0, tzinfo=TZ), Colour.DUE_SOON),
        (datetime(2026, 10, 12, 23, 59, 59, tzinfo=TZ), Colour.DUE_SOON),
        # the day after the deadline, Beijing time: red
        (datetime(2026, 10, 13, 0, 0, tzinfo=TZ), Colour.OVERDUE),
        # 23:59 UTC on the deadline is already the next morning in Beijing
        (datetime(2026, 10, 12, 16, 0, tzinfo=ZoneInfo("UTC")), Colour.OVERDUE),
    ],
)
def test_deadline_colour_edges(moment, expected):
    assert colour_at(moment) == expected


@pytest.mark.django_db
def test_missed_report_is_yellow_from_the_next_day():
    due = date(2026, 9, 7)
    assert colour_at(datetime(2026, 9, 7, 23, 59, 59, tzinfo=TZ), next_report_due=due) == (
        Colour.ON_TIME
    )
    assert colour_at(datetime(2026, 9, 8, 0, 0, tzinfo=TZ), next_report_due=due) == Colour.BEHIND


@pytest.mark.django_db
def test_missed_sign_in_is_yellow_only_while_assigned():
    signed = date(2026, 9, 7)
    moment = datetime(2026, 9, 8, 0, 0, tzinfo=TZ)
    assert colour_at(moment, state=TaskState.ASSIGNED, sign_deadline=signed) == Colour.BEHIND
    assert colour_at(moment, state=TaskState.IN_PROGRESS, sign_deadline=signed) == Colour.ON_TIME


@pytest.mark.django_db
def test_precedence_red_over_yellow_over_blue_and_done_closed():
    late = datetime(2026, 10, 13, 0, 0, tzinfo=TZ)
    assert colour_at(late, next_report_due=date(2026, 10, 1)) == Colour.OVERDUE
    near = datetime(2026, 10, 9, 10, 0, tzinfo=TZ)
    assert colour_at(near, next_report_due=date(2026, 10, 8)) == Colour.BEHIND
    assert colour_at(late, state=TaskState.DONE) == Colour.DONE
    assert colour_at(late, state=TaskState.ARCHIVED) == Colour.CLOSED


@pytest.mark.django_db
@time_machine.travel(datetime(2025, 9, 15, 9, 0, tzinfo=TZ), tick=False)
def test_a_deadline_on_a_holiday_moves_to_the_next_working_day(world):
    task = world.register(date(2025, 10, 1))  # National Day 2025: 10-01..10-08
    assert task.deadline == date(2025, 10, 9)
    assert task.original_deadline == date(2025, 10, 9)


@pytest.mark.django_db
@time_machine.travel(datetime(2026, 2, 13, 9, 0, tzinfo=TZ), tick=False)
def test_sign_in_deadline_across_the_spring_festival(world):
    task = world.register(date(2026, 4, 30), sign_in_days=2)
    services.do_approve_task(task, acting=world.acting(world.leader))
    services.do_assign_task(task, lead_unit=world.city_a, acting=world.acting(world.supervisor))
    task.refresh_from_db()
    # Saturday 02-14 is an adjusted workday (1); 02-15..02-23 are the holiday; 02-24 is (2).
    assert task.sign_deadline == date(2026, 2, 24)


@pytest.mark.django_db
@time_machine.travel(datetime(2025, 12, 31, 9, 0, tzinfo=TZ), tick=False)
def test_sign_in_deadline_across_new_year_2026(world):
    task = world.register(date(2026, 3, 31), sign_in_days=2)
    services.do_approve_task(task, acting=world.acting(world.leader))
    services.do_assign_task(task, lead_unit=world.city_a, acting=world.acting(world.supervisor))
    task.refresh_from_db()
    # 01-01..01-03 are the holiday; Sunday 01-04 is an adjusted workday (1); 01-05 (2).
    assert task.sign_deadline == date(2026, 1, 5)


@pytest.mark.django_db
def test_monthly_report_due_is_the_nth_working_day_after_a_holiday():
    cal = WorkingCalendar.load(date(2025, 9, 1), date(2026, 12, 31))
    # October 2025: 10-09 (1), 10-10 (2), Saturday 10-11 (3), 10-13 (4), 10-14 (5)
    assert nth_working_day_of_month(2025, 10, 5, cal) == date(2025, 10, 14)
    assert next_monthly_report_due(date(2025, 9, 20), 5, date(2026, 6, 30), cal) == date(
        2025, 10, 14
    )
    # December → January across the year: 2026-01-04 (1, Sunday workday), 05, 06, 07, 08 (5)
    assert next_monthly_report_due(date(2025, 12, 3), 5, date(2026, 6, 30), cal) == date(2026, 1, 8)
    # a report due after the deadline is not asked for: the deadline governs
    assert next_monthly_report_due(date(2025, 9, 20), 5, date(2025, 10, 10), cal) is None


@pytest.mark.django_db
@time_machine.travel(datetime(2025, 9, 20, 9, 0, tzinfo=TZ), tick=False)
def test_acknowledging_a_monthly_task_sets_the_first_report_due(world):
    task = world.in_progress(date(2026, 3, 31), report_cycle=ReportCycle.MONTHLY, report_day=5)
    assert task.next_report_due == date(2025, 10, 14)


@pytest.mark.django_db
@time_machine.travel(datetime(2026, 3, 2, 9, 0, tzinfo=TZ), tick=False)
def test_an_approved_extension_moves_the_deadline_and_keeps_the_old(world):
    a = world.acting
    task = world.in_progress(date(2026, 3, 31))
    ext = services.do_request_extension(
        task, new_deadline=date(2026, 4, 4), reason="需协调", acting=a(world.handler_a)
    )
    assert ext.new_deadline == date(2026, 4, 7)  # 04-04..04-06 Qingming holiday → 04-07
    services.do_decide_extension(ext, approve=True, acting=a(world.leader))
    task.refresh_from_db()
    assert (task.deadline, task.original_deadline) == (date(2026, 4, 7), date(2026, 3, 31))
    ext.refresh_from_db()
    assert ext.old_deadline == date(2026, 3, 31)
