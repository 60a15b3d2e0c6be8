"""API of the supervision app (督查督办): `/supervision/tasks` and every step of the flow.

Reads go through the scope selectors (outside scope: 404); writes through `services`, whose
refusals come back in the house error shape `{code, message, details}`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Schema
from ninja.responses import Status
from pydantic import Field

from egov.api.errors import READ_ERRORS, WRITE_ERRORS, InvalidReference, errors
from egov.api.pagination import Page, PageQuery, paginate
from egov.api.schemas import CleanSchema, InputSchema
from egov.core.acting import Acting
from egov.orgs.choices import Role
from egov.orgs.models import Organisation, User
from egov.supervision import reports, selectors, services
from egov.supervision.choices import ReportCycle, Satisfaction, TaskSource, TaskState
from egov.supervision.models import ExtensionRequest, ProgressReport, Reminder, SupervisionTask
from egov.supervision.scoring import month_period, unit_scores

router = Router(tags=["supervision"])

TEXT_MAX = 5000


class SupervisionOrgRef(Schema):
    uuid: UUID
    name: str


class SupervisionUnitOut(Schema):
    organisation: SupervisionOrgRef
    role: str
    state: str
    acknowledged_at: datetime | None
    return_reason: str


class SupervisionTaskOut(Schema):
    uuid: UUID
    number: str
    title: str
    source: str
    source_reference: str
    state: str
    colour: str = Field(description="overdue, behind, due_soon, on_time, done or closed")
    deadline: date
    original_deadline: date
    sign_deadline: date | None
    next_report_due: date | None
    progress: int
    office: SupervisionOrgRef
    lead_unit: SupervisionOrgRef | None
    parent: UUID | None
    responsible_leader: str
    responsible_person: str
    requirement: str
    quality_standard: str
    report_cycle: str
    report_day: int
    quality_score: int | None
    satisfaction: str
    closed_on: date | None
    completed_on_time: bool | None
    created_at: datetime

    @staticmethod
    def resolve_parent(obj: SupervisionTask) -> UUID | None:
        return obj.parent.uuid if obj.parent_id and obj.parent is not None else None


class SupervisionTaskDetailOut(SupervisionTaskOut):
    units: list[SupervisionUnitOut]

    @staticmethod
    def resolve_units(obj: Any) -> list[Any]:
        return list(getattr(obj, "units_list", []))


class SupervisionReportOut(Schema):
    id: int
    unit: SupervisionOrgRef
    text: str
    percent: int
    created_at: datetime


class SupervisionExtensionOut(Schema):
    uuid: UUID
    old_deadline: date
    new_deadline: date
    reason: str
    state: str
    decided_at: datetime | None


class SupervisionReminderOut(Schema):
    uuid: UUID
    reason: str
    day: date
    text: str
    recipients: int
    read: int


class SupervisionScoreOut(Schema):
    rank: int
    unit: UUID
    unit_name: str
    total: int
    done_on_time: int
    overdue: int
    on_time_rate: float
    quality: float | None
    satisfaction_rate: float | None
    score: float


class SupervisionTaskFilters(CleanSchema):
    q: str = Field("", max_length=100, description="Title or number")
    state: TaskState | None = None
    source: TaskSource | None = None


class SupervisionPeriodQuery(CleanSchema):
    month: str | None = Field(
        None, pattern=r"^(19|20)\d{2}-(0[1-9]|1[0-2])$", description="YYYY-MM"
    )


class SupervisionTaskCreate(InputSchema):
    office: UUID = Field(description="The supervising office (督查室's organisation)")
    title: str = Field(min_length=1, max_length=200)
    source: TaskSource
    source_reference: str = Field("", max_length=TEXT_MAX)
    source_document: UUID | None = None
    requirement: str = Field(min_length=1, max_length=TEXT_MAX)
    quality_standard: str = Field(min_length=1, max_length=TEXT_MAX)
    responsible_leader: str = Field(min_length=1, max_length=100)
    responsible_person: str = Field(min_length=1, max_length=100)
    deadline: date
    sign_in_days: int = Field(2, ge=1, le=20)
    report_cycle: ReportCycle = ReportCycle.NONE
    report_day: int = Field(5, ge=1, le=20)
    parent: UUID | None = Field(None, description="Makes this a sub-task of that task")


class SupervisionAssignIn(InputSchema):
    lead_unit: UUID
    co_units: list[UUID] = Field(default_factory=list, max_length=services.MAX_CO_UNITS)


class SupervisionReasonIn(InputSchema):
    reason: str = Field(min_length=1, max_length=TEXT_MAX)


class SupervisionReportIn(InputSchema):
    text: str = Field(min_length=1, max_length=TEXT_MAX)
    percent: int = Field(ge=0, le=100)


class SupervisionCloseIn(InputSchema):
    evidence: str = Field(min_length=1, max_length=TEXT_MAX)


class SupervisionReviewIn(InputSchema):
    passed: bool
    quality_score: int | None = Field(None, ge=0, le=100)
    satisfaction: Satisfaction | None = None
    reason: str = Field("", max_length=TEXT_MAX)


class SupervisionUrgeIn(InputSchema):
    text: str = Field(min_length=1, max_length=TEXT_MAX)


class SupervisionExtensionIn(InputSchema):
    new_deadline: date
    reason: str = Field(min_length=1, max_length=TEXT_MAX)


class SupervisionDecisionIn(InputSchema):
    approve: bool
    note: str = Field("", max_length=TEXT_MAX)


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _task(request: HttpRequest, task_id: UUID) -> SupervisionTask:
    return selectors.access_task_by_id(_user(request), task_id)


def _detail(task: SupervisionTask) -> SupervisionTask:
    task = SupervisionTask.objects.select_related("office", "lead_unit", "parent").get(pk=task.pk)
    reports.attach_colours([task], timezone.localdate())
    task.units_list = list(task.units.select_related("organisation"))  # type: ignore[attr-defined]
    return task


@router.get(
    "/supervision/tasks",
    response={200: Page[SupervisionTaskOut], **errors(*READ_ERRORS)},
    summary="List tasks",
)
def list_tasks(
    request: HttpRequest, filters: Query[SupervisionTaskFilters], paging: Query[PageQuery]
) -> dict[str, Any]:
    qs = selectors.list_tasks_for(
        _user(request),
        q=filters.q,
        state=filters.state or "",
        source=filters.source or "",
    ).select_related("parent")
    page = paginate(qs, paging)
    reports.attach_colours(page["items"], timezone.localdate())
    return page


@router.get(
    "/supervision/tasks/{task_id}",
    response={200: SupervisionTaskDetailOut, **errors(*READ_ERRORS)},
    summary="Get a task",
)
def get_task(request: HttpRequest, task_id: UUID) -> Any:
    return _detail(_task(request, task_id))


@router.post(
    "/supervision/tasks",
    response={201: SupervisionTaskDetailOut, **errors(*WRITE_ERRORS)},
    summary="Register a task (立项)",
)
def register_task(request: HttpRequest, payload: SupervisionTaskCreate) -> Any:
    user = _user(request)
    office = Organisation.objects.filter(
        selectors.supervised_offices_q(user, roles=frozenset({str(Role.SUPERVISOR)})),
        uuid=payload.office,
    ).first()
    if office is None:
        raise InvalidReference("No such office.", field="office")
    parent = None
    if payload.parent is not None:
        parent = selectors.visible_tasks(user).filter(uuid=payload.parent).first()
        if parent is None:
            raise InvalidReference("No such task.", field="parent")
    task = services.do_register_task(
        office=office,
        title=payload.title,
        source=payload.source,
        source_reference=payload.source_reference,
        source_document=payload.source_document,
        requirement=payload.requirement,
        quality_standard=payload.quality_standard,
        responsible_leader=payload.responsible_leader,
        responsible_person=payload.responsible_person,
        deadline=payload.deadline,
        sign_in_days=payload.sign_in_days,
        report_cycle=payload.report_cycle,
        report_day=payload.report_day,
        parent=parent,
        acting=Acting.from_request(request),
    )
    return Status(201, _detail(task))


@router.post(
    "/supervision/tasks/{task_id}/approve",
    response={200: SupervisionTaskDetailOut, **errors(*WRITE_ERRORS)},
    summary="Approve (审核)",
)
def approve_task(request: HttpRequest, task_id: UUID) -> Any:
    task = services.do_approve_task(_task(request, task_id), acting=Acting.from_request(request))
    return _detail(task)


@router.post(
    "/supervision/tasks/{task_id}/assign",
    response={200: SupervisionTaskDetailOut, **errors(*WRITE_ERRORS)},
    summary="Assign to a lead unit and co-units (交办)",
)
def assign_task(request: HttpRequest, task_id: UUID, payload: SupervisionAssignIn) -> Any:
    task = _task(request, task_id)
    units = {
        o.uuid: o
        for o in selectors.assignable_units(task.office).filter(
            uuid__in=[payload.lead_unit, *payload.co_units]
        )
    }
    lead = units.get(payload.lead_unit)
    if lead is None:
        raise InvalidReference("No such unit in the office's scope.", field="lead_unit")
    co = []
    for i, ref in enumerate(payload.co_units):
        if ref not in units:
            raise InvalidReference("No such unit in the office's scope.", field=f"co_units.{i}")
        co.append(units[ref])
    task = services.do_assign_task(
        task, lead_unit=lead, co_units=co, acting=Acting.from_request(request)
    )
    return _detail(task)


@router.post(
    "/supervision/tasks/{task_id}/acknowledge",
    response={200: SupervisionTaskDetailOut, **errors(*WRITE_ERRORS)},
    summary="Sign for the task (签收)",
)
def acknowledge_task(request: HttpRequest, task_id: UUID) -> Any:
    task = _task(request, task_id)
    services.do_acknowledge_task(task, acting=Acting.from_request(request))
    return _detail(task)


@router.post(
    "/supervision/tasks/{task_id}/return",
    response={200: SupervisionTaskDetailOut, **errors(*WRITE_ERRORS)},
    summary="Return a wrongly assigned task (退回)",
)
def return_task(request: HttpRequest, task_id: UUID, payload: SupervisionReasonIn) -> Any:
    task = _task(request, task_id)
    services.do_return_task(task, reason=payload.reason, acting=Acting.from_request(request))
    return _detail(task)


@router.post(
    "/supervision/tasks/{task_id}/reports",
    response={201: SupervisionReportOut, **errors(*WRITE_ERRORS)},
    summary="Report progress",
)
def report_progress(request: HttpRequest, task_id: UUID, payload: SupervisionReportIn) -> Any:
    report = services.do_report_progress(
        _task(request, task_id),
        text=payload.text,
        percent=payload.percent,
        acting=Acting.from_request(request),
    )
    report = ProgressReport.objects.select_related("unit").get(pk=report.pk)
    return Status(201, report)


@router.post(
    "/supervision/tasks/{task_id}/apply-close",
    response={200: SupervisionTaskDetailOut, **errors(*WRITE_ERRORS)},
    summary="Apply to close with evidence (申请办结)",
)
def apply_close(request: HttpRequest, task_id: UUID, payload: SupervisionCloseIn) -> Any:
    task = services.do_apply_close(
        _task(request, task_id), evidence=payload.evidence, acting=Acting.from_request(request)
    )
    return _detail(task)


@router.post(
    "/supervision/tasks/{task_id}/review",
    response={200: SupervisionTaskDetailOut, **errors(*WRITE_ERRORS)},
    summary="Review the application to close (复核)",
)
def review_task(request: HttpRequest, task_id: UUID, payload: SupervisionReviewIn) -> Any:
    task = services.do_review_task(
        _task(request, task_id),
        passed=payload.passed,
        reason=payload.reason,
        quality_score=payload.quality_score,
        satisfaction=payload.satisfaction or "",
        acting=Acting.from_request(request),
    )
    return _detail(task)


@router.post(
    "/supervision/tasks/{task_id}/archive",
    response={200: SupervisionTaskDetailOut, **errors(*WRITE_ERRORS)},
    summary="Archive (归档)",
)
def archive_task(request: HttpRequest, task_id: UUID) -> Any:
    task = services.do_archive_task(_task(request, task_id), acting=Acting.from_request(request))
    return _detail(task)


def _reminder_out(reminder: Reminder) -> dict[str, Any]:
    notes = list(reminder.notifications.all())
    return {
        "uuid": reminder.uuid,
        "reason": reminder.reason,
        "day": reminder.day,
        "text": reminder.text,
        "recipients": len(notes),
        "read": sum(1 for n in notes if n.read_at is not None),
    }


@router.post(
    "/supervision/tasks/{task_id}/urge",
    response={201: SupervisionReminderOut, **errors(*WRITE_ERRORS)},
    summary="Send an urging notice (催办单)",
)
def urge_task(request: HttpRequest, task_id: UUID, payload: SupervisionUrgeIn) -> Any:
    reminder = services.do_urge_task(
        _task(request, task_id), text=payload.text, acting=Acting.from_request(request)
    )
    return Status(201, _reminder_out(reminder))


@router.get(
    "/supervision/tasks/{task_id}/reminders",
    response={200: list[SupervisionReminderOut], **errors(*READ_ERRORS)},
    summary="Reminders and urging notices with delivery and reading",
)
def list_reminders(request: HttpRequest, task_id: UUID) -> Any:
    task = _task(request, task_id)
    rows = Reminder.objects.filter(task=task).prefetch_related("notifications")[:200]
    return [_reminder_out(r) for r in rows]


@router.post(
    "/supervision/tasks/{task_id}/extensions",
    response={201: SupervisionExtensionOut, **errors(*WRITE_ERRORS)},
    summary="Request an extension (申请延期)",
)
def request_extension(request: HttpRequest, task_id: UUID, payload: SupervisionExtensionIn) -> Any:
    ext = services.do_request_extension(
        _task(request, task_id),
        new_deadline=payload.new_deadline,
        reason=payload.reason,
        acting=Acting.from_request(request),
    )
    return Status(201, ext)


@router.post(
    "/supervision/tasks/{task_id}/extensions/{extension_id}/decide",
    response={200: SupervisionExtensionOut, **errors(*WRITE_ERRORS)},
    summary="Approve or refuse an extension",
)
def decide_extension(
    request: HttpRequest, task_id: UUID, extension_id: UUID, payload: SupervisionDecisionIn
) -> Any:
    task = _task(request, task_id)
    ext = ExtensionRequest.objects.filter(task=task, uuid=extension_id).first()
    if ext is None:
        raise InvalidReference("No such extension request.", field="extension_id")
    return services.do_decide_extension(
        ext, approve=payload.approve, note=payload.note, acting=Acting.from_request(request)
    )


@router.get(
    "/supervision/rankings",
    response={200: list[SupervisionScoreOut], **errors(*READ_ERRORS)},
    summary="Units ranked by score for a month",
)
def rankings(request: HttpRequest, period: Query[SupervisionPeriodQuery]) -> Any:
    today = timezone.localdate()
    year, month = today.year, today.month
    if period.month:
        year, month = (int(p) for p in period.month.split("-"))
    start, end = month_period(year, month)
    scores = unit_scores(selectors.visible_tasks(_user(request)), start, end, today)
    uuids = dict(
        Organisation.objects.filter(pk__in=[s.unit_id for s in scores]).values_list("pk", "uuid")
    )
    return [
        {
            "rank": s.rank,
            "unit": uuids[s.unit_id],
            "unit_name": s.unit_name,
            "total": s.total,
            "done_on_time": s.done_on_time,
            "overdue": s.overdue,
            "on_time_rate": s.on_time_rate,
            "quality": s.quality,
            "satisfaction_rate": s.satisfaction_rate,
            "score": s.score,
        }
        for s in scores
    ]
