"""API authentication: bearer access tokens for mobile clients, the session for the browser.

Access token: `django.core.signing` value `{"d": device uuid, "u": user pk, "p": password
marker}`, valid for `ACCESS_TOKEN_SECONDS`; accepted only while its device is not revoked, its
user is active and the user's password is the one the device signed in with.
Refresh token: a signed `{"d": device uuid, "p": password marker, "n": random}`; the device row
keeps only its SHA-256. The password marker works as Django's session auth hash does for
sessions: changing (or resetting) the password signs every device out.
A refresh token that is validly signed but no longer the device's current one is a reused old
token: the device is revoked (see `services.do_refresh_token`).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from egov.api.models import ApiDevice
from egov.orgs.identity import needs_second_factor
from egov.orgs.models import User

ACCESS_SALT = "egov.api.access"
REFRESH_SALT = "egov.api.refresh"
PASSWORD_MARKER_SALT = "egov.api.password"  # noqa: S105 -- a signing salt, not a secret
ACCESS_TOKEN_SECONDS = int(getattr(settings, "EGOV_API_ACCESS_TOKEN_SECONDS", 15 * 60))
REFRESH_TOKEN_DAYS = int(getattr(settings, "EGOV_API_REFRESH_TOKEN_DAYS", 30))
# last_used_at is written at most this often per device (not on every request).
LAST_USED_GRANULARITY = timedelta(minutes=5)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def password_marker(user: User) -> str:
    """Changes whenever the user's password hash changes (an HMAC of it, not the hash itself)."""
    return salted_hmac(PASSWORD_MARKER_SALT, user.password, algorithm="sha256").hexdigest()[:32]


def matches_password(user: User, marker: Any) -> bool:
    return isinstance(marker, str) and constant_time_compare(marker, password_marker(user))


def make_access_token(device: ApiDevice) -> str:
    return signing.dumps(
        {"d": str(device.uuid), "u": device.user_id, "p": password_marker(device.user)},
        salt=ACCESS_SALT,
    )


def make_refresh_token(device: ApiDevice) -> str:
    return signing.dumps(
        {
            "d": str(device.uuid),
            "p": password_marker(device.user),
            "n": secrets.token_urlsafe(24),
        },
        salt=REFRESH_SALT,
    )


@dataclass(frozen=True)
class RefreshClaims:
    device_uuid: str
    password_marker: str


def read_refresh_token(token: str) -> RefreshClaims | None:
    """The claims of a validly signed, unexpired refresh token; None otherwise."""
    try:
        data = signing.loads(token, salt=REFRESH_SALT, max_age=timedelta(days=REFRESH_TOKEN_DAYS))
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("d"), str):
        return None
    if not isinstance(data.get("p"), str):
        return None
    return RefreshClaims(device_uuid=data["d"], password_marker=data["p"])


def device_for_access_token(token: str) -> ApiDevice | None:
    """The live device an access token belongs to (one query), or None."""
    try:
        data = signing.loads(token, salt=ACCESS_SALT, max_age=ACCESS_TOKEN_SECONDS)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("d"), str):
        return None
    user_id = data.get("u")
    if not isinstance(user_id, int):
        return None
    device = (
        ApiDevice.objects.select_related("user")
        .filter(uuid=data["d"], user_id=user_id, revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if device is None or not matches_password(device.user, data.get("p")):
        return None  # the password changed since the device signed in
    return device


class TokenAuth(HttpBearer):
    """`Authorization: Bearer <access token>`."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        if not token or len(token) > 1000:
            return None
        try:
            device = device_for_access_token(token)
        except Exception:  # a malformed uuid inside a validly signed token cannot happen; be safe
            return None
        if device is None:
            return None
        now = timezone.now()
        if device.last_used_at is None or now - device.last_used_at > LAST_USED_GRANULARITY:
            ApiDevice.objects.filter(pk=device.pk).update(last_used_at=now)
            device.last_used_at = now
        user: User = device.user
        request.user = user
        request.api_device = device  # type: ignore[attr-defined]
        return user


class SessionAuth(APIKeyCookie):
    """The browser's Django session. Unsafe methods need the CSRF token (`X-CSRFToken`)."""

    param_name = settings.SESSION_COOKIE_NAME

    def _get_key(self, request: HttpRequest) -> str | None:
        # Only check CSRF when the session is what authenticates: a request with no session
        # gets a 401, not a CSRF 403.
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_active:
            return None
        if needs_second_factor(user) and not _is_verified(user):
            return None
        if self.csrf and not getattr(request, "_ninja_csrf_exempt", False):
            from ninja.errors import HttpError

            if check_csrf(request):
                raise HttpError(403, "CSRF check Failed")
        return user


def _is_verified(user: Any) -> bool:
    is_verified = getattr(user, "is_verified", None)
    return bool(is_verified()) if callable(is_verified) else False


token_auth = TokenAuth()
session_auth = SessionAuth()
