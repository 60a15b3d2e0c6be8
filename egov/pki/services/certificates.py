"""The CA rows and certificate rows every other part uses: an issuer with its key, saving
an issued certificate with its SHA-256 and SM3 fingerprints.
"""

from __future__ import annotations

import hashlib

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from django.utils.translation import gettext as _

from egov.core.audit import sm3_hex
from egov.orgs.models import Organisation, User
from egov.pki.errors import (
    CaOffline,
    NotInitialised,
)
from egov.pki.keystore import get_keystore, key_algorithm
from egov.pki.models import Certificate, CertificateAuthority
from egov.pki.profiles import (
    IssuerInfo,
)


def _digests(data: bytes) -> tuple[str, str]:
    return hashlib.sha256(data).hexdigest(), sm3_hex(data)


def _issuer_info(ca: CertificateAuthority) -> IssuerInfo:
    if not ca.key_ref:
        raise CaOffline(
            _("The key of %s is offline: bring it back with `manage.py pki root-online`.") % ca.name
        )
    if ca.certificate is None:
        raise NotInitialised()
    cert = ca.certificate.x509
    public_key = cert.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise TypeError("unsupported key type")
    return IssuerInfo(
        slug=ca.slug,
        name=cert.subject,
        public_key=public_key,
        private_key=get_keystore().load(ca.key_ref),
    )


def _save_certificate(
    cert: x509.Certificate,
    *,
    issuer: CertificateAuthority,
    profile: str,
    organisation: Organisation | None = None,
    holder: User | None = None,
    key_ref: str = "",
    renewed_from: Certificate | None = None,
) -> Certificate:
    der = cert.public_bytes(serialization.Encoding.DER)
    sha256, sm3 = _digests(der)
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    public_key = cert.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise TypeError("unsupported key type")
    return Certificate.objects.create(
        issuer=issuer,
        serial=format(cert.serial_number, "x"),
        profile=profile,
        subject=cert.subject.rfc4514_string()[:500],
        common_name=str(cn[0].value)[:200] if cn else "",
        organisation=organisation,
        holder=holder,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        der=der,
        fingerprint_sha256=sha256,
        fingerprint_sm3=sm3,
        key_algorithm=key_algorithm(public_key),
        key_ref=key_ref,
        renewed_from=renewed_from,
    )


def get_ca(slug: str) -> CertificateAuthority:
    ca = CertificateAuthority.objects.select_related("certificate").filter(slug=slug).first()
    if ca is None or ca.certificate is None:
        raise NotInitialised()
    return ca
