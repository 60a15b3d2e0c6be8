"""Identity services (身份鉴别): log in and out, the TOTP second factor, password changes.

Every step writes an audit event (who, position, organisation, action, object, time, source IP,
outcome). The views in `auth_views.py` are thin wrappers around these functions.

Login is two steps for people who need a second factor (三员, 签发人, staff): the password step
logs them in with Django, but `AccountPolicyMiddleware` lets them reach nothing except the OTP
pages until a TOTP device has verified them (`request.user.is_verified()`, django-otp).
"""

from __future__ import annotations

import functools
from base64 import b32encode
from datetime import datetime
from typing import TYPE_CHECKING, Any

import django_otp
from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import login as django_login
from django.contrib.auth import logout as django_logout
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.middleware import is_verified as otp_is_verified
from django_otp.plugins.otp_totp.models import TOTPDevice

from egov.core.acting import Acting
from egov.core.audit import record_audit
from egov.core.choices import AuditOutcome
from egov.core.errors import DomainError
from egov.core.middleware import client_ip
from egov.orgs.models import PasswordHistory, Position, User
from egov.orgs.passwords import KEPT_HISTORY

if TYPE_CHECKING:
    from django.http import HttpRequest

# Session keys.
NEXT_URL_SESSION_KEY = "egov_login_next"
POSITION_SESSION_KEY = "position_id"
TOTP_DEVICE_NAME = "TOTP"


class SecondFactorInvalid(DomainError):
    code = "otp_invalid"
    status = 400


class SecondFactorThrottled(DomainError):
    """Too many wrong codes: the device refuses to check codes until `retry_at`."""

    code = "otp_throttled"
    status = 429

    def __init__(self, message: Any, *, retry_at: datetime | None, field: str | None = None):
        super().__init__(message, field=field)
        self.retry_at = retry_at


class LockedOut(DomainError):
    code = "locked_out"
    status = 429


# ---------------------------------------------------------------------------------------------
# Reads


def needs_second_factor(user: Any) -> bool:
    """三员 and 签发人 (SECOND_FACTOR_ROLES) and anyone who may enter the Django admin."""
    if user is None or not user.is_authenticated:
        return False
    return bool(user.is_staff or user.is_superuser or user.requires_second_factor)


def confirmed_totp_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("id").first()


def totp_secret_base32(device: TOTPDevice) -> str:
    """The secret as people type it into an authenticator app (RFC 4648 base32, no padding)."""
    return b32encode(device.bin_key).decode("ascii").rstrip("=")


def lockout_retry_at(username: str | None, ip_address: str | None) -> datetime | None:
    """When a locked-out username or address may try again (None when no cool-off is set)."""
    cool_off = get_cool_off()
    if cool_off is None:
        return None
    condition = Q(pk__in=[])
    if username:
        condition |= Q(username=username)
    if ip_address:
        condition |= Q(ip_address=ip_address)
    last = AccessAttempt.objects.filter(condition).aggregate(last=Max("attempt_time"))["last"]
    return (last or timezone.now()) + cool_off


# ---------------------------------------------------------------------------------------------
# Login and logout


def do_login(request: HttpRequest, user: User) -> bool:
    """Step 1 passed (the password was right). Returns True when a second factor is still due."""
    with transaction.atomic():
        django_login(request, user)
        # A fresh login: no position chosen yet, no device verified (even if the same person
        # was verified earlier in this browser session).
        request.session.pop(POSITION_SESSION_KEY, None)
        request.session.pop(DEVICE_ID_SESSION_KEY, None)
        user.otp_device = None  # type: ignore[attr-defined]  # the attributes OTPMiddleware installs
        user.is_verified = functools.partial(otp_is_verified, user)  # type: ignore[attr-defined]
        second_factor = needs_second_factor(user)
        record_audit(
            "auth.login",
            acting=Acting.from_request(request, user=user),
            obj=user,
            details={"second_factor": "pending" if second_factor else "not_required"},
        )
    return second_factor


def do_record_login_failure(request: HttpRequest, username: str) -> None:
    """A wrong user name or password, or an attempt while locked out. The password is never kept.

    django-axes has already counted the failure (it listens to `authenticate`); this writes the
    audit trail: `auth.login_failed` always, and `auth.locked_out` when this failure set the lock.
    """
    username = (username or "")[:150]
    account = User.objects.filter(username=username).first() if username else None
    locked = bool(getattr(request, "axes_locked_out", False))
    # Axes sets `axes_failures_since_start` when it counted this failure (by default a failure
    # during the lock is counted too and restarts the cool-off); this attempt set the lock when
    # it brought the count to the limit, not past it.
    failures = getattr(request, "axes_failures_since_start", None)
    newly_locked = locked and failures is not None and failures <= settings.AXES_FAILURE_LIMIT
    acting = Acting(user=None, source_ip=client_ip(request), label=username or "anonymous")
    with transaction.atomic():
        record_audit(
            "auth.login_failed",
            acting=acting,
            obj=account,
            outcome=AuditOutcome.DENIED if locked and not newly_locked else AuditOutcome.FAILURE,
            username=username,
            details={
                "username": username,
                "reason": "locked_out" if locked and not newly_locked else "bad_credentials",
            },
        )
        if newly_locked:
            record_audit(
                "auth.locked_out",
                acting=acting,
                obj=account,
                outcome=AuditOutcome.DENIED,
                username=username,
                details={
                    "username": username,
                    "failures": failures,
                    "retry_at": lockout_retry_at(username, client_ip(request)),
                },
            )


def do_logout(request: HttpRequest) -> None:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        record_audit("auth.logout", acting=Acting.from_request(request), obj=user)
    django_logout(request)


# ---------------------------------------------------------------------------------------------
# Second factor (TOTP)


def do_start_totp_enrolment(user: User, *, acting: Acting) -> TOTPDevice:
    """The unconfirmed device whose secret the enrolment page shows (one per user, reused)."""
    if confirmed_totp_device(user) is not None:
        raise DomainError(_("A second-factor device is already set up for this account."))
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(user=user, confirmed=False)
            .order_by("id")
            .first()
        )
        if device is None:
            device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
            record_audit("auth.otp_enrolment_started", acting=acting, obj=user)
    return device


def verify_totp_token(device: TOTPDevice, token: str) -> bool:
    """Check a code with the device row locked, so that a code is accepted only once.

    django-otp refuses a code whose time step is not after `last_t`, but reads and writes
    `last_t` without a lock: two requests bringing the same code at once would both pass.
    """
    with transaction.atomic():
        locked = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        return bool(locked.verify_token(token))


def _check_throttle(device: TOTPDevice) -> None:
    allowed, data = device.verify_is_allowed()
    if not allowed:
        retry_at = (data or {}).get("locked_until")
        raise SecondFactorThrottled(
            _("Too many wrong codes. Wait until the time shown, then try again."),
            retry_at=retry_at,
            field="token",
        )


def count_login_failure(request: HttpRequest, username: str) -> bool:
    """Wrong codes count towards the same lockout as wrong passwords. True when now locked."""
    user_login_failed.send(
        sender=__name__,
        credentials={"username": username},  # AXES_USERNAME_FORM_FIELD
        request=request,
    )
    return bool(getattr(request, "axes_locked_out", False))


def _otp_failed(request: HttpRequest, user: User, stage: str) -> None:
    acting = Acting.from_request(request, user=user)
    record_audit(
        "auth.otp_failed",
        acting=acting,
        obj=user,
        outcome=AuditOutcome.FAILURE,
        details={"stage": stage},
    )
    _lock_out_at_the_limit(request, user, acting, stage)


def _lock_out_at_the_limit(request: HttpRequest, user: User, acting: Acting, stage: str) -> None:
    """Count a failed proof of identity with axes; at the limit, end the session and refuse."""
    if count_login_failure(request, user.get_username()):
        record_audit(
            "auth.locked_out",
            acting=acting,
            obj=user,
            outcome=AuditOutcome.DENIED,
            details={
                "username": user.get_username(),
                "stage": stage,
                "retry_at": lockout_retry_at(user.get_username(), acting.source_ip),
            },
        )
        django_logout(request)
        raise LockedOut(_("Too many failed attempts: the account is locked."))


def do_confirm_totp_device(
    request: HttpRequest, user: User, device: TOTPDevice, token: str
) -> None:
    """Enrolment: the first code from the person's authenticator app confirms the device."""
    if device.user_id != user.pk or device.confirmed:
        raise DomainError(_("This enrolment is no longer valid. Start again."), field="token")
    _check_throttle(device)
    if not verify_totp_token(device, token):
        _otp_failed(request, user, stage="enrolment")
        raise SecondFactorInvalid(_("The code is wrong or has expired."), field="token")
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        django_otp.login(request, device)
        record_audit(
            "auth.otp_enrolled",
            acting=Acting.from_request(request, user=user),
            obj=user,
            details={"device": device.persistent_id},
        )


def do_verify_second_factor(request: HttpRequest, user: User, token: str) -> TOTPDevice:
    """Step 2 of the login: a code from the person's confirmed TOTP device."""
    device = confirmed_totp_device(user)
    if device is None:
        raise DomainError(_("No second-factor device is set up for this account."), field="token")
    _check_throttle(device)
    if not verify_totp_token(device, token):
        _otp_failed(request, user, stage="login")
        raise SecondFactorInvalid(_("The code is wrong or has expired."), field="token")
    with transaction.atomic():
        django_otp.login(request, device)
        record_audit(
            "auth.otp_verified",
            acting=Acting.from_request(request, user=user),
            obj=user,
            details={"device": device.persistent_id},
        )
    return device


# ---------------------------------------------------------------------------------------------
# Passwords and positions


def do_change_password(user: User, new_password: str, *, acting: Acting) -> None:
    """Set a new (already validated) password; keep the old hash so it is not reused."""
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if locked.password:
            PasswordHistory.objects.create(user=locked, password=locked.password)
        stale = list(
            PasswordHistory.objects.filter(user=locked).values_list("pk", flat=True)[KEPT_HISTORY:]
        )
        if stale:
            PasswordHistory.objects.filter(pk__in=stale).delete()
        user.set_password(new_password)
        user.password_changed_at = timezone.now()
        user.must_change_password = False
        user.save(update_fields=["password", "password_changed_at", "must_change_password"])
        record_audit("auth.password_changed", acting=acting, obj=user)


def do_record_password_change_failure(
    request: HttpRequest,
    user: User,
    *,
    acting: Acting,
    fields: list[str],
    wrong_password: bool = False,
) -> None:
    """A refused change; a wrong current password counts towards the lockout as at login.

    Otherwise whoever holds the session could guess the password without any limit.
    """
    record_audit(
        "auth.password_changed",
        acting=acting,
        obj=user,
        outcome=AuditOutcome.FAILURE,
        details={"fields": fields},
    )
    if wrong_password:
        _lock_out_at_the_limit(request, user, acting, "password_change")


def keep_session_after_password_change(request: HttpRequest, user: User) -> None:
    """Changing the password logs out other sessions but keeps this one (and its OTP state)."""
    update_session_auth_hash(request, user)


def do_switch_position(request: HttpRequest, user: User, position: Position) -> None:
    """Act in another of one's own active positions for the rest of the session."""
    if position.user_id != user.pk or not position.is_active:
        raise DomainError(_("You do not hold this position."), field="position")
    with transaction.atomic():
        request.session[POSITION_SESSION_KEY] = position.pk
        user._current_position = position  # User.current_position caches here
        record_audit(
            "auth.position_switched",
            acting=Acting(user=user, position=position, source_ip=client_ip(request)),
            obj=position,
        )
