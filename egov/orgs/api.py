"""API for the organisation tree and users: `/organisations`, `/users`, `/me`.

Reads go through the scope selectors (outside scope: 404); writes through `orgs.services`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from django.db.models import Prefetch
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from ninja.responses import Status
from pydantic import Field

from egov.api.errors import READ_ERRORS, WRITE_ERRORS, InvalidInput, InvalidReference, errors
from egov.api.pagination import Page, PageQuery, paginate
from egov.api.schemas import CleanSchema, InputSchema
from egov.core.acting import Acting
from egov.orgs import selectors, services
from egov.orgs.choices import OrgKind, OrgLevel, Role
from egov.orgs.models import Organisation, Position, PositionRole, User

router = Router(tags=["organisations"])

MAX_INT = 2_147_483_647


class OrganisationOut(Schema):
    uuid: UUID
    code: str
    name: str
    short_name: str
    doc_code: str
    kind: str
    level: str
    division_code: str
    node_code: str
    parent: UUID | None
    depth: int
    sort_order: int
    is_active: bool
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_parent(obj: Organisation) -> UUID | None:
        return obj.parent.uuid if obj.parent_id and obj.parent is not None else None


class OrganisationRef(Schema):
    uuid: UUID
    name: str
    short_name: str


class UserOut(Schema):
    uuid: UUID
    username: str
    full_name: str
    email: str
    phone: str
    is_active: bool


class PositionOut(Schema):
    uuid: UUID
    title: str
    is_primary: bool
    organisation: OrganisationRef
    roles: list[str]


class UserDetailOut(UserOut):
    positions: list[PositionOut]


class MeOut(Schema):
    user: UserOut
    positions: list[PositionOut]
    current_position: UUID | None
    requires_second_factor: bool


class OrganisationFilters(CleanSchema):
    q: str = Field("", max_length=100, description="Name, short name, code or document code")
    kind: OrgKind | None = None
    level: OrgLevel | None = None
    parent: UUID | None = Field(None, description="Only this organisation's subtree")
    include_inactive: bool = False


class UserFilters(CleanSchema):
    q: str = Field("", max_length=100, description="User name, full name or phone")
    organisation: UUID | None = None
    role: Role | None = None


class OrganisationCreate(InputSchema):
    parent: UUID
    code: str = Field(max_length=18, description="Unified social credit code (统一社会信用代码)")
    name: str = Field(min_length=1, max_length=200)
    short_name: str = Field("", max_length=50)
    doc_code: str = Field("", max_length=20, description="机关代字")
    kind: OrgKind
    level: OrgLevel
    division_code: str = Field("", max_length=6)
    node_code: str = Field("", max_length=50)
    sort_order: int = Field(0, ge=0, le=MAX_INT)


class OrganisationUpdate(InputSchema):
    code: str | None = Field(None, max_length=18)
    name: str | None = Field(None, min_length=1, max_length=200)
    short_name: str | None = Field(None, max_length=50)
    doc_code: str | None = Field(None, max_length=20)
    kind: OrgKind | None = None
    level: OrgLevel | None = None
    division_code: str | None = Field(None, max_length=6)
    node_code: str | None = Field(None, max_length=50)
    sort_order: int | None = Field(None, ge=0, le=MAX_INT)


class UserCreate(InputSchema):
    username: str = Field(min_length=1, max_length=150)
    organisation: UUID
    title: str = Field("", max_length=100)
    password: str | None = Field(
        None, max_length=128, description="Initial password; omitted: none (set by reset)"
    )
    full_name: str = Field("", max_length=100)
    email: str = Field("", max_length=254)
    phone: str = Field("", max_length=20)


def _positions_prefetch() -> Any:
    return Prefetch(
        "positions",
        queryset=Position.objects.filter(is_active=True)
        .select_related("organisation")
        .prefetch_related(Prefetch("role_grants", queryset=PositionRole.objects.order_by("role"))),
        to_attr="active_position_list",
    )


def _position_out(position: Position) -> dict[str, Any]:
    return {
        "uuid": position.uuid,
        "title": position.title,
        "is_primary": position.is_primary,
        "organisation": position.organisation,
        "roles": position.roles,
    }


def _user_detail(user: User) -> dict[str, Any]:
    positions = getattr(user, "active_position_list", None)
    if positions is None:
        positions = list(user.active_positions().prefetch_related("role_grants"))
    return {
        "uuid": user.uuid,
        "username": user.username,
        "full_name": user.full_name,
        "email": user.email,
        "phone": user.phone,
        "is_active": user.is_active,
        "positions": [_position_out(p) for p in positions],
    }


def _referenced_organisation(user: User, org_id: UUID, field: str) -> Organisation:
    """An organisation named in a body or filter; outside scope reads as unknown."""
    try:
        return selectors.access_organisation_by_id(user, org_id)
    except Http404:
        raise InvalidReference(_("No such organisation."), field=field) from None


@router.get(
    "/organisations",
    response={200: Page[OrganisationOut], **errors(*READ_ERRORS)},
    summary="Organisations in the user's scope",
)
def list_organisations(
    request: HttpRequest, filters: Query[OrganisationFilters], paging: Query[PageQuery]
) -> Any:
    parent = (
        _referenced_organisation(request.user, filters.parent, "parent")  # type: ignore[arg-type]
        if filters.parent
        else None
    )
    rows = selectors.list_organisations_for(
        request.user,  # type: ignore[arg-type]
        q=filters.q.strip(),
        kind=filters.kind or "",
        level=filters.level or "",
        parent=parent,
        include_inactive=filters.include_inactive,
    )
    return paginate(rows, paging)


@router.get(
    "/organisations/{uuid}",
    response={200: OrganisationOut, **errors(*READ_ERRORS)},
    summary="One organisation",
)
def get_organisation(request: HttpRequest, uuid: UUID) -> Any:
    return selectors.access_organisation_by_id(request.user, uuid)  # type: ignore[arg-type]


@router.get(
    "/organisations/{uuid}/children",
    response={200: Page[OrganisationOut], **errors(*READ_ERRORS)},
    summary="The organisation's direct sub-units in the user's scope",
)
def list_children(request: HttpRequest, uuid: UUID, paging: Query[PageQuery]) -> Any:
    org = selectors.access_organisation_by_id(request.user, uuid)  # type: ignore[arg-type]
    rows = (
        selectors.visible_organisations(request.user)  # type: ignore[arg-type]
        .filter(parent=org, is_active=True)
        .select_related("parent")
        .order_by("sort_order", "path")
    )
    return paginate(rows, paging)


@router.get(
    "/organisations/{uuid}/ancestors",
    response={200: Page[OrganisationOut], **errors(*READ_ERRORS)},
    summary="The organisation's ancestors in the user's scope, root first",
)
def list_ancestors(request: HttpRequest, uuid: UUID, paging: Query[PageQuery]) -> Any:
    org = selectors.access_organisation_by_id(request.user, uuid)  # type: ignore[arg-type]
    rows = (
        selectors.visible_organisations(request.user)  # type: ignore[arg-type]
        .filter(pk__in=org.ancestor_ids)
        .select_related("parent")
        .order_by("depth")
    )
    return paginate(rows, paging)


@router.post(
    "/organisations",
    response={201: OrganisationOut, **errors(*WRITE_ERRORS)},
    summary="Create an organisation under a parent (系统管理员 of the parent)",
)
def create_organisation(request: HttpRequest, payload: OrganisationCreate) -> Any:
    parent = _referenced_organisation(request.user, payload.parent, "parent")  # type: ignore[arg-type]
    values = payload.model_dump(exclude={"parent"})
    values["kind"] = str(payload.kind.value)
    values["level"] = str(payload.level.value)
    org = services.do_create_organisation(
        parent=parent, acting=Acting.from_request(request), **values
    )
    org.parent = parent
    return Status(201, org)


@router.patch(
    "/organisations/{uuid}",
    response={200: OrganisationOut, **errors(*WRITE_ERRORS)},
    summary="Edit an organisation's own fields (系统管理员)",
)
def update_organisation(request: HttpRequest, uuid: UUID, payload: OrganisationUpdate) -> Any:
    org = selectors.access_organisation_by_id(request.user, uuid)  # type: ignore[arg-type]
    values = payload.model_dump(exclude_unset=True)
    for key, value in list(values.items()):
        if value is None:
            raise InvalidInput(_("This field may not be null."), field=key)
        if key in ("kind", "level"):
            values[key] = str(getattr(value, "value", value))
    updated = services.do_update_organisation(org, acting=Acting.from_request(request), **values)
    return selectors.access_organisation_by_id(request.user, updated.uuid)  # type: ignore[arg-type]


@router.get(
    "/users",
    response={200: Page[UserOut], **errors(*READ_ERRORS)},
    summary="Users holding a position in the user's scope",
)
def list_users(request: HttpRequest, filters: Query[UserFilters], paging: Query[PageQuery]) -> Any:
    organisation = (
        _referenced_organisation(request.user, filters.organisation, "organisation")  # type: ignore[arg-type]
        if filters.organisation
        else None
    )
    rows = selectors.list_users_for(
        request.user,  # type: ignore[arg-type]
        q=filters.q.strip(),
        organisation=organisation,
        role=filters.role or "",
    )
    return paginate(rows, paging)


@router.get(
    "/users/{uuid}",
    response={200: UserDetailOut, **errors(*READ_ERRORS)},
    summary="One user with their active positions and roles",
)
def get_user(request: HttpRequest, uuid: UUID) -> Any:
    target = selectors.access_user_by_id(request.user, uuid)  # type: ignore[arg-type]
    return _user_detail(target)


@router.post(
    "/users",
    response={201: UserDetailOut, **errors(*WRITE_ERRORS)},
    summary="Create a user with a first position (系统管理员 of the organisation)",
)
def create_user(request: HttpRequest, payload: UserCreate) -> Any:
    organisation = _referenced_organisation(request.user, payload.organisation, "organisation")  # type: ignore[arg-type]
    user = services.do_create_user(
        username=payload.username,
        position=services.NewPosition(organisation=organisation, title=payload.title),
        acting=Acting.from_request(request),
        password=payload.password or None,
        full_name=payload.full_name,
        email=payload.email,
        phone=payload.phone,
    )
    return Status(201, _user_detail(user))


@router.get(
    "/me",
    response={200: MeOut, **errors(401, 403)},
    summary="The signed-in user, their positions and roles, and the position they act in",
)
def me(request: HttpRequest) -> Any:
    user: User = request.user  # type: ignore[assignment]
    positions = list(user.active_positions().prefetch_related("role_grants"))
    current = user.current_position(request)
    return {
        "user": user,
        "positions": [_position_out(p) for p in positions],
        "current_position": current.uuid if current is not None else None,
        "requires_second_factor": user.requires_second_factor,
    }
