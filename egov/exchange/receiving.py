"""The receiver: the ten checks of EXCHANGE.md in order, then the signed reply.

Checks 1–4 failing is a transport refusal (`Refusal`: nothing trustworthy to answer, nothing
stored as received). From check 5 on the envelope is authentic, so a failure is answered with a
signed RETURN carrying a reason code. A repeat (check 7) gets the original reply again.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO

from django.db import IntegrityError, transaction
from django.utils import timezone

from egov.exchange import log
from egov.exchange.choices import CHECK_OF_REASON, Direction, InboxStatus, Kind
from egov.exchange.conf import setting_int
from egov.exchange.envelope import (
    EnvelopeError,
    ParsedEnvelope,
    PartStore,
    package_bytes,
    parse_iso,
    parse_package,
)
from egov.exchange.models import InboxEntry, Node
from egov.exchange.registry import ReceivedEnvelope, Return, handler_for
from egov.exchange.sealing import NoSeal
from egov.exchange.services import build_reply, build_reply_parts, node_code
from egov.orgs.models import Organisation


@dataclass
class Outcome:
    """What the inbox answers: a reply package (`reply`), or a refusal (`code`, `message`)."""

    reply: bytes | None = None
    reply_kind: str = ""
    code: str = ""
    message: str = ""
    duplicate: bool = False

    @property
    def check(self) -> int | None:
        return CHECK_OF_REASON.get(self.code)


def fault(point: str) -> None:
    """Fault injection for the crash tests: EGOV_EXCHANGE_FAULT=<point> exits the process there."""
    wanted = os.environ.get("EGOV_EXCHANGE_FAULT", "")
    if wanted and point in wanted.split(","):
        os._exit(17)


def clock_skew() -> timedelta:
    return timedelta(seconds=setting_int("EGOV_EXCHANGE_CLOCK_SKEW_SECONDS", 300))


def _served(code: str) -> Organisation | None:
    org = Organisation.objects.filter(code=code, is_active=True).first()
    if org is None or (org.node_code and org.node_code != node_code()):
        return None
    return org


def _operator() -> Organisation | None:
    node = Node.objects.filter(code=node_code()).select_related("operator").first()
    return node.operator if node is not None else None


def receive_bytes(data: bytes) -> Outcome:
    return receive_package(io.BytesIO(data), size=len(data))


def receive_package(source: IO[bytes], *, size: int | None = None) -> Outcome:
    """Run checks 1–10 on a package and answer it."""
    try:
        return _receive(source, size)
    except NoSeal as exc:  # the recipient cannot sign a receipt here: the sender retries
        return Outcome(code=exc.code, message=str(exc.message))


def _receive(source: IO[bytes], size: int | None) -> Outcome:
    try:
        parsed = parse_package(source, store=PartStore(), size=size)  # checks 1, 2
        from egov.exchange.sealing import verify_manifest

        verify_manifest(parsed)  # checks 3, 4
    except EnvelopeError as exc:
        return Outcome(code=exc.code, message=exc.message)
    now = timezone.now()
    manifest = parsed.manifest
    recipient = _served(manifest["recipient"]["org"])  # check 5
    if recipient is None:
        return _return_unstored(parsed, "misaddressed", "this node does not serve the recipient")
    if parse_iso(manifest["expires_at"]) < now:  # check 6
        return _return_unstored(parsed, "envelope_expired", "the envelope has expired", recipient)
    if parse_iso(manifest["created_at"]) > now + clock_skew():
        return _return_unstored(parsed, "clock_skew", "created_at is in the future", recipient)
    seen = _seen(parsed)  # check 7
    if seen is not None:
        return seen
    if parsed.kind in Kind.REPLIES:
        return Outcome(code="unexpected_reply", message="replies travel back in the response")
    return _accept(parsed, recipient, now)


def _seen(parsed: ParsedEnvelope) -> Outcome | None:
    entry = InboxEntry.objects.filter(envelope_id=parsed.envelope_id).first()
    if entry is None:
        return None
    if entry.manifest_sha256 != parsed.manifest_sha256:
        return Outcome(code="envelope_id_reused", message="another envelope had this id")
    reply = bytes(entry.reply)
    kind = Kind.RETURN if entry.status == InboxStatus.RETURNED else Kind.RECEIPT
    if entry.kind == Kind.RECALL:
        kind = Kind.RECALL_ACK
    return Outcome(reply=reply, reply_kind=kind, duplicate=True)


def _return_unstored(
    parsed: ParsedEnvelope, reason: str, message: str, signer: Organisation | None = None
) -> Outcome:
    signer = signer or _operator()
    if signer is None:
        return Outcome(code=reason, message=message)
    reply = build_reply(
        kind=Kind.RETURN,
        to=parsed,
        signer=signer,
        status="returned",
        reason=reason,
        message=message,
        received_at=timezone.now(),
    )
    return Outcome(reply=reply, reply_kind=Kind.RETURN, code=reason, message=message)


def _payload_check(parsed: ParsedEnvelope) -> Return | None:
    """Check 8 (and 9, which a document handler performs on its sealed PDF)."""
    if parsed.kind == Kind.RECALL:
        return None
    handler = handler_for(parsed.kind)
    if handler is None:
        return Return("unknown_kind", f"no handler for {parsed.kind}")
    return handler.validate(parsed.manifest, parsed.parts)


def _accept(parsed: ParsedEnvelope, recipient: Organisation, now: datetime) -> Outcome:
    refusal = _payload_check(parsed)
    recall_target: InboxEntry | None = None
    if parsed.kind == Kind.RECALL:
        recall_target = InboxEntry.objects.filter(
            envelope_id=str(parsed.manifest.get("in_reply_to")), recipient=recipient
        ).first()
    if refusal is not None:
        kind, status, reason, message = Kind.RETURN, "returned", refusal.reason, refusal.message
    elif parsed.kind == Kind.RECALL:
        done = recall_target is not None and _recall(recall_target)
        kind, status = Kind.RECALL_ACK, "recalled" if done else "refused"
        reason, message = ("" if done else "not_recallable"), ""
    else:
        kind, status, reason, message = Kind.RECEIPT, "received", "", ""
    reply_fields = build_reply_parts(
        kind=kind,
        to=parsed,
        signer=recipient,
        status=status,
        reason=reason,
        message=message,
        received_at=now,
    )
    reply = package_bytes(reply_fields[0], reply_fields[1])
    try:
        with transaction.atomic():
            entry = InboxEntry.objects.create(
                envelope_id=parsed.envelope_id,
                kind=parsed.kind,
                sender_code=parsed.manifest["sender"]["org"],
                recipient=recipient,
                in_reply_to=parsed.manifest.get("in_reply_to"),
                manifest=parsed.manifest_bytes,
                signature=parsed.signature,
                manifest_sha256=parsed.manifest_sha256,
                status=InboxStatus.RETURNED if refusal is not None else InboxStatus.ACCEPTED,
                reason=reason,
                reply=reply,
                received_at=now,
            )
            if recall_target is not None and status == "recalled":
                InboxEntry.objects.filter(pk=recall_target.pk).update(recalled_at=now)
            peer = parsed.manifest["sender"]["node"]
            log.append(
                [
                    log.entry_for(Direction.IN, parsed, peer),
                    log.make_entry(Direction.OUT, *reply_fields, peer),
                ],
                at=now,
            )
            # The handler goes last: it ends with its audit event, whose chain head is locked
            # until this transaction commits, so nothing else should run after it.
            if refusal is None and parsed.kind != Kind.RECALL:
                handler = handler_for(parsed.kind)
                if handler is not None:
                    handler.accept(
                        ReceivedEnvelope(
                            envelope_id=parsed.envelope_id,
                            kind=parsed.kind,
                            manifest=parsed.manifest,
                            parts=parsed.parts,
                            sender_code=entry.sender_code,
                            recipient=recipient,
                            inbox_entry=entry,
                        )
                    )
            fault("inbox_before_commit")
    except IntegrityError:
        seen = _seen(parsed)  # a concurrent delivery of the same envelope won the race
        if seen is None:
            raise
        return seen
    fault("inbox_after_commit")
    return Outcome(reply=reply, reply_kind=kind, code=reason, message=message)


def _recall(target: InboxEntry) -> bool:
    if target.recalled_at is not None:
        return True
    handler = handler_for(target.kind)
    hook = getattr(handler, "recall", None)
    if hook is None:
        return True
    return bool(hook(str(target.envelope_id)))
