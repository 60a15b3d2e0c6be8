"""SMS gateways (短信网关). `settings.EGOV_SMS_GATEWAY` names the class (dotted path).

* `LoggingSmsGateway` — development and tests: logs the message and counts it as sent.
* `HttpSmsGateway` — a provincial SMS platform reached over HTTP: POSTs
  `{"to": phone, "message": text}` as JSON to `settings.EGOV_SMS_GATEWAY_URL` with
  `Authorization: Bearer <EGOV_SMS_GATEWAY_TOKEN>`; any non-2xx answer or network error raises
  `SmsError`, which the delivery task records as a failed attempt.

A site with another protocol writes a class with a `send(phone, message)` method and names it in
the setting.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from typing import Protocol
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

SMS_MAX_LENGTH = 500
DEFAULT_TIMEOUT_SECONDS = 10.0


class SmsError(Exception):
    """The gateway did not accept the message."""


class SmsGateway(Protocol):
    def send(self, phone: str, message: str) -> None:
        """Hand the message to the gateway; raise `SmsError` when it is not accepted."""


class LoggingSmsGateway:
    """Development gateway: writes the message to the log and reports success."""

    def send(self, phone: str, message: str) -> None:
        logger.info("sms.logged", extra={"phone": phone, "sms_message": message[:SMS_MAX_LENGTH]})


class HttpSmsGateway:
    """POST JSON to an HTTP SMS gateway with a bearer token."""

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self.url = url if url is not None else settings.EGOV_SMS_GATEWAY_URL
        self.token = token if token is not None else settings.EGOV_SMS_GATEWAY_TOKEN
        self.timeout = timeout
        if urlsplit(self.url).scheme not in ("http", "https"):
            raise SmsError("EGOV_SMS_GATEWAY_URL must be an http(s) URL")

    def send(self, phone: str, message: str) -> None:
        payload = json.dumps(
            {"to": phone, "message": message[:SMS_MAX_LENGTH]}, ensure_ascii=False
        ).encode()
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.url, data=payload, headers=headers, method="POST")  # noqa: S310 -- scheme checked in __init__
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 -- scheme checked in __init__
                status = response.status
        except urllib.error.HTTPError as exc:
            raise SmsError(f"gateway answered HTTP {exc.code}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise SmsError(f"gateway unreachable: {exc}") from exc
        if not 200 <= status < 300:
            raise SmsError(f"gateway answered HTTP {status}")


def get_sms_gateway() -> SmsGateway:
    """The gateway `settings.EGOV_SMS_GATEWAY` names, freshly built."""
    gateway_class = import_string(settings.EGOV_SMS_GATEWAY)
    gateway: SmsGateway = gateway_class()
    return gateway
