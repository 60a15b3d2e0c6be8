"""Revocation (RFC 5280 reason codes) and certificate revocation lists."""

from __future__ import annotations

from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from egov.core.acting import Acting
from egov.core.audit import record_audit
from egov.core.errors import DomainError, InvalidTransition
from egov.pki.choices import (
    CAKind,
    CertificateStatus,
    RevocationReason,
)
from egov.pki.errors import (
    CaOffline,
    UnknownCertificate,
)
from egov.pki.models import Certificate, CertificateAuthority, RevocationList
from egov.pki.services.certificates import _digests, _issuer_info
from egov.pki.signing import forget_signer

CRL_VALIDITY = timedelta(days=7)
ROOT_CRL_VALIDITY = timedelta(days=365)
REVOCABLE_REASONS = {
    int(r) for r in RevocationReason if r not in (6, 8)
}  # no certificateHold / removeFromCRL: revocation here is final


def find_certificate(ca_slug: str, serial: str) -> Certificate:
    cleaned = (serial or "").strip().lower().removeprefix("0x").replace(":", "")
    try:
        value = int(cleaned, 16)
    except ValueError:
        raise UnknownCertificate(
            _("%s is not a hexadecimal serial.") % serial, field="serial"
        ) from None
    cert = (
        Certificate.objects.select_related("issuer")
        .filter(issuer__slug=ca_slug, serial=format(value, "x"))
        .first()
    )
    if cert is None:
        raise UnknownCertificate(
            _("No certificate with serial %(serial)s from CA %(ca)s.")
            % {"serial": serial, "ca": ca_slug},
            field="serial",
        )
    return cert


def do_revoke_certificate(
    cert: Certificate, *, reason: int, acting: Acting, at: datetime | None = None
) -> Certificate:
    """Revoke (RFC 5280 reason code) and regenerate the issuer's CRL at once."""
    try:
        reason = int(reason)
    except (TypeError, ValueError):
        raise DomainError(_("Choose a revocation reason."), field="reason") from None
    if reason not in REVOCABLE_REASONS:
        raise DomainError(_("Choose a revocation reason."), field="reason")
    with transaction.atomic():
        locked = (
            Certificate.objects.select_for_update(of=("self",))
            .select_related("issuer")
            .get(pk=cert.pk)
        )
        if locked.is_revoked:
            raise InvalidTransition(_("The certificate is already revoked."), field="certificate")
        if not locked.issuer.key_ref:
            raise CaOffline(
                _("%s is offline: bring its key back to revoke and sign a new CRL.")
                % locked.issuer.name
            )
        locked.status = CertificateStatus.REVOKED
        locked.revoked_at = at or timezone.now()
        locked.revocation_reason = reason
        locked.save(update_fields=["status", "revoked_at", "revocation_reason", "updated_at"])
        record_audit(
            "pki.certificate_revoked",
            acting=acting,
            obj=locked,
            details={
                "serial": locked.serial,
                "ca": locked.issuer.slug,
                "reason": reason,
                "reason_name": RevocationReason(reason).name,
            },
        )
        forget_signer(locked.fingerprint_sha256)
        crl = _generate_crl(locked.issuer, now=timezone.now())
        record_audit(
            "pki.crl_generated",
            acting=acting,
            obj=locked.issuer,
            details={"number": crl.number, "sha256": crl.sha256, "sm3": crl.sm3},
        )
    cert.refresh_from_db()
    return locked


# --- CRLs ------------------------------------------------------------------------------------


def _generate_crl(ca: CertificateAuthority, *, now: datetime) -> RevocationList:
    locked = (
        CertificateAuthority.objects.select_for_update(of=("self",))
        .select_related("certificate")
        .get(pk=ca.pk)
    )
    info = _issuer_info(locked)
    number = locked.crl_number + 1
    validity = ROOT_CRL_VALIDITY if locked.kind == CAKind.ROOT else CRL_VALIDITY
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(info.name)
        .last_update(now - timedelta(minutes=5))
        .next_update(now + validity)
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(info.public_key), critical=False
        )
    )
    revoked = Certificate.objects.filter(
        issuer=locked, status=CertificateStatus.REVOKED
    ).values_list("serial", "revoked_at", "revocation_reason")
    count = 0
    for serial, revoked_at, reason in revoked.iterator(chunk_size=2000):
        if revoked_at is None:
            continue
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(int(serial, 16))
            .revocation_date(revoked_at)
        )
        if reason:
            entry = entry.add_extension(x509.CRLReason(_REASON_FLAGS[int(reason)]), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
        count += 1
    crl = builder.sign(info.private_key, hashes.SHA256())
    der = crl.public_bytes(serialization.Encoding.DER)
    sha256, sm3 = _digests(der)
    row = RevocationList.objects.create(
        ca=locked,
        number=number,
        this_update=now - timedelta(minutes=5),
        next_update=now + validity,
        der=der,
        sha256=sha256,
        sm3=sm3,
        revoked_count=count,
    )
    locked.crl_number = number
    locked.save(update_fields=["crl_number", "updated_at"])
    return row


_REASON_FLAGS = {
    0: x509.ReasonFlags.unspecified,
    1: x509.ReasonFlags.key_compromise,
    2: x509.ReasonFlags.ca_compromise,
    3: x509.ReasonFlags.affiliation_changed,
    4: x509.ReasonFlags.superseded,
    5: x509.ReasonFlags.cessation_of_operation,
    6: x509.ReasonFlags.certificate_hold,
    8: x509.ReasonFlags.remove_from_crl,
    9: x509.ReasonFlags.privilege_withdrawn,
    10: x509.ReasonFlags.aa_compromise,
}


def do_generate_crl(ca: CertificateAuthority, *, acting: Acting) -> RevocationList:
    with transaction.atomic():
        crl = _generate_crl(ca, now=timezone.now())
        record_audit(
            "pki.crl_generated",
            acting=acting,
            obj=ca,
            details={"number": crl.number, "sha256": crl.sha256, "sm3": crl.sm3},
        )
    return crl


def do_generate_all_crls(*, acting: Acting) -> list[RevocationList]:
    """Regenerate every online CA's CRL (the schedule; an offline root's CRL waits for it)."""
    return [
        do_generate_crl(ca, acting=acting)
        for ca in CertificateAuthority.objects.exclude(key_ref="").order_by("id")
    ]
