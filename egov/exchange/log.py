"""The message log: every envelope sent and received, kept unchanged, in one hash chain.

Each row's hash is SHA-256 (SM3 beside it) over the previous hash and the row's canonical
content (`egov.core.audit.chain_hash`, the audit trail's construction). Rows are only appended;
`verify_log` walks the chain.

Appending is in two steps, so that sending and receiving never wait for one another:

1. `append` inserts the rows *unchained* (no `seq`, no hashes) in the caller's transaction, so
   an envelope and its log rows commit or roll back together;
2. `chain_pending` links unchained rows into the chain in batches, under the lock of the head
   row. `append` runs it right after the caller commits (at most once a second per process),
   and the periodic task `exchange.chain_log` links what is left: the rows of a burst's last
   second and those of a process that died between the two steps.

Locking the head inside every sending and receiving transaction (as the first version did) made
them commit one after another: the head stayed locked until each COMMIT's WAL flush. Now the
lock is held by one chainer for a batch. A chainer that finds the head locked leaves its rows
to the holder, which looks for unchained rows again after it commits.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from egov.core.audit import chain_hash
from egov.core.models.audit import GENESIS_HASH
from egov.exchange.envelope import ParsedEnvelope, canonical_json, digests, iso
from egov.exchange.models import LogEntry, LogHead

# Rows linked per chaining transaction.
CHAIN_BATCH = 1000
# A process chains at most this often after its writers commit (seconds; see _chain_soon).
CHAIN_EVERY = 1.0
# Rounds a writer's chainer goes on for while rows keep arriving (see chain_pending).
MAX_ROUNDS = 5
# verify_log reports rows still unchained after this long (the chainer is not running).
CHAIN_GRACE = timedelta(minutes=5)


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


def _lock_head(*, wait: bool) -> LogHead | None:
    """The head row, locked; None when another chainer holds it and `wait` is false."""
    head = LogHead.objects.select_for_update(skip_locked=not wait).filter(id=1).first()
    if head is None and not LogHead.objects.filter(id=1).exists():
        LogHead.objects.bulk_create([LogHead(id=1)], ignore_conflicts=True)
        head = LogHead.objects.select_for_update(skip_locked=not wait).filter(id=1).first()
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
    """Insert entries unchained in the caller's transaction; they are chained once it commits."""
    if not entries:
        return entries
    at = at or timezone.now()
    for entry in entries:
        entry.logged_at = at
    LogEntry.objects.bulk_create(entries, batch_size=500)
    # robust: the rows are committed whatever happens here; a failed chaining is retried by
    # the next append or the periodic sweep.
    transaction.on_commit(_chain_soon, robust=True)
    return entries


_last_chained = 0.0


def _chain_soon() -> None:
    """After a writer commits: chain, unless this process chained less than `CHAIN_EVERY` ago.

    On a busy node one chaining per interval links the rows of many envelopes, and the others
    answer without it (chaining costs a transaction of its own, which every sender would
    otherwise wait for). Rows of a burst's last moment are linked by the next writer or by the
    periodic sweep.
    """
    global _last_chained
    now = time.monotonic()
    if now - _last_chained < CHAIN_EVERY:
        return
    _last_chained = now
    chain_pending()


def chain_pending(*, wait: bool = False) -> int:
    """Link the unchained rows into the chain, oldest first, in batches; returns how many.

    With `wait` false a chainer that finds the head locked returns at once: the holder looks
    again after it commits, for up to `MAX_ROUNDS` rounds (so that a busy node does not keep one
    request chaining for everyone; the next writer or the periodic sweep takes over). `wait`
    true (the sweep, log-verify, log-export) waits for the lock and goes on until every row that
    was there when it was called is chained (rows keep arriving on a busy node; those are left
    to the next chainer, so the call ends).
    """
    pending = LogEntry.objects.filter(seq__isnull=True)
    through = pending.aggregate(last=Max("id"))["last"] if wait else None
    if wait and through is None:
        return 0
    chained = 0
    rounds = 0
    while True:
        rounds += 1
        with transaction.atomic():
            head = _lock_head(wait=wait)
            if head is None:
                return chained
            batch = pending.defer("manifest", "signature").order_by("id")[:CHAIN_BATCH]
            rows = list(batch)
            prev, seq = head.last_hash, head.last_seq
            for entry in rows:
                seq += 1
                entry.seq = seq
                entry.prev_hash = prev
                entry.hash, entry.hash_sm3 = chain_hash(prev, _content(entry))
                prev = entry.hash
            if rows:
                _write_links(rows)
                head.last_seq, head.last_hash = seq, prev
                head.save(update_fields=["last_seq", "last_hash"])
        chained += len(rows)
        # Looked for after the lock is released: a row whose writer found the lock taken while
        # this chainer held it was committed before now, so it is seen here.
        if wait:
            if not pending.filter(id__lte=through).exists():
                return chained
        elif not pending.exists() or rounds >= MAX_ROUNDS:
            return chained


def _write_links(rows: list[LogEntry]) -> None:
    # One UPDATE per row, sent as a batch: bulk_update's CASE over every row costs the database
    # rows × rows comparisons, and Python as much again to build it.
    sql = (
        'UPDATE "exchange_logentry" SET "seq" = %s, "prev_hash" = %s, "hash" = %s, '
        '"hash_sm3" = %s WHERE "id" = %s'
    )
    params = [(e.seq, e.prev_hash, e.hash, e.hash_sm3, e.pk) for e in rows]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def unchained_since(before: datetime) -> int:
    """How many rows logged before `before` are still not chained."""
    return LogEntry.objects.filter(seq__isnull=True, logged_at__lt=before).count()


def entry_hash_ok(entry: LogEntry) -> bool:
    if entry.seq is None:
        return False  # not chained yet
    content_ok = digests(bytes(entry.manifest)) == (entry.manifest_sha256, entry.manifest_sm3)
    return content_ok and chain_hash(entry.prev_hash, _content(entry)) == (
        entry.hash,
        entry.hash_sm3,
    )


def stale_report(count: int, *, linked_now: bool = False) -> str:
    minutes = int(CHAIN_GRACE.total_seconds() // 60)
    if linked_now:
        return (
            f"{count} rows had waited more than {minutes} minutes to be chained (is the "
            "exchange.chain_log task running?); they are chained now"
        )
    return (
        f"{count} rows logged more than {minutes} minutes ago are not chained "
        "(is the exchange.chain_log task running?)"
    )


def verify_log(*, now: datetime | None = None) -> Iterator[str]:
    """Every problem in the chain (edited, deleted, inserted or relinked rows, and rows left
    unchained longer than `CHAIN_GRACE`).

    The chain is walked up to the head as read at the start: rows chained while the walk runs
    are left for the next one. Rows not chained yet are not walked.
    """
    start = LogHead.objects.filter(id=1).first()
    last_seq = start.last_seq if start is not None else 0
    prev = GENESIS_HASH
    expected = 1
    chained = LogEntry.objects.filter(seq__isnull=False, seq__lte=last_seq).order_by("seq")
    for entry in chained.iterator(chunk_size=2000):
        assert entry.seq is not None  # noqa: S101 - filtered above
        if entry.seq != expected:
            yield f"seq {expected} missing before seq {entry.seq}"
        elif entry.prev_hash != prev:
            yield f"seq {entry.seq} does not link to its predecessor"
        if not entry_hash_ok(entry):
            yield f"seq {entry.seq} was edited"
        prev = entry.hash
        expected = entry.seq + 1
    if start is not None and (start.last_seq != expected - 1 or start.last_hash != prev):
        yield f"the log head (seq {start.last_seq}) does not match the last row (seq {expected - 1})"
    # A row numbered beyond the head was not chained here (a chainer moves rows and head in one
    # transaction; the head is read after the rows, so it covers every row read).
    beyond = LogEntry.objects.aggregate(last=Max("seq"))["last"]
    head = LogHead.objects.filter(id=1).first()
    if beyond is not None and beyond > (head.last_seq if head is not None else 0):
        yield f"seq {beyond} lies beyond the log head: inserted outside the chainer"
    stale = unchained_since((now or timezone.now()) - CHAIN_GRACE)
    if stale:
        yield stale_report(stale)
