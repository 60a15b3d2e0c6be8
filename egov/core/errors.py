"""Domain errors. Views and the API turn them into one error shape: code, message, details."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refused action with a message for the person who asked. `code` is stable for clients."""

    code = "invalid"
    status = 400

    def __init__(
        self, message: Any, *, field: str | None = None, details: list[dict[str, Any]] | None = None
    ):
        super().__init__(str(message))
        self.message = message
        self.field = field
        self.details = details or ([{"field": field, "message": str(message)}] if field else [])


class InvalidTransition(DomainError):
    code = "invalid_transition"
    status = 409


class Conflict(DomainError):
    code = "conflict"
    status = 409


class NotPermitted(DomainError):
    """Inside the person's scope but not allowed (outside scope is a 404, never this)."""

    code = "forbidden"
    status = 403


class AuditImmutable(DomainError):
    code = "audit_immutable"
    status = 409
