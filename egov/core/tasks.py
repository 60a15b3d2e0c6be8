"""Core background tasks: notification delivery and the periodic jobs' entry points.

Arguments are primary keys and strings, never model instances (they cross a queue).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from egov.core.acting import Acting
from egov.core.calendar import uncovered_years_warning
from egov.core.choices import AttemptStatus, NotificationChannel
from egov.core.models import Notification, NotificationAttempt
from egov.core.scheduling import register_periodic
from egov.core.sms import SMS_MAX_LENGTH, SmsError, get_sms_gateway

logger = logging.getLogger(__name__)

ERROR_MAX_LENGTH = 2000


def _attempt(
    notification: Notification, channel: str, status: str, address: str = "", error: str = ""
) -> str:
    NotificationAttempt.objects.create(
        notification=notification,
        channel=channel,
        status=status,
        address=address[:254],
        error=error[:ERROR_MAX_LENGTH],
    )
    logger.info(
        "notification.attempt",
        extra={
            "notification_id": notification.pk,
            "channel": channel,
            "status": status,
            "error": error[:200],
        },
    )
    return status


def _message_text(notification: Notification) -> str:
    parts = [notification.body.strip()] if notification.body.strip() else []
    if notification.url:
        parts.append(notification.url)
    return "\n\n".join(parts) or notification.title


@task()
def deliver_notification(notification_id: int, channel: str) -> str:
    """Send one notification on one channel (e-mail or SMS); record the attempt.

    Returns the attempt's status ("sent", "failed", "skipped"), or "missing" when the
    notification was deleted before the task ran. A channel already delivered is not sent again.
    """
    notification = (
        Notification.objects.select_related("recipient").filter(pk=notification_id).first()
    )
    if notification is None:
        return "missing"
    if channel not in (NotificationChannel.EMAIL, NotificationChannel.SMS):
        return _attempt(notification, channel[:10], AttemptStatus.SKIPPED, error="unknown channel")
    if NotificationAttempt.objects.filter(
        notification=notification, channel=channel, status=AttemptStatus.SENT
    ).exists():
        return AttemptStatus.SKIPPED.value
    recipient = notification.recipient
    if not recipient.is_active:
        return _attempt(notification, channel, AttemptStatus.SKIPPED, error="account disabled")
    if channel == NotificationChannel.EMAIL:
        address = (recipient.email or "").strip()
        if not address:
            return _attempt(notification, channel, AttemptStatus.SKIPPED, error="no e-mail address")
        try:
            send_mail(
                subject=notification.title,
                message=_message_text(notification),
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=[address],
            )
        except Exception as exc:  # any backend failure is a failed attempt, kept as evidence
            return _attempt(notification, channel, AttemptStatus.FAILED, address, repr(exc))
        return _attempt(notification, channel, AttemptStatus.SENT, address)
    phone = (getattr(recipient, "phone", "") or "").strip()
    if not phone:
        return _attempt(
            notification, channel, AttemptStatus.SKIPPED, error="no mobile phone number"
        )
    text = notification.title
    if notification.url:
        text = f"{text} {notification.url}"
    try:
        get_sms_gateway().send(phone, text[:SMS_MAX_LENGTH])
    except SmsError as exc:
        return _attempt(notification, channel, AttemptStatus.FAILED, phone, str(exc))
    except Exception as exc:  # a broken gateway class must not lose the evidence either
        return _attempt(notification, channel, AttemptStatus.FAILED, phone, repr(exc))
    return _attempt(notification, channel, AttemptStatus.SENT, phone)


@task()
def fan_out_deliveries(deliveries: list[list[Any]]) -> int:
    """Enqueue the delivery tasks of a large batch: `[[notification_id, channel], ...]`."""
    from egov.core.notifications import enqueue_deliveries

    pairs = [(int(pair[0]), str(pair[1])) for pair in deliveries]
    enqueue_deliveries(pairs, fan_out=False)
    return len(pairs)


@task()
def check_calendar_coverage() -> list[int]:
    """Daily: tell the system administrators when this or next year's holidays are missing.

    An administrator who still has an unread coverage notice is not sent another.
    Returns the uncovered years.
    """
    from egov.core.notifications import CALENDAR_COVERAGE_KIND, do_notify
    from egov.orgs.choices import Role
    from egov.orgs.models import User

    years = uncovered_years_warning(timezone.localdate())
    if not years:
        return []
    still_unread = Notification.objects.filter(
        kind=CALENDAR_COVERAGE_KIND.code, read_at__isnull=True
    ).values("recipient_id")
    admins = (
        User.objects.filter(
            is_active=True,
            positions__is_active=True,
            positions__role_grants__role=Role.SYSTEM_ADMIN,
        )
        .exclude(pk__in=still_unread)
        .distinct()
    )
    year_list = "、".join(str(y) for y in years)
    do_notify(
        list(admins),
        kind=CALENDAR_COVERAGE_KIND.code,
        title=_("Enter the statutory holidays of %(years)s in the working-day calendar")
        % {"years": year_list},
        body=_(
            "The built-in calendar does not cover %(years)s yet; deadlines in those years count "
            "only weekends as rest days until the holidays are entered and the year confirmed."
        )
        % {"years": year_list},
        url=_calendar_admin_path(),
        acting=Acting.system("calendar-coverage-check"),
    )
    return years


def _calendar_admin_path() -> str:
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse("core:calendar_admin")
    except NoReverseMatch:
        return ""


register_periodic("core.check_calendar_coverage", check_calendar_coverage, every=timedelta(days=1))
