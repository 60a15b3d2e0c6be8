"""Notification kinds of the exchange (discovered by egov.core.notifications)."""

from django.utils.translation import gettext_lazy as _

from egov.core.choices import NotificationChannel
from egov.core.notifications import register_notification_kind
from egov.exchange.services import FAILED_KIND

register_notification_kind(
    FAILED_KIND,
    _("Document exchange delivery failed"),
    default_channels=(NotificationChannel.EMAIL,),
)
