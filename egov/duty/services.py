"""Writes of the duty app's day-to-day work: rosters, swaps, handover, calls, zero-reports.

Emergency reports, their time limits and escalation are in `egov.duty.reporting`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from egov.core.acting import Acting
from egov.core.audit import record_audit
from egov.core.errors import Conflict, DomainError, InvalidTransition, NotPermitted
from egov.core.notifications import do_notify
from egov.duty import selectors
from egov.duty.choices import (
    DutyRole,
    HandoverState,
    SwapKind,
    SwapState,
)
from egov.duty.models import (
    CallRecord,
    DutyTeam,
    Handover,
    Shift,
    ShiftAssignment,
    ShiftPattern,
    SwapRequest,
    ZeroReport,
    ZeroReportObligation,
)
from egov.duty.rosters import expand_pattern, spec_of
from egov.orgs.models import Organisation, User

NOTIFY_REPORT = "duty.report"
NOTIFY_ESCALATION = "duty.escalation"
NOTIFY_HANDOVER = "duty.handover"
NOTIFY_SWAP = "duty.swap"


# ---------------------------------------------------------------- helpers


def require_user(acting: Acting) -> User:
    if acting.user is None:
        raise NotPermitted(_("Only a person can do this."))
    return acting.user


def duty_unit(acting: Acting, roles: frozenset[str] = selectors.DUTY_ROLES) -> Organisation:
    """The unit the person acts for, if they hold a duty role there."""
    user = require_user(acting)
    org = acting.organisation
    if org is None or not selectors.own_duty_organisations(user, roles).filter(pk=org.pk).exists():
        raise NotPermitted(_("Only a duty officer or leader on duty of this unit can do this."))
    return org


def require_duty_role_in(user: User, org: Organisation, roles: frozenset[str]) -> None:
    if not selectors.own_duty_organisations(user, roles).filter(pk=org.pk).exists():
        raise NotPermitted(_("Only a duty officer or leader on duty of this unit can do this."))


def not_in_future(value: datetime, field: str, now: datetime) -> None:
    if value > now + timedelta(minutes=1):
        raise DomainError(_("This time is in the future."), field=field)


# ---------------------------------------------------------------- rosters


def _require_roster_manager_of(user: User, organisation_id: int) -> None:
    """The roster rule: a 带班领导 or 系统管理员 of the unit, or of a unit above it."""
    if (
        not selectors.managed_organisations(user, roles=selectors.ROSTER_ROLES)
        .filter(pk=organisation_id)
        .exists()
    ):
        raise NotPermitted(_("Only a leader on duty or administrator can manage rosters."))


def _require_roster_manager(user: User, team: DutyTeam) -> None:
    _require_roster_manager_of(user, team.organisation_id)


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise DomainError(_("This field is required."), field="name")
    if len(name) > 100:
        raise DomainError(_("At most 100 characters."), field="name")
    return name


def _as_domain_error(exc: ValidationError) -> DomainError:
    if hasattr(exc, "error_dict"):
        for field, errs in exc.error_dict.items():
            message = errs[0].messages[0] if errs and errs[0].messages else str(exc)
            return DomainError(message, field=None if field == "__all__" else field)
    return DomainError(exc.messages[0] if exc.messages else str(exc))


def do_create_team(*, organisation: Organisation, name: str, acting: Acting) -> DutyTeam:
    user = require_user(acting)
    _require_roster_manager_of(user, organisation.pk)
    name = _clean_name(name)
    if not organisation.is_active:
        raise DomainError(_("The organisation is inactive."), field="organisation")
    with transaction.atomic():
        if DutyTeam.objects.filter(organisation=organisation, name=name).exists():
            raise Conflict(_("This unit already has a team of that name."), field="name")
        team = DutyTeam.objects.create(organisation=organisation, name=name)
        record_audit("duty.team.created", acting=acting, obj=team, details={"name": name})
    return team


def do_update_team(
    *, team: DutyTeam, acting: Acting, name: str | None = None, is_active: bool | None = None
) -> DutyTeam:
    """Rename a team or (de)activate it; an inactive team is not on duty and not reported to."""
    _require_roster_manager(require_user(acting), team)
    changes: dict[str, Any] = {}
    with transaction.atomic():
        team = DutyTeam.objects.select_for_update().get(pk=team.pk)
        if name is not None:
            name = _clean_name(name)
            if name != team.name:
                if (
                    DutyTeam.objects.filter(organisation_id=team.organisation_id, name=name)
                    .exclude(pk=team.pk)
                    .exists()
                ):
                    raise Conflict(_("This unit already has a team of that name."), field="name")
                changes["name"] = [team.name, name]
                team.name = name
        if is_active is not None and is_active != team.is_active:
            changes["is_active"] = [team.is_active, is_active]
            team.is_active = is_active
        if changes:
            team.save()
            record_audit("duty.team.updated", acting=acting, obj=team, details=changes)
    return team


PATTERN_FIELDS = (
    "name",
    "frequency",
    "interval",
    "weekdays",
    "day_kind",
    "start_time",
    "duration_minutes",
    "valid_from",
    "valid_until",
)


EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2200, 12, 31)


def _check_day(value: date | None, field: str) -> None:
    if value is not None and not (EARLIEST_DAY <= value <= LATEST_DAY):
        raise DomainError(_("Not a plausible date."), field=field)


def _check_pattern(pattern: ShiftPattern) -> None:
    _check_day(pattern.valid_from, "valid_from")
    _check_day(pattern.valid_until, "valid_until")
    if pattern.start_time is not None and getattr(pattern.start_time, "tzinfo", None) is not None:
        raise DomainError(_("Give a local time of day without a time zone."), field="start_time")
    if not isinstance(pattern.interval, int) or not 1 <= pattern.interval <= 365:
        raise DomainError(_("Give a whole number from 1 to 365."), field="interval")
    duration = pattern.duration_minutes
    if not isinstance(duration, int) or not 1 <= duration <= 7 * 24 * 60:
        raise DomainError(
            _("Give a length from 1 minute to 7 days (10080 minutes)."), field="duration_minutes"
        )
    if pattern.valid_until is not None and pattern.valid_until < pattern.valid_from:
        raise DomainError(_("The end of validity is before its start."), field="valid_until")
    raw = [d.strip() for d in (pattern.weekdays or "").split(",") if d.strip()]
    if any(not d.isdigit() or int(d) > 6 for d in raw):
        raise DomainError(
            _("Weekdays are numbers from 0 (Monday) to 6 (Sunday)."), field="weekdays"
        )
    pattern.weekdays = ",".join(str(d) for d in sorted({int(d) for d in raw}))
    try:
        pattern.full_clean(exclude=["team"])
    except ValidationError as exc:
        raise _as_domain_error(exc) from exc


def do_create_pattern(*, team: DutyTeam, acting: Acting, **fields: Any) -> ShiftPattern:
    _require_roster_manager(require_user(acting), team)
    unknown = set(fields) - set(PATTERN_FIELDS)
    if unknown:
        raise DomainError(_("Unknown field."), field=sorted(unknown)[0])
    with transaction.atomic():
        pattern = ShiftPattern(team=team, **fields)
        _check_pattern(pattern)
        pattern.save()
        record_audit(
            "duty.pattern.created", acting=acting, obj=pattern, details={"name": pattern.name}
        )
    return pattern


def do_update_pattern(*, pattern: ShiftPattern, acting: Acting, **fields: Any) -> ShiftPattern:
    """Change a pattern; shifts generated before keep their times (generate again to add)."""
    _require_roster_manager(require_user(acting), pattern.team)
    unknown = set(fields) - set(PATTERN_FIELDS)
    if unknown:
        raise DomainError(_("Unknown field."), field=sorted(unknown)[0])
    with transaction.atomic():
        pattern = ShiftPattern.objects.select_for_update().select_related("team").get(pk=pattern.pk)
        changed = sorted(k for k, v in fields.items() if getattr(pattern, k) != v)
        for key, value in fields.items():
            setattr(pattern, key, value)
        _check_pattern(pattern)
        if changed:
            pattern.save()
            record_audit(
                "duty.pattern.updated", acting=acting, obj=pattern, details={"fields": changed}
            )
    return pattern


def _generate(patterns: list[ShiftPattern], team: DutyTeam, start: date, end: date) -> list[Shift]:
    _check_day(start, "start")
    _check_day(end, "end")
    if end < start:
        raise DomainError(_("The end is before the start."), field="end")
    try:
        planned: dict[datetime, tuple[ShiftPattern, datetime]] = {}
        for pattern in patterns:
            for s, e in expand_pattern(spec_of(pattern), start, end):
                planned.setdefault(s, (pattern, e))
    except ValueError as exc:
        raise DomainError(_("Generate at most 400 days at a time."), field="end") from exc
    existing = set(
        Shift.objects.filter(team=team, starts_at__in=list(planned)).values_list(
            "starts_at", flat=True
        )
    )
    new = [
        Shift(team=team, pattern=p, starts_at=s, ends_at=e)
        for s, (p, e) in sorted(planned.items())
        if s not in existing
    ]
    Shift.objects.bulk_create(new)
    return new


def do_generate_shifts(
    *, pattern: ShiftPattern, start: date, end: date, acting: Acting
) -> list[Shift]:
    """Create the pattern's shifts from `start` to `end` (existing ones are kept)."""
    _require_roster_manager(require_user(acting), pattern.team)
    with transaction.atomic():
        DutyTeam.objects.select_for_update().filter(pk=pattern.team_id).first()
        new = _generate([pattern], pattern.team, start, end)
        record_audit(
            "duty.shifts.generated",
            acting=acting,
            obj=pattern,
            details={"start": start.isoformat(), "end": end.isoformat(), "created": len(new)},
        )
    return new


def do_generate_team_shifts(
    *, team: DutyTeam, start: date, end: date, acting: Acting
) -> list[Shift]:
    """Create the shifts of all the team's patterns from `start` to `end`, days inclusive.

    Idempotent: a shift that already starts at the same time in the team is kept, so running
    it twice (or with overlapping periods) creates no duplicates.
    """
    _require_roster_manager(require_user(acting), team)
    if not team.is_active:
        raise DomainError(_("The team is inactive."), field="team")
    with transaction.atomic():
        DutyTeam.objects.select_for_update().filter(pk=team.pk).first()  # one generation at a time
        patterns = list(ShiftPattern.objects.filter(team=team))
        if not patterns:
            raise DomainError(_("Define a shift pattern first."), field="start")
        new = _generate(patterns, team, start, end)
        if new:  # generating again changes nothing, so it records nothing
            record_audit(
                "duty.shifts.generated",
                acting=acting,
                obj=team,
                details={"start": start.isoformat(), "end": end.isoformat(), "created": len(new)},
            )
    return new


def _check_no_overlap(
    user: User, starts_at: datetime, ends_at: datetime, exclude: Iterable[int] = ()
) -> None:
    overlapping = ShiftAssignment.objects.filter(
        user=user, starts_at__lt=ends_at, ends_at__gt=starts_at
    ).exclude(pk__in=list(exclude))
    if overlapping.exists():
        raise Conflict(
            _("%(name)s is already on a shift at that time.") % {"name": user.display_name},
            field="user",
        )


def do_assign(*, shift: Shift, user: User, role: str, acting: Acting) -> ShiftAssignment:
    _require_roster_manager(require_user(acting), shift.team)
    if role not in DutyRole.values:
        raise DomainError(_("Not one of the allowed values."), field="role")
    if not selectors.eligible_people(shift.team.organisation_id, role).filter(pk=user.pk).exists():
        raise DomainError(
            _("Only a duty officer of the team's unit can be a duty officer on its shifts.")
            if role == DutyRole.OFFICER
            else _("Only a leader on duty of the team's unit can lead its shifts."),
            field="user",
        )
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()  # serialise per person
        if ShiftAssignment.objects.filter(shift=shift, user=user).exists():
            raise Conflict(
                _("%(name)s is already on this shift.") % {"name": user.display_name},
                field="user",
            )
        _check_no_overlap(user, shift.starts_at, shift.ends_at)
        assignment = ShiftAssignment.objects.create(
            shift=shift, user=user, role=role, starts_at=shift.starts_at, ends_at=shift.ends_at
        )
        record_audit(
            "duty.shift.assigned",
            acting=acting,
            obj=shift,
            details={"user": user.username, "role": role},
        )
    return assignment


def do_unassign(*, assignment: ShiftAssignment, acting: Acting) -> None:
    _require_roster_manager(require_user(acting), assignment.shift.team)
    with transaction.atomic():
        record_audit(
            "duty.shift.unassigned",
            acting=acting,
            obj=assignment.shift,
            details={"user": assignment.user.username, "role": assignment.role},
        )
        assignment.delete()


def do_request_swap(
    *,
    assignment: ShiftAssignment,
    kind: str,
    acting: Acting,
    counterpart: ShiftAssignment | None = None,
    taker: User | None = None,
    reason: str = "",
) -> SwapRequest:
    """The person on a shift asks to swap it with someone's shift, or to have it taken over."""
    user = require_user(acting)
    if assignment.user_id != user.pk:
        raise NotPermitted(_("Only the person on the shift can ask to swap it."))
    if assignment.ends_at <= timezone.now():
        raise DomainError(_("This shift is over."), field="assignment")
    org_id = assignment.shift.team.organisation_id
    if kind == SwapKind.SWAP:
        if counterpart is None:
            raise DomainError(_("Choose the shift to take in exchange."), field="counterpart")
        if counterpart.shift.team.organisation_id != org_id or counterpart.user_id == user.pk:
            raise DomainError(
                _("Choose a colleague's shift in the same unit."), field="counterpart"
            )
        taker = None
    elif kind == SwapKind.TAKEOVER:
        if taker is None or taker.pk == user.pk:
            raise DomainError(_("Choose who takes the shift over."), field="taker")
        if not taker.positions.filter(is_active=True, organisation_id=org_id).exists():
            raise DomainError(_("This person holds no position in the team's unit."), field="taker")
        counterpart = None
    else:
        raise DomainError(_("Not one of the allowed values."), field="kind")
    with transaction.atomic():
        if SwapRequest.objects.filter(assignment=assignment, state=SwapState.PENDING).exists():
            raise Conflict(_("A request for this shift is already waiting."), field="assignment")
        swap = SwapRequest.objects.create(
            kind=kind,
            assignment=assignment,
            counterpart=counterpart,
            taker=taker,
            requested_by=user,
            organisation_id=org_id,
            reason=reason,
        )
        record_audit("duty.swap.requested", acting=acting, obj=swap, details={"kind": kind})
    return swap


def do_decide_swap(*, swap: SwapRequest, approve: bool, acting: Acting) -> SwapRequest:
    """A leader on duty (or administrator) approves or rejects; approval moves the people."""
    user = require_user(acting)
    if (
        not selectors.managed_organisations(user, roles=selectors.ROSTER_ROLES)
        .filter(pk=swap.organisation_id)
        .exists()
    ):
        raise NotPermitted(_("Only a leader on duty or administrator can approve swaps."))
    if swap.requested_by_id == user.pk:
        raise NotPermitted(_("You cannot approve your own request."))
    with transaction.atomic():
        swap = SwapRequest.objects.select_for_update().get(pk=swap.pk)
        if swap.state != SwapState.PENDING:
            raise InvalidTransition(_("This request has already been decided."))
        if approve:
            a = ShiftAssignment.objects.select_for_update().get(pk=swap.assignment_id)
            if swap.kind == SwapKind.SWAP:
                c = ShiftAssignment.objects.select_for_update().get(pk=swap.counterpart_id or 0)
                giver, other = a.user, c.user
                _check_no_overlap(other, a.starts_at, a.ends_at, exclude=[a.pk, c.pk])
                _check_no_overlap(giver, c.starts_at, c.ends_at, exclude=[a.pk, c.pk])
                # The overlap checks above rule out either person already being on the
                # other's shift, so the unique (shift, user) pairs hold at every step.
                a.user, c.user = other, giver
                a.save(update_fields=["user", "updated_at"])
                c.save(update_fields=["user", "updated_at"])
            else:
                if swap.taker is None:
                    raise InvalidTransition(_("This take-over names nobody."))
                _check_no_overlap(swap.taker, a.starts_at, a.ends_at, exclude=[a.pk])
                a.user = swap.taker
                try:
                    with transaction.atomic():
                        a.save(update_fields=["user", "updated_at"])
                except IntegrityError as exc:
                    raise Conflict(
                        _("%(name)s is already on a shift at that time.")
                        % {"name": swap.taker.display_name},
                        field="taker",
                    ) from exc
        swap.state = SwapState.APPROVED if approve else SwapState.REJECTED
        swap.decided_by = user
        swap.decided_at = timezone.now()
        swap.save()
        record_audit("duty.swap.decided", acting=acting, obj=swap, details={"approved": approve})
        do_notify(
            [swap.requested_by],
            kind=NOTIFY_SWAP,
            title=_("Your swap request was approved")
            if approve
            else _("Your swap request was rejected"),
            url=reverse("duty:roster"),
            acting=acting,
        )
    return swap


# ---------------------------------------------------------------- handover


def do_create_handover(*, incoming: User, notes: str, open_items: str, acting: Acting) -> Handover:
    user = require_user(acting)
    org = duty_unit(acting)
    if incoming.pk == user.pk:
        raise DomainError(_("Hand over to someone else."), field="incoming")
    if not incoming.positions.filter(is_active=True, organisation=org).exists():
        raise DomainError(_("This person holds no position in your unit."), field="incoming")
    now = timezone.now()
    from_shift = (
        Shift.objects.filter(
            team__organisation=org, assignments__user=user, starts_at__lte=now, ends_at__gt=now
        )
        .order_by("starts_at")
        .first()
    )
    to_shift = (
        Shift.objects.filter(team__organisation=org, assignments__user=incoming, ends_at__gt=now)
        .order_by("starts_at")
        .first()
    )
    with transaction.atomic():
        handover = Handover.objects.create(
            organisation=org,
            outgoing=user,
            incoming=incoming,
            from_shift=from_shift,
            to_shift=to_shift,
            notes=notes,
            open_items=open_items,
        )
        record_audit(
            "duty.handover.created",
            acting=acting,
            obj=handover,
            details={"incoming": incoming.username, "open_items": len(handover.item_lines())},
        )
        do_notify(
            [incoming],
            kind=NOTIFY_HANDOVER,
            title=_("Handover from %(name)s waits for you") % {"name": user.display_name},
            url=handover.get_absolute_url(),
            acting=acting,
        )
    return handover


def do_acknowledge_handover(*, handover: Handover, acting: Acting) -> Handover:
    """Only the incoming officer closes a handover, by acknowledging it (接班确认)."""
    user = require_user(acting)
    if handover.incoming_id != user.pk:
        raise NotPermitted(_("Only the incoming officer can acknowledge this handover."))
    with transaction.atomic():
        handover = Handover.objects.select_for_update().get(pk=handover.pk)
        if handover.state != HandoverState.OPEN:
            raise InvalidTransition(_("This handover has already been acknowledged."))
        handover.state = HandoverState.ACKNOWLEDGED
        handover.acknowledged_at = timezone.now()
        handover.save(update_fields=["state", "acknowledged_at", "updated_at"])
        record_audit("duty.handover.acknowledged", acting=acting, obj=handover)
    return handover


# ---------------------------------------------------------------- call register


CALL_FIELDS = (
    "received_at",
    "caller_unit",
    "caller_name",
    "caller_title",
    "caller_phone",
    "place",
    "what_happened",
    "cause",
    "measures",
    "impact_and_trend",
    "already_told",
)


def do_record_call(*, acting: Acting, **fields: Any) -> CallRecord:
    user = require_user(acting)
    org = duty_unit(acting)
    not_in_future(fields["received_at"], "received_at", timezone.now())
    with transaction.atomic():
        call = CallRecord.objects.create(
            organisation=org, recorded_by=user, **{k: fields[k] for k in CALL_FIELDS if k in fields}
        )
        record_audit(
            "duty.call.recorded", acting=acting, obj=call, details={"caller_unit": call.caller_unit}
        )
    return call


# ---------------------------------------------------------------- zero-reports


def do_set_zero_report_obligation(
    *, organisation: Organisation, active: bool, acting: Acting
) -> ZeroReportObligation:
    user = require_user(acting)
    if (
        not selectors.managed_organisations(user, roles=selectors.ROSTER_ROLES)
        .filter(pk=organisation.pk)
        .exists()
    ):
        raise NotPermitted(_("Only a leader on duty or administrator can set this."))
    with transaction.atomic():
        obligation, _created = ZeroReportObligation.objects.update_or_create(
            organisation=organisation, defaults={"is_active": active}
        )
        record_audit(
            "duty.zero_report.obligation_set",
            acting=acting,
            obj=organisation,
            details={"active": active},
        )
    return obligation


def do_file_zero_report(*, acting: Acting, note: str = "", day: date | None = None) -> ZeroReport:
    user = require_user(acting)
    org = duty_unit(acting)
    day = day or timezone.localdate()
    with transaction.atomic():
        if ZeroReport.objects.filter(organisation=org, day=day).exists():
            raise Conflict(_("Today's zero-report has already been filed."), field="day")
        zero = ZeroReport.objects.create(organisation=org, day=day, filed_by=user, note=note)
        record_audit("duty.zero_report.filed", acting=acting, obj=zero, details={"day": str(day)})
    return zero
