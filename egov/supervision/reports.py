"""The general office's dashboard, rankings and the monthly report workbook (Excel).

Every function runs a fixed number of queries whatever the number of tasks and units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from io import BytesIO
from typing import Any

from django.db.models import Count, Max, OuterRef, Q, QuerySet, Subquery
from django.utils.translation import gettext as _

from egov.core.calendar import WorkingCalendar
from egov.orgs.models import User
from egov.supervision.choices import ACTIVE_STATES, Colour, ReminderReason, TaskState
from egov.supervision.deadlines import DUE_SOON_WORKING_DAYS, task_colour
from egov.supervision.models import Reminder, SupervisionTask
from egov.supervision.scoring import UnitScore, month_period, unit_scores
from egov.supervision.selectors import visible_tasks

DASHBOARD_LIST = 20


@dataclass
class Dashboard:
    today: date
    colour_counts: dict[str, int]
    state_counts: dict[str, int]
    overdue: list[SupervisionTask]
    due_soon: list[SupervisionTask]
    rankings: list[UnitScore]
    period: tuple[date, date]
    extra: dict[str, Any] = field(default_factory=dict)


def colour_of(task: SupervisionTask, today: date, cal: WorkingCalendar) -> Colour:
    return task_colour(
        state=task.state,
        deadline=task.deadline,
        today=today,
        calendar=cal,
        next_report_due=task.next_report_due,
        sign_deadline=task.sign_deadline,
    )


def attach_colours(tasks: list[SupervisionTask], today: date) -> None:
    """Set `task.colour` on each (one calendar query for the lot)."""
    if not tasks:
        return
    latest = max(max(t.deadline for t in tasks), today)
    cal = WorkingCalendar.load(today, latest)
    for task in tasks:
        task.colour = colour_of(task, today, cal)  # type: ignore[attr-defined]


def with_last_reminder(qs: QuerySet[SupervisionTask]) -> QuerySet[SupervisionTask]:
    latest = Reminder.objects.filter(task=OuterRef("pk")).order_by("-created_at", "-id")
    return qs.annotate(
        last_reminder_at=Subquery(latest.values("created_at")[:1]),
        last_reminder_reason=Subquery(latest.values("reason")[:1]),
    )


def colour_counts(
    tasks: QuerySet[SupervisionTask], today: date, due_soon_before: date
) -> dict[str, int]:
    """Counts per colour among open tasks, in one aggregate query (same rule as `task_colour`)."""
    active = Q(
        state__in=[*ACTIVE_STATES, TaskState.REGISTERED, TaskState.APPROVED, TaskState.RETURNED]
    )
    overdue = active & Q(deadline__lt=today)
    behind = (
        active
        & ~Q(deadline__lt=today)
        & (Q(next_report_due__lt=today) | Q(state=TaskState.ASSIGNED, sign_deadline__lt=today))
    )
    due_soon = active & ~Q(deadline__lt=today) & ~behind & Q(deadline__lt=due_soon_before)
    row = tasks.aggregate(
        overdue=Count("id", filter=overdue),
        behind=Count("id", filter=behind),
        due_soon=Count("id", filter=due_soon),
        open=Count("id", filter=active),
        done=Count("id", filter=Q(state=TaskState.DONE)),
        closed=Count("id", filter=Q(state=TaskState.ARCHIVED)),
    )
    row["on_time"] = row["open"] - row["overdue"] - row["behind"] - row["due_soon"]
    return row


def dashboard_for(user: User, today: date, period: tuple[date, date] | None = None) -> Dashboard:
    period = period or month_period(today.year, today.month)
    tasks = visible_tasks(user)
    cal = WorkingCalendar.load(today, today.replace(year=today.year + 1))
    # working_days_between(today, d) <= N  ⟺  d < the (N+1)-th working day after today
    due_soon_before = cal.add_working_days(today, DUE_SOON_WORKING_DAYS + 1)
    counts = colour_counts(tasks, today, due_soon_before)
    states = dict(
        tasks.values("state").annotate(n=Count("id")).order_by().values_list("state", "n")
    )
    base = with_last_reminder(tasks.select_related("lead_unit", "office"))
    overdue = list(
        base.filter(state__in=list(ACTIVE_STATES), deadline__lt=today).order_by("deadline", "id")[
            :DASHBOARD_LIST
        ]
    )
    due_soon = list(
        base.filter(
            state__in=list(ACTIVE_STATES), deadline__gte=today, deadline__lt=due_soon_before
        ).order_by("deadline", "id")[:DASHBOARD_LIST]
    )
    for task in [*overdue, *due_soon]:
        task.colour = colour_of(task, today, cal)  # type: ignore[attr-defined]
    rankings = unit_scores(tasks, period[0], period[1], today)
    reminders_today = Reminder.objects.filter(task__in=tasks, day=today).aggregate(
        n=Count("id"),
        overdue=Count("id", filter=Q(reason=ReminderReason.OVERDUE)),
        last=Max("created_at"),
    )
    return Dashboard(
        today=today,
        colour_counts=counts,
        state_counts=states,
        overdue=overdue,
        due_soon=due_soon,
        rankings=rankings,
        period=period,
        extra={"reminders_today": reminders_today},
    )


def monthly_report_workbook(user: User, year: int, month: int, today: date) -> bytes:
    """The monthly report (月度督查通报): rankings and the tasks due in the month."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    start, end = month_period(year, month)
    tasks = visible_tasks(user)
    scores = unit_scores(tasks, start, end, today)
    wb = Workbook()
    ws = wb.active
    assert ws is not None  # noqa: S101 -- a new workbook always has a sheet
    ws.title = _("Rankings")[:31]
    ws.append([_("Supervision monthly report"), f"{year}-{month:02d}"])
    ws["A1"].font = Font(bold=True)
    headers = [
        _("Rank"),
        _("Unit"),
        _("Tasks due"),
        _("Done on time"),
        _("Overdue"),
        _("On-time rate"),
        _("Quality score"),
        _("Satisfaction rate"),
        _("Score"),
    ]
    ws.append(headers)
    for s in scores:
        ws.append(
            [
                s.rank,
                s.unit_name,
                s.total,
                s.done_on_time,
                s.overdue,
                round(s.on_time_rate, 4),
                round(s.quality, 1) if s.quality is not None else None,
                round(s.satisfaction_rate, 4) if s.satisfaction_rate is not None else None,
                s.score,
            ]
        )
    detail = wb.create_sheet(_("Tasks")[:31])
    detail.append(
        [
            _("Number"),
            _("Title"),
            _("Source"),
            _("Lead unit"),
            _("Deadline"),
            _("Original deadline"),
            _("State"),
            _("Closed on"),
            _("On time"),
            _("Quality score"),
        ]
    )
    rows = (
        tasks.filter(deadline__range=(start, end))
        .select_related("lead_unit")
        .order_by("deadline", "id")
    )
    for t in rows.iterator(chunk_size=2000):
        detail.append(
            [
                t.number,
                t.title,
                t.get_source_display(),
                t.lead_unit.name if t.lead_unit else "",
                t.deadline,
                t.original_deadline,
                t.get_state_display(),
                t.closed_on,
                {True: _("Yes"), False: _("No")}.get(t.completed_on_time, "")
                if t.completed_on_time is not None
                else "",
                t.quality_score,
            ]
        )
    out = BytesIO()
    wb.save(out)
    return out.getvalue()
