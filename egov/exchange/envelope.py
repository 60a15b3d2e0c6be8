"""The envelope: a zip with `manifest.json` (canonical JSON), `manifest.p7s` (detached CMS over
the manifest bytes) and `parts/<name>`, each part bound by its SHA-256 and SM3 in the manifest.

Building and parsing stream: parts are copied in blocks and hashed while copied, never read
whole into memory. Parts are kept once in a content-addressed store (`PartStore`), so a notice
to 3,000 recipients stores its attachment once and signs 3,000 small manifests.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from cryptography.hazmat.primitives import hashes
from django.conf import settings

BLOCK = 256 * 1024
MANIFEST = "manifest.json"
SIGNATURE = "manifest.p7s"
PARTS_DIR = "parts/"
MAX_MANIFEST_BYTES = 1024 * 1024
MAX_SIGNATURE_BYTES = 64 * 1024
MAX_PARTS = 200
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_PART_NAME = re.compile(r"^[^/\\\x00-\x1f\x7f:*?\"<>|]{1,200}$")
SPOOL_BYTES = 4 * 1024 * 1024  # a package up to this size stays in memory


def max_envelope_bytes() -> int:
    from egov.exchange.conf import setting_int

    return setting_int("EGOV_EXCHANGE_MAX_ENVELOPE_BYTES", 100 * 1024 * 1024)


class EnvelopeError(Exception):
    """The package failed one of the receiver's checks 1–4 (a transport refusal)."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def canonical_json(value: Any) -> bytes:
    """Sorted keys, UTF-8, no insignificant white space."""
    return json.dumps(
        value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    ).encode("utf-8")


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: Any) -> datetime:
    if not isinstance(text, str):
        raise ValueError("not a time")
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


class Hasher:
    """SHA-256 and SM3 of one stream, fed block by block (`sm3=False`: SHA-256 only, and the
    SM3 digest comes back empty)."""

    def __init__(self, *, sm3: bool = True) -> None:
        self.sha = hashlib.sha256()
        self.sm3 = hashes.Hash(hashes.SM3()) if sm3 else None
        self.size = 0

    def update(self, block: bytes) -> None:
        self.sha.update(block)
        if self.sm3 is not None:
            self.sm3.update(block)
        self.size += len(block)

    def digests(self) -> tuple[str, str]:
        return self.sha.hexdigest(), self.sm3.finalize().hex() if self.sm3 is not None else ""


def digests(data: bytes) -> tuple[str, str]:
    h = Hasher()
    h.update(data)
    return h.digests()


def check_part_name(name: str) -> str | None:
    """The reason code for a bad part name, or None."""
    if ".." in name.split("/") or name.startswith(("/", "\\")) or "\\" in name or "/" in name:
        return "path_traversal"
    if not _PART_NAME.match(name) or name in (".", ".."):
        return "bad_manifest"
    return None


# --- the part store ------------------------------------------------------------------------------


def exchange_dir() -> Path:
    configured = getattr(settings, "EGOV_EXCHANGE_DIR", "") or os.environ.get("EGOV_EXCHANGE_DIR")
    return Path(configured) if configured else Path(settings.VAR_DIR) / "exchange"


class PartStore:
    """Content-addressed files by SHA-256 (written once through a temporary file and rename).

    Beside each file, `<sha256>.sm3` records the SM3 digest computed when it was written, so a
    part that arrives again need not be hashed with SM3 again (see `_check_part`).
    """

    def __init__(self, root: Path | None = None):
        self.root = root or exchange_dir() / "parts"

    def path(self, sha256: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise ValueError("not a SHA-256")
        return self.root / sha256[:2] / sha256

    def put_stream(self, stream: IO[bytes], limit: int | None = None) -> tuple[str, str, int]:
        """Copy a stream into the store, hashing while copying; returns (sha256, sm3, size)."""
        self.root.mkdir(parents=True, exist_ok=True)
        hasher = Hasher()
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".in-")
        try:
            with os.fdopen(fd, "wb") as out:
                while block := stream.read(BLOCK):
                    hasher.update(block)
                    if limit is not None and hasher.size > limit:
                        raise EnvelopeError("too_large", "part larger than allowed")
                    out.write(block)
            sha, sm3 = hasher.digests()
            target = self.path(sha)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self.record_sm3(sha, sm3)
        return sha, sm3, hasher.size

    def open(self, sha256: str) -> IO[bytes]:
        return self.path(sha256).open("rb")

    def has(self, sha256: str) -> bool:
        return self.path(sha256).exists()

    def record_sm3(self, sha256: str, sm3: str) -> None:
        """Note the SM3 digest of the stored file `sha256` (computed over its very bytes)."""
        target = self.path(sha256).with_suffix(".sm3")
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".sm3-")
        try:
            with os.fdopen(fd, "w") as out:
                out.write(sm3)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def stored_sm3(self, sha256: str) -> str | None:
        """The SM3 digest recorded for a stored file, or None (not stored, or not recorded)."""
        try:
            value = self.path(sha256).with_suffix(".sm3").read_text().strip()
        except FileNotFoundError:
            return None
        return value if re.fullmatch(r"[0-9a-f]{64}", value) and self.has(sha256) else None


# --- building ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartSpec:
    name: str
    media_type: str
    size: int
    sha256: str
    sm3: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "media_type": self.media_type,
            "size": self.size,
            "sha256": self.sha256,
            "sm3": self.sm3,
        }


def write_package(
    out: IO[bytes], manifest: bytes, signature: bytes, store: PartStore | None = None
) -> None:
    """Write the zip for a manifest and its signature, the parts streamed from the store."""
    store = store or PartStore()
    parts = json.loads(manifest)["parts"]
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr(zipfile.ZipInfo(MANIFEST, ZIP_TIME), manifest)
        zf.writestr(zipfile.ZipInfo(SIGNATURE, ZIP_TIME), signature)
        for part in parts:
            info = zipfile.ZipInfo(PARTS_DIR + part["name"], ZIP_TIME)
            info.file_size = part["size"]
            with store.open(part["sha256"]) as src, zf.open(info, "w") as dst:
                while block := src.read(BLOCK):
                    dst.write(block)


def package_file(manifest: bytes, signature: bytes, store: PartStore | None = None) -> IO[bytes]:
    """The package in a spooled temporary file (memory up to 1 MiB, disk beyond), rewound."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - returned open
    write_package(spool, manifest, signature, store)
    spool.seek(0)
    return spool


def package_bytes(manifest: bytes, signature: bytes, store: PartStore | None = None) -> bytes:
    with package_file(manifest, signature, store) as f:
        return f.read()


# --- parsing (checks 1 and 2) --------------------------------------------------------------------


@dataclass
class ParsedEnvelope:
    manifest_bytes: bytes
    signature: bytes
    manifest: dict[str, Any]
    parts: list[PartSpec] = field(default_factory=list)
    manifest_sha256: str = ""
    manifest_sm3: str = ""

    @property
    def envelope_id(self) -> str:
        return str(self.manifest["envelope_id"])

    @property
    def kind(self) -> str:
        return str(self.manifest["kind"])


_REQUIRED = {
    "envelope_id": str,
    "kind": str,
    "sender": dict,
    "recipient": dict,
    "created_at": str,
    "expires_at": str,
    "payload": dict,
    "parts": list,
}


def _check_manifest(raw: bytes) -> dict[str, Any]:
    import uuid

    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise EnvelopeError("bad_manifest", f"manifest is not JSON: {exc}") from exc
    if not isinstance(manifest, dict):
        raise EnvelopeError("bad_manifest", "manifest is not an object")
    for key, typ in _REQUIRED.items():
        if not isinstance(manifest.get(key), typ):
            raise EnvelopeError("bad_manifest", f"manifest field {key} is missing or wrong")
    try:
        canonical = canonical_json(manifest)
    except ValueError as exc:
        raise EnvelopeError("bad_manifest", str(exc)) from exc
    if canonical != raw:
        raise EnvelopeError("bad_manifest", "manifest is not in canonical form")
    try:
        uuid.UUID(manifest["envelope_id"])
        if manifest.get("in_reply_to") is not None:
            uuid.UUID(str(manifest["in_reply_to"]))
        parse_iso(manifest["created_at"])
        parse_iso(manifest["expires_at"])
    except ValueError as exc:
        raise EnvelopeError("bad_manifest", f"bad id or time: {exc}") from exc
    for who, keys in (("sender", ("org", "node", "certificate")), ("recipient", ("org", "node"))):
        for key in keys:
            if not isinstance(manifest[who].get(key), str):
                raise EnvelopeError("bad_manifest", f"manifest field {who}.{key} is missing")
    return manifest


def _part_specs(manifest: dict[str, Any]) -> list[PartSpec]:
    specs = []
    if len(manifest["parts"]) > MAX_PARTS:
        raise EnvelopeError("too_large", "too many parts")
    for item in manifest["parts"]:
        try:
            spec = PartSpec(
                name=item["name"],
                media_type=item["media_type"],
                size=item["size"],
                sha256=item["sha256"],
                sm3=item["sm3"],
            )
        except (KeyError, TypeError) as exc:
            raise EnvelopeError("bad_manifest", "a part entry is incomplete") from exc
        if not isinstance(spec.name, str) or not isinstance(spec.size, int) or spec.size < 0:
            raise EnvelopeError("bad_manifest", "a part entry has a wrong type")
        reason = check_part_name(spec.name)
        if reason:
            raise EnvelopeError(reason, f"part name {spec.name!r} is not allowed")
        if not re.fullmatch(r"[0-9a-f]{64}", str(spec.sha256)) or not re.fullmatch(
            r"[0-9a-f]{64}", str(spec.sm3)
        ):
            raise EnvelopeError("bad_manifest", "a part hash is not hexadecimal")
        specs.append(spec)
    if len({s.name for s in specs}) != len(specs):
        raise EnvelopeError("duplicate_file", "two parts share a name")
    return specs


def _read_limited(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    with zf.open(info) as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise EnvelopeError("too_large", f"{info.filename} is larger than allowed")
    return data


def parse_package(
    source: IO[bytes],
    *,
    store: PartStore | None = None,
    size: int | None = None,
) -> ParsedEnvelope:
    """Checks 1 and 2: the package parses, holds exactly the parts, and every hash matches.

    With `store`, every part is copied into the store while it is hashed (one pass).
    """
    limit = max_envelope_bytes()
    if size is not None and size > limit:
        raise EnvelopeError("too_large", "the package is larger than allowed")
    try:
        zf = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise EnvelopeError("malformed_package", f"not a zip file: {exc}") from exc
    with zf:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        for name in names:
            if name.startswith(("/", "\\")) or ".." in name.replace("\\", "/").split("/"):
                raise EnvelopeError("path_traversal", f"file name {name!r} leaves the package")
        if len(set(names)) != len(names):
            raise EnvelopeError("duplicate_file", "a file name appears twice")
        by_name = {i.filename: i for i in infos}
        if MANIFEST not in by_name or SIGNATURE not in by_name:
            raise EnvelopeError("missing_part", "manifest.json or manifest.p7s is missing")
        if sum(i.file_size for i in infos) > limit:
            raise EnvelopeError("too_large", "the package is larger than allowed")
        manifest_bytes = _read_limited(zf, by_name[MANIFEST], MAX_MANIFEST_BYTES)
        signature = _read_limited(zf, by_name[SIGNATURE], MAX_SIGNATURE_BYTES)
        manifest = _check_manifest(manifest_bytes)
        specs = _part_specs(manifest)
        expected = {PARTS_DIR + s.name for s in specs}
        present = set(names) - {MANIFEST, SIGNATURE}
        extra = present - expected
        if extra:
            raise EnvelopeError("unexpected_file", f"files not in the manifest: {sorted(extra)}")
        missing = expected - present
        if missing:
            raise EnvelopeError("missing_part", f"parts missing: {sorted(missing)}")
        for spec in specs:
            _check_part(zf, by_name[PARTS_DIR + spec.name], spec, store)
    sha, sm3 = digests(manifest_bytes)
    return ParsedEnvelope(
        manifest_bytes=manifest_bytes,
        signature=signature,
        manifest=manifest,
        parts=specs,
        manifest_sha256=sha,
        manifest_sm3=sm3,
    )


class _Limited:
    """A reader that refuses to go past a declared size (zip headers can lie)."""

    def __init__(self, stream: IO[bytes], limit: int, hasher: Hasher):
        self.stream = stream
        self.limit = limit
        self.hasher = hasher

    def read(self, n: int = -1) -> bytes:
        block = self.stream.read(BLOCK)
        self.hasher.update(block)
        if self.hasher.size > self.limit:
            raise EnvelopeError("size_mismatch", "a part is larger than its manifest size")
        return block


def _check_part(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, spec: PartSpec, store: PartStore | None
) -> None:
    # A part this node already holds (one notice to many organisations on this node brings the
    # same PDF many times) is checked by SHA-256 alone when the manifest's SM3 is the one
    # recorded for the stored file: equal SHA-256 means the very bytes whose SM3 was computed
    # when they were stored. SM3 is the slower hash by far (about 6 ms per MB here).
    held = store is not None and store.has(spec.sha256)
    stored_sm3 = store.stored_sm3(spec.sha256) if store is not None and held else None
    known = stored_sm3 is not None and stored_sm3 == spec.sm3
    hasher = Hasher(sm3=not known)
    try:
        with zf.open(info) as raw:
            reader = _Limited(raw, spec.size, hasher)
            if store is not None and not held:
                store.put_stream(reader)  # type: ignore[arg-type]  # has read()
            else:
                while reader.read():
                    pass
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise EnvelopeError("malformed_package", f"{info.filename}: {exc}") from exc
    sha, sm3 = hasher.digests()
    if hasher.size != spec.size:
        raise EnvelopeError("size_mismatch", f"{spec.name}: size differs from the manifest")
    if sha != spec.sha256 or (sm3 or stored_sm3) != spec.sm3:
        raise EnvelopeError("hash_mismatch", f"{spec.name}: hash differs from the manifest")
    if store is not None and held and stored_sm3 is None:
        store.record_sm3(sha, sm3)  # a part stored before digests were recorded


def iter_part_names(parts: Iterable[PartSpec]) -> list[str]:
    return [p.name for p in parts]
