"""Login with lockout and a TOTP second factor, logout, password change, position switch.

Thin views: they parse the form, call `egov.orgs.identity`, and render. See docs/security.md.
"""

from __future__ import annotations

from typing import Any, cast

import segno
from axes.helpers import get_client_ip_address, get_client_username
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AnonymousUser
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.http.request import RawPostDataException
from django.shortcuts import redirect, render, resolve_url
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from egov.core.acting import Acting
from egov.core.errors import DomainError
from egov.orgs import identity
from egov.orgs.auth_forms import LoginForm, PasswordChangeForm, SwitchPositionForm, TokenForm
from egov.orgs.models import Position, User
from egov.orgs.passwords import password_change_required

API_PREFIX = "/api/"


def _safe_next(request: HttpRequest, target: str | None) -> str | None:
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


def _home() -> str:
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _pop_next(request: HttpRequest) -> str:
    target = request.session.pop(identity.NEXT_URL_SESSION_KEY, None)
    return _safe_next(request, target) or _home()


def _remember_next(request: HttpRequest) -> None:
    """Keep `?next=` (when safe) for after the OTP step or the password change."""
    target = _safe_next(request, request.GET.get("next"))
    if target:
        request.session[identity.NEXT_URL_SESSION_KEY] = target


def _after_login(request: HttpRequest) -> HttpResponseRedirect:
    """Where a logged-in person goes next: the OTP step, a forced password change, or on."""
    user = cast(User, request.user)
    if identity.needs_second_factor(user) and not user.is_verified():  # type: ignore[attr-defined]  # OTPMiddleware
        if identity.confirmed_totp_device(user) is None:
            return redirect("accounts:otp_setup")
        return redirect("accounts:otp_verify")
    if password_change_required(user):
        return redirect("accounts:password_change")
    return redirect(_pop_next(request))


def _public_shell(request: HttpRequest) -> dict[str, Any]:
    """Half-logged-in pages show the shell without navigation (its links would bounce back)."""
    return {"user": AnonymousUser()}


# ---------------------------------------------------------------------------------------------
# Login and logout


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    """Step 1: user name and password (django-axes counts failures and locks)."""
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    user = request.user
    fully_logged_in = user.is_authenticated and (
        not identity.needs_second_factor(user) or user.is_verified()  # type: ignore[attr-defined]  # OTPMiddleware
    )
    if request.method == "GET" and fully_logged_in:
        return redirect(next_url or _home())
    form = LoginForm(request, data=request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form.is_valid():
            identity.do_login(request, form.get_user())
            if next_url:
                request.session[identity.NEXT_URL_SESSION_KEY] = next_url
            return _after_login(request)
        if "username" not in form.errors and "password" not in form.errors:
            # The fields were well-formed, so authenticate() ran and the attempt counted.
            identity.do_record_login_failure(request, form.cleaned_data.get("username", ""))
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "orgs/auth/login.html",
        {"form": form, "next": next_url or "", **_public_shell(request)},
        status=status,
    )


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    identity.do_logout(request)
    return redirect(settings.LOGOUT_REDIRECT_URL)


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """django-axes calls this when a user name or address is locked (AXES_LOCKOUT_CALLABLE).

    A page for browsers, the API's error shape for /api/ clients; 429 with Retry-After.
    """
    username = get_client_username(request, credentials) if credentials else None
    if username is None and request.method == "POST":
        try:
            username = request.POST.get("username")
        except RawPostDataException:  # an API view read the body as a stream
            username = None
    ip_address = get_client_ip_address(request)
    retry_at = identity.lockout_retry_at(username, ip_address)
    retry_after = max(int((retry_at - timezone.now()).total_seconds()), 1) if retry_at else None
    message = _("Too many failed login attempts: the account is locked for now.")
    response: HttpResponse
    if request.path.startswith(API_PREFIX) or "application/json" in request.headers.get(
        "Accept", ""
    ):
        response = JsonResponse(
            {
                "code": "locked_out",
                "message": message,
                "details": [{"retry_at": retry_at.isoformat() if retry_at else None}],
            },
            status=429,
        )
    else:
        response = render(
            request,
            "orgs/auth/locked_out.html",
            {
                "message": message,
                "retry_at": retry_at,
                "failure_limit": settings.AXES_FAILURE_LIMIT,
                "helpdesk": getattr(settings, "EGOV_HELPDESK", ""),
                **_public_shell(request),
            },
            status=429,
        )
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


# ---------------------------------------------------------------------------------------------
# Second factor


def _token_error_response(
    request: HttpRequest, template: str, form: TokenForm, error: Exception, context: dict[str, Any]
) -> HttpResponse:
    if isinstance(error, identity.LockedOut):
        return lockout_response(request, credentials=None)
    message = getattr(error, "message", str(error))
    form.add_error("token", str(message))
    status = getattr(error, "status", 400)
    retry_at = getattr(error, "retry_at", None)
    return render(
        request,
        template,
        {"form": form, "retry_at": retry_at, **context, **_public_shell(request)},
        status=status,
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def otp_verify(request: HttpRequest) -> HttpResponse:
    """Step 2 for 三员, 签发人 and staff: a code from their authenticator app."""
    user = cast(User, request.user)
    if user.is_verified():  # type: ignore[attr-defined]  # OTPMiddleware
        return redirect(_pop_next(request))
    if identity.confirmed_totp_device(user) is None:
        return redirect("accounts:otp_setup")
    _remember_next(request)
    form = TokenForm(request.POST if request.method == "POST" else None)
    template = "orgs/auth/otp_verify.html"
    if request.method == "POST":
        if form.is_valid():
            try:
                identity.do_verify_second_factor(request, user, form.cleaned_data["token"])
            except DomainError as error:
                return _token_error_response(request, template, form, error, {})
            return _after_login(request)
        return render(request, template, {"form": form, **_public_shell(request)}, status=400)
    return render(request, template, {"form": form, **_public_shell(request)})


def _qr_svg(data: str) -> str:
    """The provisioning URI as an inline SVG QR code, drawn here (no external service)."""
    qr = segno.make(data, error="m")
    return str(
        qr.svg_inline(
            scale=5,
            border=4,
            dark="#000",
            light="#fff",
            title=_("QR code for your authenticator app"),
            svgclass="qr-code",
            lineclass=None,
        )
    )


def _group_secret(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def otp_setup(request: HttpRequest) -> HttpResponse:
    """Enrolment: scan the QR code (or type the secret), then confirm with the first code."""
    user = cast(User, request.user)
    if identity.confirmed_totp_device(user) is not None:
        # A device exists: it must be used (re-enrolment goes through the security administrator).
        return redirect("accounts:otp_verify")
    if not identity.needs_second_factor(user):
        raise Http404
    device = identity.do_start_totp_enrolment(user, acting=Acting.from_request(request))
    secret = identity.totp_secret_base32(device)
    context = {
        "qr_svg": _qr_svg(device.config_url),
        "secret": secret,
        "secret_grouped": _group_secret(secret),
        "issuer": settings.OTP_TOTP_ISSUER,
        "account": user.get_username(),
    }
    template = "orgs/auth/otp_setup.html"
    _remember_next(request)
    form = TokenForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form.is_valid():
            try:
                identity.do_confirm_totp_device(request, user, device, form.cleaned_data["token"])
            except DomainError as error:
                return _token_error_response(request, template, form, error, context)
            return _after_login(request)
        return render(
            request, template, {"form": form, **context, **_public_shell(request)}, status=400
        )
    return render(request, template, {"form": form, **context, **_public_shell(request)})


# ---------------------------------------------------------------------------------------------
# Password and position


@sensitive_post_parameters("old_password", "new_password1", "new_password2")
@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def password_change(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    forced = password_change_required(user)
    _remember_next(request)
    form = PasswordChangeForm(user, request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form.is_valid():
            identity.do_change_password(
                user, form.cleaned_data["new_password1"], acting=Acting.from_request(request)
            )
            identity.keep_session_after_password_change(request, user)
            return redirect(_pop_next(request))
        try:
            identity.do_record_password_change_failure(
                request,
                user,
                acting=Acting.from_request(request),
                fields=sorted(form.errors),
                wrong_password=form.has_error("old_password", "password_incorrect"),
            )
        except identity.LockedOut:
            return lockout_response(request)
    context: dict[str, Any] = {"form": form, "forced": forced}
    if forced:
        context.update(_public_shell(request))
    status = 400 if request.method == "POST" else 200
    return render(request, "orgs/auth/password_change.html", context, status=status)


@login_required
@require_POST
def switch_position(request: HttpRequest) -> HttpResponse:
    """Choose which of one's own active positions to act in (stored in the session)."""
    user = cast(User, request.user)
    form = SwitchPositionForm(request.POST)
    if not form.is_valid():
        return JsonResponse(
            {
                "code": "invalid",
                "message": _("Choose one of your positions."),
                "details": [
                    {"field": field, "message": str(errors[0])}
                    for field, errors in form.errors.items()
                ],
            },
            status=400,
        )
    position = (
        Position.objects.select_related("organisation")
        .filter(uuid=form.cleaned_data["position"], user=user, is_active=True)
        .first()
    )
    if position is None:
        raise Http404  # someone else's position, or none: existence does not leak
    identity.do_switch_position(request, user, position)
    target = (
        _safe_next(request, form.cleaned_data.get("next"))
        or _safe_next(request, request.headers.get("Referer"))
        or _home()
    )
    return redirect(target)
