"""Evidence: rebuild an envelope from the message log, export a date range, and verify a file
offline (who sent what, when: the manifest signature, the parts' hashes, the log's chain)."""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import zipfile
from datetime import datetime
from typing import IO, Any

from django.db import DatabaseError

from egov.exchange.envelope import (
    EnvelopeError,
    PartStore,
    canonical_json,
    package_file,
    parse_package,
)
from egov.exchange.log import chain_pending, entry_hash_ok
from egov.exchange.models import LogEntry
from egov.exchange.sealing import verify_manifest

LOG_FILE = "log.jsonl"


def entry_record(entry: LogEntry) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "logged_at": entry.logged_at.isoformat(),
        "direction": entry.direction,
        "envelope_id": str(entry.envelope_id),
        "kind": entry.kind,
        "sender": entry.sender_code,
        "recipient": entry.recipient_code,
        "peer_node": entry.peer_node,
        "manifest_sha256": entry.manifest_sha256,
        "manifest_sm3": entry.manifest_sm3,
        "signature_sha256": entry.signature_sha256,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
        "hash_sm3": entry.hash_sm3,
        "chained": entry.seq is not None,
        "chain_ok": entry_hash_ok(entry),
    }


def export_log(out: IO[bytes], *, since: datetime, until: datetime) -> int:
    """The log rows logged in [since, until) and their envelopes (parts included when this node
    still holds them) as one zip."""
    store = PartStore()
    count = 0
    with contextlib.suppress(DatabaseError):  # a read-only connection exports what is chained
        chain_pending(wait=True)  # rows written a moment ago are linked first
    rows = LogEntry.objects.filter(
        logged_at__gte=since, logged_at__lt=until, seq__isnull=False
    ).order_by("seq")
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        lines = []
        for entry in rows.iterator(chunk_size=500):
            lines.append(canonical_json(entry_record(entry)).decode())
            name = f"envelopes/{entry.seq:012d}-{entry.direction}-{entry.envelope_id}.zip"
            manifest = json.loads(bytes(entry.manifest))
            if all(store.has(p["sha256"]) for p in manifest["parts"]):
                with (
                    package_file(bytes(entry.manifest), bytes(entry.signature), store) as pkg,
                    zf.open(name, "w") as dst,
                ):
                    while block := pkg.read(256 * 1024):
                        dst.write(block)
            else:
                zf.writestr(name.replace(".zip", ".manifest.json"), bytes(entry.manifest))
                zf.writestr(name.replace(".zip", ".manifest.p7s"), bytes(entry.signature))
            count += 1
        zf.writestr(LOG_FILE, "\n".join(lines) + ("\n" if lines else ""))
    return count


def verify_envelope(data: IO[bytes]) -> dict[str, Any]:
    """Checks 1–4 on an envelope file: the facts it proves, or the reason it does not, with the
    log rows that hold it on this node (a row written a moment ago may not be chained yet:
    `chained` false)."""
    try:
        parsed = parse_package(data)
        signer = verify_manifest(parsed)
    except EnvelopeError as exc:
        return {"ok": False, "code": exc.code, "message": exc.message}
    cert = signer.certificate
    manifest = parsed.manifest
    logged = LogEntry.objects.filter(
        envelope_id=parsed.envelope_id, manifest_sha256=parsed.manifest_sha256
    ).order_by("seq")
    return {
        "ok": True,
        "envelope_id": parsed.envelope_id,
        "kind": parsed.kind,
        "sender": manifest["sender"],
        "recipient": manifest["recipient"],
        "created_at": manifest["created_at"],
        "in_reply_to": manifest.get("in_reply_to"),
        "signer_subject": cert.subject,
        "signer_certificate_sha256": cert.fingerprint_sha256,
        "signing_time": signer.signing_time.isoformat() if signer.signing_time else None,
        "manifest_sha256": parsed.manifest_sha256,
        "manifest_sm3": parsed.manifest_sm3,
        "parts": [p.as_dict() for p in parsed.parts],
        "payload": manifest["payload"],
        "log": [entry_record(e) for e in logged],
    }


def verify_file(raw: bytes) -> dict[str, Any]:
    """An envelope, or a log export (every envelope in it, and the chain links between rows)."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(raw))
    except zipfile.BadZipFile:
        return {"ok": False, "code": "malformed_package", "message": "not a zip file"}
    with zf:
        if LOG_FILE not in zf.namelist():
            return verify_envelope(io.BytesIO(raw))
        rows = [json.loads(line) for line in zf.read(LOG_FILE).decode().splitlines() if line]
        problems = []
        for prev, row in itertools.pairwise(rows):
            if row["seq"] == prev["seq"] + 1 and row["prev_hash"] != prev["hash"]:
                problems.append(f"seq {row['seq']} does not link to seq {prev['seq']}")
        envelopes = []
        for name in zf.namelist():
            if name.startswith("envelopes/") and name.endswith(".zip"):
                result = verify_envelope(io.BytesIO(zf.read(name)))
                envelopes.append({"file": name, "ok": result["ok"], "code": result.get("code")})
                if not result["ok"]:
                    problems.append(f"{name}: {result['code']}")
        return {"ok": not problems, "rows": len(rows), "envelopes": envelopes, "problems": problems}
