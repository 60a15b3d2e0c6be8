"""The signing service for the other apps: detached CMS signatures and their verification.

`sign_detached(data, signer)` returns CMS SignedData (DER) with the signer's certificate and
its issuing CA, signed attributes contentType, signingTime and messageDigest, ECDSA P-256 with
SHA-256 (RSA-3072 with SHA-256 for RSA keys). `openssl cms -verify -binary -inform DER
-content data -CAfile root.pem` verifies it. `verify_detached(data, signature)` returns the
signer, the chain and the revocation status, or a precise reason for failure.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from django.utils import timezone

from egov.core.audit import sm3_hex
from egov.core.errors import DomainError
from egov.pki import cms
from egov.pki.choices import CAKind, CertificateStatus, RevocationReason
from egov.pki.keystore import PrivateKey, get_keystore
from egov.pki.models import Certificate, CertificateAuthority

_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())
_SHA256 = hashes.SHA256()
_PKCS1 = padding.PKCS1v15()
_DIGEST_ALG = cms.algorithm(cms.OID_SHA256)
_ATTR_CONTENT_TYPE = cms.seq(cms.oid(cms.OID_CONTENT_TYPE), cms.set_of(cms.oid(cms.OID_DATA)))
_OID_SIGNING_TIME = cms.oid(cms.OID_SIGNING_TIME)
_OID_MESSAGE_DIGEST = cms.oid(cms.OID_MESSAGE_DIGEST)
_ENCAP = cms.seq(cms.oid(cms.OID_DATA))
_SIGNED_DATA_OID = cms.oid(cms.OID_SIGNED_DATA)
_VERSION_1 = cms.integer(1)
_cache_lock = threading.Lock()
_signers: dict[str, Signer] = {}
# Keys under which a signature stays valid when revoked after its (self-asserted) signing time.
_BENIGN_REASONS = {
    RevocationReason.AFFILIATION_CHANGED,
    RevocationReason.SUPERSEDED,
    RevocationReason.CESSATION_OF_OPERATION,
    RevocationReason.PRIVILEGE_WITHDRAWN,
}


class SigningError(DomainError):
    code = "signing_refused"


@dataclass(frozen=True)
class Signer:
    """A certificate with its private key and the parts of the CMS structure that never change."""

    certificate_id: int
    certificate: x509.Certificate
    private_key: PrivateKey
    sid: bytes
    signature_algorithm: bytes
    certificates_block: bytes
    is_ec: bool
    signer_info_head: bytes = field(init=False, repr=False)
    signed_data_head: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # The parts of SignerInfo and SignedData before the per-signature values, encoded once.
        object.__setattr__(self, "signer_info_head", _VERSION_1 + self.sid + _DIGEST_ALG)
        object.__setattr__(
            self,
            "signed_data_head",
            _VERSION_1 + cms.tlv(0x31, _DIGEST_ALG) + _ENCAP + self.certificates_block,
        )


def load_signer(certificate: Certificate) -> Signer:
    """The signer for a certificate whose key the server holds (cached in this process).

    The row's state is checked on every call, before the cache: a revocation made by another
    process (which cannot clear this process's cache) stops signing here too.
    """
    if not certificate.key_ref:
        raise SigningError(_msg("The server does not hold this certificate's key."), field="signer")
    if certificate.status != CertificateStatus.VALID:
        raise SigningError(_msg("The certificate is revoked."), field="signer")
    cached = _signers.get(certificate.fingerprint_sha256)
    if cached is not None:
        return cached
    cert = certificate.x509
    issuer_ca = _cached_issuer(certificate, cert) or CertificateAuthority.objects.select_related(
        "certificate"
    ).get(pk=certificate.issuer_id)
    chain_der = [certificate.der]
    if issuer_ca.certificate is not None and issuer_ca.kind != CAKind.ROOT:
        chain_der.append(issuer_ca.certificate.der)
    key = get_keystore().load(certificate.key_ref)
    is_ec = isinstance(key, ec.EllipticCurvePrivateKey)
    signer = Signer(
        certificate_id=certificate.pk,
        certificate=cert,
        private_key=key,
        sid=cms.seq(cert.issuer.public_bytes(), cms.integer(cert.serial_number)),
        signature_algorithm=cms.algorithm(cms.OID_ECDSA_SHA256)
        if is_ec
        else cms.algorithm(cms.OID_RSA_SHA256, null_params=True),
        certificates_block=cms.tlv(0xA0, b"".join(bytes(d) for d in chain_der)),
        is_ec=is_ec,
    )
    with _cache_lock:
        _signers[certificate.fingerprint_sha256] = signer
    return signer


def _cached_issuer(certificate: Certificate, cert: x509.Certificate) -> Any | None:
    """The issuing CA's row from the cached trust anchors, if it is there and its key did sign
    `cert` (a CA's certificate never changes; the signature check guards a stale cache)."""
    _roots, _cas, by_der = _trust_anchors()
    for der, ca in by_der.items():
        if ca.pk == certificate.issuer_id:
            return ca if _directly_issued(cert, _parse_certificate(der)) else None
    return None


def forget_signer(fingerprint_sha256: str) -> None:
    with _cache_lock:
        _signers.pop(fingerprint_sha256, None)


def _msg(text: str) -> str:
    from django.utils.translation import gettext

    return gettext(text)


def _time_value(moment: datetime) -> bytes:
    moment = moment.astimezone(UTC)
    if 1950 <= moment.year < 2050:
        return cms.tlv(0x17, moment.strftime("%y%m%d%H%M%SZ").encode())
    return cms.tlv(0x18, moment.strftime("%Y%m%d%H%M%SZ").encode())


_last_time: tuple[int, bytes] = (0, b"")


def _now_value() -> bytes:
    """The current signing time, encoded once a second (the hot path of signing)."""
    global _last_time
    second = int(timezone.now().timestamp())
    if _last_time[0] != second:
        _last_time = (second, _time_value(datetime.fromtimestamp(second, tz=UTC)))
    return _last_time[1]


def _signed_attributes(digest: bytes, time_value: bytes) -> bytes:
    """DER SET OF the three attributes, in DER order (sorted by their encodings)."""
    return cms.set_of(
        _ATTR_CONTENT_TYPE,
        cms.seq(_OID_SIGNING_TIME, cms.tlv(0x31, time_value)),
        cms.seq(_OID_MESSAGE_DIGEST, cms.tlv(0x31, cms.tlv(0x04, digest))),
    )


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    if n < 0x100:
        return bytes((0x81, n))
    if n < 0x10000:
        return bytes((0x82, n >> 8, n & 0xFF))
    return cms.length(n)


# The signed attributes with a UTCTime signing time have a fixed layout: only the 13 time
# characters and the 32 digest octets change, so they are spliced into a template.
_TEMPLATE_TIME = _time_value(datetime(2026, 1, 1, tzinfo=UTC))
_TEMPLATE_DIGEST = bytes(range(1, 33))
_TEMPLATE = _signed_attributes(_TEMPLATE_DIGEST, _TEMPLATE_TIME)
_T_AT = _TEMPLATE.index(_TEMPLATE_TIME)
_D_AT = _TEMPLATE.index(_TEMPLATE_DIGEST)
_ATTR_HEAD = _TEMPLATE[:_T_AT]
_ATTR_MID = _TEMPLATE[_T_AT + len(_TEMPLATE_TIME) : _D_AT]
_ATTR_TAIL = _TEMPLATE[_D_AT + 32 :]


def sign_detached(
    data: bytes, signer: Signer | Certificate, *, signing_time: datetime | None = None
) -> bytes:
    """A detached CMS SignedData (DER) over `data`, carrying the signer's chain."""
    if isinstance(signer, Certificate):
        signer = load_signer(signer)
    time_value = _time_value(signing_time) if signing_time is not None else _now_value()
    digest = hashlib.sha256(data).digest()
    if len(time_value) == len(_TEMPLATE_TIME):
        attrs = _ATTR_HEAD + time_value + _ATTR_MID + digest + _ATTR_TAIL
    else:
        attrs = _signed_attributes(digest, time_value)
    key = signer.private_key
    if isinstance(key, ec.EllipticCurvePrivateKey):
        signature = key.sign(attrs, _ECDSA_SHA256)
    else:
        signature = key.sign(attrs, _PKCS1, _SHA256)
    info = b"".join(
        (
            signer.signer_info_head,
            b"\xa0",  # [0] IMPLICIT SET OF Attribute
            attrs[1:],
            signer.signature_algorithm,
            b"\x04",
            _der_length(len(signature)),
            signature,
        )
    )
    infos = b"\x30" + _der_length(len(info)) + info
    body = b"".join((signer.signed_data_head, b"\x31", _der_length(len(infos)), infos))
    signed_data = b"\x30" + _der_length(len(body)) + body
    content = b"".join((_SIGNED_DATA_OID, b"\xa0", _der_length(len(signed_data)), signed_data))
    return b"\x30" + _der_length(len(content)) + content


# --- verification ----------------------------------------------------------------------------


class Reason:
    """Why a signature was not accepted (stable codes for callers and the API)."""

    MALFORMED = "malformed"
    BAD_SIGNATURE = "bad_signature"
    SIGNER_NOT_FOUND = "signer_certificate_missing"
    UNKNOWN_ISSUER = "unknown_issuer"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    REVOKED = "revoked"
    WRONG_KEY_USAGE = "wrong_key_usage"
    UNSUPPORTED_ALGORITHM = "unsupported_algorithm"


@dataclass
class VerificationResult:
    valid: bool
    reason: str = ""
    detail: str = ""
    signer: Certificate | None = None
    signer_certificate: x509.Certificate | None = None
    chain: list[x509.Certificate] = field(default_factory=list)
    signing_time: datetime | None = None
    revocation_status: str = "unknown"  # good / revoked / revoked_after_signing / unknown
    revoked_at: datetime | None = None
    revocation_reason: int | None = None
    data_sha256: str = ""
    data_sm3: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "reason": self.reason,
            "detail": self.detail,
            "signer": str(self.signer.uuid) if self.signer else None,
            "signer_subject": self.signer_certificate.subject.rfc4514_string()
            if self.signer_certificate
            else None,
            "chain": [c.subject.rfc4514_string() for c in self.chain],
            "signing_time": self.signing_time.isoformat() if self.signing_time else None,
            "revocation_status": self.revocation_status,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "revocation_reason": self.revocation_reason,
            "data_sha256": self.data_sha256,
            "data_sm3": self.data_sm3,
        }


@dataclass
class _Parsed:
    certificates: list[x509.Certificate]
    issuer_der: bytes
    serial: int
    digest_oid: str
    signed_attrs: bytes  # re-tagged as SET for verification
    message_digest: bytes | None
    signing_time: datetime | None
    signature_oid: str
    signature: bytes


def _parse_time(node: cms.Node) -> datetime:
    text = node.content.decode("ascii")
    fmt = "%y%m%d%H%M%SZ" if node.tag == 0x17 else "%Y%m%d%H%M%SZ"
    return datetime.strptime(text, fmt).replace(tzinfo=UTC)


def _parse(signature: bytes) -> _Parsed:
    content_info = cms.read_one(signature)
    if content_info.tag != 0x30:
        raise cms.DerError("not a SEQUENCE")
    ci = cms.children(content_info.content)
    if len(ci) != 2 or cms.decode_oid(ci[0].content) != cms.OID_SIGNED_DATA or ci[1].tag != 0xA0:
        raise cms.DerError("not CMS SignedData")
    signed_data = cms.read_one(ci[1].content)
    parts = cms.children(signed_data.content)
    if len(parts) < 4:
        raise cms.DerError("SignedData too short")
    encap = cms.children(parts[2].content)
    if len(encap) != 1:
        raise cms.DerError("not a detached signature (content is embedded)")
    certificates: list[x509.Certificate] = []
    signer_infos = None
    for part in parts[3:]:
        if part.tag == 0xA0:
            certificates = [
                x509.load_der_x509_certificate(n.raw)
                for n in cms.children(part.content)
                if n.tag == 0x30
            ]
        elif part.tag == 0x31:
            signer_infos = cms.children(part.content)
    if not signer_infos or len(signer_infos) != 1:
        raise cms.DerError("exactly one SignerInfo is expected")
    si = cms.children(signer_infos[0].content)
    if len(si) < 6 or si[1].tag != 0x30 or si[5].tag != 0x04:
        raise cms.DerError("SignerInfo must use issuerAndSerialNumber")
    sid = cms.children(si[1].content)
    serial = int.from_bytes(sid[1].content, "big", signed=True)
    digest_oid = cms.decode_oid(cms.children(si[2].content)[0].content)
    if si[3].tag != 0xA0:
        raise cms.DerError("signed attributes are required")
    signed_attrs = b"\x31" + si[3].raw[1:]
    message_digest = None
    signing_time = None
    for attr in cms.children(si[3].content):
        attr_parts = cms.children(attr.content)
        attr_oid = cms.decode_oid(attr_parts[0].content)
        values = cms.children(attr_parts[1].content)
        if attr_oid == cms.OID_MESSAGE_DIGEST:
            message_digest = values[0].content
        elif attr_oid == cms.OID_SIGNING_TIME:
            signing_time = _parse_time(values[0])
    signature_oid = cms.decode_oid(cms.children(si[4].content)[0].content)
    return _Parsed(
        certificates=certificates,
        issuer_der=sid[0].raw,
        serial=serial,
        digest_oid=digest_oid,
        signed_attrs=signed_attrs,
        message_digest=message_digest,
        signing_time=signing_time,
        signature_oid=signature_oid,
        signature=si[5].content,
    )


def _fail(result: VerificationResult, reason: str, detail: str = "") -> VerificationResult:
    result.valid = False
    result.reason = reason
    result.detail = detail
    return result


_parsed: dict[bytes, x509.Certificate] = {}
_issued_pairs: set[tuple[bytes, bytes]] = set()
_CACHE_LIMIT = 10_000


def _parse_certificate(der: bytes) -> x509.Certificate:
    """Parsed certificates, cached by their DER (a pure function of the bytes)."""
    cert = _parsed.get(der)
    if cert is None:
        cert = x509.load_der_x509_certificate(der)
        with _cache_lock:
            if len(_parsed) > _CACHE_LIMIT:
                _parsed.clear()
            _parsed[der] = cert
    return cert


def _directly_issued(child: x509.Certificate, parent: x509.Certificate) -> bool:
    """Whether `parent`'s key signed `child` (cached: it depends on the two encodings only)."""
    pair = (child.fingerprint(_SHA256), parent.fingerprint(_SHA256))
    if pair in _issued_pairs:
        return True
    try:
        child.verify_directly_issued_by(parent)
    except (ValueError, TypeError, InvalidSignature):
        return False
    with _cache_lock:
        if len(_issued_pairs) > _CACHE_LIMIT:
            _issued_pairs.clear()
        _issued_pairs.add(pair)
    return True


Anchors = tuple[list[x509.Certificate], list[x509.Certificate], dict[bytes, Any]]
# The CA rows, kept in this process: they only ever grow (a CA is never deleted and its
# certificate never changes), so a chain that does not build against the cached set is retried
# once against a fresh read. Revocation is always read live (`_check_revocation`).
_anchors: Anchors | None = None


def _trust_anchors(*, fresh: bool = False) -> Anchors:
    """Roots, issuing CA certificates and the CA rows by certificate DER (cached; see above)."""
    global _anchors
    cached = _anchors
    if cached is not None and not fresh:
        return cached
    loaded = _load_trust_anchors()
    with _cache_lock:
        _anchors = loaded
    return loaded


def _load_trust_anchors() -> Anchors:
    roots: list[x509.Certificate] = []
    cas: list[x509.Certificate] = []
    by_der: dict[bytes, Any] = {}
    for ca in CertificateAuthority.objects.select_related("certificate").exclude(
        certificate__isnull=True
    ):
        if ca.certificate is None:
            raise RuntimeError("ca.certificate is missing")
        der = bytes(ca.certificate.der)
        cert = _parse_certificate(der)
        by_der[der] = ca
        (roots if ca.kind == CAKind.ROOT else cas).append(cert)
    return roots, cas, by_der


def _build_chain(
    leaf: x509.Certificate, candidates: list[x509.Certificate], roots: list[x509.Certificate]
) -> list[x509.Certificate] | None:
    chain = [leaf]
    current = leaf
    root_ders = {r.public_bytes(serialization.Encoding.DER) for r in roots}
    for _ in range(4):
        for candidate in [*roots, *candidates]:
            if candidate.subject != current.issuer:
                continue
            if not _directly_issued(current, candidate):
                continue
            try:
                constraints = candidate.extensions.get_extension_for_class(x509.BasicConstraints)
            except x509.ExtensionNotFound:
                continue
            if not constraints.value.ca:
                continue
            chain.append(candidate)
            if candidate.public_bytes(serialization.Encoding.DER) in root_ders:
                return chain
            current = candidate
            break
        else:
            return None
    return None


def verify_detached(
    data: bytes, signature: bytes, *, at: datetime | None = None
) -> VerificationResult:
    """Check a detached CMS signature over `data` against this CA's roots."""
    result = VerificationResult(
        valid=False, data_sha256=hashlib.sha256(data).hexdigest(), data_sm3=sm3_hex(data)
    )
    try:
        parsed = _parse(bytes(signature))
    except (cms.DerError, ValueError, IndexError, UnicodeDecodeError) as exc:
        return _fail(result, Reason.MALFORMED, str(exc))
    result.signing_time = parsed.signing_time
    if parsed.digest_oid != cms.OID_SHA256 or parsed.signature_oid not in (
        cms.OID_ECDSA_SHA256,
        cms.OID_RSA_SHA256,
        cms.OID_RSA,
    ):
        return _fail(result, Reason.UNSUPPORTED_ALGORITHM, parsed.signature_oid)
    leaf = next(
        (
            c
            for c in parsed.certificates
            if c.serial_number == parsed.serial and c.issuer.public_bytes() == parsed.issuer_der
        ),
        None,
    )
    if leaf is None:
        return _fail(result, Reason.SIGNER_NOT_FOUND)
    result.signer_certificate = leaf
    if parsed.message_digest != hashlib.sha256(data).digest():
        return _fail(result, Reason.BAD_SIGNATURE, "message digest does not match the data")
    public_key = leaf.public_key()
    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(parsed.signature, parsed.signed_attrs, _ECDSA_SHA256)
        elif isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(parsed.signature, parsed.signed_attrs, _PKCS1, _SHA256)
        else:
            return _fail(result, Reason.UNSUPPORTED_ALGORITHM, "key type")
    except InvalidSignature:
        return _fail(result, Reason.BAD_SIGNATURE, "signature does not verify")
    roots, cas, by_der = _trust_anchors()
    chain = _build_chain(leaf, [*parsed.certificates, *cas], roots)
    if chain is None or not _issuers_known(chain, by_der):
        roots, cas, by_der = _trust_anchors(fresh=True)
        chain = _build_chain(leaf, [*parsed.certificates, *cas], roots)
    if chain is None:
        return _fail(result, Reason.UNKNOWN_ISSUER)
    result.chain = chain
    moment = parsed.signing_time or at or timezone.now()
    for cert in chain:
        if moment > cert.not_valid_after_utc:
            return _fail(result, Reason.EXPIRED, cert.subject.rfc4514_string())
        if moment < cert.not_valid_before_utc:
            return _fail(result, Reason.NOT_YET_VALID, cert.subject.rfc4514_string())
    try:
        usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
        usable = usage.content_commitment and usage.digital_signature
    except x509.ExtensionNotFound:
        usable = False
    if not usable:
        return _fail(result, Reason.WRONG_KEY_USAGE, "nonRepudiation is required")
    return _check_revocation(result, chain, by_der, now=at or timezone.now())


def _issuers_known(chain: list[x509.Certificate], by_der: dict[bytes, Any]) -> bool:
    return all(issuer.public_bytes(serialization.Encoding.DER) in by_der for issuer in chain[1:])


def _check_revocation(
    result: VerificationResult,
    chain: list[x509.Certificate],
    by_der: dict[bytes, Any],
    *,
    now: datetime,
) -> VerificationResult:
    # Each certificate below the root is looked up among those its CA issued (one query).
    keys = []
    for cert, issuer in itertools.pairwise(chain):
        ca = by_der.get(issuer.public_bytes(serialization.Encoding.DER))
        if ca is None:
            return _fail(result, Reason.UNKNOWN_ISSUER)
        keys.append((ca.pk, format(cert.serial_number, "x")))
    from django.db.models import Q

    query = Q(pk__in=[])
    for ca_id, serial in keys:
        query |= Q(issuer_id=ca_id, serial=serial)
    found = Certificate.objects.filter(query).select_related("organisation").order_by()
    rows = {(c.issuer_id, c.serial): c for c in found}
    signed_at = result.signing_time or now
    for index, key in enumerate(keys):
        row = rows.get(key)
        if row is None:
            result.revocation_status = "unknown"
            return _fail(result, Reason.UNKNOWN_ISSUER, "certificate not issued by this CA")
        if index == 0:
            result.signer = row
        if row.is_revoked and row.revoked_at is not None:
            result.revoked_at = row.revoked_at
            result.revocation_reason = row.revocation_reason
            benign = row.revocation_reason in _BENIGN_REASONS
            if row.revoked_at > signed_at + timedelta(seconds=0) and benign and index == 0:
                result.revocation_status = "revoked_after_signing"
                continue
            result.revocation_status = "revoked"
            return _fail(result, Reason.REVOKED, f"serial {row.serial}")
    if result.revocation_status == "unknown":
        result.revocation_status = "good"
    result.valid = True
    return result
