"""The node directory (节点目录): which node serves each organisation, and each node's URL,
transport, operator and certificate. The provincial node publishes it signed; every node fetches
it (or imports it from a file on an isolated network), checks it and caches it.

The document is a zip of `directory.json` (canonical JSON, like a manifest) and `directory.p7s`
(a detached CMS signature over it by the seal of the directory signer — the provincial general
office, `EGOV_EXCHANGE_DIRECTORY_SIGNER` — which operates the provincial node). A node installs
a directory only if the signature chains to the province root, the signer is the configured one,
and the serial is not older than the one it holds (no rollback). Installing updates the `Node`
rows and `Organisation.node_code` of the organisations this node knows, in one transaction, and
keeps the document (`Directory`) to serve it again and for audit.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from egov.core.acting import Acting
from egov.core.audit import record_audit
from egov.core.choices import AuditOutcome
from egov.core.errors import DomainError
from egov.exchange.choices import DirectorySource, Transport
from egov.exchange.conf import setting_str
from egov.exchange.envelope import canonical_json, digests, iso, parse_iso
from egov.exchange.models import Directory, Node
from egov.exchange.receiving import clock_skew
from egov.exchange.sealing import seal_for, sign_manifest
from egov.exchange.services import node_code
from egov.exchange.tls import node_session
from egov.orgs.models import Organisation
from egov.pki.choices import CertificateStatus, Profile
from egov.pki.models import Certificate
from egov.pki.signing import verify_detached

FORMAT = "egov-exchange-directory"
VERSION = 1
DIRECTORY_JSON = "directory.json"
DIRECTORY_SIGNATURE = "directory.p7s"
PATH = "/exchange/directory"
MAX_DIRECTORY_BYTES = 32 * 1024 * 1024
MAX_SIGNATURE_BYTES = 64 * 1024
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
NODE_KEYS = frozenset({"code", "name", "url", "transport", "operator", "certificate_sha256"})
TOP_KEYS = frozenset(
    {"format", "version", "serial", "issued_at", "issuer", "nodes", "organisations"}
)
_NODE_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,49}$")
_ORG_CODE = re.compile(r"^[^\s\x00-\x1f]{1,18}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
PUBLISHED_TRANSPORTS = (Transport.HTTP, Transport.BUNDLE)


class DirectoryError(DomainError):
    """A directory that cannot be published or installed; `code` says why."""

    def __init__(self, code: str, message: Any, *, field: str | None = None):
        super().__init__(message, field=field)
        self.code = code


@dataclass
class InstallResult:
    """What installing a directory did (`unchanged`: this serial was installed already)."""

    serial: int
    unchanged: bool = False
    summary: dict[str, int] = field(default_factory=dict)
    directory: Directory | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"serial": self.serial, "unchanged": self.unchanged, **self.summary}


def directory_signer_code() -> str:
    return setting_str("EGOV_EXCHANGE_DIRECTORY_SIGNER")


def current_directory() -> Directory | None:
    """The directory in force on this node (the highest serial it holds)."""
    return Directory.objects.order_by("-serial").first()


# --- the document --------------------------------------------------------------------------------


def _seal_fingerprints(org_ids: list[int], now: datetime) -> dict[int, str]:
    """Each organisation's newest valid seal certificate's fingerprint (one query). The key need
    not be on this node: the province publishes the other nodes' operators' certificates."""
    rows = (
        Certificate.objects.filter(
            organisation_id__in=org_ids,
            profile=Profile.ORG_SEAL,
            status=CertificateStatus.VALID,
            not_before__lte=now,
            not_after__gt=now,
        )
        .order_by("organisation_id", "-not_before", "-id")
        .values_list("organisation_id", "fingerprint_sha256")
    )
    found: dict[int, str] = {}
    for org_id, fingerprint in rows:
        if org_id is not None:
            found.setdefault(org_id, fingerprint)
    return found


def _signer() -> Organisation:
    code = directory_signer_code()
    if not code:
        raise DirectoryError(
            "no_directory_signer",
            _("Set EGOV_EXCHANGE_DIRECTORY_SIGNER to the provincial general office's code."),
            field="signer",
        )
    signer = Organisation.objects.filter(code=code, is_active=True).first()
    if signer is None:
        raise DirectoryError(
            "no_directory_signer",
            _("The directory signer %(code)s is not an active organisation here.") % {"code": code},
            field="signer",
        )
    return signer


def directory_content(*, now: datetime | None = None) -> dict[str, Any]:
    """What the directory says now (without serial and time): the issuer, the nodes with their
    operators' seal fingerprints, and every active organisation's node. Only the node operated
    by the directory signer (the provincial node) publishes it."""
    now = now or timezone.now()
    signer = _signer()
    here = node_code()
    nodes = list(Node.objects.select_related("operator").order_by("code"))
    local = next((n for n in nodes if n.code == here), None)
    if local is None or local.operator_id != signer.pk:
        raise DirectoryError(
            "not_directory_node",
            _(
                "Only the node operated by the directory signer publishes the directory: "
                "run manage.py exchange node %(node)s --operator %(code)s --url URL."
            )
            % {"node": here, "code": signer.code},
            field="node",
        )
    if not local.url:
        raise DirectoryError(
            "no_node_url",
            _("This node has no URL: run manage.py exchange node %(node)s --url URL.")
            % {"node": here},
            field="url",
        )
    fingerprints = _seal_fingerprints([n.operator_id for n in nodes if n.operator_id], now)
    entries = []
    for node in nodes:
        transport = node.transport if node.transport in PUBLISHED_TRANSPORTS else Transport.HTTP
        entries.append(
            {
                "code": node.code,
                "name": node.name or (str(settings.EGOV_NODE_NAME) if node is local else ""),
                "url": node.url,
                "transport": str(transport),
                "operator": node.operator.code if node.operator is not None else "",
                "certificate_sha256": fingerprints.get(node.operator_id or 0, "")
                or node.certificate_sha256,
            }
        )
    known = {n.code for n in nodes}
    organisations: dict[str, str] = {}
    stray: set[str] = set()
    active = Organisation.objects.filter(is_active=True).values_list("code", "node_code")
    for code, served_by in active:
        target = served_by or here
        if target not in known:
            stray.add(target)
        organisations[code] = target
    if stray:
        raise DirectoryError(
            "unknown_node",
            _("Organisations are served by nodes with no Node row: %(nodes)s.")
            % {"nodes": ", ".join(sorted(stray))},
            field="nodes",
        )
    return {
        "issuer": {"org": signer.code, "node": here},
        "nodes": entries,
        "organisations": organisations,
    }


def build_directory(
    *, serial: int, now: datetime | None = None, content: dict[str, Any] | None = None
) -> tuple[bytes, bytes]:
    """The signed directory: canonical JSON and its detached CMS by the signer's seal."""
    now = now or timezone.now()
    content = content or directory_content(now=now)
    document = canonical_json(
        {"format": FORMAT, "version": VERSION, "serial": serial, "issued_at": iso(now), **content}
    )
    cert = seal_for(_signer(), at=now)
    return document, sign_manifest(document, cert)


def package(document: bytes, signature: bytes) -> bytes:
    """The directory as served and carried: a zip of the JSON and its signature."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr(zipfile.ZipInfo(DIRECTORY_JSON, ZIP_TIME), document)
        zf.writestr(zipfile.ZipInfo(DIRECTORY_SIGNATURE, ZIP_TIME), signature)
    return out.getvalue()


def unpack(data: bytes) -> tuple[bytes, bytes]:
    """The JSON and signature of a directory package (exactly those two files)."""
    if len(data) > MAX_DIRECTORY_BYTES:
        raise DirectoryError("too_large", _("The directory is larger than allowed."))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            if sorted(i.filename for i in infos) != [DIRECTORY_JSON, DIRECTORY_SIGNATURE]:
                raise DirectoryError(
                    "bad_directory",
                    _("A directory holds directory.json and directory.p7s, nothing else."),
                )
            sizes = {i.filename: i.file_size for i in infos}
            if sizes[DIRECTORY_JSON] > MAX_DIRECTORY_BYTES or (
                sizes[DIRECTORY_SIGNATURE] > MAX_SIGNATURE_BYTES
            ):
                raise DirectoryError("too_large", _("The directory is larger than allowed."))
            return zf.read(DIRECTORY_JSON), zf.read(DIRECTORY_SIGNATURE)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise DirectoryError("bad_directory", _("This is not a directory file.")) from exc


def _bad(message: str) -> DirectoryError:
    return DirectoryError("bad_directory", _("The directory is malformed: %(m)s") % {"m": message})


def _text(value: Any, limit: int, what: str, *, blank: bool = True) -> str:
    if not isinstance(value, str) or len(value) > limit or (not blank and not value):
        raise _bad(what)
    if any(ord(ch) < 32 for ch in value):
        raise _bad(what)
    return value


def parse_directory(document: bytes) -> dict[str, Any]:
    """The directory's JSON, checked for shape and canonical form (not for its signature)."""
    try:
        doc = json.loads(document)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _bad("not JSON") from exc
    if not isinstance(doc, dict) or set(doc) != TOP_KEYS:
        raise _bad("unexpected fields")
    if canonical_json(doc) != document:
        raise _bad("not canonical JSON")
    if doc["format"] != FORMAT or doc["version"] != VERSION:
        raise _bad("unknown format or version")
    serial = doc["serial"]
    if not isinstance(serial, int) or isinstance(serial, bool) or not 0 < serial < 2**62:
        raise _bad("serial")
    try:
        parse_iso(doc["issued_at"])
    except ValueError as exc:
        raise _bad("issued_at") from exc
    issuer = doc["issuer"]
    if not isinstance(issuer, dict) or set(issuer) != {"org", "node"}:
        raise _bad("issuer")
    _text(issuer["org"], 18, "issuer", blank=False)
    _text(issuer["node"], 50, "issuer", blank=False)
    nodes = doc["nodes"]
    if not isinstance(nodes, list):
        raise _bad("nodes")
    codes: set[str] = set()
    for entry in nodes:
        if not isinstance(entry, dict) or set(entry) != NODE_KEYS:
            raise _bad("a node entry")
        code = _text(entry["code"], 50, "node code", blank=False)
        if not _NODE_CODE.match(code) or code in codes:
            raise _bad("node code")
        codes.add(code)
        _text(entry["name"], 200, "node name")
        url = _text(entry["url"], 300, "node url")
        if url and (urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc):
            raise _bad("node url")
        if entry["transport"] not in PUBLISHED_TRANSPORTS:
            raise _bad("node transport")
        operator = _text(entry["operator"], 18, "node operator")
        if operator and not _ORG_CODE.match(operator):
            raise _bad("node operator")
        fingerprint = _text(entry["certificate_sha256"], 64, "certificate fingerprint")
        if fingerprint and not _SHA256.match(fingerprint):
            raise _bad("certificate fingerprint")
    if issuer["node"] not in codes:
        raise _bad("the issuing node is not listed")
    organisations = doc["organisations"]
    if not isinstance(organisations, dict):
        raise _bad("organisations")
    for code, node in organisations.items():
        if not _ORG_CODE.match(code) or node not in codes:
            raise _bad(f"organisation {code[:18]}")
    return doc


def verify_directory(
    document: bytes, signature: bytes, *, now: datetime | None = None
) -> dict[str, Any]:
    """The directory's signature chains to the province root and is the configured signer's
    seal; the document is well formed and not issued in the future."""
    now = now or timezone.now()
    expected = directory_signer_code()
    if not expected:
        raise DirectoryError(
            "no_directory_signer",
            _("Set EGOV_EXCHANGE_DIRECTORY_SIGNER to the provincial general office's code."),
            field="signer",
        )
    if len(signature) > MAX_SIGNATURE_BYTES:
        raise DirectoryError("too_large", _("The directory signature is larger than allowed."))
    result = verify_detached(document, signature, at=now)
    if not result.valid or result.signer is None:
        raise DirectoryError(
            "directory_" + (result.reason or "bad_signature"),
            _("The directory's signature does not verify (%(reason)s).")
            % {"reason": result.reason or "bad_signature"},
        )
    cert = result.signer
    # The verifier loaded the row with its organisation.
    owner = cert.organisation
    code = owner.code if owner is not None else ""
    if cert.profile != Profile.ORG_SEAL or code != expected:
        raise DirectoryError(
            "directory_wrong_signer",
            _("The directory is signed by %(code)s, not by the directory signer %(expected)s.")
            % {"code": code or "?", "expected": expected},
        )
    doc = parse_directory(document)
    if doc["issuer"]["org"] != code:
        raise DirectoryError(
            "directory_wrong_signer", _("The directory names another issuer than its signer.")
        )
    if parse_iso(doc["issued_at"]) > now + clock_skew():
        raise DirectoryError("clock_skew", _("The directory is issued in the future."))
    return doc


# --- installing ----------------------------------------------------------------------------------


def _apply(doc: dict[str, Any], now: datetime) -> dict[str, int]:
    """Node rows and the organisations' nodes as the directory says (a fixed number of queries
    for the nodes, and one update per node and 500 organisations)."""
    here = node_code()
    operator_codes = {e["operator"] for e in doc["nodes"] if e["operator"]}
    operators = {o.code: o for o in Organisation.objects.filter(code__in=operator_codes)}
    rows = {n.code: n for n in Node.objects.all()}
    created = updated = 0
    for entry in doc["nodes"]:
        node = rows.get(entry["code"]) or Node(code=entry["code"])
        before = (node.name, node.url, node.transport, node.operator_id, node.certificate_sha256)
        node.name = entry["name"]
        node.operator = operators.get(entry["operator"])
        node.certificate_sha256 = entry["certificate_sha256"]
        # This node's own transport stays local; a pinned node keeps how it is reached from here.
        if entry["code"] != here and not node.pinned:
            node.url = entry["url"]
            node.transport = entry["transport"]
        elif not node.url:
            node.url = entry["url"]
        if node.pk is None:
            if entry["code"] == here:
                node.transport = Transport.LOCAL
            node.save()
            created += 1
        elif before != (
            node.name,
            node.url,
            node.transport,
            node.operator_id,
            node.certificate_sha256,
        ):
            node.save()
            updated += 1
    listed: dict[str, str] = doc["organisations"]
    moves: dict[str, list[str]] = {}
    known = 0
    for code, current in Organisation.objects.values_list("code", "node_code"):
        target = listed.get(code)
        if target is None:
            continue
        known += 1
        if (current or here) != target:  # blank means this node
            moves.setdefault(target, []).append(code)
    for target, codes in moves.items():
        for start in range(0, len(codes), 500):
            Organisation.objects.filter(code__in=codes[start : start + 500]).update(
                node_code=target, updated_at=now
            )
    return {
        "nodes": len(doc["nodes"]),
        "nodes_created": created,
        "nodes_updated": updated,
        "organisations": len(listed),
        "organisations_moved": sum(len(c) for c in moves.values()),
        "organisations_unknown": len(listed) - known,
        "unknown_operators": len(operator_codes - set(operators)),
    }


def do_install_directory(
    document: bytes,
    signature: bytes,
    *,
    source: str,
    source_url: str = "",
    acting: Acting,
) -> InstallResult:
    """Verify a directory and, if it is newer than the one held, apply it and keep it. The same
    serial again changes nothing; an older serial (a rollback) or a reused one is refused."""
    try:
        return _install(document, signature, source=source, source_url=source_url, acting=acting)
    except DirectoryError as exc:
        record_audit(
            "exchange.directory_refused",
            acting=acting,
            outcome=AuditOutcome.FAILURE,
            details={
                "code": exc.code,
                "message": str(exc.message)[:500],
                "source": source,
                "url": source_url[:300],
                "sha256": digests(document)[0],
            },
        )
        raise


def _install(
    document: bytes, signature: bytes, *, source: str, source_url: str, acting: Acting
) -> InstallResult:
    now = timezone.now()
    doc = verify_directory(document, signature, now=now)
    serial = int(doc["serial"])
    sha = digests(document)[0]
    try:
        with transaction.atomic():
            # Lock the directory in force: installs on this node go one at a time.
            latest = Directory.objects.select_for_update().order_by("-serial").first()
            if latest is not None and serial <= latest.serial:
                if serial == latest.serial and sha == latest.sha256:
                    return InstallResult(serial=serial, unchanged=True, directory=latest)
                if serial == latest.serial:
                    raise DirectoryError(
                        "directory_serial_reused",
                        _("Another directory with serial %(serial)d is installed already.")
                        % {"serial": serial},
                    )
                raise DirectoryError(
                    "directory_rollback",
                    _("The directory's serial %(serial)d is older than %(held)d held here.")
                    % {"serial": serial, "held": latest.serial},
                )
            summary = _apply(doc, now)
            row = Directory.objects.create(
                serial=serial,
                issued_at=parse_iso(doc["issued_at"]),
                signer_code=doc["issuer"]["org"],
                document=document,
                signature=signature,
                sha256=sha,
                source=source,
                source_url=source_url[:300],
                summary=summary,
            )
            record_audit(
                "exchange.directory_installed",
                acting=acting,
                obj=row,
                details={"serial": serial, "source": source, "sha256": sha, **summary},
            )
    except IntegrityError as exc:
        # Another process installed this serial at the same moment.
        held = Directory.objects.filter(serial=serial).first()
        if held is None:
            raise
        if held.sha256 != sha:
            raise DirectoryError(
                "directory_serial_reused",
                _("Another directory with serial %(serial)d is installed already.")
                % {"serial": serial},
            ) from exc
        return InstallResult(serial=serial, unchanged=True, directory=held)
    return InstallResult(serial=serial, summary=summary, directory=row)


def do_publish_directory(*, acting: Acting, only_if_changed: bool = False) -> InstallResult | None:
    """On the provincial node: a new directory with the next serial, signed, kept, served.
    With `only_if_changed`, nothing happens (None) when nodes and organisations are as in the
    directory in force."""
    now = timezone.now()
    content = directory_content(now=now)
    latest = current_directory()
    if only_if_changed and latest is not None:
        held = json.loads(bytes(latest.document))
        if all(held.get(k) == v for k, v in content.items()):
            return None
    serial = (latest.serial if latest is not None else 0) + 1
    document, signature = build_directory(serial=serial, now=now, content=content)
    return do_install_directory(
        document, signature, source=DirectorySource.PUBLISHED, acting=acting
    )


def directory_url(base: str) -> str:
    """`https://province.example` or the full URL of its directory → the directory's URL."""
    base = base.strip()
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise DirectoryError("bad_url", _("Give an http(s) URL."), field="url")
    if parts.path.rstrip("/").endswith(PATH):
        return base
    return base.rstrip("/") + PATH


def fetch_directory(base_url: str, *, acting: Acting) -> InstallResult:
    """GET the directory from a node (`<base>/exchange/directory`) and install it."""
    url = directory_url(base_url)
    try:
        with (
            node_session() as session,
            session.get(url, timeout=(5, 60), stream=True) as response,
        ):
            if response.status_code != 200:
                raise DirectoryError(
                    "directory_unreachable",
                    _("%(url)s answered HTTP %(status)d.")
                    % {"url": url, "status": response.status_code},
                )
            chunks = []
            size = 0
            for block in response.iter_content(256 * 1024):
                size += len(block)
                if size > MAX_DIRECTORY_BYTES:
                    raise DirectoryError("too_large", _("The directory is larger than allowed."))
                chunks.append(block)
    except requests.RequestException as exc:
        raise DirectoryError(
            "directory_unreachable",
            _("The directory could not be fetched from %(url)s: %(error)s")
            % {"url": url, "error": str(exc)[:300]},
        ) from exc
    document, signature = unpack(b"".join(chunks))
    return do_install_directory(
        document, signature, source=DirectorySource.FETCHED, source_url=url, acting=acting
    )


def import_directory(data: bytes, *, acting: Acting, name: str = "") -> InstallResult:
    """Install a directory carried as a file (an isolated network)."""
    document, signature = unpack(data)
    return do_install_directory(
        document, signature, source=DirectorySource.IMPORTED, source_url=name, acting=acting
    )


def is_directory_node() -> bool:
    """Whether this node publishes the directory (it is operated by the directory signer)."""
    signer = directory_signer_code()
    if not signer:
        return False
    return Node.objects.filter(code=node_code(), operator__code=signer).exists()


def refresh(*, acting: Acting) -> dict[str, Any]:
    """The periodic refresh: the provincial node publishes a new serial if anything changed;
    a node with `EGOV_EXCHANGE_DIRECTORY_URL` fetches from there; others do nothing."""
    source = setting_str("EGOV_EXCHANGE_DIRECTORY_URL")
    if source:
        return {"action": "fetch", **fetch_directory(source, acting=acting).as_dict()}
    if is_directory_node():
        published = do_publish_directory(acting=acting, only_if_changed=True)
        if published is None:
            return {"action": "publish", "unchanged": True}
        return {"action": "publish", **published.as_dict()}
    return {"action": "none"}
