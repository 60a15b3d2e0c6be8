"""Schemas shared by every router: the error shape and the token endpoints.

This module imports no domain app, so any app's `api.py` may import it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from ninja import Schema
from pydantic import ConfigDict, Field, field_validator


def check_text(value: Any) -> Any:
    """Refuse text no database can store: NUL characters and lone surrogates."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("NUL characters are not allowed")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("not valid Unicode text") from None
    return value


NO_NUL_PATTERN = "^[^\\x00]*$"


def _document_no_nul(schema: dict[str, Any], model: type[Any]) -> None:
    """Say in the OpenAPI document what `check_text` enforces: text has no NUL character."""
    for prop in schema.get("properties", {}).values():
        variants = prop.get("anyOf", [prop])
        for variant in variants:
            if variant.get("type") == "string" and "format" not in variant:
                variant.setdefault("pattern", NO_NUL_PATTERN)


class CleanSchema(Schema):
    """Base for query parameter groups: text is checked for what databases refuse."""

    model_config = ConfigDict(json_schema_extra=_document_no_nul)

    @field_validator("*", mode="after")
    @classmethod
    def _clean_text(cls, value: Any) -> Any:
        return check_text(value)


class InputSchema(CleanSchema):
    """Base for request bodies: unknown fields are refused (422 naming the field)."""

    model_config = ConfigDict(extra="forbid")


class ErrorDetail(Schema):
    field: str = Field(description="Dotted path of the offending field, '' for the whole body")
    message: str
    code: str = ""


class ErrorOut(Schema):
    """The one error shape every endpoint returns for a 4xx or 5xx."""

    code: str = Field(description="Stable machine-readable code, e.g. not_found, invalid")
    message: str = Field(description="Human-readable message in the user's language")
    details: list[ErrorDetail] = Field(default_factory=list)


class TokenRequest(InputSchema):
    username: str = Field(min_length=1, max_length=150)
    password: str = Field(min_length=1, max_length=128)
    device_id: str = Field(min_length=1, max_length=100, pattern=r"^[\x21-\x7e]+$")
    device_name: str = Field("", max_length=100)
    otp: str = Field("", max_length=16, description="TOTP code, needed for roles with 2FA")


class RefreshRequest(InputSchema):
    refresh_token: str = Field(min_length=1, max_length=500)


class TokenOut(Schema):
    access_token: str
    refresh_token: str
    expires_in: int = Field(description="Seconds until the access token expires")
    token_type: str = "Bearer"  # noqa: S105 -- the scheme name, not a secret
    device: UUID


class DeviceOut(Schema):
    uuid: UUID
    device_id: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    current: bool = False
