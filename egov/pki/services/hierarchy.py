"""The hierarchy: the root CA, the issuing CAs and their OCSP responders; taking the root
key offline and bringing it back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from egov.core.acting import Acting
from egov.core.audit import record_audit
from egov.core.errors import DomainError
from egov.pki.choices import (
    CAKind,
    Profile,
)
from egov.pki.errors import (
    CaOffline,
)
from egov.pki.keystore import export_encrypted_pem, get_keystore
from egov.pki.models import Certificate, CertificateAuthority
from egov.pki.profiles import (
    IssuerInfo,
    build_certificate,
    name_for_ca,
    permitted_dns_zones,
    validity_days,
)
from egov.pki.services.certificates import _issuer_info, _save_certificate
from egov.pki.services.keys import generate_key
from egov.pki.services.revocation import _generate_crl

ROOT_SLUG = "root"
ISSUING_SLUGS = {CAKind.ORGANISATION: "org", CAKind.PERSON: "person"}
OCSP_RENEW_BEFORE = timedelta(days=30)  # responder certificates live a year


def ca_name_prefix() -> str:
    from django.conf import settings

    return str(getattr(settings, "EGOV_PKI_CA_NAME_PREFIX", "河北省电子政务"))


def _create_root(*, now: datetime) -> CertificateAuthority:
    key = generate_key()
    name = name_for_ca(ca_name_prefix() + "根CA")
    public_key = key.public_key()
    info = IssuerInfo(slug=ROOT_SLUG, name=name, public_key=public_key, private_key=key)
    cert = build_certificate(
        profile=Profile.ROOT_CA,
        subject=name,
        public_key=public_key,
        issuer=info,
        not_before=now,
        not_after=now + timedelta(days=validity_days(Profile.ROOT_CA)),
        self_signed=True,
    )
    ca = CertificateAuthority.objects.create(
        slug=ROOT_SLUG,
        name=str(name.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value),
        kind=CAKind.ROOT,
        key_ref=get_keystore().store(key),
    )
    ca.certificate = _save_certificate(cert, issuer=ca, profile=Profile.ROOT_CA)
    ca.save(update_fields=["certificate", "updated_at"])
    return ca


def _create_issuing(
    root: CertificateAuthority, kind: CAKind, label: str, *, now: datetime
) -> CertificateAuthority:
    key = generate_key()
    name = name_for_ca(ca_name_prefix() + label)
    zones = permitted_dns_zones() if kind == CAKind.ORGANISATION else None
    cert = build_certificate(
        profile=Profile.ISSUING_CA,
        subject=name,
        public_key=key.public_key(),
        issuer=_issuer_info(root),
        not_before=now,
        not_after=now + timedelta(days=validity_days(Profile.ISSUING_CA)),
        dns_names=zones,
    )
    ca = CertificateAuthority.objects.create(
        slug=ISSUING_SLUGS[kind],
        name=str(name.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value),
        kind=kind,
        parent=root,
        key_ref=get_keystore().store(key),
    )
    ca.certificate = _save_certificate(cert, issuer=root, profile=Profile.ISSUING_CA)
    ca.save(update_fields=["certificate", "updated_at"])
    _issue_ocsp_responder(ca, now=now)
    return ca


def _issue_ocsp_responder(ca: CertificateAuthority, *, now: datetime) -> Certificate:
    key = generate_key()
    name = name_for_ca(f"{ca.name} OCSP")
    cert = build_certificate(
        profile=Profile.OCSP_RESPONDER,
        subject=name,
        public_key=key.public_key(),
        issuer=_issuer_info(ca),
        not_before=now,
        not_after=now + timedelta(days=validity_days(Profile.OCSP_RESPONDER)),
    )
    row = _save_certificate(
        cert, issuer=ca, profile=Profile.OCSP_RESPONDER, key_ref=get_keystore().store(key)
    )
    ca.ocsp_certificate = row
    ca.save(update_fields=["ocsp_certificate", "updated_at"])
    return row


@dataclass
class InitResult:
    created: bool
    authorities: list[CertificateAuthority]


def do_init_hierarchy(*, acting: Acting) -> InitResult:
    """Create the root CA, the two issuing CAs and their OCSP responders (idempotent)."""
    now = timezone.now()
    with transaction.atomic():
        existing = {ca.slug: ca for ca in CertificateAuthority.objects.select_for_update()}
        created = False
        root = existing.get(ROOT_SLUG)
        if root is None:
            root = _create_root(now=now)
            created = True
        for kind, label in ((CAKind.ORGANISATION, "机构CA"), (CAKind.PERSON, "个人CA")):
            if ISSUING_SLUGS[kind] not in existing:
                _create_issuing(root, kind, label, now=now)
                created = True
        authorities = list(
            CertificateAuthority.objects.select_related("certificate").order_by("id")
        )
        if created:
            for ca in authorities:
                if ca.key_ref:
                    _generate_crl(ca, now=now)
            record_audit(
                "pki.ca_initialised",
                acting=acting,
                obj=root,
                details={
                    "authorities": [
                        {
                            "slug": ca.slug,
                            "serial": ca.certificate.serial if ca.certificate else "",
                            "sha256": ca.certificate.fingerprint_sha256 if ca.certificate else "",
                            "sm3": ca.certificate.fingerprint_sm3 if ca.certificate else "",
                        }
                        for ca in authorities
                    ]
                },
            )
    return InitResult(created=created, authorities=authorities)


def do_renew_ocsp_responder(ca: CertificateAuthority, *, acting: Acting) -> Certificate:
    with transaction.atomic():
        cert = _issue_ocsp_responder(ca, now=timezone.now())
        record_audit(
            "pki.certificate_issued",
            acting=acting,
            obj=cert,
            details={"profile": cert.profile, "serial": cert.serial, "ca": ca.slug},
        )
    return cert


def do_renew_expiring_ocsp_responders(
    *, acting: Acting, within: timedelta = OCSP_RENEW_BEFORE
) -> list[Certificate]:
    """A new delegated responder certificate for each online issuing CA whose responder
    expires within `within` (the daily CRL job calls this: responses never go out signed by an
    expired responder)."""
    renewed = []
    due = timezone.now() + within
    for ca_id in (
        CertificateAuthority.objects.exclude(kind=CAKind.ROOT)
        .exclude(key_ref="")
        .filter(ocsp_certificate__not_after__lte=due)
        .order_by("id")
        .values_list("pk", flat=True)
    ):
        with transaction.atomic():
            ca = CertificateAuthority.objects.select_for_update(of=("self",)).get(pk=ca_id)
            current = ca.ocsp_certificate
            if current is not None and current.not_after > due:
                continue  # another run renewed it meanwhile
            renewed.append(do_renew_ocsp_responder(ca, acting=acting))
    return renewed


# --- the root offline ------------------------------------------------------------------------


def do_root_offline(
    *, passphrase: str, acting: Acting, keep: Callable[[bytes], None] | None = None
) -> bytes:
    """Export the root key (encrypted PEM under the operator's passphrase) and remove it here.

    A fresh root CRL is signed first, valid for a year, so relying parties keep one while the
    key is away. `keep(pem)` stores the exported copy (the command writes the file) before the
    key is removed, inside the transaction: if it raises, the key stays on the server.
    """
    if len(passphrase or "") < 12:
        raise DomainError(_("Use a passphrase of at least 12 characters."), field="passphrase")
    with transaction.atomic():
        root = CertificateAuthority.objects.select_for_update().get(slug=ROOT_SLUG)
        if not root.key_ref:
            raise CaOffline(_("The root key is already offline."))
        store = get_keystore()
        key = store.load(root.key_ref)
        _generate_crl(root, now=timezone.now())
        pem = export_encrypted_pem(key, passphrase.encode())
        if keep is not None:
            keep(pem)
        old_ref = root.key_ref
        root.key_ref = ""
        root.save(update_fields=["key_ref", "updated_at"])
        store.delete(old_ref)
        record_audit("pki.root_offline", acting=acting, obj=root, details={})
    return pem


def do_root_online(*, pem: bytes, passphrase: str, acting: Acting) -> CertificateAuthority:
    try:
        key = serialization.load_pem_private_key(pem, passphrase.encode())
    except (ValueError, TypeError):
        raise DomainError(
            _("The key file cannot be read with this passphrase."), field="key"
        ) from None
    with transaction.atomic():
        root = (
            CertificateAuthority.objects.select_for_update(of=("self",))
            .select_related("certificate")
            .get(slug=ROOT_SLUG)
        )
        if root.key_ref:
            raise DomainError(_("The root key is already online."), field="key")
        if root.certificate is None:
            raise RuntimeError("root.certificate is missing")
        public = root.certificate.x509.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        if (
            key.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            != public
        ):
            raise DomainError(_("This key is not the root CA's key."), field="key")
        if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise TypeError("unsupported key type")
        root.key_ref = get_keystore().store(key)
        root.save(update_fields=["key_ref", "updated_at"])
        record_audit("pki.root_online", acting=acting, obj=root, details={})
    return root
