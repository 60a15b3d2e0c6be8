"""Every write of the supervision app (督查督办), with the task's state machine.

The transition table `TRANSITIONS` maps each action to the states it may start from and the state
it leads to (None: the state does not change). `check_transition` refuses anything else with
`InvalidTransition`. Each service checks who acts (outside scope: 404 from the selectors; inside
scope without the role or unit: `NotPermitted`), validates, writes, records a history line
(`TaskEvent`) and an audit event, and notifies the people concerned.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from egov.core.acting import Acting
from egov.core.audit import record_audit
from egov.core.calendar import WorkingCalendar
from egov.core.errors import DomainError, InvalidTransition, NotPermitted
from egov.core.notifications import do_notify
from egov.orgs.choices import Role
from egov.orgs.models import Organisation, User
from egov.supervision import selectors
from egov.supervision.choices import (
    FINISHED_STATES,
    PROPOSAL_SOURCES,
    AttachmentPurpose,
    EventKind,
    ExtensionState,
    ReminderReason,
    ReportCycle,
    Satisfaction,
    TaskSource,
    TaskState,
    UnitRole,
    UnitState,
)
from egov.supervision.deadlines import (
    MAX_EXTENSION_WORKING_DAYS,
    MAX_SIGN_IN_DAYS,
    REMINDER_OFFSETS,
    next_monthly_report_due,
)
from egov.supervision.models import (
    Attachment,
    ExtensionRequest,
    ProgressReport,
    Reminder,
    SupervisionTask,
    TaskEvent,
    TaskUnit,
)

NOTICE_KIND = "supervision.notice"
MAX_ATTACHMENTS = 10
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
ATTACHMENT_EXTENSIONS = frozenset(
    {"pdf", "ofd", "doc", "docx", "wps", "xls", "xlsx", "et", "txt", "jpg", "jpeg", "png", "zip"}
)
REMINDER_KIND = "supervision.reminder"
MAX_CO_UNITS = 50

S = TaskState
TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    "approve": (frozenset({S.REGISTERED}), S.APPROVED),
    "assign": (frozenset({S.APPROVED, S.RETURNED}), S.ASSIGNED),
    "acknowledge": (frozenset({S.ASSIGNED, S.IN_PROGRESS}), None),
    "return": (frozenset({S.ASSIGNED}), None),
    "report": (frozenset({S.IN_PROGRESS}), None),
    "apply_close": (frozenset({S.IN_PROGRESS}), S.CLOSING),
    "review_pass": (frozenset({S.CLOSING}), S.DONE),
    "review_back": (frozenset({S.CLOSING}), S.IN_PROGRESS),
    "archive": (frozenset({S.DONE}), S.ARCHIVED),
    "request_extension": (frozenset({S.ASSIGNED, S.IN_PROGRESS}), None),
    "decide_extension": (frozenset({S.ASSIGNED, S.IN_PROGRESS, S.CLOSING}), None),
    "urge": (frozenset({S.ASSIGNED, S.IN_PROGRESS}), None),
}


def check_transition(task: SupervisionTask, action: str) -> str:
    """The state `action` leads to from the task's state; InvalidTransition if not allowed."""
    allowed, target = TRANSITIONS[action]
    if task.state not in allowed:
        raise InvalidTransition(
            _("This cannot be done while the task is “%(state)s”.")
            % {"state": task.get_state_display()}
        )
    return target if target is not None else task.state


def allowed_actions(task: SupervisionTask) -> set[str]:
    return {action for action, (states, _t) in TRANSITIONS.items() if task.state in states}


# --- helpers -------------------------------------------------------------------------------


def _user(acting: Acting) -> User:
    if acting.user is None:
        raise NotPermitted(_("Only a person can do this."))
    return acting.user


def _require_supervisor(task: SupervisionTask, acting: Acting, roles: frozenset[str]) -> User:
    user = _user(acting)
    if not selectors.supervises(user, task, roles):
        raise NotPermitted(_("Only the supervising office may do this."))
    return user


def _acting_unit(
    task: SupervisionTask,
    acting: Acting,
    *,
    roles: frozenset[str],
    lead_only: bool = False,
    states: Iterable[str] = (UnitState.ACKNOWLEDGED,),
) -> TaskUnit:
    """The task's unit the user acts for (holding one of `roles` there), or NotPermitted."""
    user = _user(acting)
    unit_ids = selectors.member_unit_ids(user, roles)
    qs = TaskUnit.objects.select_for_update(of=("self",)).filter(
        task=task, organisation_id__in=unit_ids, state__in=list(states)
    )
    if lead_only:
        qs = qs.filter(role=UnitRole.LEAD)
    unit = qs.select_related("organisation").order_by("role", "id").first()
    if unit is None:
        raise NotPermitted(_("Your unit does not hold this task at this step."))
    return unit


def _lock(task: SupervisionTask) -> SupervisionTask:
    return (
        SupervisionTask.objects.select_for_update(of=("self",))
        .select_related("office", "lead_unit")
        .get(pk=task.pk)
    )


def _event(
    task: SupervisionTask,
    kind: str,
    acting: Acting,
    *,
    unit: Organisation | None = None,
    text: str = "",
) -> None:
    TaskEvent.objects.create(
        task=task,
        kind=kind,
        actor=acting.user,
        actor_label=acting.username,
        unit=unit,
        text=text,
    )


def _audit(action: str, task: SupervisionTask, acting: Acting, **details: Any) -> None:
    record_audit(
        f"supervision.task.{action}",
        acting=acting,
        obj=task,
        details={"task": str(task.uuid), "state": task.state, **details},
    )


def _today() -> date:
    return timezone.localdate()


def _calendar(a: date, b: date) -> WorkingCalendar:
    return WorkingCalendar.load(min(a, b), max(a, b))


def unit_recipients(org_ids: Iterable[int]) -> dict[int, list[User]]:
    """Handlers and clerks of each unit (one query)."""
    ids = list(set(org_ids))
    result: dict[int, list[User]] = defaultdict(list)
    if not ids:
        return result
    rows = (
        User.objects.filter(
            is_active=True,
            positions__is_active=True,
            positions__organisation_id__in=ids,
            positions__role_grants__role__in=sorted(selectors.UNIT_ROLES),
        )
        .annotate(unit_id=F("positions__organisation_id"))
        .order_by("id")
    )
    seen: set[tuple[int, int]] = set()
    for user in rows:
        unit_id: int = getattr(user, "unit_id")  # noqa: B009 -- the query's annotation
        if (unit_id, user.pk) not in seen:
            seen.add((unit_id, user.pk))
            result[unit_id].append(user)
    return result


def _notify_units(
    task: SupervisionTask, org_ids: Iterable[int], title: str, acting: Acting
) -> None:
    by_unit = unit_recipients(org_ids)
    users = [u for users in by_unit.values() for u in users]
    if users:
        do_notify(users, kind=NOTICE_KIND, title=title, url=task.get_absolute_url(), acting=acting)


def _notify_user(task: SupervisionTask, user: User | None, title: str, acting: Acting) -> None:
    if user is not None:
        do_notify([user], kind=NOTICE_KIND, title=title, url=task.get_absolute_url(), acting=acting)


def check_attachments(files: Sequence[UploadedFile]) -> None:
    """Refuse too many, too large, or files of a type not accepted (field `attachments`)."""
    if len(files) > MAX_ATTACHMENTS:
        raise DomainError(_("At most %(n)d files.") % {"n": MAX_ATTACHMENTS}, field="attachments")
    for f in files:
        name = (f.name or "").rsplit("/", 1)[-1]
        extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        if extension not in ATTACHMENT_EXTENSIONS:
            raise DomainError(
                _("%(name)s: this type of file is not accepted.") % {"name": name[:100]},
                field="attachments",
            )
        if (f.size or 0) > MAX_ATTACHMENT_BYTES:
            raise DomainError(
                _("%(name)s: larger than 20 MB.") % {"name": name[:100]}, field="attachments"
            )
        if not f.size:
            raise DomainError(_("%(name)s is empty.") % {"name": name[:100]}, field="attachments")


def _store_attachments(
    task: SupervisionTask,
    files: Sequence[UploadedFile],
    purpose: str,
    acting: Acting,
    report: ProgressReport | None = None,
) -> None:
    for f in files:
        name = (f.name or "file").rsplit("/", 1)[-1][:200]
        attachment = Attachment(
            task=task,
            report=report,
            purpose=purpose,
            name=name,
            size=f.size or 0,
            uploaded_by=_user(acting),
        )
        attachment.file.save(name, f, save=False)
        attachment.save()


# --- register, approve, assign ---------------------------------------------------------------


def do_register_task(
    *,
    office: Organisation,
    title: str,
    source: str,
    requirement: str,
    quality_standard: str,
    responsible_leader: str,
    responsible_person: str,
    deadline: date,
    source_reference: str = "",
    source_document: Any = None,
    report_cycle: str = ReportCycle.NONE,
    report_day: int = 5,
    sign_in_days: int = 2,
    parent: SupervisionTask | None = None,
    acting: Acting,
) -> SupervisionTask:
    """立项: a 督查员 of `office` (or of an office above it) registers a task with its 五定."""
    user = _user(acting)
    if not Organisation.objects.filter(
        selectors.supervised_offices_q(user, roles=frozenset({str(Role.SUPERVISOR)})),
        pk=office.pk,
    ).exists():
        raise NotPermitted(
            _("Only a supervisor of this office may register tasks."), field="office"
        )
    if source not in TaskSource.values:
        raise DomainError(_("Not one of the allowed values."), field="source")
    if report_cycle not in ReportCycle.values:
        raise DomainError(_("Not one of the allowed values."), field="report_cycle")
    for name, value in (
        ("title", title),
        ("requirement", requirement),
        ("quality_standard", quality_standard),
        ("responsible_leader", responsible_leader),
        ("responsible_person", responsible_person),
    ):
        if not str(value).strip():
            raise DomainError(_("This field is required."), field=name)
    if not 1 <= report_day <= 20:
        raise DomainError(_("Give a working day between 1 and 20."), field="report_day")
    if not 1 <= sign_in_days <= MAX_SIGN_IN_DAYS:
        raise DomainError(
            _("Give between 1 and %(n)d working days.") % {"n": MAX_SIGN_IN_DAYS},
            field="sign_in_days",
        )
    today = _today()
    if deadline <= today:
        raise DomainError(_("The deadline must be after today."), field="deadline")
    if (deadline - today).days > 366 * 5:
        raise DomainError(_("The deadline is more than five years away."), field="deadline")
    if source == TaskSource.KEY_DOCUMENT and not source_reference and source_document is None:
        raise DomainError(_("Name the document the task comes from."), field="source_reference")
    if parent is not None and parent.state in FINISHED_STATES:
        raise DomainError(_("The parent task is already closed."), field="parent")
    if parent is not None and deadline > parent.deadline:
        raise DomainError(_("A sub-task cannot be due after its parent task."), field="deadline")
    with transaction.atomic():
        cal = _calendar(today, deadline)
        deadline = cal.add_working_days(deadline, 0)  # a rest day moves to the next working day
        task = SupervisionTask.objects.create(
            title=title.strip(),
            source=source,
            source_reference=source_reference,
            source_document=source_document,
            requirement=requirement,
            quality_standard=quality_standard,
            responsible_leader=responsible_leader.strip(),
            responsible_person=responsible_person.strip(),
            office=office,
            parent=parent,
            registered_by=user,
            deadline=deadline,
            original_deadline=deadline,
            report_cycle=report_cycle,
            report_day=report_day,
            sign_in_days=sign_in_days,
        )
        task.number = f"DB{today.year}-{task.pk:06d}"
        task.save(update_fields=["number"])
        _event(task, EventKind.REGISTER, acting, unit=office, text=source_reference[:500])
        _audit("register", task, acting, deadline=deadline.isoformat(), source=source)
    return task


def do_approve_task(task: SupervisionTask, *, acting: Acting) -> SupervisionTask:
    """审核: a leader (签发人) or supervisor of the office approves the registered task."""
    with transaction.atomic():
        task = _lock(task)
        _require_supervisor(task, acting, selectors.SUPERVISING_ROLES)
        task.state = check_transition(task, "approve")
        task.approved_at = timezone.now()
        task.save(update_fields=["state", "approved_at", "updated_at"])
        _event(task, EventKind.APPROVE, acting)
        _audit("approve", task, acting)
    return task


def do_assign_task(
    task: SupervisionTask,
    *,
    lead_unit: Organisation,
    co_units: Sequence[Organisation] = (),
    acting: Acting,
) -> SupervisionTask:
    """交办: one lead unit (主办) and any co-units (会办), inside the office's scope."""
    with transaction.atomic():
        task = _lock(task)
        _require_supervisor(task, acting, frozenset({str(Role.SUPERVISOR)}))
        target = check_transition(task, "assign")
        co_ids = [u.pk for u in co_units]
        if len(co_ids) > MAX_CO_UNITS:
            raise DomainError(_("Too many co-units."), field="co_units")
        if lead_unit.pk in co_ids:
            raise DomainError(_("The lead unit cannot also be a co-unit."), field="co_units")
        if len(set(co_ids)) != len(co_ids):
            raise DomainError(_("A co-unit is given twice."), field="co_units")
        allowed = set(
            selectors.assignable_units(task.office)
            .filter(pk__in=[lead_unit.pk, *co_ids])
            .values_list("pk", flat=True)
        )
        if lead_unit.pk not in allowed:
            raise DomainError(_("This unit is outside the office's scope."), field="lead_unit")
        if set(co_ids) - allowed:
            raise DomainError(_("A co-unit is outside the office's scope."), field="co_units")
        today = _today()
        cal = _calendar(today, task.deadline)
        TaskUnit.objects.filter(task=task).delete()  # a reassignment starts afresh
        TaskUnit.objects.bulk_create(
            [TaskUnit(task=task, organisation=lead_unit, role=UnitRole.LEAD)]
            + [TaskUnit(task=task, organisation_id=pk, role=UnitRole.CO) for pk in co_ids]
        )
        task.state = target
        task.lead_unit = lead_unit
        task.assigned_at = timezone.now()
        task.sign_deadline = min(cal.add_working_days(today, task.sign_in_days), task.deadline)
        task.next_report_due = None
        task.save(
            update_fields=[
                "state",
                "lead_unit",
                "assigned_at",
                "sign_deadline",
                "next_report_due",
                "updated_at",
            ]
        )
        names = ", ".join([lead_unit.name, *(u.name for u in co_units)])
        _event(task, EventKind.ASSIGN, acting, unit=lead_unit, text=names)
        _audit("assign", task, acting, lead_unit=str(lead_unit.uuid), co_units=len(co_ids))
        _notify_units(
            task,
            [lead_unit.pk, *co_ids],
            _("New supervised task to sign for: %(title)s") % {"title": task.title},
            acting,
        )
    return task


# --- the units' steps ------------------------------------------------------------------------


def do_acknowledge_task(task: SupervisionTask, *, acting: Acting) -> TaskUnit:
    """签收: a handler or clerk of an assigned unit signs for the task."""
    with transaction.atomic():
        task = _lock(task)
        check_transition(task, "acknowledge")
        unit = _acting_unit(task, acting, roles=selectors.UNIT_ROLES, states=[UnitState.ASSIGNED])
        now = timezone.now()
        unit.state = UnitState.ACKNOWLEDGED
        unit.acknowledged_at = now
        unit.acknowledged_by = acting.user
        unit.save(update_fields=["state", "acknowledged_at", "acknowledged_by", "updated_at"])
        if unit.role == UnitRole.LEAD and task.state == TaskState.ASSIGNED:
            task.state = TaskState.IN_PROGRESS
            if task.report_cycle == ReportCycle.MONTHLY:
                today = timezone.localdate(now)
                cal = _calendar(today, task.deadline)
                task.next_report_due = next_monthly_report_due(
                    today, task.report_day, task.deadline, cal
                )
            task.save(update_fields=["state", "next_report_due", "updated_at"])
        _event(task, EventKind.ACKNOWLEDGE, acting, unit=unit.organisation)
        _audit("acknowledge", task, acting, unit=str(unit.organisation.uuid), role=unit.role)
    return unit


def do_return_task(task: SupervisionTask, *, reason: str, acting: Acting) -> TaskUnit:
    """退回: a unit returns a wrongly assigned task before signing for it, with the reason.

    The lead unit's return sends the task back to the office to assign again."""
    reason = reason.strip()
    if not reason:
        raise DomainError(_("Give the reason for returning the task."), field="reason")
    with transaction.atomic():
        task = _lock(task)
        check_transition(task, "return")
        unit = _acting_unit(task, acting, roles=selectors.UNIT_ROLES, states=[UnitState.ASSIGNED])
        unit.state = UnitState.RETURNED
        unit.return_reason = reason
        unit.save(update_fields=["state", "return_reason", "updated_at"])
        if unit.role == UnitRole.LEAD:
            task.state = TaskState.RETURNED
            task.save(update_fields=["state", "updated_at"])
        _event(task, EventKind.RETURN, acting, unit=unit.organisation, text=reason)
        _audit("return", task, acting, unit=str(unit.organisation.uuid), role=unit.role)
        _notify_user(
            task,
            task.registered_by,
            _("A unit returned the task: %(title)s") % {"title": task.title},
            acting,
        )
    return unit


def do_report_progress(
    task: SupervisionTask,
    *,
    text: str,
    percent: int,
    attachments: Sequence[UploadedFile] = (),
    acting: Acting,
) -> ProgressReport:
    """进展报告: a handler of a unit that signed for the task reports progress (with files)."""
    check_attachments(attachments)
    text = text.strip()
    if not text:
        raise DomainError(_("Describe the progress."), field="text")
    if not 0 <= percent <= 100:
        raise DomainError(_("Give a percentage from 0 to 100."), field="percent")
    with transaction.atomic():
        task = _lock(task)
        check_transition(task, "report")
        unit = _acting_unit(task, acting, roles=frozenset({str(Role.HANDLER)}))
        report = ProgressReport.objects.create(
            task=task,
            unit=unit.organisation,
            author=_user(acting),
            text=text,
            percent=percent,
            period_due=task.next_report_due,
        )
        _store_attachments(task, attachments, AttachmentPurpose.REPORT, acting, report)
        if unit.role == UnitRole.LEAD:
            task.progress = percent
            if task.report_cycle == ReportCycle.MONTHLY:
                today = _today()
                cal = _calendar(today, task.deadline)
                task.next_report_due = next_monthly_report_due(
                    today, task.report_day, task.deadline, cal
                )
            task.save(update_fields=["progress", "next_report_due", "updated_at"])
        _event(task, EventKind.REPORT, acting, unit=unit.organisation, text=f"{percent}% {text}")
        _audit("report", task, acting, percent=percent, unit=str(unit.organisation.uuid))
    return report


def do_apply_close(
    task: SupervisionTask,
    *,
    evidence: str,
    attachments: Sequence[UploadedFile] = (),
    acting: Acting,
) -> SupervisionTask:
    """申请办结: the lead unit applies to close with evidence; sub-tasks must be closed."""
    check_attachments(attachments)
    evidence = evidence.strip()
    if not evidence:
        raise DomainError(_("Give the evidence of completion."), field="evidence")
    with transaction.atomic():
        task = _lock(task)
        target = check_transition(task, "apply_close")
        _acting_unit(task, acting, roles=frozenset({str(Role.HANDLER)}), lead_only=True)
        if task.subtasks.exclude(state__in=list(FINISHED_STATES)).exists():
            raise DomainError(_("Close the sub-tasks first."), field="subtasks")
        task.state = target
        task.close_applied_at = timezone.now()
        task.close_evidence = evidence
        task.progress = 100
        _store_attachments(task, attachments, AttachmentPurpose.EVIDENCE, acting)
        task.save(
            update_fields=["state", "close_applied_at", "close_evidence", "progress", "updated_at"]
        )
        _event(task, EventKind.APPLY_CLOSE, acting, unit=task.lead_unit, text=evidence)
        _audit("apply_close", task, acting)
        _notify_user(
            task,
            task.registered_by,
            _("Application to close, awaiting review: %(title)s") % {"title": task.title},
            acting,
        )
    return task


def do_review_task(
    task: SupervisionTask,
    *,
    passed: bool,
    reason: str = "",
    quality_score: int | None = None,
    satisfaction: str = "",
    acting: Acting,
) -> SupervisionTask:
    """复核: pass (办结, with a quality score) or send back to 办理中 with the reason."""
    reason = reason.strip()
    with transaction.atomic():
        task = _lock(task)
        target = check_transition(task, "review_pass" if passed else "review_back")
        _require_supervisor(task, acting, frozenset({str(Role.SUPERVISOR)}))
        if passed:
            if quality_score is None or not 0 <= quality_score <= 100:
                raise DomainError(_("Give a quality score from 0 to 100."), field="quality_score")
            if task.source in PROPOSAL_SOURCES and not satisfaction:
                raise DomainError(
                    _("Record the proposer's satisfaction with the answer."), field="satisfaction"
                )
            if satisfaction and satisfaction not in Satisfaction.values:
                raise DomainError(_("Not one of the allowed values."), field="satisfaction")
            applied = task.close_applied_at or timezone.now()
            task.closed_on = timezone.localdate(applied)
            task.completed_on_time = task.closed_on <= task.deadline
            task.quality_score = quality_score
            task.satisfaction = satisfaction
            task.next_report_due = None
            kind = EventKind.REVIEW_PASS
        else:
            if not reason:
                raise DomainError(_("Give the reason for sending the task back."), field="reason")
            task.close_applied_at = None
            kind = EventKind.REVIEW_BACK
        task.state = target
        task.save()
        _event(task, kind, acting, text=reason)
        _audit("review", task, acting, passed=passed, quality_score=quality_score)
        if task.lead_unit_id is not None:
            _notify_units(
                task,
                [task.lead_unit_id],
                (_("Task closed: %(title)s") if passed else _("Task sent back: %(title)s"))
                % {"title": task.title},
                acting,
            )
    return task


def do_archive_task(task: SupervisionTask, *, acting: Acting) -> SupervisionTask:
    """归档."""
    with transaction.atomic():
        task = _lock(task)
        task.state = check_transition(task, "archive")
        _require_supervisor(task, acting, frozenset({str(Role.SUPERVISOR)}))
        task.archived_at = timezone.now()
        task.save(update_fields=["state", "archived_at", "updated_at"])
        _event(task, EventKind.ARCHIVE, acting)
        _audit("archive", task, acting)
    return task


# --- extensions ------------------------------------------------------------------------------


def do_request_extension(
    task: SupervisionTask, *, new_deadline: date, reason: str, acting: Acting
) -> ExtensionRequest:
    """申请延期: the lead unit asks for a later deadline, within the allowed limit."""
    reason = reason.strip()
    if not reason:
        raise DomainError(_("Give the reason for the extension."), field="reason")
    with transaction.atomic():
        task = _lock(task)
        check_transition(task, "request_extension")
        _acting_unit(
            task,
            acting,
            roles=frozenset({str(Role.HANDLER)}),
            lead_only=True,
            states=[UnitState.ASSIGNED, UnitState.ACKNOWLEDGED],
        )
        if new_deadline <= task.deadline:
            raise DomainError(
                _("The new deadline must be after the current one."), field="new_deadline"
            )
        if (new_deadline - task.deadline).days > MAX_EXTENSION_WORKING_DAYS * 3:
            raise DomainError(
                _("An extension may add at most %(n)d working days.")
                % {"n": MAX_EXTENSION_WORKING_DAYS},
                field="new_deadline",
            )
        cal = _calendar(task.deadline, new_deadline)
        if cal.working_days_between(task.deadline, new_deadline) > MAX_EXTENSION_WORKING_DAYS:
            raise DomainError(
                _("An extension may add at most %(n)d working days.")
                % {"n": MAX_EXTENSION_WORKING_DAYS},
                field="new_deadline",
            )
        if ExtensionRequest.objects.filter(task=task, state=ExtensionState.PENDING).exists():
            raise DomainError(_("An extension request is already pending."), field="new_deadline")
        ext = ExtensionRequest.objects.create(
            task=task,
            requested_by=_user(acting),
            old_deadline=task.deadline,
            new_deadline=cal.add_working_days(new_deadline, 0),
            reason=reason,
        )
        _event(
            task,
            EventKind.EXTENSION_REQUEST,
            acting,
            unit=task.lead_unit,
            text=f"{task.deadline.isoformat()} → {ext.new_deadline.isoformat()}: {reason}",
        )
        _audit("request_extension", task, acting, new_deadline=ext.new_deadline.isoformat())
        _notify_user(
            task,
            task.registered_by,
            _("Extension requested: %(title)s") % {"title": task.title},
            acting,
        )
    return ext


def do_decide_extension(
    ext: ExtensionRequest, *, approve: bool, note: str = "", acting: Acting
) -> ExtensionRequest:
    """Approve (the deadline moves; the original stays in `original_deadline`) or refuse."""
    with transaction.atomic():
        task = _lock(ext.task)
        ext = ExtensionRequest.objects.select_for_update().get(pk=ext.pk)
        _require_supervisor(task, acting, selectors.SUPERVISING_ROLES)
        check_transition(task, "decide_extension")
        if ext.state != ExtensionState.PENDING:
            raise InvalidTransition(_("This request has already been decided."))
        ext.state = ExtensionState.APPROVED if approve else ExtensionState.REFUSED
        ext.decided_by = acting.user
        ext.decided_at = timezone.now()
        ext.decision_note = note.strip()
        ext.save()
        if approve:
            task.deadline = ext.new_deadline
            task.save(update_fields=["deadline", "updated_at"])
        _event(
            task,
            EventKind.EXTENSION_APPROVE if approve else EventKind.EXTENSION_REFUSE,
            acting,
            text=ext.decision_note,
        )
        _audit("decide_extension", task, acting, approved=approve)
        _notify_user(
            task,
            ext.requested_by,
            (_("Extension approved: %(title)s") if approve else _("Extension refused: %(title)s"))
            % {"title": task.title},
            acting,
        )
    return ext


# --- reminders and urging notices -------------------------------------------------------------


def _send_reminder(
    task: SupervisionTask,
    reason: str,
    day: date,
    recipients: list[User],
    title: str,
    acting: Acting,
    *,
    text: str = "",
) -> Reminder | None:
    """One reminder row and its notifications; None if this reason was already sent today."""
    try:
        with transaction.atomic():
            reminder = Reminder.objects.create(
                task=task, reason=reason, day=day, text=text, sent_by=acting.user
            )
            notes = do_notify(
                recipients,
                kind=REMINDER_KIND,
                title=title,
                body=text,
                url=task.get_absolute_url(),
                acting=acting,
            )
            reminder.notifications.add(*notes)
            _event(
                task,
                EventKind.URGE if reason == ReminderReason.URGE else EventKind.REMIND,
                acting,
                text=f"{reason}: {text}"[:1000],
            )
    except IntegrityError:
        return None
    return reminder


def do_urge_task(task: SupervisionTask, *, text: str, acting: Acting) -> Reminder:
    """催办单: the supervisor's manual urging notice to the assigned units."""
    text = text.strip()
    if not text:
        raise DomainError(_("Write the urging notice."), field="text")
    with transaction.atomic():
        task = _lock(task)
        _require_supervisor(task, acting, frozenset({str(Role.SUPERVISOR)}))
        check_transition(task, "urge")
        org_ids = list(
            TaskUnit.objects.filter(task=task)
            .exclude(state=UnitState.RETURNED)
            .values_list("organisation_id", flat=True)
        )
        users = [u for us in unit_recipients(org_ids).values() for u in us]
        reminder = _send_reminder(
            task,
            ReminderReason.URGE,
            _today(),
            users,
            _("Urging notice: %(title)s") % {"title": task.title},
            acting,
            text=text,
        )
        if reminder is None:  # pragma: no cover - urging notices have no daily limit
            raise DomainError(_("The urging notice could not be recorded."), field="text")
        _audit("urge", task, acting, recipients=len(users))
    return reminder


def due_reminder_reasons(task: SupervisionTask, today: date, cal: WorkingCalendar) -> list[str]:
    """The automatic reminders a task is due on `today` (see docs/supervision.md)."""
    reasons: list[str] = []
    if task.state not in (TaskState.ASSIGNED, TaskState.IN_PROGRESS):
        return reasons
    if today > task.deadline:
        return [ReminderReason.OVERDUE]
    if cal.is_working_day(today):
        left = cal.working_days_between(today, task.deadline)
        for offset in REMINDER_OFFSETS:
            if left == offset:
                reasons.append(ReminderReason.DUE_3 if offset == 3 else ReminderReason.DUE_1)
    if task.state == TaskState.ASSIGNED and task.sign_deadline and today > task.sign_deadline:
        reasons.append(ReminderReason.SIGN_MISSED)
    if task.next_report_due is not None and today > task.next_report_due:
        reasons.append(ReminderReason.REPORT_MISSED)
    return reasons


_REMINDER_TITLES = {
    ReminderReason.DUE_3: lambda t: _("Due in 3 working days: %(title)s") % {"title": t},
    ReminderReason.DUE_1: lambda t: _("Due tomorrow (working day): %(title)s") % {"title": t},
    ReminderReason.SIGN_MISSED: lambda t: _("Not signed for yet: %(title)s") % {"title": t},
    ReminderReason.REPORT_MISSED: lambda t: _("Progress report missed: %(title)s") % {"title": t},
    ReminderReason.OVERDUE: lambda t: _("Overdue: %(title)s") % {"title": t},
}


def do_send_due_reminders(*, now: datetime | None = None, acting: Acting) -> int:
    """The periodic job: send every automatic reminder due today, at most once per task, reason
    and day (the unique constraint on `Reminder` guarantees it across runs and runners)."""
    now = now if now is not None else timezone.now()
    today = timezone.localdate(now)
    tasks = list(
        SupervisionTask.objects.filter(
            state__in=[TaskState.ASSIGNED, TaskState.IN_PROGRESS]
        ).select_related("registered_by")
    )
    if not tasks:
        return 0
    latest = max(t.deadline for t in tasks)
    cal = WorkingCalendar.load(today, max(today, latest))
    due: list[tuple[SupervisionTask, str]] = [
        (t, r) for t in tasks for r in due_reminder_reasons(t, today, cal)
    ]
    if not due:
        return 0
    sent_today = set(
        Reminder.objects.filter(day=today, task_id__in={t.pk for t, _r in due})
        .exclude(reason=ReminderReason.URGE)
        .values_list("task_id", "reason")
    )
    due = [(t, r) for t, r in due if (t.pk, r) not in sent_today]
    units: dict[int, list[int]] = defaultdict(list)
    for task_id, org_id in (
        TaskUnit.objects.filter(task_id__in={t.pk for t, _r in due})
        .exclude(state=UnitState.RETURNED)
        .values_list("task_id", "organisation_id")
    ):
        units[task_id].append(org_id)
    people = unit_recipients(org for orgs in units.values() for org in orgs)
    sent = 0
    for task, reason in due:
        recipients = [u for org in units[task.pk] for u in people.get(org, [])]
        if reason == ReminderReason.OVERDUE and task.registered_by is not None:
            recipients.append(task.registered_by)
        title = _REMINDER_TITLES[ReminderReason(reason)](task.title)
        if _send_reminder(task, reason, today, recipients, title, acting) is not None:
            sent += 1
    if sent:
        record_audit(
            "supervision.reminders.send", acting=acting, details={"sent": sent, "day": str(today)}
        )
    return sent
