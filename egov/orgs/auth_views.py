"""Login with lockout and a TOTP second factor; logout. (Filled in by the identity work.)"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse


def lockout_response(
    request: HttpRequest, credentials: Any = None, *args: Any, **kwargs: Any
) -> HttpResponse:
    return HttpResponse("locked", status=429)
