"""`/auth`: tokens for mobile clients (issue, refresh, revoke) and the user's signed-in devices."""

from __future__ import annotations

from typing import Any, cast
from uuid import UUID

from django.contrib.auth import authenticate
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router
from ninja.responses import Status

from egov.api.errors import error_response, errors
from egov.api.models import ApiDevice
from egov.api.pagination import Page, PageQuery, paginate
from egov.api.schemas import DeviceOut, RefreshRequest, TokenOut, TokenRequest
from egov.api.services import (
    IssuedTokens,
    do_issue_token,
    do_record_token_failure,
    do_refresh_token,
    do_revoke_device,
    do_revoke_refresh_token,
)
from egov.core.acting import Acting
from egov.orgs.identity import (
    confirmed_totp_device,
    count_login_failure,
    needs_second_factor,
    verify_totp_token,
)
from egov.orgs.models import User
from egov.orgs.passwords import password_change_required

router = Router(tags=["auth"])


def _token_out(issued: IssuedTokens) -> dict[str, Any]:
    return {
        "access_token": issued.access_token,
        "refresh_token": issued.refresh_token,
        "expires_in": issued.expires_in,
        "token_type": "Bearer",
        "device": issued.device.uuid,
    }


def _locked_out(request: HttpRequest) -> bool:
    locked = bool(getattr(request, "axes_locked_out", False))
    if locked:
        # Answer in the API's own error shape; AxesMiddleware would swap in the HTML page.
        request.axes_locked_out = False  # type: ignore[attr-defined]
    return locked


@router.post(
    "/token",
    auth=None,
    response={200: TokenOut, **errors(400, 401, 403, 413, 422, 429)},
    summary="Sign a device in with user name and password (and a TOTP code for 2FA roles)",
)
def issue_token(request: HttpRequest, payload: TokenRequest) -> Any:
    acting = Acting.anonymous(request)
    user = authenticate(request=request, username=payload.username, password=payload.password)
    if _locked_out(request):
        do_record_token_failure(payload.username, reason="locked_out", acting=acting)
        return error_response(
            "locked_out", _("Too many failed attempts; the account is locked for a while."), 429
        )
    if user is None or not user.is_active:
        do_record_token_failure(payload.username, reason="bad_credentials", acting=acting)
        return error_response("invalid_credentials", _("The user name or password is wrong."), 401)
    if needs_second_factor(user):
        device = confirmed_totp_device(user)
        if device is None:
            do_record_token_failure(payload.username, reason="no_second_factor", acting=acting)
            return error_response(
                "second_factor_setup_required",
                _("Set up a second factor in the browser before signing in a device."),
                403,
            )
        if not payload.otp:
            return error_response(
                "otp_required",
                _("Enter the code from your authenticator app."),
                401,
                [{"field": "otp", "message": _("This field is required."), "code": "required"}],
            )
        if not verify_totp_token(device, payload.otp):
            count_login_failure(request, payload.username)
            if _locked_out(request):
                do_record_token_failure(payload.username, reason="locked_out", acting=acting)
                return error_response(
                    "locked_out",
                    _("Too many failed attempts; the account is locked for a while."),
                    429,
                )
            do_record_token_failure(payload.username, reason="bad_otp", acting=acting)
            return error_response(
                "invalid_otp",
                _("The code is wrong or expired."),
                401,
                [
                    {
                        "field": "otp",
                        "message": _("The code is wrong or expired."),
                        "code": "invalid",
                    }
                ],
            )
    if password_change_required(user):
        do_record_token_failure(payload.username, reason="password_change_required", acting=acting)
        return error_response(
            "password_change_required",
            _("Change your password in the browser before signing in a device."),
            403,
        )
    issued = do_issue_token(
        user,
        device_id=payload.device_id,
        name=payload.device_name,
        acting=Acting(user=user, source_ip=acting.source_ip),
    )
    return _token_out(issued)


@router.post(
    "/refresh",
    auth=None,
    response={200: TokenOut, **errors(400, 401, 403, 413, 422)},
    summary="Exchange a refresh token for a new pair (the old refresh token stops working)",
)
def refresh_token(request: HttpRequest, payload: RefreshRequest) -> Any:
    issued = do_refresh_token(payload.refresh_token, acting=Acting.anonymous(request))
    return _token_out(issued)


@router.post(
    "/revoke",
    auth=None,
    response={204: None, **errors(400, 401, 403, 413, 422)},
    summary="Sign a device out with its refresh token",
)
def revoke_token(request: HttpRequest, payload: RefreshRequest) -> Any:
    do_revoke_refresh_token(payload.refresh_token, acting=Acting.anonymous(request))
    return Status(204, None)


@router.get(
    "/devices",
    response={200: Page[DeviceOut], **errors(401, 403, 422)},
    summary="The current user's signed-in devices",
)
def list_devices(request: HttpRequest, paging: Query[PageQuery]) -> Any:
    current = getattr(request, "api_device", None)
    user = cast("User", request.user)
    page = paginate(ApiDevice.objects.filter(user=user, revoked_at__isnull=True), paging)
    page["items"] = [
        {
            "uuid": d.uuid,
            "device_id": d.device_id,
            "name": d.name,
            "created_at": d.created_at,
            "last_used_at": d.last_used_at,
            "revoked_at": d.revoked_at,
            "current": current is not None and current.pk == d.pk,
        }
        for d in page["items"]
    ]
    return page


@router.delete(
    "/devices/{device}",
    response={204: None, **errors(401, 403, 404, 422)},
    summary="Sign one of the current user's devices out",
)
def revoke_device(request: HttpRequest, device: UUID) -> Any:
    user = cast("User", request.user)
    target = ApiDevice.objects.filter(user=user, uuid=device, revoked_at__isnull=True).first()
    if target is None:
        raise Http404
    do_revoke_device(target, acting=Acting.from_request(request), reason="revoked_by_user")
    return HttpResponse(status=204)
