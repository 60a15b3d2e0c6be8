"""Across isolated networks (摆渡): envelopes for a node as one signed bundle file, and the
replies to carry back as another.

A bundle is a zip: `envelopes/<envelope_id>.zip` for each package, `bundle.json` (canonical:
bundle id, kind `envelopes` or `replies`, from/to node, created_at, and every item's name,
envelope id, size, SHA-256 and SM3) and `bundle.p7s`, a detached CMS over `bundle.json` by the
node operator's seal (else the first item's signer). Importing verifies the bundle signature,
every item's hashes, then every envelope exactly as the inbox does (the same function); the
receiver's de-duplication makes a second import change nothing.
"""

from __future__ import annotations

import io
import json
import tempfile
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.utils import timezone

from egov.core.acting import Acting
from egov.exchange.choices import DeliveryState
from egov.exchange.envelope import (
    BLOCK,
    SPOOL_BYTES,
    EnvelopeError,
    Hasher,
    canonical_json,
    iso,
    package_file,
)
from egov.exchange.models import Delivery, Node
from egov.exchange.receiving import receive_package
from egov.exchange.sealing import seal_for, sign_manifest
from egov.exchange.services import do_process_reply, node_code
from egov.orgs.models import Organisation
from egov.pki.signing import verify_detached

BUNDLE_MANIFEST = "bundle.json"
BUNDLE_SIGNATURE = "bundle.p7s"
ITEMS = "envelopes/"


@dataclass
class ImportResult:
    kind: str
    accepted: int = 0
    duplicates: int = 0
    refused: dict[str, str] = field(default_factory=dict)
    replies: list[bytes] = field(default_factory=list)
    settled: int = 0


def _bundle_signer(fallback: Organisation) -> Organisation:
    node = Node.objects.filter(code=node_code()).select_related("operator").first()
    return node.operator if node is not None and node.operator is not None else fallback


def _write_bundle(
    out: IO[bytes],
    kind: str,
    to_node: str,
    items: list[tuple[str, IO[bytes]]],
    signer: Organisation,
) -> int:
    entries = []
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as zf:
        for envelope_id, stream in items:
            name = f"{ITEMS}{envelope_id}.zip"
            hasher = Hasher()
            with zf.open(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), "w") as dst:
                while block := stream.read(BLOCK):
                    hasher.update(block)
                    dst.write(block)
            sha, sm3 = hasher.digests()
            entries.append(
                {
                    "file": name,
                    "envelope_id": envelope_id,
                    "size": hasher.size,
                    "sha256": sha,
                    "sm3": sm3,
                }
            )
        manifest = canonical_json(
            {
                "bundle_id": str(uuid.uuid4()),
                "kind": kind,
                "from_node": node_code(),
                "to_node": to_node,
                "created_at": iso(timezone.now()),
                "items": entries,
            }
        )
        zf.writestr(BUNDLE_MANIFEST, manifest)
        zf.writestr(BUNDLE_SIGNATURE, sign_manifest(manifest, seal_for(signer)))
    return len(entries)


def export_bundle(to_node: str, out: IO[bytes], *, acting: Acting) -> int:
    """All pending envelopes for `to_node` into one bundle; returns how many."""
    deliveries = list(
        Delivery.objects.filter(state=DeliveryState.PENDING, recipient_node=to_node)
        .select_related("sender")
        .order_by("id")
    )
    if not deliveries:
        return _write_bundle(out, "envelopes", to_node, [], _bundle_signer_any())
    streams = []
    for d in deliveries:
        streams.append((str(d.envelope_id), package_file(bytes(d.manifest), bytes(d.signature))))
    try:
        count = _write_bundle(
            out, "envelopes", to_node, streams, _bundle_signer(deliveries[0].sender)
        )
    finally:
        for _id, stream in streams:
            stream.close()
    Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(
        last_attempt_at=timezone.now(), last_error_code="exported"
    )
    from egov.core.audit import record_audit

    record_audit(
        "exchange.bundle_exported", acting=acting, details={"to_node": to_node, "count": count}
    )
    return count


def _bundle_signer_any() -> Organisation:
    node = Node.objects.filter(code=node_code()).select_related("operator").first()
    if node is not None and node.operator is not None:
        return node.operator
    raise EnvelopeError("no_bundle_signer", "this node has no operator to sign an empty bundle")


def _open_bundle(source: IO[bytes]) -> tuple[zipfile.ZipFile, dict[str, Any]]:
    try:
        zf = zipfile.ZipFile(source)
        raw = zf.read(BUNDLE_MANIFEST)
        signature = zf.read(BUNDLE_SIGNATURE)
    except (zipfile.BadZipFile, KeyError, OSError, EOFError) as exc:
        raise EnvelopeError("malformed_bundle", f"not a bundle: {exc}") from exc
    result = verify_detached(raw, signature)
    if not result.valid:
        raise EnvelopeError("bundle_" + result.reason, result.detail or result.reason)
    try:
        manifest = json.loads(raw)
    except ValueError as exc:
        raise EnvelopeError("malformed_bundle", "bundle.json is not JSON") from exc
    expected = {i["file"] for i in manifest["items"]} | {BUNDLE_MANIFEST, BUNDLE_SIGNATURE}
    if set(zf.namelist()) != expected:
        raise EnvelopeError("malformed_bundle", "the bundle's files are not its items")
    return zf, manifest


def _items(zf: zipfile.ZipFile, manifest: dict[str, Any]) -> Any:
    for item in manifest["items"]:
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
        hasher = Hasher()
        with zf.open(item["file"]) as src:
            while block := src.read(BLOCK):
                hasher.update(block)
                spool.write(block)
        spool.seek(0)
        if (hasher.size, *hasher.digests()) != (item["size"], item["sha256"], item["sm3"]):
            spool.close()
            raise EnvelopeError("bundle_hash_mismatch", f"{item['file']} differs from bundle.json")
        yield item, spool


def import_bundle(source: IO[bytes], *, acting: Acting) -> ImportResult:
    zf, manifest = _open_bundle(source)
    result = ImportResult(kind=manifest["kind"])
    with zf:
        if manifest["kind"] == "replies":
            for item, spool in _items(zf, manifest):
                with spool:
                    data = spool.read()
                target = _reply_target(data)
                delivery = Delivery.objects.filter(envelope_id=target).first() if target else None
                if delivery is None:
                    result.refused[item["envelope_id"]] = "unknown_delivery"
                    continue
                try:
                    do_process_reply(delivery.pk, data, acting=acting)
                except EnvelopeError as exc:
                    result.refused[item["envelope_id"]] = exc.code
                    continue
                result.settled += 1
            return result
        for item, spool in _items(zf, manifest):
            with spool:
                outcome = receive_package(spool)
            if outcome.reply is None:
                result.refused[item["envelope_id"]] = outcome.code
                continue
            result.duplicates += int(outcome.duplicate)
            result.accepted += int(not outcome.duplicate)
            result.replies.append(outcome.reply)
    return result


def _reply_target(data: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            target = json.loads(zf.read("manifest.json"))["in_reply_to"]
            return str(target) if target else None
    except (zipfile.BadZipFile, KeyError, ValueError):
        return None


def write_replies(result: ImportResult, to_node: str, out: IO[bytes]) -> int:
    """The replies of an import, as a bundle to carry back."""
    items: list[tuple[str, IO[bytes]]] = []
    for data in result.replies:
        items.append((_reply_id(data), io.BytesIO(data)))
    signer = None
    if items:
        with zipfile.ZipFile(io.BytesIO(result.replies[0])) as zf:
            code = json.loads(zf.read("manifest.json"))["sender"]["org"]
        signer = Organisation.objects.get(code=code)
    return _write_bundle(
        out, "replies", to_node, items, _bundle_signer(signer) if signer else _bundle_signer_any()
    )


def _reply_id(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return str(json.loads(zf.read("manifest.json"))["envelope_id"])


def bundle_from_node(path: Path) -> str:
    with zipfile.ZipFile(path) as zf:
        return str(json.loads(zf.read(BUNDLE_MANIFEST))["from_node"])
