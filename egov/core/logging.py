"""Structured logs: one JSON object per line, with the request id when there is one.

Fields: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, ``request_id`` (inside a
request), ``exception`` (the traceback, when there is one) and every ``extra=`` given to the
call. A request passed as ``extra={"request": request}`` (as Django's own ``django.request``
logger does) becomes its method and path — never its query string, headers or body.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from egov.core.middleware import request_id_var

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
_RESERVED = {"time", "level", "logger", "message", "request_id", "exception", "stack"}


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dict | list | tuple):
        try:
            json.dumps(value, ensure_ascii=False)
        except (TypeError, ValueError):
            return repr(value)
        return value
    return repr(value)


def _request_fields(request: Any) -> dict[str, Any]:
    return {
        "method": getattr(request, "method", None),
        "path": getattr(request, "path", None),
    }


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request = getattr(record, "request", None)
        # Django logs 4xx responses after the middleware stack has unwound: fall back to the id
        # the middleware left on the request, if it did.
        request_id = request_id_var.get() or getattr(request, "request_id", "")
        if request_id:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key in _STANDARD or key.startswith("_"):
                continue
            if key == "request":
                entry["request"] = _request_fields(value)
            elif key in _RESERVED:
                entry[f"extra_{key}"] = _jsonable(value)
            else:
                entry[key] = _jsonable(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)
