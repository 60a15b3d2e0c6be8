"""Structured logs: every line is one JSON object; inside a request it carries the request id."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from egov.core.logging import JsonFormatter
from egov.core.middleware import request_id_var
from egov.core.views import health


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def _parsed(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def _boom():
    raise OSError("disk /var/secret full")


@pytest.mark.django_db
def test_log_lines_inside_a_request_are_json_with_the_request_id(client, log_lines, monkeypatch):
    monkeypatch.setitem(health.CHECKS, "storage", _boom)
    response = client.get("/healthz", HTTP_X_REQUEST_ID="req-abc-123")
    assert response.status_code == 503
    assert response["X-Request-ID"] == "req-abc-123"
    lines = _parsed(log_lines)
    failure = next(line for line in lines if line["logger"] == "egov.health")
    assert failure["request_id"] == "req-abc-123"
    assert failure["level"] == "ERROR"
    assert failure["check"] == "storage"
    assert "OSError" in failure["exception"]
    assert failure["time"].endswith("+00:00")


@pytest.mark.django_db
def test_generated_request_id_is_logged(client, log_lines, monkeypatch):
    monkeypatch.setitem(health.CHECKS, "storage", _boom)
    response = client.get("/healthz", HTTP_X_REQUEST_ID="x" * 200)  # too long: replaced
    request_id = response["X-Request-ID"]
    assert len(request_id) == 32
    assert any(line.get("request_id") == request_id for line in _parsed(log_lines))


@pytest.mark.django_db
@pytest.mark.parametrize("incoming", ["abc\ndef", "abc\r\nSet-Cookie: x=1", "tab\there", "nul\x00"])
def test_a_request_id_with_control_characters_is_replaced(client, incoming):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=incoming)
    assert response.status_code in (200, 503)  # not a 500 from the header
    request_id = response["X-Request-ID"]
    assert request_id != incoming
    assert len(request_id) == 32 and request_id.isalnum()


def test_outside_a_request_there_is_no_request_id(log_lines):
    logging.getLogger("egov.test").info("plain", extra={"count": 3, "tags": ["a", "中"]})
    (line,) = _parsed(log_lines)
    assert "request_id" not in line
    assert line == {
        "time": line["time"],
        "level": "INFO",
        "logger": "egov.test",
        "message": "plain",
        "count": 3,
        "tags": ["a", "中"],
    }


def test_awkward_extras_stay_one_json_line(log_lines):
    class Thing:
        def __repr__(self) -> str:
            return "<thing>"

    class FakeRequest:
        method = "GET"
        path = "/x"
        GET = {"token": "secret"}
        request_id = "from-request"

    token = request_id_var.set("")
    try:
        logging.getLogger("egov.test").warning(
            "multi\nline",
            extra={
                "thing": Thing(),
                "mixed": {"k": Thing()},
                "message_extra": "ok",
                "time_taken": 1.5,
                "request": FakeRequest(),
            },
        )
    finally:
        request_id_var.reset(token)
    raw = log_lines.getvalue()
    assert raw.count("\n") == 1
    (line,) = _parsed(log_lines)
    assert line["message"] == "multi\nline"
    assert line["thing"] == "<thing>"
    assert isinstance(line["mixed"], str)
    assert line["request"] == {"method": "GET", "path": "/x"}
    assert line["request_id"] == "from-request"
    assert "secret" not in raw
