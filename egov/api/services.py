"""Writes for API devices and tokens: issue, refresh (rotating), revoke. Each records an audit event."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from egov.api.auth import (
    ACCESS_TOKEN_SECONDS,
    hash_token,
    make_access_token,
    make_refresh_token,
    matches_password,
    read_refresh_token,
)
from egov.api.models import ApiDevice
from egov.core.acting import Acting
from egov.core.audit import record_audit
from egov.core.choices import AuditOutcome
from egov.core.errors import DomainError
from egov.orgs.models import User
from egov.orgs.passwords import password_change_required


class InvalidToken(DomainError):
    code = "invalid_token"
    status = 401


class PasswordChangeRequired(DomainError):
    code = "password_change_required"
    status = 403


@dataclass(frozen=True)
class IssuedTokens:
    device: ApiDevice
    access_token: str
    refresh_token: str
    expires_in: int = ACCESS_TOKEN_SECONDS


def _rotate(device: ApiDevice) -> IssuedTokens:
    refresh = make_refresh_token(device)
    device.refresh_token_hash = hash_token(refresh)
    return IssuedTokens(
        device=device, access_token=make_access_token(device), refresh_token=refresh
    )


def do_issue_token(user: User, *, device_id: str, name: str = "", acting: Acting) -> IssuedTokens:
    """A fresh token pair for `user` on `device_id` (re-using its live device row if any)."""
    now = timezone.now()
    with transaction.atomic():
        # One sign-in per person at a time: two at once for a new device would both insert it
        # (IntegrityError on api_device_one_active_per_device_id). The user row is locked first.
        User.objects.select_for_update().only("pk").get(pk=user.pk)
        device = (
            ApiDevice.objects.select_for_update()
            .filter(user=user, device_id=device_id, revoked_at__isnull=True)
            .first()
        )
        if device is None:
            device = ApiDevice(user=user, device_id=device_id)
        device.user = user  # the tokens carry a marker of the password: no extra query
        device.name = name or device.name
        device.last_used_at = now
        device.refreshed_at = now
        if device.pk is None:
            device.refresh_token_hash = ""
            device.save()
        issued = _rotate(device)
        device.save()
        record_audit(
            "auth.token_issued",
            acting=acting,
            obj=device,
            details={"device": str(device.uuid), "device_id": device_id},
        )
    return issued


def do_record_token_failure(username: str, *, reason: str, acting: Acting) -> None:
    with transaction.atomic():
        record_audit(
            "auth.token_failed",
            acting=acting,
            outcome=AuditOutcome.FAILURE,
            username=username[:150],
            details={"reason": reason},
        )


def _revoke(device: ApiDevice, *, reason: str, acting: Acting) -> None:
    device.revoked_at = timezone.now()
    device.revoked_reason = reason
    device.save(update_fields=["revoked_at", "revoked_reason"])
    record_audit(
        "auth.device_revoked",
        acting=acting,
        obj=device,
        outcome=AuditOutcome.SUCCESS,
        details={"device": str(device.uuid), "reason": reason},
    )


def do_refresh_token(refresh_token: str, *, acting: Acting) -> IssuedTokens:
    """Rotate: the old refresh token stops working. Re-using an old one revokes the device."""
    claims = read_refresh_token(refresh_token)
    if claims is None:
        raise InvalidToken(_("The refresh token is invalid or expired."), field="refresh_token")
    reused = must_change = False
    issued: IssuedTokens | None = None
    with transaction.atomic():
        device = (
            # The device row only: do_issue_token locks the user row before the device's.
            ApiDevice.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(uuid=claims.device_uuid)
            .first()
        )
        if device is not None and device.revoked_at is None and device.user.is_active:
            if not matches_password(device.user, claims.password_marker):
                # Signed in before the password was changed or reset: that ends the device.
                _revoke(
                    device,
                    reason="password_changed",
                    acting=Acting(user=device.user, source_ip=acting.source_ip),
                )
            elif device.refresh_token_hash != hash_token(refresh_token):
                # A genuine but superseded token: someone else may hold a copy. End the device.
                reused = True
                _revoke(
                    device,
                    reason="refresh_token_reused",
                    acting=Acting(user=device.user, source_ip=acting.source_ip),
                )
            elif password_change_required(device.user):
                must_change = True
            else:
                now = timezone.now()
                device.last_used_at = now
                device.refreshed_at = now
                issued = _rotate(device)
                device.save(update_fields=["refresh_token_hash", "last_used_at", "refreshed_at"])
                acting_as = Acting(user=device.user, source_ip=acting.source_ip)
                record_audit(
                    "auth.token_refreshed",
                    acting=acting_as,
                    obj=device,
                    details={"device": str(device.uuid)},
                )
    if issued is not None:
        return issued
    if must_change:
        raise PasswordChangeRequired(_("Change your password in the browser, then refresh again."))
    if reused:
        raise InvalidToken(
            _("This refresh token was already used; the device has been signed out."),
            field="refresh_token",
        )
    raise InvalidToken(_("The refresh token is invalid or expired."), field="refresh_token")


def do_revoke_device(device: ApiDevice, *, acting: Acting, reason: str = "revoked") -> ApiDevice:
    with transaction.atomic():
        locked = ApiDevice.objects.select_for_update().get(pk=device.pk)
        if locked.revoked_at is None:
            _revoke(locked, reason=reason, acting=acting)
    return locked


def do_revoke_refresh_token(refresh_token: str, *, acting: Acting) -> None:
    """Sign a device out with its refresh token (current or old). Unknown tokens: 401."""
    claims = read_refresh_token(refresh_token)
    device = (
        ApiDevice.objects.select_related("user").filter(uuid=claims.device_uuid).first()
        if claims is not None
        else None
    )
    if device is None:
        raise InvalidToken(_("The refresh token is invalid or expired."), field="refresh_token")
    do_revoke_device(
        device, acting=Acting(user=device.user, source_ip=acting.source_ip), reason="signed_out"
    )
