"""Protected reads for organisations and users. Outside the person's scope: 404, never 403.

Scope (范围): a person sees the organisations they hold a position in; an administrator
(系统管理员, 安全管理员, 审计管理员) also sees every organisation below the one they
administer. Users are visible when they hold a position in a visible organisation.
Every function here runs a constant number of queries.
"""

from __future__ import annotations

from functools import reduce
from operator import or_
from typing import Any
from uuid import UUID

from django.db.models import Q, QuerySet
from django.http import Http404

from egov.orgs.choices import SEPARATED_ADMIN_ROLES
from egov.orgs.models import Organisation, Position, User

_ADMIN_ROLE_CODES = {str(r) for r in SEPARATED_ADMIN_ROLES}


def _scope_q(user: User, *, prefix: str = "", roles: set[str] | None = None) -> Q:
    """A Q over Organisation (or, with `prefix`, a related organisation) for the user's scope.

    With `roles`, only positions holding one of them count and they reach their whole subtree.
    """
    if not user.is_authenticated or not user.is_active:
        return Q(pk__in=[])
    cache_key = "_scope_positions"
    positions: list[Position] | None = getattr(user, cache_key, None)
    if positions is None:
        positions = list(
            Position.objects.filter(user=user, is_active=True, organisation__is_active=True)
            .select_related("organisation")
            .prefetch_related("role_grants")
        )
        setattr(user, cache_key, positions)
    clauses: list[Q] = []
    for position in positions:
        held = {grant.role for grant in position.role_grants.all()}
        org = position.organisation
        if roles is not None:
            if held & roles:
                clauses.append(Q(**{f"{prefix}path__startswith": org.path}))
        elif held & _ADMIN_ROLE_CODES:
            clauses.append(Q(**{f"{prefix}path__startswith": org.path}))
        else:
            clauses.append(Q(**{f"{prefix}pk": org.pk}))
    if not clauses:
        return Q(pk__in=[])
    return reduce(or_, clauses)


def _parse_uuid(value: Any) -> UUID:
    try:
        return value if isinstance(value, UUID) else UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        raise Http404("No such object.") from None


def visible_organisations(user: User) -> QuerySet[Organisation]:
    return Organisation.objects.filter(_scope_q(user))


def managed_organisations(user: User, roles: set[str] | None = None) -> QuerySet[Organisation]:
    """Organisations the user administers (the subtree below each admin position)."""
    return Organisation.objects.filter(_scope_q(user, roles=roles or _ADMIN_ROLE_CODES))


def access_organisation_by_id(user: User, org_id: Any) -> Organisation:
    org = (
        visible_organisations(user)
        .select_related("parent")
        .filter(uuid=_parse_uuid(org_id))
        .first()
    )
    if org is None:
        raise Http404("No such organisation.")
    return org


def access_managed_organisation_by_id(
    user: User, org_id: Any, roles: set[str] | None = None
) -> Organisation:
    org = (
        managed_organisations(user, roles)
        .select_related("parent")
        .filter(uuid=_parse_uuid(org_id))
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
    in_scope = Position.objects.filter(is_active=True).filter(
        _scope_q(user, prefix="organisation__")
    )
    return User.objects.filter(Q(pk=user.pk) | Q(pk__in=in_scope.values("user_id")))


def access_user_by_id(user: User, user_id: Any) -> User:
    target = visible_users(user).filter(uuid=_parse_uuid(user_id)).first()
    if target is None:
        raise Http404("No such user.")
    return target


def list_users_for(
    user: User, *, q: str = "", organisation: Organisation | None = None, role: str = ""
) -> QuerySet[User]:
    qs = visible_users(user)
    if q:
        qs = qs.filter(Q(username__icontains=q) | Q(full_name__icontains=q) | Q(phone=q))
    if organisation is not None:
        qs = qs.filter(positions__organisation=organisation, positions__is_active=True)
    if role:
        qs = qs.filter(positions__role_grants__role=role, positions__is_active=True)
    return qs.distinct().order_by("username")
