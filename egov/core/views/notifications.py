"""The notification inbox and each person's delivery preferences."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from egov.core.acting import Acting
from egov.core.choices import NotificationChannel
from egov.core.models import Notification, NotificationPreference
from egov.core.notifications import (
    OPTIONAL_CHANNELS,
    is_local_url,
    notification_kinds,
    unread_count,
)
from egov.core.services import do_mark_notifications_read, do_set_notification_preferences

if TYPE_CHECKING:
    from egov.orgs.models import User

PAGE_SIZE = 30


def _user(request: HttpRequest) -> User:
    """The logged-in user (the views are behind login_required)."""
    return cast("User", request.user)


CHANNEL_LABELS = [(c, NotificationChannel(c).label) for c in OPTIONAL_CHANNELS]


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    """The inbox: unread first, newest first; a constant number of queries per page."""
    qs = (
        Notification.objects.filter(recipient=_user(request))
        .annotate(is_unread=ExpressionWrapper(Q(read_at__isnull=True), output_field=BooleanField()))
        .order_by("-is_unread", "-created_at", "-id")
    )
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "core/notifications/list.html",
        {"page": page, "unread_total": unread_count(_user(request))},
    )


@login_required
@require_GET
def notification_open(request: HttpRequest, notification_uuid: UUID) -> HttpResponse:
    """Mark the notification read and go to what it is about (a local path only)."""
    notification = Notification.objects.filter(
        uuid=notification_uuid, recipient=_user(request)
    ).first()
    if notification is None:
        raise Http404
    if notification.read_at is None:
        do_mark_notifications_read(
            _user(request).pk,
            notification_ids=[notification.pk],
            acting=Acting.from_request(request),
        )
    target = notification.url
    if (
        target
        and is_local_url(target)
        and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return HttpResponseRedirect(target)
    return HttpResponseRedirect(reverse("core:notification_list"))


@login_required
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    do_mark_notifications_read(_user(request).pk, acting=Acting.from_request(request))
    return HttpResponseRedirect(reverse("core:notification_list"))


def _field_name(kind: str, channel: str) -> str:
    return f"pref:{kind}:{channel}"


@login_required
@require_http_methods(["GET", "POST"])
def notification_preferences(request: HttpRequest) -> HttpResponse:
    """A table of kinds × channels (e-mail, SMS); the inbox always receives everything.

    A ticked box turns the channel on; an absent one turns it off. Names that are not a known
    kind and channel are ignored.
    """
    kinds = notification_kinds()
    if request.method == "POST":
        wanted = {
            (kind.code, channel): request.POST.get(_field_name(kind.code, channel)) == "on"
            for kind in kinds
            for channel in OPTIONAL_CHANNELS
        }
        do_set_notification_preferences(
            _user(request).pk, wanted=wanted, acting=Acting.from_request(request)
        )
        messages.success(request, _("Your notification settings are saved."))
        return HttpResponseRedirect(reverse("core:notification_preferences"))
    explicit = dict(
        (
            ((kind, channel), enabled)
            for kind, channel, enabled in NotificationPreference.objects.filter(
                user_id=_user(request).pk
            ).values_list("kind", "channel", "enabled")
        )
    )
    rows = []
    for kind in kinds:
        current = {
            channel
            for channel in OPTIONAL_CHANNELS
            if explicit.get((kind.code, channel), channel in kind.default_channels)
        }
        rows.append(
            {
                "kind": kind,
                "cells": [
                    {
                        "channel": channel,
                        "label": NotificationChannel(channel).label,
                        "name": _field_name(kind.code, channel),
                        "checked": channel in current,
                    }
                    for channel in OPTIONAL_CHANNELS
                ],
            }
        )
    return render(
        request,
        "core/notifications/preferences.html",
        {"rows": rows, "channels": CHANNEL_LABELS},
    )


urlpatterns = [
    path("notifications/", notification_list, name="notification_list"),
    path(
        "notifications/<uuid:notification_uuid>/open/",
        notification_open,
        name="notification_open",
    ),
    path("notifications/read-all/", notification_read_all, name="notification_read_all"),
    path("notifications/preferences/", notification_preferences, name="notification_preferences"),
]
