"""Notification kinds of the supervision app (discovered by egov.core.notifications)."""

from django.utils.translation import gettext_lazy as _

from egov.core.choices import NotificationChannel
from egov.core.notifications import register_notification_kind
from egov.supervision.services import NOTICE_KIND, REMINDER_KIND

register_notification_kind(
    NOTICE_KIND, _("Supervised task"), default_channels=(NotificationChannel.EMAIL,)
)
register_notification_kind(
    REMINDER_KIND,
    _("Supervision reminder"),
    default_channels=(NotificationChannel.EMAIL, NotificationChannel.SMS),
)
