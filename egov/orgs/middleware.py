"""Account policy on every request (GB/T 22239 level 3, 身份鉴别).

After the password step a person who needs a second factor (三员, 签发人, staff) reaches nothing
but the OTP pages until a TOTP device has verified them; then anyone whose password is initial
(`must_change_password`) or older than EGOV_PASSWORD_MAX_AGE_DAYS reaches nothing but the
password-change page. Browsers are redirected; /api/ clients get the API's error shape.

Installed after django_otp's OTPMiddleware (which provides `request.user.is_verified()`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from egov.orgs.identity import needs_second_factor
from egov.orgs.passwords import password_change_required

API_PREFIX = "/api/"
# Reachable in every half-logged-in state.
ALWAYS_ALLOWED = ("accounts:login", "accounts:logout", "set_language")
SECOND_FACTOR_ALLOWED = (*ALWAYS_ALLOWED, "accounts:otp_verify", "accounts:otp_setup")
PASSWORD_CHANGE_ALLOWED = (*ALWAYS_ALLOWED, "accounts:password_change")


def _paths(names: Iterable[str]) -> set[str]:
    paths = set()
    for name in names:
        try:
            paths.add(reverse(name))
        except NoReverseMatch:  # not mounted on this node
            continue
    return paths


def _is_allowed(request: HttpRequest, names: Iterable[str]) -> bool:
    path = request.path_info
    static_url = settings.STATIC_URL or "/static/"
    if path.startswith(static_url) or path in {"/healthz", "/healthz/"}:
        return True
    return path in _paths(names)


def _divert(request: HttpRequest, url_name: str, code: str, message: str) -> HttpResponse:
    if request.path_info.startswith(API_PREFIX):
        return JsonResponse({"code": code, "message": message, "details": []}, status=403)
    url = reverse(url_name)
    if request.method == "GET" and not request.headers.get("HX-Request"):
        url = f"{url}?{urlencode({'next': request.get_full_path()})}"
    if request.headers.get("HX-Request"):
        # htmx would swap the redirected page into a fragment: ask it to navigate instead.
        response = HttpResponse(status=200)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


class AccountPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            if needs_second_factor(user) and not user.is_verified():
                if not _is_allowed(request, SECOND_FACTOR_ALLOWED):
                    return _divert(
                        request,
                        "accounts:otp_verify",
                        "second_factor_required",
                        _("Enter the code from your authenticator app first."),
                    )
            elif password_change_required(user) and not _is_allowed(
                request, PASSWORD_CHANGE_ALLOWED
            ):
                return _divert(
                    request,
                    "accounts:password_change",
                    "password_change_required",
                    _("Your password must be changed first."),
                )
        return self.get_response(request)
