"""The OCSP responder (RFC 6960) for the issuing CAs, signing with a delegated responder
certificate (OCSPSigning + id-pkix-ocsp-nocheck) that each issuing CA issued.

A request for a certificate of a CA that is not ours → `unauthorized`; an unreadable one →
`malformedRequest`; a serial our CA never issued → `unknown`.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from django.utils import timezone

from egov.pki.choices import CAKind, CertificateStatus
from egov.pki.keystore import get_keystore
from egov.pki.models import Certificate, CertificateAuthority
from egov.pki.services import _REASON_FLAGS

MAX_REQUEST_BYTES = 16 * 1024
RESPONSE_VALIDITY = timedelta(hours=1)
_HASHES = {"sha1": hashlib.sha1, "sha256": hashlib.sha256}


def _unsuccessful(status: ocsp.OCSPResponseStatus) -> bytes:
    return ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(
        serialization.Encoding.DER
    )


def _find_ca(
    request: ocsp.OCSPRequest, cas: list[CertificateAuthority]
) -> CertificateAuthority | None:
    name = request.hash_algorithm.name
    hasher = _HASHES.get(name)
    if hasher is None:
        return None
    for ca in cas:
        if ca.certificate is None:
            raise RuntimeError("ca.certificate is missing")
        cert = ca.certificate.x509
        name_hash = hasher(cert.subject.public_bytes()).digest()
        spki = cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        # issuerKeyHash is over the BIT STRING value of the key (RFC 6960 §4.1.1).
        key_hash = hasher(_subject_public_key_bits(spki)).digest()
        if name_hash == request.issuer_name_hash and key_hash == request.issuer_key_hash:
            return ca
    return None


def _subject_public_key_bits(spki: bytes) -> bytes:
    from egov.pki import cms

    outer = cms.read_one(spki)
    parts = cms.children(outer.content)
    return parts[1].content[1:]  # skip the unused-bits octet


def respond(der_request: bytes) -> bytes:
    """The DER OCSP response for a DER request (never raises for bad input)."""
    if len(der_request) > MAX_REQUEST_BYTES:
        return _unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
    try:
        request = ocsp.load_der_ocsp_request(der_request)
        serial = request.serial_number
        algorithm = request.hash_algorithm
    except Exception:  # cryptography refuses several ways; all mean a malformed request
        return _unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
    cas = list(
        CertificateAuthority.objects.select_related("certificate", "ocsp_certificate")
        .exclude(kind=CAKind.ROOT)
        .exclude(certificate__isnull=True)
        .exclude(ocsp_certificate__isnull=True)
    )
    ca = _find_ca(request, cas)
    if ca is None or ca.ocsp_certificate is None or not ca.ocsp_certificate.key_ref:
        return _unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED)
    row = Certificate.objects.filter(issuer=ca, serial=format(serial, "x")).first()
    now = timezone.now()
    builder = ocsp.OCSPResponseBuilder()
    if row is None:
        status, revoked_at, reason = ocsp.OCSPCertStatus.UNKNOWN, None, None
    elif row.status == CertificateStatus.REVOKED:
        status, revoked_at = ocsp.OCSPCertStatus.REVOKED, row.revoked_at
        reason = _REASON_FLAGS.get(row.revocation_reason) if row.revocation_reason else None
    else:
        status, revoked_at, reason = ocsp.OCSPCertStatus.GOOD, None, None
    builder = builder.add_response_by_hash(
        issuer_name_hash=request.issuer_name_hash,
        issuer_key_hash=request.issuer_key_hash,
        serial_number=serial,
        algorithm=algorithm,
        cert_status=status,
        this_update=now - timedelta(minutes=1),
        next_update=now + RESPONSE_VALIDITY,
        revocation_time=revoked_at,
        revocation_reason=reason,
    )
    responder = ca.ocsp_certificate.x509
    if ca.certificate is None:
        raise RuntimeError("ca.certificate is missing")
    builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, responder).certificates(
        [responder, ca.certificate.x509]
    )
    for extension in request.extensions:
        if isinstance(extension.value, x509.OCSPNonce):
            builder = builder.add_extension(extension.value, critical=False)
    key = get_keystore().load(ca.ocsp_certificate.key_ref)
    response = builder.sign(key, hashes.SHA256())
    return response.public_bytes(serialization.Encoding.DER)
