"""Payload kinds register a handler with the exchange (the exchange never imports them).

A handler has `validate(manifest, parts) -> None | Return` (check 8: a `Return` becomes a signed
RETURN with its reason code) and `accept(envelope)` (called inside the receiving transaction,
after every check passed). It may have `recall(envelope_id) -> bool` (whether a recall before
signing-for succeeded).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any, Protocol

from egov.exchange.envelope import PartSpec, PartStore


@dataclass(frozen=True)
class Return:
    """Why a payload is refused (reason code and a message for the sender's clerks)."""

    reason: str
    message: str = ""


@dataclass(frozen=True)
class ReceivedEnvelope:
    """What a handler's `accept` gets: the verified manifest, its parts and the inbox row."""

    envelope_id: str
    kind: str
    manifest: dict[str, Any]
    parts: list[PartSpec]
    sender_code: str
    recipient: Any  # orgs.Organisation
    inbox_entry: Any  # exchange.InboxEntry

    def open_part(self, name: str) -> IO[bytes]:
        spec = next(p for p in self.parts if p.name == name)
        return PartStore().open(spec.sha256)


class PayloadHandler(Protocol):
    def validate(self, manifest: dict[str, Any], parts: list[PartSpec]) -> Return | None: ...

    def accept(self, envelope: ReceivedEnvelope) -> None: ...


_handlers: dict[str, PayloadHandler] = {}


def register_payload_kind(kind: str, handler: PayloadHandler) -> None:
    if not kind.isupper() or not kind.replace("_", "").isalnum():
        raise ValueError(f"payload kind {kind!r} must be UPPER_CASE")
    _handlers[kind] = handler


def unregister_payload_kind(kind: str) -> None:
    _handlers.pop(kind, None)


def handler_for(kind: str) -> PayloadHandler | None:
    return _handlers.get(kind)


def registered_kinds() -> list[str]:
    return sorted(_handlers)


RecallHook = Callable[[str], bool]
