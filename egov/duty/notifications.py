"""Notification kinds of the duty app (discovered by egov.core.notifications)."""

from django.utils.translation import gettext_lazy as _

from egov.core.choices import NotificationChannel
from egov.core.notifications import register_notification_kind
from egov.duty.services import NOTIFY_ESCALATION, NOTIFY_HANDOVER, NOTIFY_REPORT, NOTIFY_SWAP

register_notification_kind(
    NOTIFY_REPORT,
    _("Emergency report received"),
    default_channels=(NotificationChannel.SMS, NotificationChannel.EMAIL),
)
register_notification_kind(
    NOTIFY_ESCALATION,
    _("Emergency report not acknowledged"),
    default_channels=(NotificationChannel.SMS, NotificationChannel.EMAIL),
)
register_notification_kind(
    NOTIFY_HANDOVER, _("Duty handover"), default_channels=(NotificationChannel.EMAIL,)
)
register_notification_kind(
    NOTIFY_SWAP, _("Duty swap request"), default_channels=(NotificationChannel.EMAIL,)
)
