"""What every page's shell needs: node, zone, navigation for the person's roles, unread count."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext_lazy as _

from egov.core.notifications import unread_count
from egov.orgs.choices import Role
from egov.web.views import LARGE_TEXT_COOKIE


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    url_name: str
    badge: int = 0


# (label, url name, role required or None for everyone)
NAVIGATION: list[tuple[Any, str, str | None]] = [
    (_("To-do"), "web:home", None),
    (_("Notifications"), "core:notification_list", None),
    (_("Documents received"), "documents:incoming_list", None),
    (_("Documents sent"), "documents:outgoing_list", None),
    (_("Document statistics"), "documents:stats", None),
    (_("Exchange"), "exchange:console", Role.CLERK),
    (_("Supervision"), "supervision:dashboard", None),
    (_("Duty"), "duty:console", None),
    (_("Organisations"), "orgs:organisation_list", None),
    (_("Users"), "orgs:user_list", Role.SYSTEM_ADMIN),
    (_("Users"), "orgs:user_list", Role.SECURITY_ADMIN),
    (_("Certificates"), "pki:certificate_list", Role.SECURITY_ADMIN),
    (_("Audit trail"), "core:audit_list", Role.AUDIT_ADMIN),
    (_("Working-day calendar"), "core:calendar_admin", Role.SYSTEM_ADMIN),
]


def _navigation(request: HttpRequest) -> list[NavItem]:
    user = request.user
    roles = user.role_codes()  # type: ignore[union-attr]  # only called for authenticated users
    items: list[NavItem] = []
    seen: set[str] = set()
    for label, url_name, role in NAVIGATION:
        if url_name in seen or (role is not None and role not in roles):
            continue
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            continue  # a subsystem not installed on this node
        seen.add(url_name)
        items.append(NavItem(str(label), url, url_name))
    return items


def todo_total(request: HttpRequest) -> int:
    """Items waiting across subsystems; the home page stores its own count on the request."""
    cached: int | None = getattr(request, "_todo_total", None)
    if cached is None:
        from egov.core.todos import todo_counts

        summaries = todo_counts(request.user)  # type: ignore[arg-type]  # only for authenticated users
        cached = sum(summary.count for summary in summaries)
        request._todo_total = cached  # type: ignore[attr-defined]
    return cached


def shell(request: HttpRequest) -> dict[str, Any]:
    context: dict[str, Any] = {
        "egov_node_name": settings.EGOV_NODE_NAME,
        "egov_zone": settings.EGOV_ZONE,
        "large_text": request.COOKIES.get(LARGE_TEXT_COOKIE) == "1",
    }
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        # Lazy: a page that does not render the shell runs none of these queries.
        context["nav_items"] = SimpleLazyObject(lambda: _navigation(request))
        context["unread_count"] = SimpleLazyObject(lambda: unread_count(user))
        context["todo_total"] = SimpleLazyObject(lambda: todo_total(request))
        context["current_position"] = SimpleLazyObject(lambda: user.current_position(request))
        context["my_positions"] = SimpleLazyObject(lambda: list(user.active_positions()))
    return context
