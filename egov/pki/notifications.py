"""Notification kinds of the CA (discovered by egov.core.notifications)."""

from django.utils.translation import gettext_lazy as _

from egov.core.choices import NotificationChannel
from egov.core.notifications import register_notification_kind
from egov.pki.services import EXPIRY_NOTICE_KIND

register_notification_kind(
    EXPIRY_NOTICE_KIND,
    _("Certificate expiring"),
    default_channels=(NotificationChannel.EMAIL,),
)
