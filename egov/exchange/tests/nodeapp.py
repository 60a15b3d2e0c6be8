"""A test app for the node processes the multi-node tests start: registers TEST_NOTICE with a
handler that records an audit event per accepted notice (inside the receiving transaction, so
a crash before commit leaves no trace and a count of these events proves "arrived once")."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig

from egov.exchange.envelope import PartSpec
from egov.exchange.registry import ReceivedEnvelope, Return


class PersistentNoticeHandler:
    def validate(self, manifest: dict[str, Any], parts: list[PartSpec]) -> Return | None:
        if not manifest["payload"].get("title"):
            return Return("missing_title", "a notice needs a title")
        return None

    def accept(self, envelope: ReceivedEnvelope) -> None:
        from egov.core.acting import Acting
        from egov.core.audit import record_audit

        record_audit(
            "exchange.test_notice_accepted",
            acting=Acting.system("test"),
            obj=envelope.recipient,
            details={
                "envelope_id": envelope.envelope_id,
                "recipient": envelope.recipient.code,
                "title": envelope.manifest["payload"]["title"],
            },
        )


class NodeTestConfig(AppConfig):
    name = "egov.exchange.tests"
    label = "exchange_tests"

    def ready(self) -> None:
        from egov.exchange.registry import register_payload_kind

        register_payload_kind("TEST_NOTICE", PersistentNoticeHandler())
