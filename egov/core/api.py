"""API for the shared kernel: to-do centre, notifications, working-day calendar, audit trail."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from pydantic import Field

from egov.api.errors import READ_ERRORS, InvalidInput, errors
from egov.api.pagination import Page, PageQuery, paginate
from egov.api.schemas import CleanSchema
from egov.core import calendar
from egov.core.acting import Acting
from egov.core.audit import auditable_events, is_auditor, record_audit
from egov.core.choices import AuditOutcome
from egov.core.models import AuditEvent, Notification
from egov.core.services import do_mark_notifications_read
from egov.core.todos import todos_for

if TYPE_CHECKING:
    from egov.orgs.models import User

router = Router(tags=["core"])

# Dates the calendar answers for: wide enough for any deadline, narrow enough that no walk
# leaves the range Python's dates can hold.
CALENDAR_MIN = date(1950, 1, 1)
CALENDAR_MAX = date(2200, 12, 31)
MAX_WORKING_DAYS = 1000
MAX_SPAN_DAYS = 366 * 20


class TodoItemOut(Schema):
    subsystem: str
    kind: str
    title: str
    url: str
    created_at: datetime
    due_at: datetime | None
    state: str
    object_id: str
    extra: dict[str, str]


class TodoSummaryOut(Schema):
    subsystem: str
    label: str
    count: int


class TodosOut(Schema):
    items: list[TodoItemOut]
    summaries: list[TodoSummaryOut]
    count: int = Field(description="Items waiting in every subsystem together")


class TodoQuery(CleanSchema):
    subsystem: str | None = Field(
        None, max_length=50, pattern=r"^[a-z][a-z0-9_]*$", description="A subsystem's code"
    )
    limit: int = Field(50, ge=1, le=200)


class NotificationOut(Schema):
    uuid: UUID
    kind: str
    title: str
    body: str
    url: str
    created_at: datetime
    read_at: datetime | None


class NotificationQuery(CleanSchema):
    unread: bool | None = Field(None, description="true: only unread; false: only read")


class ReadAllOut(Schema):
    changed: int


def _check_calendar_date(value: date, field: str) -> date:
    if not CALENDAR_MIN <= value <= CALENDAR_MAX:
        raise InvalidInput(
            _("Give a date between %(min)s and %(max)s.")
            % {"min": CALENDAR_MIN.isoformat(), "max": CALENDAR_MAX.isoformat()},
            field=field,
        )
    return value


def _check_datetime(value: datetime | None, field: str) -> datetime | None:
    if value is None:
        return None
    _check_calendar_date(value.date(), field)
    return timezone.make_aware(value) if timezone.is_naive(value) else value


class WorkingDaysQuery(CleanSchema):
    start: date = Field(description=f"Between {CALENDAR_MIN} and {CALENDAR_MAX}")
    days: int = Field(ge=-MAX_WORKING_DAYS, le=MAX_WORKING_DAYS)


class WorkingDaysOut(Schema):
    start: date
    days: int
    date: date


class DaysBetweenQuery(CleanSchema):
    start: date = Field(description=f"Between {CALENDAR_MIN} and {CALENDAR_MAX}")
    end: date = Field(description="At most 20 years from start")


class DaysBetweenOut(Schema):
    start: date
    end: date
    working_days: int


class AuditEventOut(Schema):
    seq: int
    occurred_at: datetime
    actor_username: str
    position_title: str
    organisation_name: str
    action: str
    object_type: str
    object_id: str
    object_repr: str
    source_ip: str | None
    outcome: str
    details: dict[str, Any]
    hash: str


class AuditQuery(CleanSchema):
    action: str = Field("", max_length=100, description="Exact action, or a prefix ending in '.'")
    actor: str = Field("", max_length=150, description="User name")
    outcome: AuditOutcome | None = None
    object_type: str = Field("", max_length=100)
    object_id: str = Field("", max_length=64)
    since: datetime | None = None
    until: datetime | None = None


@router.get(
    "/todos",
    response={200: TodosOut, **errors(*READ_ERRORS)},
    summary="The user's to-do items, most urgent first, and a count per subsystem",
)
def list_todos(request: HttpRequest, query: Query[TodoQuery]) -> Any:
    items, summaries = todos_for(
        request.user,  # type: ignore[arg-type]
        subsystem=query.subsystem or None,
        limit=query.limit,
    )
    return {
        "items": items,
        "summaries": summaries,
        "count": sum(s.count for s in summaries),
    }


def _user(request: HttpRequest) -> User:
    """The authenticated user (every operation here requires authentication)."""
    return cast("User", request.user)


def _notifications_for(request: HttpRequest) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient=_user(request))


@router.get(
    "/notifications",
    response={200: Page[NotificationOut], **errors(*READ_ERRORS)},
    summary="The user's notifications, newest first",
)
def list_notifications(
    request: HttpRequest, query: Query[NotificationQuery], paging: Query[PageQuery]
) -> Any:
    rows = _notifications_for(request)
    if query.unread is not None:
        rows = rows.filter(read_at__isnull=query.unread)
    return paginate(rows.order_by("-created_at", "-id"), paging)


@router.post(
    "/notifications/read-all",
    response={200: ReadAllOut, **errors(401, 403)},
    summary="Mark every unread notification read",
)
def read_all_notifications(request: HttpRequest) -> Any:
    changed = do_mark_notifications_read(
        _user(request).pk, notification_ids=None, acting=Acting.from_request(request)
    )
    return {"changed": changed}


@router.post(
    "/notifications/{uuid}/read",
    response={200: NotificationOut, **errors(*READ_ERRORS)},
    summary="Mark one notification read",
)
def read_notification(request: HttpRequest, uuid: UUID) -> Any:
    notification = _notifications_for(request).filter(uuid=uuid).first()
    if notification is None:
        raise Http404
    do_mark_notifications_read(
        _user(request).pk,
        notification_ids=[notification.pk],
        acting=Acting.from_request(request),
    )
    notification.refresh_from_db(fields=["read_at"])
    return notification


@router.get(
    "/calendar/working-days",
    response={200: WorkingDaysOut, **errors(*READ_ERRORS)},
    summary="The date `days` working days after (or, negative, before) `start`",
)
def working_days(request: HttpRequest, query: Query[WorkingDaysQuery]) -> Any:
    _check_calendar_date(query.start, "start")
    result = calendar.add_working_days(query.start, query.days)
    return {"start": query.start, "days": query.days, "date": result}


@router.get(
    "/calendar/days-between",
    response={200: DaysBetweenOut, **errors(*READ_ERRORS)},
    summary="Working days after `start` up to and including `end`",
)
def days_between(request: HttpRequest, query: Query[DaysBetweenQuery]) -> Any:
    _check_calendar_date(query.start, "start")
    _check_calendar_date(query.end, "end")
    if abs((query.end - query.start).days) > MAX_SPAN_DAYS:
        raise InvalidInput(_("The period is too long (at most 20 years)."), field="end")
    days = calendar.working_days_between(query.start, query.end)
    return {"start": query.start, "end": query.end, "working_days": days}


def _audit_events_for(request: HttpRequest) -> QuerySet[AuditEvent]:
    """Audit events an 审计管理员 may read; anyone else: 404, so the endpoint tells nothing."""
    if not is_auditor(request.user):
        raise Http404
    return auditable_events(request.user)


@router.get(
    "/audit/events",
    response={200: Page[AuditEventOut], **errors(*READ_ERRORS)},
    summary="The audit trail (审计管理员 only), newest first",
)
def list_audit_events(
    request: HttpRequest, query: Query[AuditQuery], paging: Query[PageQuery]
) -> Any:
    rows = _audit_events_for(request)
    since = _check_datetime(query.since, "since")
    until = _check_datetime(query.until, "until")
    if query.action:
        rows = (
            rows.filter(action__startswith=query.action)
            if query.action.endswith(".")
            else rows.filter(action=query.action)
        )
    if query.actor:
        rows = rows.filter(actor_username=query.actor)
    if query.outcome:
        rows = rows.filter(outcome=query.outcome)
    if query.object_type:
        rows = rows.filter(object_type=query.object_type)
    if query.object_id:
        rows = rows.filter(object_id=query.object_id)
    if since:
        rows = rows.filter(occurred_at__gte=since)
    if until:
        rows = rows.filter(occurred_at__lt=until)
    page = paginate(rows.order_by("-seq"), paging)
    # Reading the trail is itself recorded, through the API as on the auditor's page.
    record_audit(
        "audit.viewed",
        acting=Acting.from_request(request),
        details={"via": "api", "filters": query.dict(exclude_none=True), "page": paging.page},
    )
    return page
