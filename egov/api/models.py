"""Devices that hold API tokens (mobile office clients, 移动办公)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ApiDevice(models.Model):
    """A client device signed in to the API with a refresh token.

    Only a SHA-256 hash of the current refresh token is stored. Access tokens are short-lived
    signed values naming the device, so revoking the device ends every token it holds.
    """

    uuid = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="api_devices",
    )
    device_id = models.CharField(_("device id"), max_length=100)
    name = models.CharField(_("device name"), max_length=100, blank=True)
    refresh_token_hash = models.CharField(max_length=64, db_index=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    refreshed_at = models.DateTimeField(_("refreshed at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_reason = models.CharField(_("reason for revocation"), max_length=50, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("API device")
        verbose_name_plural = _("API devices")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "device_id"],
                condition=models.Q(revoked_at__isnull=True),
                name="api_device_one_active_per_device_id",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name or self.device_id} ({self.user_id})"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
