"""Emergency reports (突发事件报告): time limits, filing, acknowledgement and escalation.

State machine of a report::

    phoned --first--> open --follow_up/daily--> open --final--> closed
    (filed by phone)   ^-- a report filed in writing starts open

Each submission (phone, first, follow-up, daily, final) is sent to every level above the
reporting unit (county → city → province) as a `ReportReceipt` — at each level to the
government or, since a general office acts for its government in duty matters, to its general
office (`report_levels`) — acknowledged at each level;
an unacknowledged receipt escalates (`do_escalate_due`, run every minute by `tasks.py`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Case, F, Q, Value, When
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from egov.core.acting import Acting
from egov.core.audit import record_audit
from egov.core.errors import DomainError, InvalidTransition, NotPermitted
from egov.core.notifications import do_notify
from egov.duty import deadlines, selectors
from egov.duty.choices import (
    DutyRole,
    EscalationStep,
    Grade,
    ReportState,
    SubmissionKind,
)
from egov.duty.models import (
    DutyTeam,
    EmergencyReport,
    EscalationEvent,
    ReportingRule,
    ReportReceipt,
    ReportSubmission,
    ShiftAssignment,
)
from egov.duty.services import (
    NOTIFY_ESCALATION,
    NOTIFY_REPORT,
    duty_unit,
    not_in_future,
    require_duty_role_in,
    require_user,
)
from egov.orgs.choices import OrgKind, OrgLevel, Role
from egov.orgs.models import Organisation, User

# (state, submission kind) → new state
TRANSITIONS: dict[tuple[str, str], str] = {
    (ReportState.PHONED, SubmissionKind.FIRST): ReportState.OPEN,
    (ReportState.OPEN, SubmissionKind.FOLLOW_UP): ReportState.OPEN,
    (ReportState.OPEN, SubmissionKind.DAILY): ReportState.OPEN,
    (ReportState.OPEN, SubmissionKind.FINAL): ReportState.CLOSED,
}
UPDATE_CHUNK = 5000
LEVEL_ORDER = {OrgLevel.COUNTY: 2, OrgLevel.CITY: 1, OrgLevel.PROVINCE: 0}


class NotOnDuty(NotPermitted):
    code = "not_on_duty"


# ---------------------------------------------------------------- reporting rules


def rule_for(org: Organisation, category: str, grade: str) -> ReportingRule:
    """The most specific rule: this province's over the defaults, a category's over any (1 query)."""
    province_id = org.ancestor_ids[0] if org.ancestor_ids else org.pk
    candidates = list(
        ReportingRule.objects.filter(
            Q(province_id=province_id) | Q(province__isnull=True),
            Q(category=category) | Q(category=""),
            grade=grade,
        )
    )
    if not candidates:
        raise DomainError(_("No reporting rule covers this grade."), field="grade")
    candidates.sort(key=lambda r: (r.province_id is None, r.category == ""))
    return candidates[0]


RULE_FIELDS = (
    "phone_minutes",
    "written_minutes",
    "follow_up_minutes",
    "daily_after_hours",
    "escalation_minutes",
    "escalation_role",
)


def do_save_rule(
    *, province: Organisation, category: str, grade: str, acting: Acting, **limits: Any
) -> ReportingRule:
    """Create or change a province's own rule (the defaults stay as they are)."""
    user = require_user(acting)
    if (
        province.parent_id is not None
        or not selectors.managed_organisations(user, roles=selectors.ROSTER_ROLES)
        .filter(pk=province.pk)
        .exists()
    ):
        raise NotPermitted(_("Only the province's leader on duty or administrator can edit rules."))
    with transaction.atomic():
        rule, created = ReportingRule.objects.update_or_create(
            province=province,
            category=category,
            grade=grade,
            defaults={k: limits[k] for k in RULE_FIELDS if k in limits},
        )
        rule.full_clean()
        record_audit(
            "duty.rule.saved",
            acting=acting,
            obj=rule,
            details={"created": created, **{k: str(limits.get(k)) for k in RULE_FIELDS}},
        )
    return rule


# ---------------------------------------------------------------- reports


def report_levels(org: Organisation) -> list[Organisation]:
    """The units a report from `org` goes to: one per level, nearest level first.

    A general office (办公厅/办公室, kind `general_office`) acts for its government in duty
    matters, so per level the candidates are the ancestor(s) at that level and their direct
    children of kind general_office. Among them: a unit with an active duty team first, then
    a general office, then the deepest ancestor.

    Levels: every level above the reporter's. A government or a general office speaks for its
    own level, so its report goes only upwards; any other unit (a department, a 处室) also
    reports to its own level — a provincial department's report goes to the province's duty
    room (the provincial general office when it keeps the team). The reporter itself is never
    a recipient. Two queries.
    """
    own_rank = LEVEL_ORDER.get(OrgLevel(org.level), 9)
    if org.kind not in (OrgKind.GOVERNMENT, OrgKind.GENERAL_OFFICE):
        own_rank += 1  # also its own level
    ancestor_ids = set(org.ancestor_ids)
    candidates = [
        c
        for c in Organisation.objects.filter(
            Q(pk__in=ancestor_ids) | Q(parent_id__in=ancestor_ids, kind=OrgKind.GENERAL_OFFICE),
            is_active=True,
        ).exclude(pk=org.pk)
        if LEVEL_ORDER.get(OrgLevel(c.level), 9) < own_rank
    ]
    with_team = set(
        DutyTeam.objects.filter(
            organisation_id__in=[c.pk for c in candidates], is_active=True
        ).values_list("organisation_id", flat=True)
    )

    def preference(c: Organisation) -> tuple[bool, bool, int]:
        return (c.pk in with_team, c.kind == OrgKind.GENERAL_OFFICE, c.depth)

    chosen: dict[str, Organisation] = {}
    for c in candidates:
        current = chosen.get(c.level)
        if current is None or preference(c) > preference(current):
            chosen[c.level] = c
    return sorted(chosen.values(), key=lambda o: -LEVEL_ORDER.get(OrgLevel(o.level), 9))


def _recipients_by_org(
    org_ids: set[int], step: int, at: datetime, role_by_org: dict[int, str]
) -> dict[int, list[User]]:
    """Who is told at each unit for an escalation step (constant queries)."""
    found: dict[int, list[User]] = defaultdict(list)
    if not org_ids:
        return found
    if step in (EscalationStep.OFFICER, EscalationStep.LEADER):
        duty_role = DutyRole.OFFICER if step == EscalationStep.OFFICER else DutyRole.LEADER
        for a in ShiftAssignment.objects.filter(
            shift__team__organisation_id__in=org_ids,
            shift__team__is_active=True,
            role=duty_role,
            starts_at__lte=at,
            ends_at__gt=at,
        ).select_related("user", "shift__team"):
            found[a.shift.team.organisation_id].append(a.user)
        missing = org_ids - set(found)
        if missing:  # nobody on the roster: everyone holding the role there
            role = Role.DUTY_OFFICER if step == EscalationStep.OFFICER else Role.DUTY_LEADER
            for p in selectors.positions_with_role(missing, {str(role)}):
                found[p.organisation_id].append(p.user)
    else:
        roles = set(role_by_org.values())
        for p in selectors.positions_with_role(org_ids, roles).prefetch_related("role_grants"):
            held = {g.role for g in p.role_grants.all()}
            if role_by_org.get(p.organisation_id) in held:
                found[p.organisation_id].append(p.user)
    return found


def _send_to_levels(
    report: EmergencyReport, submission: ReportSubmission, acting: Acting, now: datetime
) -> list[ReportReceipt]:
    levels = report_levels(report.organisation)
    escalate_at = now + timedelta(minutes=report.rule.escalation_minutes)
    receipts = ReportReceipt.objects.bulk_create(
        [
            ReportReceipt(
                submission=submission,
                report=report,
                organisation=level,
                sent_at=now,
                next_escalation_at=escalate_at,
            )
            for level in levels
        ]
    )
    recipients = _recipients_by_org({lv.pk for lv in levels}, EscalationStep.OFFICER, now, {})
    users = [u for lv in levels for u in recipients.get(lv.pk, [])]
    if users:
        do_notify(
            users,
            kind=NOTIFY_REPORT,
            title=_("%(kind)s: %(title)s (%(unit)s)")
            % {
                "kind": submission.get_kind_display(),
                "title": report.title,
                "unit": report.organisation.name,
            },
            url=report.get_absolute_url(),
            acting=acting,
        )
    return receipts


@dataclass(frozen=True)
class FirstReport:
    title: str
    category: str
    grade: str
    source: str
    occurred_at: datetime
    learned_at: datetime
    place: str
    course: str
    losses: str = ""
    deaths: int = 0
    injured: int = 0
    missing: int = 0
    is_sensitive: bool = False
    by_phone: bool = False


def do_file_report(*, data: FirstReport, acting: Acting) -> EmergencyReport:
    """首报 (or 电话报告 with `by_phone`): a duty officer of the unit files a new report."""
    user = require_user(acting)
    org = duty_unit(acting)
    now = timezone.now()
    not_in_future(data.occurred_at, "occurred_at", now)
    not_in_future(data.learned_at, "learned_at", now)
    if data.learned_at < data.occurred_at:
        raise DomainError(_("The time learned cannot be before the event."), field="learned_at")
    if data.grade not in Grade.values:
        raise DomainError(_("Not one of the allowed values."), field="grade")
    rule = rule_for(org, data.category, data.grade)
    limits = deadlines.limits_of(rule)
    first_at = None if data.by_phone else now
    due, due_kind = deadlines.next_due(
        limits, data.occurred_at, first_reported_at=first_at, last_report_at=first_at
    )
    written_due = deadlines.written_due(limits, data.occurred_at)
    with transaction.atomic():
        report = EmergencyReport.objects.create(
            organisation=org,
            title=data.title,
            category=data.category,
            grade=data.grade,
            is_sensitive=data.is_sensitive or data.grade == Grade.SENSITIVE,
            source=data.source,
            occurred_at=data.occurred_at,
            learned_at=data.learned_at,
            place=data.place,
            deaths=data.deaths,
            injured=data.injured,
            missing=data.missing,
            losses=data.losses,
            course=data.course,
            state=ReportState.PHONED if data.by_phone else ReportState.OPEN,
            rule=rule,
            phone_due_at=deadlines.phone_due(limits, data.occurred_at),
            written_due_at=written_due,
            first_reported_at=first_at,
            reported_late=first_at is not None and first_at > written_due,
            last_report_at=now,
            next_due_at=due,
            next_due_kind=due_kind,
            filed_by=user,
        )
        kind = SubmissionKind.PHONE if data.by_phone else SubmissionKind.FIRST
        submission = ReportSubmission.objects.create(
            report=report,
            kind=kind,
            number=0,
            submitted_at=now,
            submitted_by=user,
            text=data.course,
            deaths=data.deaths,
            injured=data.injured,
            missing=data.missing,
            due_at=report.phone_due_at if data.by_phone else written_due,
            late=now > (report.phone_due_at if data.by_phone else written_due),
        )
        record_audit(
            "duty.report.filed",
            acting=acting,
            obj=report,
            details={"kind": kind, "grade": data.grade, "category": data.category},
        )
        _send_to_levels(report, submission, acting, now)
    return report


def do_submit(
    *,
    report: EmergencyReport,
    kind: str,
    text: str,
    acting: Acting,
    deaths: int | None = None,
    injured: int | None = None,
    missing: int | None = None,
) -> ReportSubmission:
    """The written first report after a phone report, a follow-up (续报) or the final report (终报)."""
    user = require_user(acting)
    require_duty_role_in(user, report.organisation, selectors.DUTY_ROLES)
    now = timezone.now()
    with transaction.atomic():
        report = (
            EmergencyReport.objects.select_for_update()
            .select_related("rule", "organisation")
            .get(pk=report.pk)
        )
        limits = deadlines.limits_of(report.rule)
        if kind == SubmissionKind.FOLLOW_UP and deadlines.is_daily_phase(
            limits, report.occurred_at, now
        ):
            kind = SubmissionKind.DAILY
        new_state = TRANSITIONS.get((report.state, kind))
        if new_state is None:
            if report.state == ReportState.CLOSED:
                message = _("The final report has been filed: this report is closed.")
            elif report.state == ReportState.PHONED:
                message = _("File the written first report first.")
            else:
                message = _("The written first report has already been filed.")
            raise InvalidTransition(message)
        number = 0
        if kind in (SubmissionKind.FOLLOW_UP, SubmissionKind.DAILY):
            number = report.follow_up_count + 1
            report.follow_up_count = number
        due = report.next_due_at
        submission = ReportSubmission.objects.create(
            report=report,
            kind=kind,
            number=number,
            submitted_at=now,
            submitted_by=user,
            text=text,
            deaths=report.deaths if deaths is None else deaths,
            injured=report.injured if injured is None else injured,
            missing=report.missing if missing is None else missing,
            due_at=due,
            late=due is not None and now > due,
        )
        report.deaths, report.injured, report.missing = (
            submission.deaths,
            submission.injured,
            submission.missing,
        )
        if kind == SubmissionKind.FIRST:
            report.first_reported_at = now
            report.reported_late = now > report.written_due_at
        report.state = new_state
        report.last_report_at = now
        if new_state == ReportState.CLOSED:
            report.closed_at = now
        report.next_due_at, report.next_due_kind = deadlines.next_due(
            limits,
            report.occurred_at,
            first_reported_at=report.first_reported_at,
            last_report_at=now,
            closed=new_state == ReportState.CLOSED,
        )
        report.save()
        record_audit(
            "duty.report.submitted",
            acting=acting,
            obj=report,
            details={"kind": kind, "number": number, "late": submission.late},
        )
        _send_to_levels(report, submission, acting, now)
    return submission


def do_acknowledge_report(*, report: EmergencyReport, acting: Acting) -> list[ReportReceipt]:
    """签收: acknowledge every waiting receipt of the report at the levels where one is on duty.

    Only the person on duty at a level (or, once escalated to it, the holder of the named
    role there) may acknowledge. Acknowledging clears `next_escalation_at`: escalation stops.
    """
    user = require_user(acting)
    now = timezone.now()
    with transaction.atomic():
        waiting = list(
            selectors.receipts_waiting_for(user, now)
            .filter(report=report)
            .select_for_update(of=("self",))
        )
        if not waiting:
            mine = ReportReceipt.objects.filter(
                report=report, organisation_id__in=selectors.on_duty_organisation_ids(user, now)
            )
            if mine.exists():
                raise InvalidTransition(_("Already acknowledged at your level."))
            raise NotOnDuty(_("Only the person on duty at a receiving level can acknowledge."))
        ids = [r.pk for r in waiting]
        ReportReceipt.objects.filter(pk__in=ids).update(
            acknowledged_at=now, acknowledged_by=user, next_escalation_at=None, updated_at=now
        )
        record_audit(
            "duty.report.acknowledged",
            acting=acting,
            obj=report,
            details={"receipts": ids, "levels": sorted({r.organisation_id for r in waiting})},
        )
    for r in waiting:
        r.acknowledged_at, r.acknowledged_by, r.next_escalation_at = now, user, None
    return waiting


def do_escalate_due(*, acting: Acting, now: datetime | None = None) -> int:
    """Escalate every unacknowledged receipt whose time has come; return how many escalated.

    Set-based: one query finds the due receipts (indexed on `next_escalation_at`), one bulk
    update moves them a step, one bulk insert records the events; notifications go out per
    level and step (a handful of queries), not per report.
    """
    now = now or timezone.now()
    with transaction.atomic():
        qs = ReportReceipt.objects.filter(acknowledged_at__isnull=True, next_escalation_at__lte=now)
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True, of=("self",))
        rows = list(
            qs.values_list(
                "pk",
                "step",
                "escalations",
                "next_escalation_at",
                "organisation_id",
                "report__rule__escalation_minutes",
                "report__rule__escalation_role",
                "report__title",
                "report__uuid",
            )
        )
        if not rows:
            return 0
        events: list[EscalationEvent] = []
        groups: dict[tuple[int, int], list[tuple[str, Any]]] = defaultdict(list)
        role_by_org: dict[int, str] = {}
        ids_by_interval: dict[int, list[int]] = defaultdict(list)
        step_of: dict[int, int] = {}
        for pk, step, _count, _due, org_id, minutes, role, title, uuid in rows:
            new_step = min(step + 1, EscalationStep.NAMED_ROLE)
            step_of[pk] = new_step
            ids_by_interval[minutes].append(pk)
            events.append(EscalationEvent(receipt_id=pk, step=new_step, at=now))
            groups[(org_id, new_step)].append((title, uuid))
            role_by_org[org_id] = role
        # One UPDATE per rule interval (and chunk of ids): the next escalation is one interval
        # after the one just due, or one interval from now if the job ran late.
        for minutes, ids in ids_by_interval.items():
            interval = timedelta(minutes=minutes)
            for chunk in range(0, len(ids), UPDATE_CHUNK):
                ReportReceipt.objects.filter(pk__in=ids[chunk : chunk + UPDATE_CHUNK]).update(
                    step=Case(
                        When(
                            step__gte=EscalationStep.NAMED_ROLE,
                            then=Value(EscalationStep.NAMED_ROLE),
                        ),
                        default=F("step") + 1,
                    ),
                    escalations=F("escalations") + 1,
                    next_escalation_at=Case(
                        When(
                            next_escalation_at__gt=now - interval,
                            then=F("next_escalation_at") + interval,
                        ),
                        default=Value(now + interval),
                    ),
                    updated_at=now,
                )
        by_step: dict[int, set[int]] = defaultdict(set)
        for org_id, step in groups:
            by_step[step].add(org_id)
        told: dict[tuple[int, int], int] = {}
        for step, org_ids in by_step.items():
            recipients = _recipients_by_org(org_ids, step, now, role_by_org)
            for org_id in org_ids:
                users = recipients.get(org_id, [])
                items = groups[(org_id, step)]
                told[(org_id, step)] = len(users)
                if not users:
                    continue
                if len(items) == 1:
                    title = _("Not yet acknowledged: %(title)s") % {"title": items[0][0]}
                    url = reverse("duty:report_detail", args=[items[0][1]])
                else:
                    title = _("%(count)d reports wait for acknowledgement") % {"count": len(items)}
                    url = reverse("duty:console")
                do_notify(users, kind=NOTIFY_ESCALATION, title=title, url=url, acting=acting)
        org_of = {pk: org_id for pk, _s, _c, _d, org_id, *_rest in rows}
        for event in events:
            event.notified = told.get((org_of[event.receipt_id], step_of[event.receipt_id]), 0)
        EscalationEvent.objects.bulk_create(events, batch_size=1000)
        record_audit(
            "duty.report.escalated",
            acting=acting,
            details={"count": len(rows), "receipts": [r[0] for r in rows[:200]]},
        )
    return len(rows)


def overdue_state(report: EmergencyReport, now: datetime | None = None) -> bool:
    """Red flag: a report is owed (first, follow-up or daily) and its minute has passed."""
    now = now or timezone.now()
    return (
        report.state != ReportState.CLOSED
        and report.next_due_at is not None
        and report.next_due_at < now
    )
