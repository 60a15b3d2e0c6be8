"""Electronic seals (电子印章) on official-document PDFs: PAdES signatures made with pyHanko.

`seal_pdf` applies one PAdES baseline B-B signature (/SubFilter /ETSI.CAdES.detached, SHA-256)
per `SealRequest`, each in its own incremental revision, so a joint issue (联合行文) carries
every agency's seal, each one over the revisions before it. Each signature has a visible widget:
the red round seal drawn by `seal_image` as vector operators, composited with a multiply blend
so the text underneath stays readable. The key is the organisation's seal key held by the
server's keystore (`egov.pki.signing.load_signer`); the CMS carries the seal certificate, its
issuing CA and the root, so `pdfsig` or any reader that trusts the province root validates it.

`validate_sealed_pdf` checks every signature with pyHanko against the province root (the
`CertificateAuthority` rows of kind ROOT unless other roots are given). Revocation comes from
this CA's own database, never from the network: the newest CRL of every CA (the
`RevocationList` rows) is handed to pyHanko's validator (fetching off), and the signer's and
the CAs' `Certificate` rows are read as well, since a revocation is on the row before any
reader could fetch a CRL. A revoked certificate makes a seal untrusted, whatever its reason
and date: without a trusted timestamp (no TSA here, so B-B and not B-T) the signing time is
only what the signer wrote, so it cannot show that the seal came before the revocation;
`revoked_at` and `revocation_reason` are given for whoever wants to weigh that.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from typing import IO, Any, BinaryIO, TypeVar

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from django.utils import timezone
from django.utils.translation import gettext as _
from pyhanko.pdf_utils import content, generic, layout
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko.stamp.base import BaseStamp, BaseStampStyle
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from egov.core.errors import DomainError
from egov.documents.seal_image import SEAL_RED, draw_seal
from egov.pki.choices import CAKind, CertificateStatus, Profile
from egov.pki.keystore import PrivateKey
from egov.pki.models import Certificate, CertificateAuthority, RevocationList
from egov.pki.signing import load_signer

T = TypeVar("T")

__all__ = [
    "SealCheck",
    "SealError",
    "SealRequest",
    "province_roots",
    "seal_pdf",
    "validate_sealed_pdf",
]

FIELD_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# Seal appearance: opacity of the red ink, and the blend mode that keeps the text below legible.
SEAL_OPACITY = 0.9
_CHUNK = 1024 * 1024


class SealError(DomainError):
    """A seal request refused before anything is written (or a file that is not a PDF)."""

    code = "seal_refused"


@dataclass(frozen=True)
class SealRequest:
    """One seal to apply: whose seal (an ORG_SEAL certificate whose key the server holds), and
    where (0-based page; box x1, y1, x2, y2 in PDF points, origin bottom-left)."""

    certificate: Certificate
    page: int
    box: tuple[float, float, float, float]
    field_name: str
    caption: str = ""  # optional text under the star, e.g. a seal's purpose


@dataclass(frozen=True)
class SealCheck:
    """The verdict on one seal of a PDF, in file order.

    `trusted` is pyHanko's verdict on the chain to the given roots at validation time (key
    usage and revocation included) and False when our database shows a certificate of the
    chain revoked; `covers_whole_file` is True only for a seal after which nothing was added
    (earlier seals of a joint issue cover their own revision). `ok` is the single answer:
    intact, valid, trusted, not revoked, every later revision only added signatures or form
    data (pyHanko's difference analysis), and the file's last seal covers the whole file."""

    field_name: str
    signer_organisation: str
    certificate_sha256: str
    intact: bool
    valid: bool
    trusted: bool
    revoked: bool
    covers_whole_file: bool
    signing_time: datetime | None
    revoked_at: datetime | None = None
    revocation_reason: int | None = None
    coverage: str = ""  # entire_file / entire_revision / contiguous_block_from_start / unclear
    modification_level: str = ""  # none / lta_updates / form_filling / annotations / other
    ok: bool = False
    summary: str = ""  # pyHanko's summary, or why validation could not run


# --- the visible seal ------------------------------------------------------------------------


@dataclass(frozen=True)
class SealStampStyle(BaseStampStyle):
    """pyHanko stamp style drawing the round seal (no border, no text box)."""

    organisation_name: str = ""
    caption: str = ""
    colour: tuple[float, float, float] = SEAL_RED
    opacity: float = SEAL_OPACITY
    border_width: int = 0

    def create_stamp(
        self, writer: BasePdfFileWriter, box: layout.BoxConstraints, text_params: dict[str, Any]
    ) -> SealStamp:
        return SealStamp(writer=writer, style=self, box=box)


class SealStamp(BaseStamp):
    style: SealStampStyle

    def _render_inner_content(self) -> list[bytes]:
        opacity = generic.FloatObject(self.style.opacity)
        self.set_resource(
            category=content.ResourceType.EXT_G_STATE,
            name=pdf_name("/SealGS"),
            value=generic.DictionaryObject(
                {
                    pdf_name("/Type"): pdf_name("/ExtGState"),
                    pdf_name("/BM"): pdf_name("/Multiply"),
                    pdf_name("/CA"): opacity,
                    pdf_name("/ca"): opacity,
                }
            ),
        )
        drawing = draw_seal(
            self.style.organisation_name,
            self.box.width,
            self.box.height,
            caption=self.style.caption,
            colour=self.style.colour,
        )
        return [b"/SealGS gs", drawing.encode("ascii")]


# --- signing ---------------------------------------------------------------------------------


class KeystoreSigner(signers.Signer):
    """A pyHanko signer over a key from `egov.pki` (the key object never leaves the process in
    clear, unlike `SimpleSigner`, which wants PKCS#8 bytes; an HSM-backed key store would plug
    in here the same way)."""

    def __init__(self, key: PrivateKey, chain: Sequence[x509.Certificate]) -> None:
        certs = [_to_asn1(c) for c in chain]
        super().__init__(
            signing_cert=certs[0],
            # The issuers only: pyHanko adds the signing certificate itself.
            cert_registry=SimpleCertificateStore.from_certs(certs[1:]),
            embed_roots=True,
        )
        self._key = key

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        algorithm = get_pyca_cryptography_hash(digest_algorithm)
        if isinstance(self._key, ec.EllipticCurvePrivateKey):
            return self._key.sign(data, ec.ECDSA(algorithm))
        if isinstance(self._key, rsa.RSAPrivateKey):
            return self._key.sign(data, padding.PKCS1v15(), algorithm)
        raise SealError(_("The seal key has an unsupported algorithm."), field="certificate")


def outside_event_loop(fn: Callable[[], T]) -> T:
    """Run pyHanko's synchronous API, which starts an event loop of its own: in a worker thread
    when this thread already runs one (an ASGI server, Playwright's sync API in tests)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn()
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn).result()


def _to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _chain_for(cert: Certificate) -> list[x509.Certificate]:
    """The seal certificate, its issuing CA and up to the root (embedded for the readers)."""
    chain = [cert.x509]
    ca: CertificateAuthority | None = cert.issuer
    seen = 0
    while ca is not None and ca.certificate is not None and seen < 4:
        chain.append(ca.certificate.x509)
        ca = ca.parent
        seen += 1
    return chain


def _check_certificate(certificate: Certificate) -> Certificate:
    """The certificate's current row, refused unless it is a valid organisation seal."""
    row = (
        Certificate.objects.select_related(
            "issuer__certificate", "issuer__parent__certificate", "organisation"
        )
        .filter(pk=certificate.pk)
        .first()
    )
    if row is None:
        raise SealError(_("Unknown seal certificate."), field="certificate")
    if row.profile != Profile.ORG_SEAL:
        raise SealError(
            _(
                "%(name)s is a “%(profile)s” certificate; only an organisation seal certificate "
                "can seal a document."
            )
            % {"name": row.common_name, "profile": row.get_profile_display()},
            field="certificate",
        )
    if row.status != CertificateStatus.VALID:
        raise SealError(
            _("The seal certificate of %(name)s is revoked; it can no longer seal documents.")
            % {"name": row.common_name},
            field="certificate",
        )
    now = timezone.now()
    if row.not_after <= now or row.not_before > now:
        raise SealError(
            _("The seal certificate of %(name)s is not valid now (valid %(start)s to %(end)s).")
            % {
                "name": row.common_name,
                "start": row.not_before.date().isoformat(),
                "end": row.not_after.date().isoformat(),
            },
            field="certificate",
        )
    if not row.key_ref:
        raise SealError(
            _("The server does not hold the seal key of %(name)s.") % {"name": row.common_name},
            field="certificate",
        )
    return row


def _organisation_name(row: Certificate) -> str:
    names = row.x509.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    return str(names[0].value) if names else row.common_name


def _seekable(source: BinaryIO | IO[bytes]) -> IO[bytes]:
    """The source itself when it can seek, else a spooled copy (pyHanko reads at random)."""
    try:
        if source.seekable():
            return source
    except (AttributeError, ValueError):
        pass
    copy = tempfile.TemporaryFile()  # noqa: SIM115 -- returned to the caller, who closes it
    shutil.copyfileobj(source, copy, _CHUNK)
    copy.seek(0)
    return copy


def _check_layout(reader: PdfFileReader, seals: Sequence[SealRequest]) -> None:
    pages = reader.root["/Pages"]["/Count"]
    existing = {name for name, _value, _ref in fields.enumerate_sig_fields(reader)}
    names: set[str] = set()
    for seal in seals:
        if not FIELD_NAME.match(seal.field_name or ""):
            raise SealError(
                _("A seal's field name is 1 to 64 letters, digits, “-” or “_”."),
                field="field_name",
            )
        if seal.field_name in names or seal.field_name in existing:
            raise SealError(
                _("The field name %(name)s is already used in this document or this request.")
                % {"name": seal.field_name},
                field="field_name",
            )
        names.add(seal.field_name)
        if not 0 <= seal.page < pages:
            raise SealError(
                _("Page %(page)d does not exist: the document has %(count)d pages.")
                % {"page": seal.page + 1, "count": pages},
                field="page",
            )
        x1, y1, x2, y2 = (float(v) for v in seal.box)
        media = _page_box(reader, seal.page)
        if not (x1 < x2 and y1 < y2) or x2 - x1 < 20 or y2 - y1 < 20:
            raise SealError(
                _("The seal's box must be at least 20 points wide and high (x1 < x2, y1 < y2)."),
                field="box",
            )
        if x1 < media[0] or y1 < media[1] or x2 > media[2] or y2 > media[3]:
            raise SealError(_("The seal's box lies outside the page."), field="box")


def _page_box(reader: PdfFileReader, index: int) -> tuple[float, float, float, float]:
    page, _res = reader.find_page_for_modification(index)
    page_obj = page.get_object()
    box = page_obj.get("/CropBox") or _inherited(page_obj, "/MediaBox")
    x1, y1, x2, y2 = (float(v) for v in box)
    return min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)


def _inherited(page: generic.DictionaryObject, key: str) -> Any:
    node: Any = page
    while node is not None:
        if key in node:
            return node[key]
        node = node.get("/Parent")
        node = node.get_object() if node is not None else None
    return [0, 0, 595.28, 841.89]  # A4, the PDF default when no box is given anywhere


def seal_pdf(
    source: BinaryIO,
    out: BinaryIO,
    seals: Sequence[SealRequest],
    *,
    reason: str = "",
    location: str = "",
) -> None:
    """Seal `source` into `out`: one PAdES signature and revision per request, in order.

    Every request is checked (certificate profile, status, validity, key held; page, box and
    field name) before anything is written. The file is streamed through temporary files, so
    a large document is not held in memory. Raises `SealError` (a `DomainError`).
    """
    if not seals:
        raise SealError(_("Choose at least one seal."), field="seals")
    rows = [_check_certificate(seal.certificate) for seal in seals]
    signers_ = []
    for row in rows:
        loaded = load_signer(row)  # raises SigningError (a DomainError) if the key is gone
        signers_.append(KeystoreSigner(loaded.private_key, _chain_for(row)))

    current = _seekable(source)
    temporary: list[IO[bytes]] = [] if current is source else [current]
    try:
        try:
            _check_layout(PdfFileReader(current, strict=False), seals)
        except PdfError as exc:
            raise _not_a_pdf(exc) from exc
        for seal, row, signer in zip(seals, rows, signers_, strict=True):
            current.seek(0)
            spool = tempfile.TemporaryFile()  # noqa: SIM115 -- closed in `finally`
            temporary.append(spool)
            try:
                _sign_one(current, spool, seal, row, signer, reason=reason, location=location)
            except PdfError as exc:  # e.g. an encrypted file, or damage the reader skipped
                raise _not_a_pdf(exc) from exc
            current = spool
        current.seek(0)
        shutil.copyfileobj(current, out, _CHUNK)
    finally:
        for handle in temporary:
            handle.close()


def _sign_one(
    source: IO[bytes],
    out: IO[bytes],
    seal: SealRequest,
    row: Certificate,
    signer: KeystoreSigner,
    *,
    reason: str,
    location: str,
) -> None:
    """One incremental revision carrying one signature with its visible seal."""
    organisation = _organisation_name(row)
    meta = signers.PdfSignatureMetadata(
        field_name=seal.field_name,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason or None,
        location=location or None,
        name=organisation,
    )
    box = tuple(float(v) for v in seal.box)
    pdf_signer = signers.PdfSigner(
        meta,
        signer=signer,
        stamp_style=SealStampStyle(organisation_name=organisation, caption=seal.caption),
        new_field_spec=fields.SigFieldSpec(
            sig_field_name=seal.field_name,
            on_page=seal.page,
            box=box,  # type: ignore[arg-type]  # pyHanko annotates ints; floats are written as is
        ),
    )
    outside_event_loop(
        lambda: pdf_signer.sign_pdf(IncrementalPdfFileWriter(source, strict=False), output=out)
    )


def _not_a_pdf(exc: Exception) -> SealError:
    return SealError(
        _("The file is not a readable PDF (%(error)s).") % {"error": exc}, field="file"
    )


# --- validation ------------------------------------------------------------------------------


def province_roots() -> list[x509.Certificate]:
    """The province root certificates (the `CertificateAuthority` rows of kind ROOT)."""
    return [
        ca.certificate.x509
        for ca in CertificateAuthority.objects.filter(kind=CAKind.ROOT)
        .select_related("certificate")
        .order_by("id")
        if ca.certificate is not None
    ]


def _validation_material() -> tuple[list[asn1_x509.Certificate], list[bytes]]:
    """The CA certificates (for path building) and each CA's newest CRL, from the database."""
    cas = [
        _to_asn1(ca.certificate.x509)
        for ca in CertificateAuthority.objects.select_related("certificate").order_by("id")
        if ca.certificate is not None
    ]
    crls = []
    for ca_id in CertificateAuthority.objects.values_list("id", flat=True):
        newest = (
            RevocationList.objects.filter(ca_id=ca_id).order_by("-number").values("der").first()
        )
        if newest is not None:
            crls.append(bytes(newest["der"]))
    return cas, crls


def _level_name(value: Any) -> str:
    return str(value.name).lower() if value is not None else ""


def _organisation_of(cert: x509.Certificate) -> str:
    for oid in (NameOID.ORGANIZATION_NAME, NameOID.COMMON_NAME):
        names = cert.subject.get_attributes_for_oid(oid)
        if names:
            return str(names[0].value)
    return cert.subject.rfc4514_string()


def validate_sealed_pdf(
    source: BinaryIO, *, roots: Sequence[x509.Certificate] | None = None
) -> list[SealCheck]:
    """Check every signature of a PDF, in file order (see the module's docstring).

    Raises `SealError` when the file is not a readable PDF; a damaged signature gives a
    `SealCheck` with `intact`/`valid` False and the reason in `summary`.
    """
    trust = list(roots) if roots is not None else province_roots()
    trust_asn1 = [_to_asn1(c) for c in trust]
    other_certs, crls = _validation_material()
    stream = _seekable(source)
    try:
        try:
            embedded = PdfFileReader(stream, strict=False).embedded_regular_signatures
        except (PdfError, ValueError, KeyError) as exc:
            raise _not_a_pdf(exc) from exc
        checks: list[SealCheck] = []
        for sig in embedded:
            context = ValidationContext(
                trust_roots=trust_asn1,
                other_certs=other_certs,
                crls=crls,
                allow_fetching=False,
                revocation_mode="soft-fail",
            )
            checks.append(_check_one(sig, context))
    finally:
        if stream is not source:
            stream.close()
    if checks and not checks[-1].covers_whole_file:
        # Bytes after the last seal that pyHanko does not read as a revision (it calls them
        # harmless) may still be read by a lenient reader: no seal vouches for them.
        note = "; data after the last seal is not covered by any seal"
        checks = [replace(c, ok=False, summary=c.summary + note) for c in checks]
    return checks


def _failed(
    field_name: str,
    summary: str,
    *,
    organisation: str = "",
    sha256: str = "",
    signing_time: datetime | None = None,
) -> SealCheck:
    return SealCheck(
        field_name=field_name,
        signer_organisation=organisation,
        certificate_sha256=sha256,
        intact=False,
        valid=False,
        trusted=False,
        revoked=False,
        covers_whole_file=False,
        signing_time=signing_time,
        summary=summary,
    )


def _check_one(sig: Any, context: ValidationContext) -> SealCheck:
    field_name = str(sig.field_name)
    try:
        signer_cert = x509.load_der_x509_certificate(sig.signer_cert.dump())
    except Exception as exc:  # any damage to the CMS means "not a valid seal"
        return _failed(field_name, f"unreadable signature: {exc}")
    sha256 = hashlib.sha256(signer_cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    organisation = _organisation_of(signer_cert)
    try:
        status: PdfSignatureStatus = outside_event_loop(
            lambda: validate_pdf_signature(sig, context)
        )
    except Exception as exc:  # pyHanko raises many kinds on damaged input
        return _failed(
            field_name,
            f"validation failed: {exc}",
            organisation=organisation,
            sha256=sha256,
            signing_time=sig.self_reported_timestamp,
        )
    revoked = status.revoked
    revoked_at = status.revocation_details.revocation_date if status.revocation_details else None
    reason = None
    # Our own rows: the signer's certificate and the CA certificates of the path.
    path_ders = [sha256]
    if status.validation_path is not None:
        path_ders += [
            hashlib.sha256(c.dump()).hexdigest()
            for c in status.validation_path.iter_certs(include_root=False)
        ]
    for row in Certificate.objects.filter(
        fingerprint_sha256__in=path_ders, status=CertificateStatus.REVOKED
    ):
        revoked = True
        if row.fingerprint_sha256 == sha256 or revoked_at is None:
            revoked_at, reason = row.revoked_at, row.revocation_reason
    trusted = bool(status.trusted) and not revoked
    ok = bool(status.bottom_line) and trusted
    return SealCheck(
        field_name=field_name,
        signer_organisation=organisation,
        certificate_sha256=sha256,
        intact=bool(status.intact),
        valid=bool(status.valid),
        trusted=trusted,
        revoked=revoked,
        covers_whole_file=status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
        signing_time=status.signer_reported_dt,
        revoked_at=revoked_at,
        revocation_reason=reason,
        coverage=_level_name(status.coverage),
        modification_level=_level_name(status.modification_level),
        ok=ok,
        summary=status.summary(),
    )
