import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from egov.core.choices import AttemptStatus, NotificationChannel

from .base import TimeStampedModel


class Notification(TimeStampedModel):
    """A message to one user; always in the in-app inbox, also sent by e-mail/SMS per preference."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(_("kind"), max_length=64)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"), blank=True)
    url = models.CharField(_("link"), max_length=500, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [models.Index(fields=["recipient", "read_at"], name="core_notif_recipient_read")]

    def __str__(self) -> str:
        return self.title


class NotificationPreference(TimeStampedModel):
    """Whether a user wants a kind of notification on a channel (absent row: the kind's default)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("kind"), max_length=64)
    channel = models.CharField(_("channel"), max_length=10, choices=NotificationChannel.choices)
    enabled = models.BooleanField(_("enabled"), default=True)

    class Meta:
        ordering = ["user_id", "kind", "channel"]
        verbose_name = _("notification preference")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "kind", "channel"], name="core_notifpref_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} {self.channel} {self.enabled}"


class NotificationAttempt(models.Model):
    """Every attempt to deliver a notification on a channel, kept as evidence."""

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="attempts"
    )
    channel = models.CharField(_("channel"), max_length=10, choices=NotificationChannel.choices)
    status = models.CharField(_("status"), max_length=10, choices=AttemptStatus.choices)
    address = models.CharField(_("address"), max_length=254, blank=True)
    error = models.TextField(_("error"), blank=True)
    attempted_at = models.DateTimeField(_("attempted at"), auto_now_add=True)

    class Meta:
        ordering = ["attempted_at", "id"]
        verbose_name = _("delivery attempt")

    def __str__(self) -> str:
        return f"{self.notification_id} {self.channel} {self.status}"
