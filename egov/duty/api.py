"""API of the duty app for phones and other clients: reports, calls, handovers, and rosters
(`/duty/teams…`: teams, shift patterns, generating shifts, assignments).

Reads go through `duty.selectors` (outside scope: 404); writes through `duty.services`.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from django.db.models import Prefetch
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from ninja.responses import Status
from pydantic import AwareDatetime, Field

from egov.api.errors import READ_ERRORS, WRITE_ERRORS, InvalidInput, InvalidReference, errors
from egov.api.pagination import Page, PageQuery, paginate
from egov.api.schemas import CleanSchema, InputSchema
from egov.core.acting import Acting
from egov.duty import reporting, selectors, services
from egov.duty.choices import (
    Category,
    DayKind,
    DutyRole,
    Frequency,
    Grade,
    ReportState,
    SubmissionKind,
)
from egov.duty.models import (
    TEXT_MAX,
    DutyTeam,
    EmergencyReport,
    ReportReceipt,
    ReportSubmission,
    Shift,
    ShiftAssignment,
    ShiftPattern,
)
from egov.orgs.models import User
from egov.orgs.selectors import visible_organisations

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


# ---------------------------------------------------------------- rosters: teams, patterns, shifts

EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2200, 12, 31)


class PersonRef(Schema):
    uuid: UUID
    username: str
    display_name: str


class PatternOut(Schema):
    id: int
    name: str
    frequency: Frequency
    interval: int
    weekdays: list[int] = Field(description="weekly patterns: Monday 0 … Sunday 6")
    day_kind: DayKind
    start_time: time
    duration_minutes: int
    valid_from: date
    valid_until: date | None

    @staticmethod
    def resolve_weekdays(obj: ShiftPattern) -> list[int]:
        return sorted(obj.weekday_set())


class TeamOut(Schema):
    uuid: UUID
    name: str
    organisation: OrgRef
    is_active: bool


class TeamDetailOut(TeamOut):
    patterns: list[PatternOut]
    may_manage: bool = Field(description="Whether the caller may change this team's roster")

    @staticmethod
    def resolve_patterns(obj: DutyTeam) -> list[ShiftPattern]:
        return list(obj.patterns.all())


class TeamFilters(CleanSchema):
    q: str = Field("", max_length=100)


class TeamCreate(InputSchema):
    organisation: UUID = Field(description="The unit (a 带班领导 or 系统管理员 of it or above)")
    name: str = Field(min_length=1, max_length=100)


class TeamUpdate(InputSchema):
    name: str | None = Field(None, min_length=1, max_length=100)
    is_active: bool | None = None


def _local_time(value: time | None, field: str) -> time | None:
    if value is not None and value.tzinfo is not None:
        raise InvalidInput(_("Give a local time of day without a time zone."), field=field)
    return value


class PatternCreate(InputSchema):
    name: str = Field(min_length=1, max_length=100)
    frequency: Frequency = Frequency.DAILY
    interval: int = Field(1, ge=1, le=365, description="every n days or weeks")
    weekdays: list[int] = Field(default_factory=list, max_length=7)
    day_kind: DayKind = DayKind.ANY
    start_time: time = Field(description="local wall-clock time, e.g. 08:30")
    duration_minutes: int = Field(24 * 60, ge=1, le=7 * 24 * 60)
    valid_from: date
    valid_until: date | None = None


class PatternUpdate(InputSchema):
    name: str | None = Field(None, min_length=1, max_length=100)
    frequency: Frequency | None = None
    interval: int | None = Field(None, ge=1, le=365)
    weekdays: list[int] | None = Field(None, max_length=7)
    day_kind: DayKind | None = None
    start_time: time | None = None
    duration_minutes: int | None = Field(None, ge=1, le=7 * 24 * 60)
    valid_from: date | None = None
    valid_until: date | None = None


class GenerateIn(InputSchema):
    start: date
    end: date = Field(description="inclusive; at most 400 days after `start`")


class GenerateOut(Schema):
    created: int = Field(description="Shifts created now (0 when they all existed already)")
    start: date
    end: date


class AssignmentOut(Schema):
    uuid: UUID
    user: PersonRef
    role: DutyRole
    starts_at: datetime
    ends_at: datetime


class ShiftOut(Schema):
    uuid: UUID
    team: UUID
    starts_at: datetime
    ends_at: datetime
    empty: bool = Field(description="Warning: no duty officer or no leader on duty")
    assignments: list[AssignmentOut]

    @staticmethod
    def resolve_team(obj: Shift) -> UUID:
        return obj.team.uuid

    @staticmethod
    def resolve_empty(obj: Shift) -> bool:
        return not obj.officer_count or not obj.leader_count  # type: ignore[attr-defined]

    @staticmethod
    def resolve_assignments(obj: Shift) -> list[ShiftAssignment]:
        return list(obj.assignments.all())


class ShiftFilters(CleanSchema):
    month: str | None = Field(
        None,
        pattern=r"^2[0-1]\d{2}-(0[1-9]|1[0-2])$",
        description="YYYY-MM (default: this month)",
    )
    empty: bool = Field(False, description="only shifts lacking an officer or a leader")


class AssignmentCreate(InputSchema):
    user: UUID = Field(description="A person holding the right role in the team's unit")
    role: DutyRole


def _check_day(value: date | None, field: str) -> None:
    if value is not None and not (EARLIEST_DAY <= value <= LATEST_DAY):
        raise InvalidInput(_("Not a plausible date."), field=field)


def _pattern_values(payload: PatternCreate | PatternUpdate, *, partial: bool) -> dict[str, Any]:
    values = payload.model_dump(exclude_unset=partial)
    for key in ("valid_from", "valid_until"):
        _check_day(values.get(key), key)
    _local_time(values.get("start_time"), "start_time")
    for key in ("frequency", "day_kind"):
        if key in values:
            if values[key] is None:
                raise InvalidInput(_("This field may not be null."), field=key)
            values[key] = str(getattr(values[key], "value", values[key]))
    if partial:
        for key, value in values.items():
            if value is None and key != "valid_until":
                raise InvalidInput(_("This field may not be null."), field=key)
    if "weekdays" in values:
        days = values["weekdays"] or []
        if any(d < 0 or d > 6 for d in days):
            raise InvalidInput(
                _("Weekdays are numbers from 0 (Monday) to 6 (Sunday)."), field="weekdays"
            )
        values["weekdays"] = ",".join(str(d) for d in sorted(set(days)))
    return values


def _team_detail(user: User, team_uuid: UUID) -> DutyTeam:
    team = selectors.access_team_by_id(user, team_uuid)
    team = (
        DutyTeam.objects.select_related("organisation").prefetch_related("patterns").get(pk=team.pk)
    )
    team.may_manage = selectors.may_manage_team(user, team)  # type: ignore[attr-defined]
    return team


@router.get(
    "/duty/teams",
    response={200: Page[TeamOut], **errors(*READ_ERRORS)},
    summary="Duty teams (值班组) of the units in one's duty scope",
)
def list_teams(request: HttpRequest, filters: Query[TeamFilters], paging: Query[PageQuery]) -> Any:
    return paginate(selectors.list_teams_for(request.user, q=filters.q), paging)  # type: ignore[arg-type]


@router.post(
    "/duty/teams",
    response={201: TeamDetailOut, **errors(*WRITE_ERRORS)},
    summary="Create a duty team for a unit (its 带班领导 or 系统管理员, or one above it)",
)
def create_team(request: HttpRequest, payload: TeamCreate) -> Any:
    org = visible_organisations(request.user).filter(uuid=payload.organisation).first()  # type: ignore[arg-type]
    if org is None:
        raise InvalidReference(_("No such organisation."), field="organisation")
    team = services.do_create_team(
        organisation=org, name=payload.name, acting=Acting.from_request(request)
    )
    return Status(201, _team_detail(request.user, team.uuid))  # type: ignore[arg-type]


@router.get(
    "/duty/teams/{uuid}",
    response={200: TeamDetailOut, **errors(*READ_ERRORS)},
    summary="One duty team with its shift patterns",
)
def get_team(request: HttpRequest, uuid: UUID) -> Any:
    return _team_detail(request.user, uuid)  # type: ignore[arg-type]


@router.patch(
    "/duty/teams/{uuid}",
    response={200: TeamDetailOut, **errors(*WRITE_ERRORS)},
    summary="Rename a duty team or (de)activate it",
)
def update_team(request: HttpRequest, uuid: UUID, payload: TeamUpdate) -> Any:
    team = selectors.access_team_by_id(request.user, uuid)  # type: ignore[arg-type]
    values = payload.model_dump(exclude_unset=True)
    for key, value in values.items():
        if value is None:
            raise InvalidInput(_("This field may not be null."), field=key)
    services.do_update_team(team=team, acting=Acting.from_request(request), **values)
    return _team_detail(request.user, uuid)  # type: ignore[arg-type]


@router.post(
    "/duty/teams/{uuid}/patterns",
    response={201: PatternOut, **errors(*WRITE_ERRORS)},
    summary="Add a shift pattern (recurrence rule) to a team",
)
def create_pattern(request: HttpRequest, uuid: UUID, payload: PatternCreate) -> Any:
    team = selectors.access_team_by_id(request.user, uuid)  # type: ignore[arg-type]
    values = _pattern_values(payload, partial=False)
    pattern = services.do_create_pattern(team=team, acting=Acting.from_request(request), **values)
    return Status(201, pattern)


@router.patch(
    "/duty/teams/{uuid}/patterns/{pattern_id}",
    response={200: PatternOut, **errors(*WRITE_ERRORS)},
    summary="Change a shift pattern (shifts generated before keep their times)",
)
def update_pattern(
    request: HttpRequest, uuid: UUID, pattern_id: int, payload: PatternUpdate
) -> Any:
    team = selectors.access_team_by_id(request.user, uuid)  # type: ignore[arg-type]
    pattern = selectors.access_pattern(team, pattern_id)
    values = _pattern_values(payload, partial=True)
    return services.do_update_pattern(
        pattern=pattern, acting=Acting.from_request(request), **values
    )


@router.post(
    "/duty/teams/{uuid}/generate",
    response={200: GenerateOut, **errors(*WRITE_ERRORS)},
    summary="Generate the team's shifts from its patterns, days `start` to `end` (idempotent)",
)
def generate_shifts(request: HttpRequest, uuid: UUID, payload: GenerateIn) -> Any:
    team = selectors.access_team_by_id(request.user, uuid)  # type: ignore[arg-type]
    _check_day(payload.start, "start")
    _check_day(payload.end, "end")
    created = services.do_generate_team_shifts(
        team=team, start=payload.start, end=payload.end, acting=Acting.from_request(request)
    )
    return {"created": len(created), "start": payload.start, "end": payload.end}


@router.get(
    "/duty/teams/{uuid}/shifts",
    response={200: Page[ShiftOut], **errors(*READ_ERRORS)},
    summary="The team's shifts of one month with their people; `empty` flags missing staff",
)
def list_team_shifts(
    request: HttpRequest, uuid: UUID, filters: Query[ShiftFilters], paging: Query[PageQuery]
) -> Any:
    team = selectors.access_team_by_id(request.user, uuid)  # type: ignore[arg-type]
    if filters.month:
        year, month = (int(x) for x in filters.month.split("-"))
        first = date(year, month, 1)
    else:
        first = timezone.localdate().replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    start, _ignored = selectors.local_day_bounds(first)
    end, _ignored = selectors.local_day_bounds(nxt)
    qs = Shift.objects.filter(team=team, starts_at__gte=start, starts_at__lt=end)
    qs = selectors.empty_shifts(qs) if filters.empty else selectors.shifts_with_staff(qs)
    return paginate(qs.order_by("starts_at"), paging)


@router.post(
    "/duty/shifts/{uuid}/assignments",
    response={201: AssignmentOut, **errors(*WRITE_ERRORS)},
    summary="Put a 值班员 (`officer`) or 带班领导 (`leader`) of the unit on a shift",
)
def assign(request: HttpRequest, uuid: UUID, payload: AssignmentCreate) -> Any:
    shift = selectors.access_shift_by_id(request.user, uuid)  # type: ignore[arg-type]
    try:
        person = selectors.access_user_in_unit(shift.team.organisation_id, payload.user)
    except Http404:
        raise InvalidReference(_("No such person in the team's unit."), field="user") from None
    assignment = services.do_assign(
        shift=shift,
        user=person,
        role=str(payload.role.value),
        acting=Acting.from_request(request),
    )
    return Status(201, ShiftAssignment.objects.select_related("user").get(pk=assignment.pk))


@router.delete(
    "/duty/assignments/{uuid}",
    response={204: None, **errors(*WRITE_ERRORS)},
    summary="Take a person off a shift (a roster manager of the unit)",
)
def unassign(request: HttpRequest, uuid: UUID) -> Any:
    assignment = selectors.access_assignment_by_id(request.user, uuid)  # type: ignore[arg-type]
    services.do_unassign(assignment=assignment, acting=Acting.from_request(request))
    return Status(204, None)
