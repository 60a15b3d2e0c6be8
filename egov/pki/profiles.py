"""Certificate profiles: names, key usages and the extensions each kind of certificate carries.

Organisation subjects carry the 统一社会信用代码 in organizationIdentifier (OID 2.5.4.97), the
X.520 attribute defined to identify an organisation (also what ETSI EN 319 412-1 uses for
legal persons); serialNumber (2.5.4.5) is left for persons' and devices' identifiers.
"""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.conf import settings
from django.urls import reverse

from egov.pki.choices import Profile
from egov.pki.keystore import PrivateKey

PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey
BACKDATE = timedelta(minutes=5)


def base_url() -> str:
    return str(getattr(settings, "EGOV_PKI_BASE_URL", "http://127.0.0.1:8000")).rstrip("/")


def permitted_dns_zones() -> list[str]:
    return list(getattr(settings, "EGOV_PKI_DNS_ZONES", ["hebei.gov.cn"]))


def validity_days(profile: str) -> int:
    defaults = {
        Profile.ROOT_CA: 7300,
        Profile.ISSUING_CA: 3650,
        Profile.OCSP_RESPONDER: 365,
    }
    configured = getattr(settings, "EGOV_PKI_VALIDITY_DAYS", {})
    return int(configured.get(str(profile), defaults.get(Profile(profile), 730)))


def new_serial() -> int:
    # 159 random bits: positive, at most 20 octets, unpredictable (CA/B baseline practice).
    return secrets.randbits(159) | (1 << 158)


def name_for_ca(common_name: str) -> x509.Name:
    org = getattr(settings, "EGOV_PKI_CA_ORGANISATION", "河北省人民政府办公厅")
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def name_for_organisation(name: str, code: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, name),
            x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, code),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ]
    )


def name_for_person(full_name: str, org_name: str, code: str, username: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org_name),
            x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, code),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, username),
            x509.NameAttribute(NameOID.COMMON_NAME, full_name),
        ]
    )


def _key_usage(
    *,
    digital_signature: bool = False,
    content_commitment: bool = False,
    key_encipherment: bool = False,
    key_cert_sign: bool = False,
    crl_sign: bool = False,
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=content_commitment,
        key_encipherment=key_encipherment,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )


@dataclass(frozen=True)
class IssuerInfo:
    """What the builder needs from the issuing CA."""

    slug: str
    name: x509.Name
    public_key: PublicKey
    private_key: PrivateKey


def signature_hash(key: PrivateKey) -> hashes.SHA256:
    return hashes.SHA256()


def build_certificate(
    *,
    profile: str,
    subject: x509.Name,
    public_key: PublicKey,
    issuer: IssuerInfo,
    not_before: datetime,
    not_after: datetime,
    dns_names: list[str] | None = None,
    self_signed: bool = False,
) -> x509.Certificate:
    """Build and sign one certificate of `profile`. The caller validated the inputs."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.name)
        .public_key(public_key)
        .serial_number(new_serial())
        .not_valid_before(not_before - BACKDATE)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.public_key), critical=False
        )
    )
    profile = Profile(profile)
    if profile == Profile.ROOT_CA:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=True, path_length=1), critical=True
        ).add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
    elif profile == Profile.ISSUING_CA:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=True, path_length=0), critical=True
        ).add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        if dns_names:
            # Node and server names are limited to the government zones (限定域名).
            builder = builder.add_extension(
                x509.NameConstraints(
                    permitted_subtrees=[x509.DNSName(zone) for zone in dns_names],
                    excluded_subtrees=None,
                ),
                critical=True,
            )
    else:
        builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
        if profile in (Profile.ORG_SEAL, Profile.PERSON_SIGNING):
            builder = builder.add_extension(
                _key_usage(digital_signature=True, content_commitment=True), critical=True
            )
            if profile == Profile.PERSON_SIGNING:
                # clientAuth to log in; emailProtection because stock OpenSSL's signing purpose
                # (`openssl cms -verify`, S/MIME) refuses an EKU list without it.
                builder = builder.add_extension(
                    x509.ExtendedKeyUsage(
                        [ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.EMAIL_PROTECTION]
                    ),
                    critical=False,
                )
        elif profile == Profile.SERVER_TLS:
            builder = builder.add_extension(
                _key_usage(
                    digital_signature=True,
                    key_encipherment=isinstance(public_key, rsa.RSAPublicKey),
                ),
                critical=True,
            ).add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
            names: list[x509.GeneralName] = []
            for value in dns_names or []:
                try:
                    names.append(x509.IPAddress(ipaddress.ip_address(value)))
                except ValueError:
                    names.append(x509.DNSName(value))
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        elif profile == Profile.OCSP_RESPONDER:
            builder = (
                builder.add_extension(_key_usage(digital_signature=True), critical=True)
                .add_extension(
                    x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), critical=False
                )
                .add_extension(x509.OCSPNoCheck(), critical=False)
            )
    if not self_signed:
        builder = _add_revocation_pointers(builder, issuer.slug, profile)
    return builder.sign(issuer.private_key, signature_hash(issuer.private_key))


def _add_revocation_pointers(
    builder: x509.CertificateBuilder, issuer_slug: str, profile: Profile
) -> x509.CertificateBuilder:
    root = base_url()
    crl_url = root + reverse("pki:crl_der", args=[issuer_slug])
    ca_url = root + reverse("pki:ca_certificate", args=[issuer_slug])
    builder = builder.add_extension(
        x509.CRLDistributionPoints(
            [
                x509.DistributionPoint(
                    full_name=[x509.UniformResourceIdentifier(crl_url)],
                    relative_name=None,
                    reasons=None,
                    crl_issuer=None,
                )
            ]
        ),
        critical=False,
    )
    access = [
        x509.AccessDescription(
            x509.AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(ca_url)
        )
    ]
    if profile not in (Profile.ISSUING_CA, Profile.OCSP_RESPONDER):
        ocsp_url = root + reverse("pki:ocsp")
        access.insert(
            0,
            x509.AccessDescription(
                x509.AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp_url)
            ),
        )
    return builder.add_extension(x509.AuthorityInformationAccess(access), critical=False)
