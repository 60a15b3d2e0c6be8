"""Protected reads for organisations and users. Outside the person's scope: 404, never 403.

Scope (范围): a person sees the organisations they hold a position in; an administrator
(系统管理员, 安全管理员, 审计管理员) also sees every organisation below the one they
administer. Users are visible when they hold a position in a visible organisation.
Every function here runs a constant number of queries.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import reduce
from operator import or_
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from egov.core.selectors import parse_public_id
from egov.orgs.choices import SEPARATED_ADMIN_ROLES
from egov.orgs.models import Organisation, Position, PositionRole, User

_ADMIN_ROLE_CODES = {str(r) for r in SEPARATED_ADMIN_ROLES}


def _scope_q(user: User, *, prefix: str = "", roles: Iterable[str] | None = None) -> Q:
    """A Q over Organisation (or, with `prefix`, a related organisation) for the user's scope.

    With `roles`, only positions holding one of them count and they reach their whole subtree.
    """
    if not user.is_authenticated or not user.is_active:
        return Q(pk__in=[])
    if roles is not None:
        # Role members are str enums whose hash is not the plain string's: compare strings.
        roles = {str(r) for r in roles}
    cache_key = "_scope_positions"
    positions: list[Position] | None = getattr(user, cache_key, None)
    if positions is None:
        positions = list(
            Position.objects.filter(user=user, is_active=True, organisation__is_active=True)
            .select_related("organisation")
            .prefetch_related("role_grants")
        )
        setattr(user, cache_key, positions)
    wanted = set(roles) if roles is not None else None
    clauses: list[Q] = []
    for position in positions:
        held = {grant.role for grant in position.role_grants.all()}
        org = position.organisation
        if wanted is not None:
            if held & wanted:
                clauses.append(Q(**{f"{prefix}path__startswith": org.path}))
        elif held & _ADMIN_ROLE_CODES:
            clauses.append(Q(**{f"{prefix}path__startswith": org.path}))
        else:
            clauses.append(Q(**{f"{prefix}pk": org.pk}))
    if not clauses:
        return Q(pk__in=[])
    return reduce(or_, clauses)


def visible_organisations(user: User) -> QuerySet[Organisation]:
    return Organisation.objects.filter(_scope_q(user))


def managed_organisations(user: User, roles: Iterable[str] | None = None) -> QuerySet[Organisation]:
    """Organisations the user administers (the subtree below each admin position)."""
    return Organisation.objects.filter(
        _scope_q(user, roles=roles if roles is not None else _ADMIN_ROLE_CODES)
    )


def access_organisation_by_id(user: User, org_id: Any) -> Organisation:
    org = (
        visible_organisations(user)
        .select_related("parent")
        .filter(uuid=parse_public_id(org_id))
        .first()
    )
    if org is None:
        raise Http404("No such organisation.")
    return org


def access_managed_organisation_by_id(
    user: User, org_id: Any, roles: Iterable[str] | None = None
) -> Organisation:
    org = (
        managed_organisations(user, roles)
        .select_related("parent")
        .filter(uuid=parse_public_id(org_id))
        .first()
    )
    if org is None:
        raise Http404("No such organisation.")
    return org


def list_organisations_for(
    user: User,
    *,
    q: str = "",
    kind: str = "",
    level: str = "",
    parent: Organisation | None = None,
    include_inactive: bool = False,
) -> QuerySet[Organisation]:
    qs = visible_organisations(user).select_related("parent")
    if not include_inactive:
        qs = qs.filter(is_active=True)
    if q:
        qs = qs.filter(
            Q(name__icontains=q) | Q(short_name__icontains=q) | Q(code__iexact=q) | Q(doc_code=q)
        )
    if kind:
        qs = qs.filter(kind=kind)
    if level:
        qs = qs.filter(level=level)
    if parent is not None:
        qs = qs.filter(path__startswith=parent.path)
    return qs.order_by("path")


def visible_users(user: User) -> QuerySet[User]:
    """People with an active position in a visible unit; for administrators also people whose
    positions in their subtree have ended (so they can be given a position again)."""
    active_in_scope = Q(is_active=True) & _scope_q(user, prefix="organisation__")
    administered = _scope_q(user, prefix="organisation__", roles=_ADMIN_ROLE_CODES)
    in_scope = Position.objects.filter(active_in_scope | administered)
    return User.objects.filter(Q(pk=user.pk) | Q(pk__in=in_scope.values("user_id")))


def access_user_by_id(user: User, user_id: Any) -> User:
    target = visible_users(user).filter(uuid=parse_public_id(user_id)).first()
    if target is None:
        raise Http404("No such user.")
    return target


def list_users_for(
    user: User, *, q: str = "", organisation: Organisation | None = None, role: str = ""
) -> QuerySet[User]:
    """Visible people, filtered. Sub-queries rather than joins, so no DISTINCT over 100,000 rows."""
    qs = visible_users(user)
    if q:
        qs = qs.filter(Q(username__icontains=q) | Q(full_name__icontains=q) | Q(phone=q))
    if organisation is not None:
        qs = qs.filter(
            pk__in=Position.objects.filter(organisation=organisation, is_active=True).values(
                "user_id"
            )
        )
    if role:
        qs = qs.filter(
            pk__in=PositionRole.objects.filter(role=role, position__is_active=True)
            .filter(_scope_q(user, prefix="position__organisation__"))
            .values("position__user_id")
        )
    return qs.order_by("username")


def access_position_by_id(user: User, position_id: Any) -> Position:
    """A position in an organisation the user can see (404 otherwise)."""
    position = (
        Position.objects.filter(_scope_q(user, prefix="organisation__"))
        .select_related("organisation", "user")
        .filter(uuid=parse_public_id(position_id))
        .first()
    )
    if position is None:
        raise Http404("No such position.")
    return position


def list_positions_in(
    user: User, organisation: Organisation, *, include_inactive: bool = False
) -> QuerySet[Position]:
    """The people in one visible unit, with their users and roles (three queries in all)."""
    qs = Position.objects.filter(organisation=organisation).filter(
        _scope_q(user, prefix="organisation__")
    )
    if not include_inactive:
        qs = qs.filter(is_active=True, user__is_active=True)
    return (
        qs.select_related("user").prefetch_related("role_grants").order_by("user__username", "id")
    )


def list_positions_of(user: User, target: User) -> QuerySet[Position]:
    """A visible person's positions, limited to organisations the viewer can see."""
    return (
        Position.objects.filter(user=target)
        .filter(_scope_q(user, prefix="organisation__"))
        .select_related("organisation")
        .prefetch_related("role_grants")
        .order_by("-is_active", "-is_primary", "organisation__path", "id")
    )


def visible_ancestors(user: User, organisation: Organisation) -> list[tuple[Organisation, bool]]:
    """The breadcrumb: every ancestor, and whether the viewer may open it (two queries)."""
    ancestors = list(organisation.ancestors())
    if not ancestors:
        return []
    visible = set(
        visible_organisations(user)
        .filter(pk__in=[a.pk for a in ancestors])
        .values_list("pk", flat=True)
    )
    return [(a, a.pk in visible) for a in ancestors]
