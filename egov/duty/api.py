"""API of the duty app for phones and other clients: `/duty/reports`, `/duty/calls`, `/duty/handovers`.

Reads go through `duty.selectors` (outside scope: 404); writes through `duty.services`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from django.db.models import Prefetch
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from ninja.responses import Status
from pydantic import AwareDatetime, Field

from egov.api.errors import READ_ERRORS, WRITE_ERRORS, InvalidInput, errors
from egov.api.pagination import Page, PageQuery, paginate
from egov.api.schemas import CleanSchema, InputSchema
from egov.core.acting import Acting
from egov.duty import reporting, selectors, services
from egov.duty.choices import Category, Grade, ReportState, SubmissionKind
from egov.duty.models import TEXT_MAX, EmergencyReport, ReportReceipt, ReportSubmission
from egov.orgs.models import User

router = Router(tags=["duty"])

MAX_COUNT = 1_000_000
EARLIEST_YEAR = 2000


def _check_when(value: datetime, field: str) -> datetime:
    if value.year < EARLIEST_YEAR or value.year > 2200:
        raise InvalidInput(_("Not a plausible time."), field=field)
    return value


class OrgRef(Schema):
    uuid: UUID
    name: str


class ReceiptOut(Schema):
    organisation: OrgRef
    sent_at: datetime
    acknowledged_at: datetime | None
    step: int = Field(description="0 duty officer, 1 leader on duty, 2 named role")
    escalations: int
    next_escalation_at: datetime | None


class SubmissionOut(Schema):
    kind: SubmissionKind
    number: int
    submitted_at: datetime
    text: str
    deaths: int
    injured: int
    missing: int
    due_at: datetime | None
    late: bool
    receipts: list[ReceiptOut]

    @staticmethod
    def resolve_receipts(obj: ReportSubmission) -> list[ReportReceipt]:
        return list(obj.receipts.all())


class ReportOut(Schema):
    uuid: UUID
    title: str
    organisation: OrgRef
    category: Category
    grade: Grade
    is_sensitive: bool
    state: ReportState
    occurred_at: datetime
    learned_at: datetime
    place: str
    deaths: int
    injured: int
    missing: int
    phone_due_at: datetime
    written_due_at: datetime
    reported_late: bool
    follow_up_count: int
    next_due_at: datetime | None
    next_due_kind: str
    overdue: bool = Field(description="Red flag: the next report is past due")

    @staticmethod
    def resolve_overdue(obj: EmergencyReport) -> bool:
        return reporting.overdue_state(obj)


class ReportDetailOut(ReportOut):
    source: str
    losses: str
    course: str
    submissions: list[SubmissionOut]

    @staticmethod
    def resolve_submissions(obj: EmergencyReport) -> list[ReportSubmission]:
        return list(obj.submissions.all())


class ReportFilters(CleanSchema):
    state: ReportState | None = None
    overdue: bool = False
    q: str = Field("", max_length=100)


class ReportCreate(InputSchema):
    title: str = Field(min_length=1, max_length=200)
    category: Category
    grade: Grade
    is_sensitive: bool = False
    source: str = Field(min_length=1, max_length=200)
    occurred_at: AwareDatetime
    learned_at: AwareDatetime
    place: str = Field(min_length=1, max_length=200)
    deaths: int = Field(0, ge=0, le=MAX_COUNT)
    injured: int = Field(0, ge=0, le=MAX_COUNT)
    missing: int = Field(0, ge=0, le=MAX_COUNT)
    losses: str = Field("", max_length=TEXT_MAX)
    course: str = Field(min_length=1, max_length=TEXT_MAX)
    by_phone: bool = Field(False, description="电话报告: the written first report follows")


class SubmissionCreate(InputSchema):
    text: str = Field(min_length=1, max_length=TEXT_MAX)
    deaths: int | None = Field(None, ge=0, le=MAX_COUNT)
    injured: int | None = Field(None, ge=0, le=MAX_COUNT)
    missing: int | None = Field(None, ge=0, le=MAX_COUNT)


class AcknowledgedOut(Schema):
    acknowledged: int = Field(description="How many receipts this acknowledged")
    levels: list[UUID]


class CallOut(Schema):
    uuid: UUID
    organisation: OrgRef
    received_at: datetime
    caller_unit: str
    caller_name: str
    caller_title: str
    caller_phone: str
    place: str
    what_happened: str
    cause: str
    measures: str
    impact_and_trend: str
    already_told: str
    recorded_by: str
    created_at: datetime

    @staticmethod
    def resolve_recorded_by(obj: Any) -> str:
        return str(obj.recorded_by.username)


class CallCreate(InputSchema):
    received_at: AwareDatetime
    caller_unit: str = Field(min_length=1, max_length=200)
    caller_name: str = Field(min_length=1, max_length=100)
    caller_title: str = Field("", max_length=100)
    caller_phone: str = Field(min_length=1, max_length=30)
    place: str = Field("", max_length=200)
    what_happened: str = Field(min_length=1, max_length=TEXT_MAX)
    cause: str = Field("", max_length=TEXT_MAX)
    measures: str = Field("", max_length=TEXT_MAX)
    impact_and_trend: str = Field("", max_length=TEXT_MAX)
    already_told: str = Field("", max_length=500)


class HandoverOut(Schema):
    uuid: UUID
    outgoing: str
    incoming: str
    notes: str
    open_items: list[str]
    state: str
    acknowledged_at: datetime | None
    created_at: datetime

    @staticmethod
    def resolve_outgoing(obj: Any) -> str:
        return str(obj.outgoing.username)

    @staticmethod
    def resolve_incoming(obj: Any) -> str:
        return str(obj.incoming.username)

    @staticmethod
    def resolve_open_items(obj: Any) -> list[str]:
        return list(obj.item_lines())


def _detail_qs(user: User) -> Any:
    receipts = ReportReceipt.objects.select_related("organisation")
    return (
        selectors.visible_reports(user)
        .select_related("organisation")
        .prefetch_related(
            Prefetch(
                "submissions",
                queryset=ReportSubmission.objects.prefetch_related(
                    Prefetch("receipts", queryset=receipts)
                ),
            )
        )
    )


def _detail(user: User, report_uuid: UUID) -> EmergencyReport:
    selectors.access_report_by_id(user, report_uuid)
    return _detail_qs(user).get(uuid=report_uuid)


@router.get(
    "/duty/reports",
    response={200: Page[ReportOut], **errors(*READ_ERRORS)},
    summary="Emergency reports in one's scope, newest event first (red flags in `overdue`)",
)
def list_reports(
    request: HttpRequest, filters: Query[ReportFilters], paging: Query[PageQuery]
) -> Any:
    qs = selectors.list_reports_for(
        request.user,  # type: ignore[arg-type]
        state=filters.state.value if filters.state else None,
        overdue=filters.overdue,
        q=filters.q,
    )
    return paginate(qs, paging)


@router.post(
    "/duty/reports",
    response={201: ReportDetailOut, **errors(*WRITE_ERRORS)},
    summary="File a first report (首报), or a report by phone (电话报告) — duty officer of the unit",
)
def file_report(request: HttpRequest, payload: ReportCreate) -> Any:
    _check_when(payload.occurred_at, "occurred_at")
    _check_when(payload.learned_at, "learned_at")
    data = payload.model_dump()
    data["category"] = str(payload.category.value)
    data["grade"] = str(payload.grade.value)
    report = reporting.do_file_report(
        data=reporting.FirstReport(**data), acting=Acting.from_request(request)
    )
    return Status(201, _detail(request.user, report.uuid))  # type: ignore[arg-type]


@router.get(
    "/duty/reports/{uuid}",
    response={200: ReportDetailOut, **errors(*READ_ERRORS)},
    summary="One report with its submissions and their acknowledgement at each level",
)
def get_report(request: HttpRequest, uuid: UUID) -> Any:
    return _detail(request.user, uuid)  # type: ignore[arg-type]


def _submit(request: HttpRequest, uuid: UUID, kind: str, payload: SubmissionCreate) -> Any:
    report = selectors.access_report_by_id(request.user, uuid)  # type: ignore[arg-type]
    submission = reporting.do_submit(
        report=report,
        kind=kind,
        acting=Acting.from_request(request),
        text=payload.text,
        deaths=payload.deaths,
        injured=payload.injured,
        missing=payload.missing,
    )
    submission = ReportSubmission.objects.prefetch_related("receipts__organisation").get(
        pk=submission.pk
    )
    return Status(201, submission)


@router.post(
    "/duty/reports/{uuid}/first",
    response={201: SubmissionOut, **errors(*WRITE_ERRORS)},
    summary="The written first report after a report by phone",
)
def submit_first(request: HttpRequest, uuid: UUID, payload: SubmissionCreate) -> Any:
    return _submit(request, uuid, SubmissionKind.FIRST, payload)


@router.post(
    "/duty/reports/{uuid}/follow-ups",
    response={201: SubmissionOut, **errors(*WRITE_ERRORS)},
    summary="A numbered follow-up (续报); a daily report once the event has lasted long enough",
)
def submit_follow_up(request: HttpRequest, uuid: UUID, payload: SubmissionCreate) -> Any:
    return _submit(request, uuid, SubmissionKind.FOLLOW_UP, payload)


@router.post(
    "/duty/reports/{uuid}/final",
    response={201: SubmissionOut, **errors(*WRITE_ERRORS)},
    summary="The final report (终报): closes the report",
)
def submit_final(request: HttpRequest, uuid: UUID, payload: SubmissionCreate) -> Any:
    return _submit(request, uuid, SubmissionKind.FINAL, payload)


@router.post(
    "/duty/reports/{uuid}/acknowledge",
    response={200: AcknowledgedOut, **errors(*WRITE_ERRORS)},
    summary="Acknowledge (签收) at the levels where one is on duty; stops their escalation",
)
def acknowledge_report(request: HttpRequest, uuid: UUID) -> Any:
    report = selectors.access_report_by_id(request.user, uuid)  # type: ignore[arg-type]
    receipts = reporting.do_acknowledge_report(report=report, acting=Acting.from_request(request))
    orgs = {r.organisation.uuid for r in receipts}
    return {"acknowledged": len(receipts), "levels": sorted(orgs, key=str)}


@router.get(
    "/duty/calls",
    response={200: Page[CallOut], **errors(*READ_ERRORS)},
    summary="The call register (值班电话记录) of the units in one's scope",
)
def list_calls(request: HttpRequest, paging: Query[PageQuery]) -> Any:
    qs = selectors.visible_calls(request.user).select_related("organisation", "recorded_by")  # type: ignore[arg-type]
    return paginate(qs, paging)


@router.post(
    "/duty/calls",
    response={201: CallOut, **errors(*WRITE_ERRORS)},
    summary="Record a call taken on duty (duty officer of the unit)",
)
def record_call(request: HttpRequest, payload: CallCreate) -> Any:
    _check_when(payload.received_at, "received_at")
    call = services.do_record_call(acting=Acting.from_request(request), **payload.model_dump())
    return Status(201, selectors.access_call_by_id(request.user, call.uuid))  # type: ignore[arg-type]


@router.get(
    "/duty/calls/{uuid}",
    response={200: CallOut, **errors(*READ_ERRORS)},
    summary="One call record",
)
def get_call(request: HttpRequest, uuid: UUID) -> Any:
    return selectors.access_call_by_id(request.user, uuid)  # type: ignore[arg-type]


@router.get(
    "/duty/handovers",
    response={200: Page[HandoverOut], **errors(*READ_ERRORS)},
    summary="Handovers waiting for one's acknowledgement",
)
def list_handovers(request: HttpRequest, paging: Query[PageQuery]) -> Any:
    qs = selectors.pending_handovers_for(request.user).select_related("outgoing", "incoming")  # type: ignore[arg-type]
    return paginate(qs, paging)


@router.post(
    "/duty/handovers/{uuid}/acknowledge",
    response={200: HandoverOut, **errors(*WRITE_ERRORS)},
    summary="Acknowledge a handover (接班确认): only the incoming officer",
)
def acknowledge_handover(request: HttpRequest, uuid: UUID) -> Any:
    handover = selectors.access_handover_by_id(request.user, uuid)  # type: ignore[arg-type]
    services.do_acknowledge_handover(handover=handover, acting=Acting.from_request(request))
    return selectors.access_handover_by_id(request.user, uuid)  # type: ignore[arg-type]
