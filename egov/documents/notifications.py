"""Notification kinds of the documents app (discovered by egov.core.notifications)."""

from django.utils.translation import gettext_lazy as _

from egov.core.choices import NotificationChannel
from egov.core.notifications import register_notification_kind

register_notification_kind(
    "documents.received", _("Document received"), default_channels=(NotificationChannel.EMAIL,)
)
register_notification_kind(
    "documents.chased",
    _("Document reminder"),
    default_channels=(NotificationChannel.EMAIL, NotificationChannel.SMS),
)
register_notification_kind(
    "documents.assigned",
    _("Document to handle"),
    default_channels=(NotificationChannel.EMAIL, NotificationChannel.SMS),
)
