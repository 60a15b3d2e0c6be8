"""Notifications: the in-app inbox, and e-mail/SMS delivery by background tasks.

Apps register the kinds of notification they send (in their own `notifications.py`, which is
discovered automatically, or at import of the module that sends them):

    register_notification_kind("supervision.reminder", _("Supervision reminder"),
                               default_channels=(NotificationChannel.EMAIL, NotificationChannel.SMS))

and send with `do_notify(users, kind=..., title=..., url=..., acting=...)`. Every notification
lands in the recipient's inbox; after the transaction commits, one delivery task per notification
and channel is enqueued for the channels the recipient wants (a preference row, or the kind's
default when there is none). Each delivery attempt is kept as a `NotificationAttempt`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext_lazy as _

from egov.core.acting import Acting
from egov.core.audit import record_audit
from egov.core.choices import AttemptStatus, NotificationChannel
from egov.core.models import Notification, NotificationAttempt, NotificationPreference

if TYPE_CHECKING:
    from django.utils.functional import Promise

    from egov.orgs.models import User

logger = logging.getLogger(__name__)

# Channels a person can turn on or off; the in-app inbox always receives every notification.
OPTIONAL_CHANNELS: tuple[str, ...] = (NotificationChannel.EMAIL, NotificationChannel.SMS)
TITLE_MAX_LENGTH = 200
URL_MAX_LENGTH = 500
# Above this many deliveries, one task enqueues them from a worker instead of the request.
FAN_OUT_THRESHOLD = 50


@dataclass(frozen=True)
class NotificationKind:
    code: str
    label: str | Promise
    default_channels: frozenset[str]


_kinds: dict[str, NotificationKind] = {}
_discovered = False


def register_notification_kind(
    code: str,
    label: str | Promise,
    default_channels: Iterable[str] = (NotificationChannel.EMAIL,),
) -> NotificationKind:
    """Declare a kind of notification. Registering the same code again replaces it."""
    channels = frozenset(str(c) for c in default_channels) - {NotificationChannel.IN_APP.value}
    unknown = channels - set(OPTIONAL_CHANNELS)
    if unknown:
        raise ValueError(f"unknown notification channels: {sorted(unknown)}")
    if not code or len(code) > 64:
        raise ValueError("a notification kind code has 1 to 64 characters")
    kind = NotificationKind(code=code, label=label, default_channels=channels)
    _kinds[code] = kind
    return kind


def _discover() -> None:
    global _discovered
    if not _discovered:
        _discovered = True
        autodiscover_modules("notifications")


def notification_kinds() -> list[NotificationKind]:
    """Every registered kind, ordered by code."""
    _discover()
    return sorted(_kinds.values(), key=lambda k: k.code)


def get_notification_kind(code: str) -> NotificationKind | None:
    _discover()
    return _kinds.get(code)


def is_local_url(url: str) -> bool:
    """A path on this site ("/x/y?z"), never a scheme, a host or a protocol-relative "//host"."""
    if not url.startswith("/") or url.startswith(("//", "/\\")):
        return False
    return not any(ch in url for ch in ("\\", "\r", "\n", "\t")) and "://" not in url.split("?")[0]


def wanted_channels(kind: NotificationKind, user_ids: Iterable[int]) -> dict[int, list[str]]:
    """For each user, the optional channels they want `kind` on (one query)."""
    ids = list(user_ids)
    explicit: dict[tuple[int, str], bool] = {
        (user_id, channel): enabled
        for user_id, channel, enabled in NotificationPreference.objects.filter(
            user_id__in=ids, kind=kind.code
        ).values_list("user_id", "channel", "enabled")
    }
    return {
        user_id: [
            channel
            for channel in OPTIONAL_CHANNELS
            if explicit.get((user_id, channel), channel in kind.default_channels)
        ]
        for user_id in ids
    }


def do_notify(
    recipients: Iterable[User],
    *,
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    acting: Acting,
) -> list[Notification]:
    """Put a notification in each recipient's inbox; deliver by e-mail/SMS after commit.

    Inactive accounts and duplicates are skipped. `url` must be a local path (or empty).
    """
    registered = get_notification_kind(kind)
    if registered is None:
        raise ValueError(f"notification kind {kind!r} is not registered")
    if url and (not is_local_url(url) or len(url) > URL_MAX_LENGTH):
        raise ValueError("a notification's url must be a local path")
    title = " ".join(title.split())[:TITLE_MAX_LENGTH]
    if not title:
        raise ValueError("a notification needs a title")
    users: dict[int, User] = {}
    for user in recipients:
        if user.pk is not None and user.is_active and user.pk not in users:
            users[user.pk] = user
    if not users:
        return []
    with transaction.atomic():
        notifications = Notification.objects.bulk_create(
            [
                Notification(recipient=user, kind=kind, title=title, body=body, url=url)
                for user in users.values()
            ]
        )
        channels = wanted_channels(registered, users)
        deliveries = [
            (n.pk, channel) for n in notifications for channel in channels[n.recipient_id]
        ]
        record_audit(
            "core.notification.send",
            acting=acting,
            details={
                "kind": kind,
                "title": title,
                "recipients": len(notifications),
                "deliveries": len(deliveries),
            },
        )
        if deliveries:
            transaction.on_commit(lambda: enqueue_deliveries(deliveries))
    return notifications


def enqueue_deliveries(deliveries: Iterable[tuple[int, str]], *, fan_out: bool = True) -> None:
    """Enqueue one delivery task per (notification, channel); a refused enqueue is recorded.

    A large batch (a notice to every unit) is handed to one fan-out task that enqueues the
    deliveries from a worker, so the request that sent it stays fast.
    """
    from egov.core.tasks import deliver_notification, fan_out_deliveries

    pairs = [(int(n), str(c)) for n, c in deliveries]
    if fan_out and len(pairs) > FAN_OUT_THRESHOLD:
        try:
            fan_out_deliveries.enqueue([[n, c] for n, c in pairs])
            return
        except Exception:
            logger.exception("notification.fan_out_failed", extra={"count": len(pairs)})
    for notification_id, channel in pairs:
        try:
            deliver_notification.enqueue(notification_id, channel)
        except Exception as exc:  # the queue is down: keep the evidence, do not fail the request
            logger.exception(
                "notification.enqueue_failed",
                extra={"notification_id": notification_id, "channel": channel},
            )
            NotificationAttempt.objects.create(
                notification_id=notification_id,
                channel=channel,
                status=AttemptStatus.FAILED,
                error=f"could not enqueue the delivery task: {exc}"[:2000],
            )


def unread_count(user: User) -> int:
    """How many notifications wait unread in the user's inbox (one query)."""
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


CALENDAR_COVERAGE_KIND = register_notification_kind(
    "core.calendar_coverage",
    _("Working-day calendar needs next year's holidays"),
    default_channels=(NotificationChannel.EMAIL,),
)
