"""Request context (id, client address) for logs and the audit trail, and security headers."""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.locale import LocaleMiddleware
from django.utils import translation

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")

# No inline script or style anywhere: every asset is served by the platform itself.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def client_ip(request: HttpRequest) -> str | None:
    # Behind the reverse proxy the deployment sets REMOTE_ADDR correctly (see docs/operations.md).
    return request.META.get("REMOTE_ADDR") or None


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        # Printable ASCII only: a control character (a newline) cannot go back out as a header.
        request_id = (
            incoming
            if 0 < len(incoming) <= 64 and incoming.isascii() and incoming.isprintable()
            else uuid.uuid4().hex
        )
        token = request_id_var.set(request_id)
        # Django logs 4xx/5xx after the middleware returns; the formatter reads it from the request.
        request.request_id = request_id  # type: ignore[attr-defined]
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        return response


class LanguageMiddleware(LocaleMiddleware):
    """Pages are in Chinese unless the person chose otherwise (the language cookie).

    A browser's Accept-Language is not a choice: intranet PCs often ship with English browsers.
    API clients still negotiate with Accept-Language, so their messages follow the client.
    """

    def process_request(self, request: HttpRequest) -> None:
        if request.path_info.startswith("/api/"):
            super().process_request(request)
            return
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        supported = {code for code, _name in settings.LANGUAGES}
        language = chosen if chosen in supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
