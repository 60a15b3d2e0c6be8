"""Protected reads of the duty app. Outside the person's scope: 404 (existence does not leak).

Scope: a duty officer, leader on duty or administrator of a unit sees that unit's reports and
those of every unit below it (a county its own, a city its counties', the province all). A
general office (办公厅/办公室) acts for its government in duty matters: its duty roles reach the
government's whole subtree. The holder of a rule's named role sees the reports escalated to them.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import reduce
from operator import or_
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from egov.core.selectors import parse_public_id
from egov.duty.choices import DutyRole, EscalationStep, HandoverState, SwapState
from egov.duty.models import (
    CallRecord,
    DutyTeam,
    EmergencyReport,
    Handover,
    ReportingRule,
    ReportReceipt,
    Shift,
    ShiftAssignment,
    ShiftPattern,
    SwapRequest,
    ZeroReport,
    ZeroReportObligation,
)
from egov.orgs.choices import OrgKind, Role
from egov.orgs.models import Organisation, Position, PositionRole, User
from egov.orgs.selectors import managed_organisations

DUTY_ROLES = frozenset({str(Role.DUTY_OFFICER), str(Role.DUTY_LEADER)})
# Who sees a unit's duty records and the reports of the units below it.
DUTY_SCOPE_ROLES = DUTY_ROLES | {str(Role.SYSTEM_ADMIN)}
# Who manages rosters and approves swaps.
ROSTER_ROLES = frozenset({str(Role.DUTY_LEADER), str(Role.SYSTEM_ADMIN)})


def _office_government_paths(user: User) -> list[str]:
    """Paths of the governments whose general office the user serves in a duty role (1 query).

    Cached on the user object for the request, like the organisation scope itself.
    """
    cache_key = "_duty_office_government_paths"
    paths: list[str] | None = getattr(user, cache_key, None)
    if paths is None:
        paths = sorted(
            set(
                Position.objects.filter(
                    user=user,
                    is_active=True,
                    organisation__is_active=True,
                    organisation__kind=OrgKind.GENERAL_OFFICE,
                    organisation__parent__isnull=False,
                    organisation__parent__is_active=True,
                    role_grants__role__in=DUTY_SCOPE_ROLES,
                ).values_list("organisation__parent__path", flat=True)
            )
        )
        setattr(user, cache_key, paths)
    return paths


def duty_organisations(user: User) -> QuerySet[Organisation]:
    """Units whose duty records the user sees: their duty units and everything below.

    A general office acts for its government in duty matters: a duty role in a unit of kind
    general_office reaches the whole subtree of its parent government (as the government's
    would), not the general office's own subtree only. Sibling units (departments) see only
    their own subtree.
    """
    qs = managed_organisations(user, roles=DUTY_SCOPE_ROLES)
    if not user.is_authenticated or not user.is_active:
        return qs
    paths = _office_government_paths(user)
    if not paths:
        return qs
    wider = reduce(or_, (Q(path__startswith=p) for p in paths))
    return qs | Organisation.objects.filter(wider)


def own_duty_organisations(
    user: User, roles: frozenset[str] = DUTY_ROLES
) -> QuerySet[Organisation]:
    """Units where the user holds one of `roles` themselves (not the units below)."""
    if not user.is_authenticated:
        return Organisation.objects.none()
    return Organisation.objects.filter(
        positions__user=user,
        positions__is_active=True,
        positions__role_grants__role__in=roles,
    ).distinct()


def on_duty_organisation_ids(user: User, at: datetime | None = None) -> set[int]:
    """Units where the user is on a shift at `at` (one query)."""
    at = at or timezone.now()
    return set(
        ShiftAssignment.objects.filter(
            user=user, starts_at__lte=at, ends_at__gt=at, shift__team__is_active=True
        ).values_list("shift__team__organisation_id", flat=True)
    )


def visible_reports(user: User) -> QuerySet[EmergencyReport]:
    if not user.is_authenticated or not user.is_active:
        return EmergencyReport.objects.none()
    escalated_to_me = ReportReceipt.objects.filter(
        report=OuterRef("pk"),
        step=EscalationStep.NAMED_ROLE,
        organisation__positions__user=user,
        organisation__positions__is_active=True,
        organisation__positions__role_grants__role=OuterRef("rule__escalation_role"),
    )
    return EmergencyReport.objects.filter(
        Q(organisation__in=duty_organisations(user)) | Q(Exists(escalated_to_me))
    )


def list_reports_for(
    user: User, *, state: str | None = None, overdue: bool = False, q: str = ""
) -> QuerySet[EmergencyReport]:
    qs = visible_reports(user).select_related("organisation")
    if state:
        qs = qs.filter(state=state)
    if overdue:
        qs = qs.filter(next_due_at__lt=timezone.now())
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(place__icontains=q))
    return qs.order_by("-occurred_at", "-id")


def access_report_by_id(user: User, report_id: Any) -> EmergencyReport:
    report_uuid = parse_public_id(report_id)
    report = (
        visible_reports(user)
        .select_related("organisation", "rule", "filed_by")
        .filter(uuid=report_uuid)
        .first()
    )
    if report is None:
        raise Http404
    return report


def visible_calls(user: User) -> QuerySet[CallRecord]:
    return CallRecord.objects.filter(organisation__in=duty_organisations(user))


def access_call_by_id(user: User, call_id: Any) -> CallRecord:
    call = (
        visible_calls(user)
        .select_related("organisation", "recorded_by")
        .filter(uuid=parse_public_id(call_id))
        .first()
    )
    if call is None:
        raise Http404
    return call


def visible_handovers(user: User) -> QuerySet[Handover]:
    if not user.is_authenticated:
        return Handover.objects.none()
    return Handover.objects.filter(
        Q(organisation__in=duty_organisations(user)) | Q(incoming=user) | Q(outgoing=user)
    )


def access_handover_by_id(user: User, handover_id: Any) -> Handover:
    handover = (
        visible_handovers(user)
        .select_related("organisation", "incoming", "outgoing")
        .filter(uuid=parse_public_id(handover_id))
        .first()
    )
    if handover is None:
        raise Http404
    return handover


def pending_handovers_for(user: User) -> QuerySet[Handover]:
    return Handover.objects.filter(incoming=user, state=HandoverState.OPEN)


def visible_teams(user: User) -> QuerySet[DutyTeam]:
    return DutyTeam.objects.filter(organisation__in=duty_organisations(user))


def access_team_by_id(user: User, team_id: Any) -> DutyTeam:
    team = (
        visible_teams(user)
        .select_related("organisation")
        .filter(uuid=parse_public_id(team_id))
        .first()
    )
    if team is None:
        raise Http404
    return team


def visible_shifts(user: User) -> QuerySet[Shift]:
    return Shift.objects.filter(team__organisation__in=duty_organisations(user))


def access_shift_by_id(user: User, shift_id: Any) -> Shift:
    shift = (
        visible_shifts(user)
        .select_related("team", "team__organisation")
        .filter(uuid=parse_public_id(shift_id))
        .first()
    )
    if shift is None:
        raise Http404
    return shift


def shifts_with_staff(qs: QuerySet[Shift]) -> QuerySet[Shift]:
    """Shifts with their people and counts per role (for the empty-shift warning)."""
    return (
        qs.select_related("team")
        .prefetch_related("assignments__user")
        .annotate(
            officer_count=Count("assignments", filter=Q(assignments__role=DutyRole.OFFICER)),
            leader_count=Count("assignments", filter=Q(assignments__role=DutyRole.LEADER)),
        )
    )


def empty_shifts(qs: QuerySet[Shift]) -> QuerySet[Shift]:
    """Shifts lacking a duty officer or a leader on duty."""
    return shifts_with_staff(qs).filter(Q(officer_count=0) | Q(leader_count=0))


def access_assignment_by_id(user: User, assignment_id: Any) -> ShiftAssignment:
    assignment = (
        ShiftAssignment.objects.filter(
            Q(user=user) | Q(shift__team__organisation__in=duty_organisations(user))
        )
        .select_related("shift", "shift__team", "user")
        .filter(uuid=parse_public_id(assignment_id))
        .first()
    )
    if assignment is None:
        raise Http404
    return assignment


def visible_swaps(user: User) -> QuerySet[SwapRequest]:
    if not user.is_authenticated:
        return SwapRequest.objects.none()
    return SwapRequest.objects.filter(
        Q(organisation__in=duty_organisations(user)) | Q(requested_by=user) | Q(taker=user)
    )


def access_swap_by_id(user: User, swap_id: Any) -> SwapRequest:
    swap = (
        visible_swaps(user)
        .select_related("assignment__shift", "assignment__user", "taker", "requested_by")
        .filter(uuid=parse_public_id(swap_id))
        .first()
    )
    if swap is None:
        raise Http404
    return swap


def swaps_to_approve(user: User) -> QuerySet[SwapRequest]:
    return (
        SwapRequest.objects.filter(
            state=SwapState.PENDING,
            organisation__in=managed_organisations(user, roles=ROSTER_ROLES),
        )
        .exclude(requested_by=user)
        .select_related("assignment__shift", "assignment__user", "requested_by")
    )


def receipts_waiting_for(user: User, at: datetime | None = None) -> QuerySet[ReportReceipt]:
    """Unacknowledged receipts the user may acknowledge now (constant queries)."""
    at = at or timezone.now()
    on_duty = ShiftAssignment.objects.filter(user=user, starts_at__lte=at, ends_at__gt=at).values(
        "shift__team__organisation_id"
    )
    named = PositionRole.objects.filter(
        position__user=user,
        position__is_active=True,
        position__organisation_id=OuterRef("organisation_id"),
        role=OuterRef("report__rule__escalation_role"),
    )
    return (
        ReportReceipt.objects.filter(acknowledged_at__isnull=True)
        .filter(
            Q(organisation_id__in=on_duty) | Q(Exists(named), step__gte=EscalationStep.NAMED_ROLE)
        )
        .select_related("report", "submission", "organisation")
    )


def effective_rules(province: Organisation | None) -> list[ReportingRule]:
    """The rules in force for a province: its own rows, and the defaults it does not override."""
    rows = list(
        ReportingRule.objects.filter(Q(province=province) | Q(province__isnull=True)).order_by(
            "grade", "category", "province_id"
        )
    )
    own = {(r.category, r.grade) for r in rows if r.province_id is not None}
    return [r for r in rows if r.province_id is not None or (r.category, r.grade) not in own]


def province_of(org: Organisation) -> Organisation:
    """The root of the unit's tree (the province), or the unit itself at the root."""
    ids = org.ancestor_ids
    if not ids:
        return org
    root = Organisation.objects.filter(pk=ids[0]).first()
    return root or org


def owed_zero_reports(day: date, organisations: QuerySet[Organisation]) -> QuerySet[Organisation]:
    """Units among `organisations` that owe a zero-report for `day` and have not filed it."""
    filed = ZeroReport.objects.filter(day=day).values("organisation_id")
    obliged = ZeroReportObligation.objects.filter(is_active=True).values("organisation_id")
    return organisations.filter(pk__in=obliged).exclude(pk__in=filed)


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    zone = timezone.get_current_timezone()
    start = datetime.combine(day, datetime.min.time(), tzinfo=zone)
    return start, start + timedelta(days=1)


def positions_with_role(org_ids: set[int], roles: set[str]) -> QuerySet[Position]:
    return Position.objects.filter(
        organisation_id__in=org_ids, is_active=True, role_grants__role__in=roles
    ).select_related("user")


# ---------------------------------------------------------------- roster management

# Which organisation role may be picked for which duty role on a shift.
ROLE_FOR_DUTY = {
    str(DutyRole.OFFICER): str(Role.DUTY_OFFICER),
    str(DutyRole.LEADER): str(Role.DUTY_LEADER),
}


def eligible_people(organisation_id: int, duty_role: str) -> QuerySet[User]:
    """Active people holding the organisation role that fits `duty_role` in the unit itself."""
    role = ROLE_FOR_DUTY.get(str(duty_role))
    if role is None:
        return User.objects.none()
    return (
        User.objects.filter(
            is_active=True,
            positions__organisation_id=organisation_id,
            positions__is_active=True,
            positions__role_grants__role=role,
        )
        .distinct()
        .order_by("full_name", "username")
    )


def eligible_people_by_org(org_ids: set[int]) -> dict[tuple[int, str], list[User]]:
    """For the roster page: (organisation id, duty role) → the people one may pick (one query)."""
    by_role = {v: k for k, v in ROLE_FOR_DUTY.items()}
    rows = (
        PositionRole.objects.filter(
            role__in=list(by_role),
            position__is_active=True,
            position__organisation_id__in=org_ids,
            position__user__is_active=True,
        )
        .select_related("position__user")
        .order_by("position__user__full_name", "position__user__username")
    )
    result: dict[tuple[int, str], list[User]] = {}
    seen: set[tuple[int, str, int]] = set()
    for grant in rows:
        key = (grant.position.organisation_id, by_role[grant.role])
        marker = (*key, grant.position.user_id)
        if marker in seen:
            continue
        seen.add(marker)
        result.setdefault(key, []).append(grant.position.user)
    return result


def roster_organisations(user: User) -> QuerySet[Organisation]:
    """Units whose rosters the user manages (带班领导 or 系统管理员 of the unit or above)."""
    if not user.is_authenticated:
        return Organisation.objects.none()
    return managed_organisations(user, roles=ROSTER_ROLES)


def may_manage_team(user: User, team: DutyTeam) -> bool:
    return roster_organisations(user).filter(pk=team.organisation_id).exists()


def list_teams_for(user: User, *, q: str = "") -> QuerySet[DutyTeam]:
    if not user.is_authenticated:
        return DutyTeam.objects.none()
    qs = visible_teams(user).select_related("organisation")
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(organisation__name__icontains=q))
    return qs.order_by("organisation__path", "name")


def access_pattern(team: DutyTeam, pattern_id: Any) -> ShiftPattern:
    """A pattern of a team the caller already reached through `access_team_by_id`."""
    try:
        pk = int(pattern_id)
    except (TypeError, ValueError) as exc:
        raise Http404 from exc
    if pk < 1 or pk > 2**31 - 1:
        raise Http404
    pattern = ShiftPattern.objects.filter(team=team, pk=pk).select_related("team").first()
    if pattern is None:
        raise Http404
    return pattern


def access_user_in_unit(organisation_id: int, user_id: Any) -> User:
    """A person holding a position in the unit, by public id (else 404)."""
    person = (
        User.objects.filter(
            uuid=parse_public_id(user_id),
            positions__organisation_id=organisation_id,
            positions__is_active=True,
        )
        .distinct()
        .first()
    )
    if person is None:
        raise Http404
    return person
