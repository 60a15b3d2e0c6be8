"""Test support for every app's API tests: a client that checks each response against the schema.

    from egov.api.testing import ApiClient, bearer_for

    def test_something(db):
        client = ApiClient(token=bearer_for(user))
        response = client.get("/api/v1/organisations")   # validated against openapi.json

Every response to a path under `/api/v1/` must be documented for its operation (status code,
`application/json` content type, body matching the response schema). An undocumented answer
fails the test with the reason (Zulip validates every response against its spec this way).
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import jsonschema_rs
from django.test import Client

API_PREFIX = "/api/v1/"
UNCHECKED = ("/api/v1/openapi.json", "/api/v1/docs")


class SchemaMismatch(AssertionError):
    """A response the OpenAPI document does not describe."""


@cache
def openapi_document() -> dict[str, Any]:
    from egov.api.api import api

    return json.loads(json.dumps(api.get_openapi_schema(path_prefix=API_PREFIX), default=str))


@cache
def _operations() -> list[tuple[re.Pattern[str], dict[str, Any]]]:
    routes = []
    for template, item in openapi_document()["paths"].items():
        pattern = re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template))
        routes.append((re.compile(f"^{pattern}$"), item))
    # Literal paths before templated ones (`/notifications/read-all` before `/{uuid}/read`).
    routes.sort(key=lambda route: route[0].pattern.count("[^/]+"))
    return routes


@cache
def _validator(schema_json: str) -> Any:
    schema = json.loads(schema_json)
    root = {**schema, "components": openapi_document().get("components", {})}
    return jsonschema_rs.Draft202012Validator(root)


def find_operation(method: str, path: str) -> tuple[dict[str, Any] | None, bool]:
    """(operation, path_known) for a request."""
    for pattern, item in _operations():
        if pattern.match(path):
            return item.get(method.lower()), True
    return None, False


def check_response(method: str, path: str, response: Any) -> None:
    """Raise SchemaMismatch unless the OpenAPI document describes this response."""
    if not path.startswith(API_PREFIX) or path.startswith(UNCHECKED):
        return
    status = response.status_code
    operation, path_known = find_operation(method, path)
    where = f"{method} {path} → {status}"
    if operation is None:
        if path_known:
            if status != 405:
                raise SchemaMismatch(f"{where}: method not in the schema must answer 405")
            return
        if status != 404:
            raise SchemaMismatch(f"{where}: a path not in the schema must answer 404")
        _check_body(where, response, _error_schema())
        return
    documented = operation.get("responses", {})
    spec = documented.get(str(status))
    if spec is None:
        raise SchemaMismatch(
            f"{where}: status {status} is not documented (documented: {sorted(documented)})"
        )
    content = spec.get("content")
    if not content:
        if response.content:
            raise SchemaMismatch(f"{where}: documented without a body, got {response.content!r}")
        return
    media = content.get("application/json")
    if media is None:
        raise SchemaMismatch(f"{where}: no application/json response documented")
    _check_body(where, response, media.get("schema", {}))


def _error_schema() -> dict[str, Any]:
    return {"$ref": "#/components/schemas/ErrorOut"}


def _check_body(where: str, response: Any, schema: dict[str, Any]) -> None:
    content_type = response.get("Content-Type", "")
    if not content_type.startswith("application/json"):
        raise SchemaMismatch(f"{where}: content type {content_type!r} is not application/json")
    try:
        body = json.loads(response.content)
    except ValueError as exc:
        raise SchemaMismatch(f"{where}: body is not JSON: {exc}") from None
    validator = _validator(json.dumps(schema, sort_keys=True))
    problems = [
        f"{'/'.join(map(str, e.instance_path))}: {e.message}" for e in validator.iter_errors(body)
    ]
    if problems:
        raise SchemaMismatch(f"{where}: body does not match the schema: " + "; ".join(problems[:5]))


class ApiClient(Client):
    """Django's test client, sending JSON and a bearer token, checking every API response."""

    def __init__(self, token: str | None = None, **defaults: Any) -> None:
        if token:
            defaults.setdefault("HTTP_AUTHORIZATION", f"Bearer {token}")
        super().__init__(**defaults)

    def request(self, **request: Any) -> Any:
        response = super().request(**request)
        check_response(request["REQUEST_METHOD"], request["PATH_INFO"], response)
        return response

    def post_json(self, path: str, data: Any = None, **extra: Any) -> Any:
        return self.post(path, data=json.dumps(data), content_type="application/json", **extra)

    def patch_json(self, path: str, data: Any = None, **extra: Any) -> Any:
        return self.patch(path, data=json.dumps(data), content_type="application/json", **extra)


def bearer_for(user: Any, device_id: str = "test-device") -> str:
    """An access token for `user`, issued through the service (no password, no second factor)."""
    from egov.api.services import do_issue_token
    from egov.core.acting import Acting

    return do_issue_token(user, device_id=device_id, acting=Acting(user=user)).access_token
