"""Reminder scheduling with time travel: before the deadline, on a missed report, when overdue,
once per task, reason and day; urging notices; delivery and reading recorded."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import IntegrityError, transaction

from egov.core.acting import Acting
from egov.core.models import Notification
from egov.core.scheduling import periodic_jobs, run_due_jobs
from egov.supervision import services
from egov.supervision.choices import ReminderReason, ReportCycle
from egov.supervision.models import Reminder
from egov.supervision.tests.factories import ReminderFactory

TZ = ZoneInfo("Asia/Shanghai")
JOB = Acting.system("test.reminders")


def at(y: int, m: int, d: int, h: int = 10) -> datetime:
    return datetime(y, m, d, h, 0, tzinfo=TZ)


def run_on(moment: datetime) -> int:
    with time_machine.travel(moment, tick=False):
        return services.do_send_due_reminders(acting=JOB)


def reasons(task) -> list[tuple[str, date]]:
    return sorted(Reminder.objects.filter(task=task).values_list("reason", "day"))


@pytest.fixture
def task(world):
    with time_machine.travel(at(2026, 9, 1), tick=False):
        return world.in_progress(date(2026, 10, 12))


def test_reminders_before_the_deadline_and_when_overdue(world, task):
    assert run_on(at(2026, 10, 7)) == 0  # four working days left across the holiday
    assert run_on(at(2026, 10, 8)) == 1  # three left
    assert run_on(at(2026, 10, 8, 15)) == 0  # never twice the same day
    assert run_on(at(2026, 10, 9)) == 0  # two left
    assert run_on(at(2026, 10, 10)) == 1  # Saturday, an adjusted workday: one left
    assert run_on(at(2026, 10, 11)) == 0  # Sunday: no reminder on a rest day
    assert run_on(at(2026, 10, 12)) == 0  # the deadline itself
    assert run_on(at(2026, 10, 13, 0)) == 1  # overdue from midnight
    assert run_on(at(2026, 10, 13, 23)) == 0
    assert run_on(at(2026, 10, 14)) == 1  # overdue again the next day
    assert reasons(task) == [
        ("due_1", date(2026, 10, 10)),
        ("due_3", date(2026, 10, 8)),
        ("overdue", date(2026, 10, 13)),
        ("overdue", date(2026, 10, 14)),
    ]


def test_reminders_reach_the_units_and_record_reading(world, task):
    run_on(at(2026, 10, 13))
    reminder = Reminder.objects.get(task=task, reason=ReminderReason.OVERDUE)
    recipients = {n.recipient for n in reminder.notifications.all()}
    # lead unit (handler and clerk), co-unit handler, and the supervisor for an overdue task
    assert recipients == {world.handler_a, world.clerk_a, world.handler_b, world.supervisor}
    note = reminder.notifications.get(recipient=world.handler_a)
    assert note.url == task.get_absolute_url() and note.read_at is None
    Notification.objects.filter(pk=note.pk).update(read_at=at(2026, 10, 13, 11))
    assert reminder.notifications.filter(read_at__isnull=False).count() == 1


def test_a_missed_monthly_report_is_reminded_until_reported(world):
    with time_machine.travel(at(2026, 9, 1), tick=False):
        task = world.in_progress(date(2026, 12, 31), report_cycle=ReportCycle.MONTHLY)
    # October 2026: 10-08 (1), 10-09 (2), Saturday 10-10 (3), 10-12 (4), 10-13 (5)
    assert task.next_report_due == date(2026, 10, 13)
    assert run_on(at(2026, 10, 13, 23)) == 0
    assert run_on(at(2026, 10, 14)) == 1
    assert reasons(task) == [("report_missed", date(2026, 10, 14))]
    with time_machine.travel(at(2026, 10, 14, 11), tick=False):
        services.do_report_progress(
            task, text="十月进展", percent=30, acting=world.acting(world.handler_a)
        )
    task.refresh_from_db()
    assert task.next_report_due == date(2026, 11, 6)  # 11-02..11-06: the 5th working day
    assert run_on(at(2026, 10, 15)) == 0


def test_a_missed_sign_in_is_reminded(world):
    with time_machine.travel(at(2026, 9, 1), tick=False):
        task = world.register(date(2026, 12, 31))
        services.do_approve_task(task, acting=world.acting(world.leader))
        services.do_assign_task(task, lead_unit=world.city_a, acting=world.acting(world.supervisor))
    task.refresh_from_db()
    assert task.sign_deadline == date(2026, 9, 3)
    assert run_on(at(2026, 9, 3)) == 0
    assert run_on(at(2026, 9, 4)) == 1
    assert reasons(task) == [("sign_missed", date(2026, 9, 4))]


def test_finished_tasks_are_not_reminded(world, task):
    with time_machine.travel(at(2026, 10, 9), tick=False):
        services.do_apply_close(task, evidence="完成", acting=world.acting(world.handler_a))
    assert run_on(at(2026, 10, 13)) == 0


def test_the_database_refuses_a_second_reminder_the_same_day(world, task):
    ReminderFactory(task=task, reason=ReminderReason.OVERDUE, day=date(2026, 10, 13))
    with pytest.raises(IntegrityError), transaction.atomic():
        ReminderFactory(task=task, reason=ReminderReason.OVERDUE, day=date(2026, 10, 13))
    ReminderFactory(task=task, reason=ReminderReason.URGE, day=date(2026, 10, 13))
    ReminderFactory(task=task, reason=ReminderReason.URGE, day=date(2026, 10, 13))
    # the job sees the row and sends nothing more that day
    assert run_on(at(2026, 10, 13)) == 0


def test_urging_notice_goes_to_the_units(world, task):
    with time_machine.travel(at(2026, 10, 9), tick=False):
        first = services.do_urge_task(
            task, text="请抓紧办理", acting=world.acting(world.supervisor)
        )
        services.do_urge_task(task, text="再次催办", acting=world.acting(world.supervisor))
    assert {n.recipient for n in first.notifications.all()} == {
        world.handler_a,
        world.clerk_a,
        world.handler_b,
    }
    assert Reminder.objects.filter(task=task, reason=ReminderReason.URGE).count() == 2


def test_the_periodic_job_is_registered_and_runs(world, task):
    assert "supervision.send_reminders" in {job.name for job in periodic_jobs()}
    with time_machine.travel(at(2026, 10, 13), tick=False):
        assert "supervision.send_reminders" in run_due_jobs()
    assert reasons(task) == [("overdue", date(2026, 10, 13))]
    with time_machine.travel(at(2026, 10, 13, 12), tick=False):
        run_due_jobs()  # an hour later or more: runs again, sends nothing new
    assert reasons(task) == [("overdue", date(2026, 10, 13))]


def test_the_command_sends_what_is_due_once(world, task):
    from io import StringIO

    from django.core.management import call_command

    with time_machine.travel(at(2026, 10, 13), tick=False):
        out = StringIO()
        call_command("supervision_reminders", stdout=out)
        assert out.getvalue().startswith("1 ")
        call_command("supervision_reminders", stdout=out)
    assert reasons(task) == [("overdue", date(2026, 10, 13))]
