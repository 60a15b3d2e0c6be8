"""One error shape for the whole API: `{code, message, details: [{field, message, code}]}`.

Messages go through gettext, so they follow the user's language (LocaleMiddleware reads the
session and `Accept-Language`). `code` and `details[].field` are stable for clients.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig, TooManyFieldsSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, Throttled
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser

from egov.api.schemas import ErrorOut
from egov.core.errors import DomainError

if TYPE_CHECKING:
    from ninja import NinjaAPI

logger = logging.getLogger("egov.api")

# Response documentation for operations: `response={200: X, **errors(404, 422)}`.
READ_ERRORS = (400, 401, 403, 404, 422)
WRITE_ERRORS = (400, 401, 403, 404, 409, 413, 422)


class InvalidInput(DomainError):
    """A field's value is refused by a rule the schema cannot express (400, field named).

    422 is kept for what the OpenAPI schema itself forbids, so a client (and schemathesis)
    can tell "the request breaks the schema" from "the request breaks a business rule".
    """

    code = "invalid"
    status = 400


class InvalidReference(DomainError):
    """A body field or filter names an object that does not exist or is outside the scope.

    404 as for a path id (existence does not leak), with the field named in `details`.
    """

    code = "not_found"
    status = 404


def errors(*codes: int) -> dict[frozenset[int], type[ErrorOut]]:
    return {frozenset(codes): ErrorOut}


class MalformedJSON(Exception):
    """The body is not JSON (or not UTF-8)."""


class JsonParser(Parser):
    """Ninja's JSON parser, raising a distinct error for a body that is not JSON."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        body = request.body  # raises RequestDataTooBig above DATA_UPLOAD_MAX_MEMORY_SIZE
        if not hasattr(request, "_post"):
            # The API reads JSON only. Anything that later looks at request.POST (django-axes
            # logging a failed sign-in) sees an empty form instead of parsing, and failing on,
            # a body sent with a form content type.
            request._post, request._files = QueryDict(), MultiValueDict()  # type: ignore[attr-defined]
        try:
            data = json.loads(body)
            # Lone surrogates ("\\ud800") parse but are not text any database can store.
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeError
            raise MalformedJSON(str(exc)) from exc
        return data  # any JSON value; the request schema checks its type

    def parse_querydict(
        self, data: MultiValueDict[str, Any], list_fields: list[str], request: HttpRequest
    ) -> dict[str, Any]:
        """Ninja keeps the last of repeated values; a parameter that is not a list may not repeat."""
        repeated = [key for key in data if key not in list_fields and len(data.getlist(key)) > 1]
        if repeated:
            raise NinjaValidationError(
                [
                    {"loc": ("query", key), "type": "repeated", "msg": "given more than once"}
                    for key in repeated
                ]
            )
        return super().parse_querydict(data, list_fields, request)


def error_body(code: str, message: str, details: Iterable[dict[str, Any]] = ()) -> dict[str, Any]:
    return {
        "code": code,
        "message": str(message),
        "details": [
            {
                "field": str(d.get("field") or ""),
                "message": str(d.get("message", "")),
                "code": str(d.get("code", "")),
            }
            for d in details
        ],
    }


def error_response(
    code: str, message: str, status: int, details: Iterable[dict[str, Any]] = ()
) -> HttpResponse:
    return JsonResponse(
        error_body(code, message, details),
        status=status,
        json_dumps_params={"ensure_ascii": False},
    )


def _field_path(loc: tuple[Any, ...] | list[Any]) -> tuple[str, str]:
    """("body", "payload", "name") → ("body", "name"); ("query", "page") → ("query", "page")."""
    parts = [str(p) for p in loc]
    source = parts[0] if parts else ""
    rest = parts[1:]
    if source == "body" and len(rest) >= 1:
        # ninja puts the view's parameter name first; clients know only the body's fields.
        rest = rest[1:]
    return source, ".".join(rest)


_PYDANTIC_MESSAGES = {
    "missing": lambda: _("This field is required."),
    "extra_forbidden": lambda: _("Unknown field."),
    "string_too_long": lambda: _("Too long."),
    "string_too_short": lambda: _("Too short."),
    "uuid_parsing": lambda: _("Not a valid id."),
    "uuid_type": lambda: _("Not a valid id."),
    "int_parsing": lambda: _("Not a whole number."),
    "int_type": lambda: _("Not a whole number."),
    "bool_parsing": lambda: _("Not true or false."),
    "date_from_datetime_parsing": lambda: _("Not a valid date (YYYY-MM-DD)."),
    "date_parsing": lambda: _("Not a valid date (YYYY-MM-DD)."),
    "enum": lambda: _("Not one of the allowed values."),
    "literal_error": lambda: _("Not one of the allowed values."),
    "greater_than_equal": lambda: _("Too small."),
    "less_than_equal": lambda: _("Too large."),
    "string_type": lambda: _("Not a string."),
    "model_attributes_type": lambda: _("Not an object."),
    "dict_type": lambda: _("Not an object."),
    "list_type": lambda: _("Not a list."),
    "string_pattern_mismatch": lambda: _("Not in the expected format."),
    "repeated": lambda: _("Give this parameter once."),
}


def validation_details(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    details = []
    for err in errors:
        source, field = _field_path(err.get("loc", ()))
        kind = str(err.get("type", "invalid"))
        message_factory = _PYDANTIC_MESSAGES.get(kind)
        message = message_factory() if message_factory else str(err.get("msg", ""))
        details.append({"field": field, "message": message, "code": kind, "source": source})
    return details


def handle_validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    return error_response(
        "invalid", _("The request has invalid fields."), 422, validation_details(exc.errors)
    )


def handle_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return error_response(exc.code, str(exc.message), exc.status, exc.details)


def handle_django_validation_error(
    request: HttpRequest, exc: DjangoValidationError
) -> HttpResponse:
    details: list[dict[str, Any]] = []
    if hasattr(exc, "error_dict"):
        for field, errs in exc.error_dict.items():
            for e in errs:
                details.extend(
                    {"field": "" if field == "__all__" else field, "message": m, "code": e.code}
                    for m in e.messages
                )
    else:
        details = [{"field": "", "message": m} for m in exc.messages]
    return error_response("invalid", _("The request has invalid fields."), 422, details)


def handle_404(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error_response("not_found", _("Not found."), 404)


def handle_permission_denied(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error_response("forbidden", _("You may not do this."), 403)


def handle_too_big(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error_response("too_large", _("The request body is too large."), 413)


def handle_malformed(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error_response(
        "malformed_json",
        _("The request body is not valid JSON."),
        400,
        [{"field": "", "message": _("The request body is not valid JSON."), "code": "json"}],
    )


def handle_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    cause = exc.__cause__
    if isinstance(cause, RequestDataTooBig | TooManyFieldsSent):
        return handle_too_big(request, cause)
    if isinstance(cause, MalformedJSON):
        return handle_malformed(request, cause)
    if isinstance(exc, AuthenticationError):
        response = error_response(
            "not_authenticated", _("Authentication credentials were missing or invalid."), 401
        )
        response["WWW-Authenticate"] = 'Bearer realm="api"'
        return response
    if isinstance(exc, Throttled):
        return error_response("throttled", _("Too many requests; try again later."), 429)
    if isinstance(exc, AuthorizationError):
        return error_response("forbidden", _("You may not do this."), exc.status_code)
    if exc.status_code == 403 and "CSRF" in exc.message:
        return error_response(
            "csrf_failed", _("The CSRF token is missing or wrong (send X-CSRFToken)."), 403
        )
    if exc.status_code == 400:
        return error_response("bad_request", _("The request could not be read."), 400)
    return error_response("error", str(exc.message), exc.status_code)


def handle_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("API error on %s %s", request.method, request.path, exc_info=exc)
    return error_response("server_error", _("Something went wrong on the server."), 500)


def install_error_handlers(api: NinjaAPI) -> None:
    handlers: list[tuple[type[Exception], Callable[[HttpRequest, Any], HttpResponse]]] = [
        (NinjaValidationError, handle_validation_error),
        (DomainError, handle_domain_error),
        (DjangoValidationError, handle_django_validation_error),
        (Http404, handle_404),
        (PermissionDenied, handle_permission_denied),
        (RequestDataTooBig, handle_too_big),
        (TooManyFieldsSent, handle_too_big),
        (MalformedJSON, handle_malformed),
        (HttpError, handle_http_error),
        (Exception, handle_unexpected),
    ]
    for exc_class, handler in handlers:
        api.add_exception_handler(exc_class, handler)


def json_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """Catch-all for paths under /api/v1/ that match no operation."""
    return handle_404(request, Http404())
