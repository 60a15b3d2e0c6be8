"""Pages for the organisation tree and people: lists, detail pages, forms, import and export."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from egov.core.acting import Acting
from egov.core.errors import DomainError, NotPermitted
from egov.core.forms import add_domain_error
from egov.orgs import selectors, services, spreadsheets
from egov.orgs.choices import Role
from egov.orgs.forms import (
    ImportForm,
    OrganisationFilterForm,
    OrganisationForm,
    PositionAddForm,
    PositionRolesForm,
    UserCreateForm,
    UserEditForm,
    UserFilterForm,
)
from egov.orgs.models import Organisation, Position, User

PAGE_SIZE = 50
# Service field names that the forms spell differently.
FIELD_ALIASES = {"parent": "parent_code", "organisation": "organisation_code"}
DETAIL_LIMIT = 200


def _user(request: HttpRequest) -> User:
    """The logged-in person (every view here is behind login_required)."""
    return cast(User, request.user)


def _page(request: HttpRequest, queryset: QuerySet[Any]) -> Any:
    paginator = Paginator(queryset, PAGE_SIZE)
    return paginator.get_page(request.GET.get("page"))


def _query_without_page(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    params.pop("format", None)
    return params.urlencode()


def _managed_org_by_code(user: User, code: str, field: str) -> Organisation:
    """An organisation the user administers as system administrator, by its code."""
    org = (
        selectors.managed_organisations(user, {Role.SYSTEM_ADMIN})
        .filter(code=code, is_active=True)
        .first()
    )
    if org is None:
        raise DomainError(_("No organisation with this code that you administer."), field=field)
    return org


def _require_any_role(user: User, role: str) -> None:
    if not user.has_role(role):
        raise PermissionDenied


# ---------------------------------------------------------------------------------------------
# Organisations


def _filtered_organisations(
    request: HttpRequest,
) -> tuple[OrganisationFilterForm, QuerySet[Organisation], Organisation | None]:
    user = _user(request)
    form = OrganisationFilterForm(request.GET or None)
    params: dict[str, Any] = {}
    within = None
    if form.is_valid():
        data = form.cleaned_data
        if data.get("parent"):
            within = selectors.access_organisation_by_id(user, data["parent"])
        params = {
            "q": data.get("q") or "",
            "kind": data.get("kind") or "",
            "level": data.get("level") or "",
            "parent": within,
            "include_inactive": bool(data.get("inactive")),
        }
    elif form.is_bound and "parent" in form.errors:
        raise Http404("No such organisation.")
    return form, selectors.list_organisations_for(user, **params), within


@login_required
def organisation_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form, queryset, within = _filtered_organisations(request)
    page = _page(request, queryset)
    base_depth = min((o.depth for o in page.object_list), default=0)
    rows = [(o, min(o.depth - base_depth, 4)) for o in page.object_list]
    return render(
        request,
        "orgs/organisation_list.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "within": within,
            "query": _query_without_page(request),
            "can_import": user.has_role(Role.SYSTEM_ADMIN),
        },
    )


@login_required
def organisation_export(request: HttpRequest) -> HttpResponse:
    _form, queryset, _within = _filtered_organisations(request)
    fmt = "csv" if request.GET.get("format") == "csv" else "xlsx"
    services.do_record_export(
        "org", fmt=fmt, filters=_query_without_page(request), acting=Acting.from_request(request)
    )
    return spreadsheets.export_response(
        spreadsheets.ORG_COLUMNS,
        spreadsheets.organisation_rows(queryset),
        fmt=fmt,
        basename="organisations",
    )


@login_required
def organisation_detail(request: HttpRequest, org_id: Any) -> HttpResponse:
    user = _user(request)
    org = selectors.access_organisation_by_id(user, org_id)
    acting = Acting.from_request(request)
    is_sysadmin = services.can(acting, org, Role.SYSTEM_ADMIN)
    children = selectors.visible_organisations(user).filter(parent=org)
    if not is_sysadmin:
        children = children.filter(is_active=True)
    children_list = list(children.order_by("sort_order", "path")[: DETAIL_LIMIT + 1])
    positions = list(selectors.list_positions_in(user, org)[: DETAIL_LIMIT + 1])
    return render(
        request,
        "orgs/organisation_detail.html",
        {
            "org": org,
            "breadcrumb": selectors.visible_ancestors(user, org),
            "children": children_list[:DETAIL_LIMIT],
            "more_children": len(children_list) > DETAIL_LIMIT,
            "positions": positions[:DETAIL_LIMIT],
            "more_positions": len(positions) > DETAIL_LIMIT,
            "is_sysadmin": is_sysadmin,
        },
    )


def _org_values(data: dict[str, Any]) -> dict[str, Any]:
    return {
        name: data.get(name) or ("" if name != "sort_order" else 0) for name in services.ORG_FIELDS
    }


@login_required
@require_http_methods(["GET", "POST"])
def organisation_create(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    _require_any_role(user, Role.SYSTEM_ADMIN)
    acting = Acting.from_request(request)
    parent = None
    parent_id = request.GET.get("parent") or request.POST.get("parent")
    if parent_id:
        parent = selectors.access_organisation_by_id(user, parent_id)
    initial = {"parent_code": parent.code if parent else "", "sort_order": 0}
    if parent is not None:
        initial.update(level=parent.level, division_code=parent.division_code)
    form = OrganisationForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                target_parent = (
                    _managed_org_by_code(user, form.cleaned_data["parent_code"], "parent_code")
                    if form.cleaned_data["parent_code"]
                    else None
                )
                if target_parent is None:
                    raise DomainError(
                        _("The parent organisation is required."), field="parent_code"
                    )
                org = services.do_create_organisation(
                    parent=target_parent, acting=acting, **_org_values(form.cleaned_data)
                )
            except NotPermitted as exc:
                raise PermissionDenied(str(exc.message)) from None
            except DomainError as exc:
                add_domain_error(form, exc, FIELD_ALIASES)
            else:
                messages.success(request, _("The organisation was created."))
                return redirect(org)
        status = 400
    return render(
        request,
        "orgs/organisation_form.html",
        {"form": form, "parent": parent, "org": None},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def organisation_edit(request: HttpRequest, org_id: Any) -> HttpResponse:
    user = _user(request)
    org = selectors.access_organisation_by_id(user, org_id)
    acting = Acting.from_request(request)
    if not services.can(acting, org, Role.SYSTEM_ADMIN):
        raise PermissionDenied
    initial = {name: getattr(org, name) for name in services.ORG_FIELDS}
    initial["parent_code"] = org.parent.code if org.parent else ""
    form = OrganisationForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                # One form, one transaction: a refused field change does not leave a move behind.
                with transaction.atomic():
                    new_parent_code = data["parent_code"]
                    old_parent_code = org.parent.code if org.parent else ""
                    if new_parent_code != old_parent_code:
                        if not new_parent_code:
                            raise DomainError(
                                _("The parent organisation is required."), field="parent_code"
                            )
                        new_parent = _managed_org_by_code(user, new_parent_code, "parent_code")
                        services.do_move_organisation(org, new_parent=new_parent, acting=acting)
                    org = services.do_update_organisation(org, acting=acting, **_org_values(data))
            except NotPermitted as exc:
                raise PermissionDenied(str(exc.message)) from None
            except DomainError as exc:
                add_domain_error(form, exc, FIELD_ALIASES)
            else:
                messages.success(request, _("The organisation was saved."))
                return redirect(org)
        status = 400
    return render(
        request,
        "orgs/organisation_form.html",
        {"form": form, "parent": org.parent, "org": org},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def organisation_deactivate(request: HttpRequest, org_id: Any) -> HttpResponse:
    user = _user(request)
    org = selectors.access_organisation_by_id(user, org_id)
    acting = Acting.from_request(request)
    if not services.can(acting, org, Role.SYSTEM_ADMIN):
        raise PermissionDenied
    error = None
    if request.method == "POST":
        try:
            services.do_deactivate_organisation(org, acting=acting)
        except DomainError as exc:
            error = str(exc.message)
        else:
            messages.success(request, _("The organisation was deactivated."))
            return redirect(org)
    return render(
        request,
        "orgs/confirm.html",
        {
            "title": _("Deactivate %(name)s") % {"name": org.name},
            "question": _("People can no longer be placed in it and it leaves the lists."),
            "button": _("Deactivate"),
            "danger": True,
            "back": org.get_absolute_url(),
            "error": error,
        },
        status=409 if error else 200,
    )


def _import_view(request: HttpRequest, *, kind: str, role: str) -> HttpResponse:
    user = _user(request)
    _require_any_role(user, role)
    form = ImportForm(request.POST or None, request.FILES or None)
    row_errors: list[spreadsheets.RowError] = []
    columns = spreadsheets.ORG_COLUMNS if kind == "organisations" else spreadsheets.USER_COLUMNS
    labels = {c.key: c.label for c in columns}
    status = 200
    if request.method == "POST":
        if form.is_valid():
            acting = Acting.from_request(request)
            importer = (
                spreadsheets.import_organisations
                if kind == "organisations"
                else spreadsheets.import_users
            )
            try:
                result = importer(form.cleaned_data["file"], acting=acting)
            except spreadsheets.ImportInvalid as exc:
                row_errors = exc.errors
                form.add_error(None, str(exc.message))
            except DomainError as exc:
                form.add_error("file", str(exc.message))
            else:
                messages.success(
                    request,
                    _("Imported: %(created)d created, %(updated)d updated.")
                    % {"created": result.created, "updated": result.updated},
                )
                return redirect(
                    "orgs:organisation_list" if kind == "organisations" else "orgs:user_list"
                )
        status = 400
    return render(
        request,
        "orgs/import.html",
        {
            "form": form,
            "kind": kind,
            "row_errors": [(e, labels.get(e.field, e.field)) for e in row_errors[:500]],
            "more_errors": max(len(row_errors) - 500, 0),
            "columns": [c for c in columns if not c.export_only],
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def organisation_import(request: HttpRequest) -> HttpResponse:
    return _import_view(request, kind="organisations", role=Role.SYSTEM_ADMIN)


# ---------------------------------------------------------------------------------------------
# People


def _filtered_users(
    request: HttpRequest,
) -> tuple[UserFilterForm, QuerySet[User], Organisation | None]:
    user = _user(request)
    form = UserFilterForm(request.GET or None)
    params: dict[str, Any] = {}
    organisation = None
    if form.is_valid():
        data = form.cleaned_data
        if data.get("organisation"):
            organisation = selectors.access_organisation_by_id(user, data["organisation"])
        params = {
            "q": data.get("q") or "",
            "organisation": organisation,
            "role": data.get("role") or "",
        }
    elif form.is_bound and "organisation" in form.errors:
        raise Http404("No such organisation.")
    return form, selectors.list_users_for(user, **params), organisation


@login_required
def user_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form, queryset, organisation = _filtered_users(request)
    queryset = queryset.prefetch_related(
        Prefetch(
            "positions",
            queryset=Position.objects.filter(is_active=True)
            .select_related("organisation")
            .prefetch_related("role_grants")
            .order_by("-is_primary", "id"),
            to_attr="listed_positions",
        )
    )
    page = _page(request, queryset)
    return render(
        request,
        "orgs/user_list.html",
        {
            "form": form,
            "page": page,
            "organisation": organisation,
            "query": _query_without_page(request),
            "can_manage": user.has_role(Role.SYSTEM_ADMIN),
        },
    )


@login_required
def user_export(request: HttpRequest) -> HttpResponse:
    _form, queryset, _organisation = _filtered_users(request)
    fmt = "csv" if request.GET.get("format") == "csv" else "xlsx"
    services.do_record_export(
        "user", fmt=fmt, filters=_query_without_page(request), acting=Acting.from_request(request)
    )
    return spreadsheets.export_response(
        spreadsheets.USER_COLUMNS, spreadsheets.user_rows(queryset), fmt=fmt, basename="users"
    )


@login_required
def user_detail(request: HttpRequest, user_id: Any) -> HttpResponse:
    viewer = _user(request)
    target = selectors.access_user_by_id(viewer, user_id)
    acting = Acting.from_request(request)
    positions = list(selectors.list_positions_of(viewer, target))
    rows = [
        {
            "position": p,
            "roles": [Role(r).label if r in Role.values else r for r in p.roles],
            "can_admin": p.is_active and services.can(acting, p.organisation, Role.SYSTEM_ADMIN),
            "can_roles": p.is_active
            and viewer.pk != target.pk
            and services.can(acting, p.organisation, Role.SECURITY_ADMIN),
        }
        for p in positions
    ]
    is_self = viewer.pk == target.pk
    return render(
        request,
        "orgs/user_detail.html",
        {
            "target": target,
            "rows": rows,
            "can_edit": any(r["can_admin"] for r in rows),
            "can_deactivate": not is_self
            and target.is_active
            and any(r["can_admin"] for r in rows),
            "can_unlock": not is_self
            and any(services.can(acting, p.organisation, Role.SECURITY_ADMIN) for p in positions),
            "can_add_position": viewer.has_role(Role.SYSTEM_ADMIN),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def user_create(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    _require_any_role(user, Role.SYSTEM_ADMIN)
    initial: dict[str, Any] = {}
    if request.GET.get("organisation"):
        org = selectors.access_organisation_by_id(user, request.GET["organisation"])
        initial["organisation_code"] = org.code
    form = UserCreateForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            acting = Acting.from_request(request)
            try:
                org = _managed_org_by_code(user, data["organisation_code"], "organisation_code")
                created = services.do_create_user(
                    username=data["username"],
                    position=services.NewPosition(org, data.get("title") or ""),
                    password=data.get("password") or None,
                    acting=acting,
                    full_name=data["full_name"],
                    email=data.get("email") or "",
                    phone=data.get("phone") or "",
                )
            except NotPermitted as exc:
                raise PermissionDenied(str(exc.message)) from None
            except DomainError as exc:
                add_domain_error(form, exc, FIELD_ALIASES)
            else:
                messages.success(request, _("The account was created."))
                return redirect(created)
        status = 400
    return render(request, "orgs/user_form.html", {"form": form, "target": None}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def user_edit(request: HttpRequest, user_id: Any) -> HttpResponse:
    viewer = _user(request)
    target = selectors.access_user_by_id(viewer, user_id)
    acting = Acting.from_request(request)
    initial = {"full_name": target.full_name, "email": target.email, "phone": target.phone}
    form = UserEditForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "GET":
        try:
            services.require_power_over_user(acting, target, Role.SYSTEM_ADMIN)
        except NotPermitted:
            raise PermissionDenied from None
    if request.method == "POST":
        if form.is_valid():
            try:
                services.do_update_user(target, acting=acting, **form.cleaned_data)
            except NotPermitted as exc:
                raise PermissionDenied(str(exc.message)) from None
            except DomainError as exc:
                add_domain_error(form, exc, FIELD_ALIASES)
            else:
                messages.success(request, _("Saved."))
                return redirect(target)
        status = 400
    return render(request, "orgs/user_form.html", {"form": form, "target": target}, status=status)


def _confirm_action(
    request: HttpRequest,
    *,
    title: str,
    question: str,
    button: str,
    back: str,
    action: Any,
    done: str,
    danger: bool = False,
) -> HttpResponseBase:
    error = None
    if request.method == "POST":
        try:
            action()
        except NotPermitted as exc:
            raise PermissionDenied(str(exc.message)) from None
        except DomainError as exc:
            error = str(exc.message)
        else:
            messages.success(request, done)
            return redirect(back)
    return render(
        request,
        "orgs/confirm.html",
        {
            "title": title,
            "question": question,
            "button": button,
            "back": back,
            "error": error,
            "danger": danger,
        },
        status=409 if error else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def user_deactivate(request: HttpRequest, user_id: Any) -> HttpResponseBase:
    viewer = _user(request)
    target = selectors.access_user_by_id(viewer, user_id)
    acting = Acting.from_request(request)
    try:
        services.require_power_over_user(acting, target, Role.SYSTEM_ADMIN)
    except NotPermitted:
        raise PermissionDenied from None
    return _confirm_action(
        request,
        title=_("Deactivate the account of %(name)s") % {"name": target.display_name},
        question=_("The person can no longer log in. Their history is kept."),
        button=_("Deactivate account"),
        back=target.get_absolute_url(),
        action=lambda: services.do_deactivate_user(target, acting=acting),
        done=_("The account was deactivated."),
        danger=True,
    )


@login_required
@require_http_methods(["GET", "POST"])
def user_unlock(request: HttpRequest, user_id: Any) -> HttpResponseBase:
    viewer = _user(request)
    target = selectors.access_user_by_id(viewer, user_id)
    acting = Acting.from_request(request)
    try:
        services.require_power_over_user(acting, target, Role.SECURITY_ADMIN)
    except NotPermitted:
        raise PermissionDenied from None
    return _confirm_action(
        request,
        title=_("Unlock the account of %(name)s") % {"name": target.display_name},
        question=_("Failed login attempts are cleared and the person may log in again."),
        button=_("Unlock account"),
        back=target.get_absolute_url(),
        action=lambda: services.do_unlock_user(target, acting=acting),
        done=_("The account was unlocked."),
    )


@login_required
@require_http_methods(["GET", "POST"])
def user_import(request: HttpRequest) -> HttpResponse:
    return _import_view(request, kind="users", role=Role.SYSTEM_ADMIN)


# ---------------------------------------------------------------------------------------------
# Positions and roles


@login_required
@require_http_methods(["GET", "POST"])
def position_add(request: HttpRequest, user_id: Any) -> HttpResponse:
    viewer = _user(request)
    target = selectors.access_user_by_id(viewer, user_id)
    _require_any_role(viewer, Role.SYSTEM_ADMIN)
    form = PositionAddForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            acting = Acting.from_request(request)
            try:
                org = _managed_org_by_code(
                    viewer, form.cleaned_data["organisation_code"], "organisation_code"
                )
                services.do_add_position(
                    target, organisation=org, title=form.cleaned_data["title"], acting=acting
                )
            except NotPermitted as exc:
                raise PermissionDenied(str(exc.message)) from None
            except DomainError as exc:
                add_domain_error(form, exc, FIELD_ALIASES)
            else:
                messages.success(request, _("The position was added."))
                return redirect(target)
        status = 400
    return render(
        request, "orgs/position_form.html", {"form": form, "target": target}, status=status
    )


@login_required
@require_http_methods(["GET", "POST"])
def position_remove(request: HttpRequest, position_id: Any) -> HttpResponseBase:
    viewer = _user(request)
    position = selectors.access_position_by_id(viewer, position_id)
    acting = Acting.from_request(request)
    if not services.can(acting, position.organisation, Role.SYSTEM_ADMIN):
        raise PermissionDenied
    return _confirm_action(
        request,
        title=_("Remove the position %(position)s of %(name)s")
        % {"position": str(position), "name": position.user.display_name},
        question=_("The position ends and its roles are revoked."),
        button=_("Remove position"),
        back=position.user.get_absolute_url(),
        action=lambda: services.do_remove_position(position, acting=acting),
        done=_("The position was removed."),
        danger=True,
    )


@login_required
@require_http_methods(["GET", "POST"])
def position_roles(request: HttpRequest, position_id: Any) -> HttpResponse:
    viewer = _user(request)
    position = selectors.access_position_by_id(viewer, position_id)
    acting = Acting.from_request(request)
    if not services.can(acting, position.organisation, Role.SECURITY_ADMIN):
        raise PermissionDenied
    if viewer.pk == position.user_id:
        raise PermissionDenied
    form = PositionRolesForm(request.POST or None, initial={"roles": position.roles})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.do_set_position_roles(
                    position, set(form.cleaned_data["roles"]), acting=acting
                )
            except NotPermitted as exc:
                raise PermissionDenied(str(exc.message)) from None
            except DomainError as exc:
                add_domain_error(form, exc, FIELD_ALIASES)
            else:
                messages.success(request, _("The roles were saved."))
                return redirect(position.user)
        status = 400
    return render(
        request,
        "orgs/position_roles.html",
        {"form": form, "position": position, "target": position.user},
        status=status,
    )
