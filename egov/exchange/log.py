"""The message log: every envelope sent and received, kept unchanged, in one hash chain.

Each row's hash is SHA-256 (SM3 beside it) over the previous hash and the row's canonical
content (`egov.core.audit.chain_hash`, the audit trail's construction). Rows are only appended
(the head row is locked to append); `verify_log` walks the chain.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.utils import timezone

from egov.core.audit import chain_hash
from egov.core.models.audit import GENESIS_HASH
from egov.exchange.envelope import ParsedEnvelope, canonical_json, digests, iso
from egov.exchange.models import LogEntry, LogHead


def _content(entry: LogEntry) -> bytes:
    return canonical_json(
        {
            "seq": entry.seq,
            "logged_at": iso(entry.logged_at),
            "direction": entry.direction,
            "envelope_id": str(entry.envelope_id),
            "kind": entry.kind,
            "in_reply_to": str(entry.in_reply_to) if entry.in_reply_to else None,
            "sender": entry.sender_code,
            "recipient": entry.recipient_code,
            "peer_node": entry.peer_node,
            "manifest_sha256": entry.manifest_sha256,
            "manifest_sm3": entry.manifest_sm3,
            "signature_sha256": entry.signature_sha256,
        }
    )


def _lock_head() -> LogHead:
    head = LogHead.objects.select_for_update().filter(id=1).first()
    if head is None:
        LogHead.objects.bulk_create([LogHead(id=1)], ignore_conflicts=True)
        head = LogHead.objects.select_for_update().get(id=1)
    return head


def make_entry(
    direction: str, manifest_bytes: bytes, signature: bytes, manifest: dict[str, Any], peer: str
) -> LogEntry:
    sha, sm3 = digests(manifest_bytes)
    return LogEntry(
        direction=direction,
        envelope_id=manifest["envelope_id"],
        kind=manifest["kind"],
        in_reply_to=manifest.get("in_reply_to"),
        sender_code=manifest["sender"]["org"],
        recipient_code=manifest["recipient"]["org"],
        peer_node=peer,
        manifest=manifest_bytes,
        signature=signature,
        manifest_sha256=sha,
        manifest_sm3=sm3,
        signature_sha256=digests(signature)[0],
    )


def entry_for(direction: str, parsed: ParsedEnvelope, peer: str) -> LogEntry:
    return make_entry(direction, parsed.manifest_bytes, parsed.signature, parsed.manifest, peer)


def append(entries: list[LogEntry], *, at: datetime | None = None) -> list[LogEntry]:
    """Chain and insert entries (call inside the caller's transaction, after its own locks)."""
    if not entries:
        return entries
    at = at or timezone.now()
    head = _lock_head()
    prev = head.last_hash
    seq = head.last_seq
    for entry in entries:
        seq += 1
        entry.seq = seq
        entry.logged_at = at
        entry.prev_hash = prev
        entry.hash, entry.hash_sm3 = chain_hash(prev, _content(entry))
        prev = entry.hash
    LogEntry.objects.bulk_create(entries, batch_size=500)
    head.last_seq, head.last_hash = seq, prev
    head.save(update_fields=["last_seq", "last_hash"])
    return entries


def entry_hash_ok(entry: LogEntry) -> bool:
    content_ok = digests(bytes(entry.manifest)) == (entry.manifest_sha256, entry.manifest_sm3)
    return content_ok and chain_hash(entry.prev_hash, _content(entry)) == (
        entry.hash,
        entry.hash_sm3,
    )


def verify_log() -> Iterator[str]:
    """Every problem in the chain (edited, deleted, inserted or relinked rows)."""
    prev = GENESIS_HASH
    expected = 1
    for entry in LogEntry.objects.order_by("seq").iterator(chunk_size=2000):
        if entry.seq != expected:
            yield f"seq {expected} missing before seq {entry.seq}"
        elif entry.prev_hash != prev:
            yield f"seq {entry.seq} does not link to its predecessor"
        if not entry_hash_ok(entry):
            yield f"seq {entry.seq} was edited"
        prev = entry.hash
        expected = entry.seq + 1
    head = LogHead.objects.filter(id=1).first()
    if head is not None and (head.last_seq != expected - 1 or head.last_hash != prev):
        yield f"the log head (seq {head.last_seq}) does not match the last row (seq {expected - 1})"
