"""A small payload kind for the tests (the documents app registers DOCUMENT the same way)."""

from __future__ import annotations

from typing import Any

from egov.exchange.envelope import PartSpec
from egov.exchange.registry import ReceivedEnvelope, Return

KIND = "TEST_NOTICE"


class NoticeHandler:
    """Accepts notices with a title; refuses classified ones; counts what it accepted."""

    def __init__(self) -> None:
        self.accepted: list[str] = []
        self.recallable = True

    def validate(self, manifest: dict[str, Any], parts: list[PartSpec]) -> Return | None:
        payload = manifest["payload"]
        if not isinstance(payload.get("title"), str) or not payload["title"]:
            return Return("missing_title", "a notice needs a title")
        if payload.get("classification", "none") != "none":
            return Return("classified", "classified notices do not travel by exchange")
        return None

    def accept(self, envelope: ReceivedEnvelope) -> None:
        self.accepted.append(envelope.envelope_id)

    def recall(self, envelope_id: str) -> bool:
        return self.recallable
