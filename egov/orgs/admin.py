"""Django admin for operators: a read-only view of the tree, people, positions and grants.

Writes go through the organisation pages (and so through `orgs.services`), where the
三员 separation is enforced and every change is audited; the admin does not bypass that.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from egov.core.admin import ReadOnlyAdmin
from egov.orgs.models import Organisation, Position, PositionRole, User


@admin.register(Organisation)
class OrganisationAdmin(ReadOnlyAdmin):
    list_display = ("name", "short_name", "doc_code", "kind", "level", "code", "is_active")
    list_filter = ("level", "kind", "is_active")
    search_fields = ("name", "short_name", "code", "doc_code")
    list_select_related = ("parent",)
    readonly_fields = ("uuid", "path", "depth")
    show_full_result_count = False


class PositionInline(admin.TabularInline):
    model = Position
    fields = ("organisation", "title", "is_primary", "is_active")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(User)
class UserAdmin(ReadOnlyAdmin):
    list_display = ("username", "full_name", "email", "is_active", "last_login")
    list_filter = ("is_active",)
    search_fields = ("username", "full_name", "email", "phone")
    exclude = ("password", "user_permissions", "groups")
    inlines = (PositionInline,)
    show_full_result_count = False


class PositionRoleInline(admin.TabularInline):
    model = PositionRole
    fields = ("role", "granted_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Position)
class PositionAdmin(ReadOnlyAdmin):
    list_display = ("user", "organisation", "title", "is_primary", "is_active")
    list_filter = ("is_active", "is_primary")
    search_fields = ("user__username", "user__full_name", "organisation__name", "title")
    list_select_related = ("user", "organisation")
    raw_id_fields = ("user", "organisation")
    inlines = (PositionRoleInline,)
    show_full_result_count = False
