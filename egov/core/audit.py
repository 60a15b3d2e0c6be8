"""The tamper-evident audit trail (安全审计): append and verify a hash chain.

Each row's hash is SHA-256 over the previous row's hash and the row's canonical content; an
SM3 digest of the same bytes is kept beside it. `seq` is gap-free, so verification can tell an
edited row (its hash no longer matches its content), a deleted row (a gap in `seq`) and an
inserted or reordered row (its `prev_hash` is not its predecessor's hash).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives import hashes
from django.db import models, transaction
from django.utils import timezone

from egov.core.acting import Acting
from egov.core.choices import AuditOutcome
from egov.core.models import AuditChainHead, AuditEvent

GENESIS_HASH = "0" * 64
HASHED_FIELDS = (
    "seq",
    "occurred_at",
    "actor_id",
    "actor_username",
    "position_id_snapshot",
    "position_title",
    "organisation_id_snapshot",
    "organisation_name",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "source_ip",
    "outcome",
    "details",
)


def sm3_hex(data: bytes) -> str:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize().hex()


def _canonical_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    return value


def canonical_bytes(event: AuditEvent) -> bytes:
    content = {name: _canonical_value(getattr(event, name)) for name in HASHED_FIELDS}
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def chain_hash(prev_hash: str, content: bytes) -> tuple[str, str]:
    data = prev_hash.encode() + b"\n" + content
    return hashlib.sha256(data).hexdigest(), sm3_hex(data)


def _object_fields(obj: Any) -> tuple[str, str, str]:
    if obj is None:
        return "", "", ""
    if isinstance(obj, models.Model):
        return obj._meta.label_lower, str(obj.pk), str(obj)[:300]
    return type(obj).__name__, "", str(obj)[:300]


def record_audit(
    action: str,
    *,
    acting: Acting,
    obj: Any = None,
    outcome: str = AuditOutcome.SUCCESS,
    details: dict[str, Any] | None = None,
    username: str | None = None,
) -> AuditEvent:
    """Append one event to the chain. Call it inside the service's transaction."""
    object_type, object_id, object_repr = _object_fields(obj)
    position = acting.position
    organisation = acting.organisation
    with transaction.atomic():
        head, _created = AuditChainHead.objects.select_for_update().get_or_create(id=1)
        event = AuditEvent(
            seq=head.last_seq + 1,
            occurred_at=timezone.now(),
            actor=acting.user,
            actor_username=(username if username is not None else acting.username)[:150],
            position_id_snapshot=position.pk if position is not None else None,
            position_title=str(position.title if position is not None else "")[:200],
            organisation_id_snapshot=organisation.pk if organisation is not None else None,
            organisation_name=(organisation.name if organisation is not None else "")[:200],
            action=action,
            object_type=object_type,
            object_id=object_id,
            object_repr=object_repr,
            source_ip=acting.source_ip,
            outcome=str(outcome),
            details=json.loads(json.dumps(details or {}, default=str)),
            prev_hash=head.last_hash,
        )
        event.hash, event.hash_sm3 = chain_hash(head.last_hash, canonical_bytes(event))
        event.save(force_insert=True)
        head.last_seq = event.seq
        head.last_hash = event.hash
        head.save(update_fields=["last_seq", "last_hash"])
    return event


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    row_id: int | None
    kind: str  # "edited", "deleted", "inserted", "head"
    message: str


def verify_chain(chunk_size: int = 5000) -> Iterator[ChainProblem]:
    """Walk the whole chain in order and yield every problem found (streamed, constant memory)."""
    expected_seq = 1
    prev_hash = GENESIS_HASH
    for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=chunk_size):
        if event.seq > expected_seq:
            yield ChainProblem(
                expected_seq,
                None,
                "deleted",
                f"rows seq {expected_seq}..{event.seq - 1} are missing (deleted) before row id={event.pk}",
            )
        elif event.seq < expected_seq:
            yield ChainProblem(
                event.seq, event.pk, "inserted", f"row id={event.pk} repeats seq {event.seq}"
            )
        content_hash, content_sm3 = chain_hash(event.prev_hash, canonical_bytes(event))
        if content_hash != event.hash or content_sm3 != event.hash_sm3:
            yield ChainProblem(
                event.seq,
                event.pk,
                "edited",
                f"row seq={event.seq} id={event.pk} was edited: its content no longer matches its hash",
            )
        elif event.prev_hash != prev_hash and event.seq == expected_seq:
            yield ChainProblem(
                event.seq,
                event.pk,
                "inserted",
                f"row seq={event.seq} id={event.pk} does not link to its predecessor "
                "(inserted or re-chained)",
            )
        prev_hash = event.hash
        expected_seq = max(expected_seq, event.seq) + 1
    head = AuditChainHead.objects.filter(id=1).first()
    if head is not None and (head.last_seq != expected_seq - 1 or head.last_hash != prev_hash):
        yield ChainProblem(
            expected_seq,
            None,
            "deleted",
            f"the chain ends at seq {expected_seq - 1} but its head records seq {head.last_seq}: "
            "the last rows were deleted or the head was changed",
        )
