"""The general office's dashboard, rankings and the monthly report (Excel and PDF).

Every function runs a fixed number of queries whatever the number of tasks and units.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit
from urllib.request import url2pathname

from django.conf import settings
from django.db.models import Count, Max, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from egov.core.calendar import WorkingCalendar
from egov.orgs.models import Organisation, User
from egov.supervision.choices import ACTIVE_STATES, Colour, ReminderReason, TaskState
from egov.supervision.deadlines import DUE_SOON_WORKING_DAYS, task_colour
from egov.supervision.models import Reminder, SupervisionTask
from egov.supervision.scoring import UnitScore, month_period, overdue_q, unit_scores
from egov.supervision.selectors import (
    SUPERVISING_ROLES,
    held_positions,
    supervised_offices_q,
    visible_tasks,
)

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


@dataclass
class MonthlyReport:
    """The monthly report (月度督查通报) — computed once, rendered as Excel or PDF.

    `scores` — the ranking of lead units over the tasks due in the month; `tasks` — those tasks
    (lazy; iterate it once); `overdue` — the ones closed late or still open past the deadline
    (the same rule as the ranking's overdue count); `registered` / `closed` — tasks registered
    or closed in the month; `issuer` — the issuing office, when the person has one.
    """

    year: int
    month: int
    start: date
    end: date
    today: date
    issuer: Organisation | None
    scores: list[UnitScore]
    tasks: QuerySet[SupervisionTask]
    overdue: list[SupervisionTask]
    registered: int
    closed: int

    @property
    def due(self) -> int:
        return sum(s.total for s in self.scores)

    @property
    def done_on_time(self) -> int:
        return sum(s.done_on_time for s in self.scores)

    @property
    def overdue_count(self) -> int:
        return sum(s.overdue for s in self.scores)

    @property
    def on_time_rate(self) -> float:
        return self.done_on_time / self.due if self.due else 0.0


def report_issuer(user: User, office_id: str | None = None) -> Organisation | None:
    """The office issuing the report: `office_id` if the person supervises it, else 404.

    Without `office_id`: the first office where the person holds a supervising role, or their
    first unit (no query beyond the cached positions). The id must be a number.
    """
    held = held_positions(user)
    if office_id:
        if not office_id.isdigit() or len(office_id) > 18:
            raise Http404("No such office.")
        office = (
            Organisation.objects.filter(supervised_offices_q(user), is_active=True)
            .filter(pk=int(office_id))
            .first()
        )
        if office is None:
            raise Http404("No such office.")
        return office
    supervising = [h.organisation for h in held if h.roles & SUPERVISING_ROLES]
    if supervising:
        return min(supervising, key=lambda o: o.path)
    return held[0].organisation if held else None


def monthly_report(
    user: User,
    year: int,
    month: int,
    today: date,
    *,
    office_id: str | None = None,
    overdue_limit: int | None = None,
) -> MonthlyReport:
    """Everything the monthly report shows (a fixed number of queries whatever the size).

    With `office_id`, only the tasks that office (or an office below it) registered, among those
    the person may see. `overdue_limit` keeps the first so many overdue tasks (by deadline);
    `overdue_count` still counts them all.
    """
    start, end = month_period(year, month)
    issuer = report_issuer(user, office_id)
    tasks = visible_tasks(user)
    if office_id and issuer is not None:
        tasks = tasks.filter(office__path__startswith=issuer.path)
    scores = unit_scores(tasks, start, end, today)
    tz = timezone.get_current_timezone()
    since = datetime.combine(start, time.min, tzinfo=tz)
    until = datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz)
    counts = tasks.aggregate(
        registered=Count("id", filter=Q(created_at__gte=since, created_at__lt=until)),
        closed=Count("id", filter=Q(closed_on__range=(start, end))),
    )
    due = tasks.filter(deadline__range=(start, end))
    overdue_qs = (
        due.filter(overdue_q(today), lead_unit__isnull=False)
        .select_related("lead_unit")
        .order_by("deadline", "id")
    )
    overdue = list(overdue_qs[:overdue_limit] if overdue_limit is not None else overdue_qs)
    return MonthlyReport(
        year=year,
        month=month,
        start=start,
        end=end,
        today=today,
        issuer=issuer,
        scores=scores,
        tasks=due.select_related("lead_unit").order_by("deadline", "id"),
        overdue=overdue,
        registered=counts["registered"],
        closed=counts["closed"],
    )


def monthly_report_workbook(report: MonthlyReport) -> bytes:
    """The monthly report as an Excel workbook: the ranking and the month's tasks."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    year, month = report.year, report.month
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
    for s in report.scores:
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
            pgettext("supervision task", "Title"),
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
    for t in report.tasks.iterator(chunk_size=2000):
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


# --- PDF -------------------------------------------------------------------------------------

PDF_TEMPLATE = "supervision/report_pdf.html"
# A printed list stays readable (and a render stays within seconds): WeasyPrint lays out about
# 60 table rows a second here; the Excel workbook lists every task of the month.
PDF_OVERDUE_ROWS = 200


def _local_roots() -> list[Path]:
    roots = [Path(__file__).resolve().parent / "static"]
    if settings.STATIC_ROOT:
        roots.append(Path(settings.STATIC_ROOT).resolve())
    roots.extend(Path(str(d)).resolve() for d in getattr(settings, "STATICFILES_DIRS", []))
    return roots


def _local_only_fetcher() -> Any:
    """A WeasyPrint URL fetcher that serves `data:` URLs and files under the static dirs only.

    Anything else (http, https, ftp, a file elsewhere) is refused — the report never reaches out
    to the network, and a crafted value in the data cannot make it read arbitrary files.
    """
    from weasyprint.urls import URLFetcher

    roots = _local_roots()

    class LocalOnlyFetcher(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            scheme = url.split(":", 1)[0].lower()
            if scheme == "data":
                return super().fetch(url, headers)
            if scheme == "file":
                path = Path(url2pathname(urlsplit(url).path)).resolve()
                if any(path.is_relative_to(root) for root in roots):
                    return super().fetch(url, headers)
            raise ValueError(f"Refused to fetch a non-local resource: {url[:200]}")

    return LocalOnlyFetcher(allowed_protocols=("data", "file"), fail_on_errors=False)


def _css_string(text: str) -> str:
    return (
        '"'
        + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ").replace("<", "\\3c ")
        + '"'
    )


def page_counter_css(pattern: str) -> str:
    """A CSS `content` value from a translated "Page %(page)s of %(pages)s" pattern."""
    parts = re.split(r"(%\((?:page|pages)\)s)", pattern)
    out = []
    for part in parts:
        if part == "%(page)s":
            out.append("counter(page)")
        elif part == "%(pages)s":
            out.append("counter(pages)")
        elif part:
            out.append(_css_string(part))
    return " ".join(out) or "counter(page)"


def monthly_report_title(year: int, month: int) -> str:
    period = date_format(date(year, month, 1), "YEAR_MONTH_FORMAT")
    return _("Supervision monthly report (%(period)s)") % {"period": period}


def monthly_report_pdf(report: MonthlyReport) -> bytes:
    """The monthly report as an A4 PDF, as the general office prints it for its meeting."""
    from weasyprint import HTML

    html = render_to_string(
        PDF_TEMPLATE,
        {
            "report": report,
            "title": monthly_report_title(report.year, report.month),
            "issued": report.today,
            "page_counter": page_counter_css(_("Page %(page)s of %(pages)s")),
            "on_time_percent": report.on_time_rate * 100,
        },
    )
    base = _local_roots()[0]
    document = HTML(string=html, base_url=base.as_uri() + "/", url_fetcher=_local_only_fetcher())
    return cast(bytes, document.write_pdf())
