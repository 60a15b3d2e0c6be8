"""Keys and certificate signing requests: generating keys, reading and checking CSRs,
key strength and server names.
"""

from __future__ import annotations

import re
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from django.utils.translation import gettext as _

from egov.core.errors import DomainError
from egov.orgs.models import Organisation
from egov.pki.errors import (
    CsrInvalid,
    CsrTooLarge,
    NameNotPermitted,
    SubjectMismatch,
    WeakKey,
)
from egov.pki.keystore import PrivateKey
from egov.pki.profiles import (
    PublicKey,
    permitted_dns_zones,
)

MAX_CSR_BYTES = 64 * 1024
MIN_RSA_BITS = 3072
MAX_RSA_BITS = 8192
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
)


def generate_key(algorithm: str = "ec-secp256r1") -> PrivateKey:
    if algorithm == "ec-secp256r1":
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm == "rsa-3072":
        return rsa.generate_private_key(public_exponent=65537, key_size=3072)
    raise DomainError(_("Unsupported key algorithm: %s.") % algorithm, field="key_algorithm")


def check_public_key(public_key: Any, *, field: str = "csr") -> PublicKey:
    """ECDSA P-256 or RSA ≥ 3072 bits; anything else is refused as weak or unsupported."""
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        if not isinstance(public_key.curve, ec.SECP256R1):
            raise WeakKey(
                _("Elliptic curve %s is not accepted; use P-256 (prime256v1).")
                % public_key.curve.name,
                field=field,
            )
        return public_key
    if isinstance(public_key, rsa.RSAPublicKey):
        if public_key.key_size < MIN_RSA_BITS:
            raise WeakKey(
                _("RSA key of %(bits)s bits is too weak; at least %(min)s bits are required.")
                % {"bits": public_key.key_size, "min": MIN_RSA_BITS},
                field=field,
            )
        if public_key.key_size > MAX_RSA_BITS or public_key.public_numbers().e != 65537:
            raise WeakKey(_("RSA key parameters are not accepted."), field=field)
        return public_key
    raise WeakKey(
        _("Key type is not accepted; use ECDSA P-256 or RSA of at least 3072 bits."), field=field
    )


def parse_csr(raw: bytes | str, *, field: str = "csr") -> x509.CertificateSigningRequest:
    """A CSR in PEM or DER, at most 64 KiB, self-signed correctly, with an accepted key."""
    data = raw.encode() if isinstance(raw, str) else bytes(raw)
    if len(data) > MAX_CSR_BYTES:
        raise CsrTooLarge(
            _("The CSR is %(size)s bytes; at most %(max)s are accepted.")
            % {"size": len(data), "max": MAX_CSR_BYTES},
            field=field,
        )
    if not data.strip():
        raise CsrInvalid(_("The CSR is empty."), field=field)
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            csr = x509.load_pem_x509_csr(data.strip())
        else:
            csr = x509.load_der_x509_csr(data)
        valid = csr.is_signature_valid
        public_key = csr.public_key()
    except (ValueError, TypeError, x509.UnsupportedGeneralNameType):
        raise CsrInvalid(
            _("The CSR cannot be read: upload a PKCS#10 request in PEM or DER."), field=field
        ) from None
    except Exception:  # cryptography raises UnsupportedAlgorithm for exotic keys
        raise WeakKey(_("The CSR's key type is not supported."), field=field) from None
    if not valid:
        raise CsrInvalid(_("The CSR's signature does not verify."), field=field)
    check_public_key(public_key, field=field)
    return csr


def _normalise_code(value: str) -> str:
    value = value.strip().upper()
    return value.removeprefix("NTRCN-")


def check_csr_subject(
    csr: x509.CertificateSigningRequest, organisation: Organisation, *, field: str = "csr"
) -> None:
    """Refuse a CSR whose subject names another organisation (code or name)."""
    for attr in csr.subject.get_attributes_for_oid(NameOID.ORGANIZATION_IDENTIFIER):
        if _normalise_code(str(attr.value)) != organisation.code:
            raise SubjectMismatch(
                _("The CSR names organisation code %(got)s, not %(want)s.")
                % {"got": attr.value, "want": organisation.code},
                field=field,
            )
    for attr in csr.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME):
        if str(attr.value).strip() != organisation.name:
            raise SubjectMismatch(
                _("The CSR names organisation %(got)s, not %(want)s.")
                % {"got": attr.value, "want": organisation.name},
                field=field,
            )


def check_dns_names(names: list[str], *, field: str = "dns_names") -> list[str]:
    cleaned = []
    if not names:
        raise DomainError(_("A server certificate needs at least one DNS name."), field=field)
    if len(names) > 50:
        raise DomainError(_("At most 50 names are accepted."), field=field)
    zones = permitted_dns_zones()
    for raw in names:
        name = str(raw).strip().lower().rstrip(".")
        if not _HOSTNAME.match(name):
            raise DomainError(_("%s is not a valid DNS name.") % raw, field=field)
        if not any(name == zone or name.endswith("." + zone) for zone in zones):
            raise NameNotPermitted(
                _("%(name)s is outside the government zones (%(zones)s).")
                % {"name": name, "zones": ", ".join(zones)},
                field=field,
            )
        cleaned.append(name)
    return cleaned
