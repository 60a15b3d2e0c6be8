"""Signing and verifying manifests with the organisations' seal certificates (egov.pki)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from egov.core.errors import DomainError
from egov.exchange.envelope import EnvelopeError, ParsedEnvelope, parse_iso
from egov.orgs.models import Organisation
from egov.pki.choices import CertificateStatus, Profile
from egov.pki.models import Certificate
from egov.pki.signing import sign_detached, verify_detached


class NoSeal(DomainError):
    code = "no_seal_certificate"
    status = 409


def seal_for(org: Organisation, *, at: datetime | None = None) -> Certificate:
    """The organisation's newest valid seal certificate whose key this server holds."""
    at = at or timezone.now()
    cert = (
        Certificate.objects.filter(
            organisation=org,
            profile=Profile.ORG_SEAL,
            status=CertificateStatus.VALID,
            not_before__lte=at,
            not_after__gt=at,
        )
        .exclude(key_ref="")
        .order_by("-not_before", "-id")
        .first()
    )
    if cert is None:
        raise NoSeal(
            _("%(org)s has no valid seal certificate on this node.") % {"org": org.name},
            field="sender",
        )
    return cert


def sign_manifest(manifest_bytes: bytes, cert: Certificate) -> bytes:
    return sign_detached(manifest_bytes, cert)


@dataclass
class SignerInfo:
    certificate: Certificate
    organisation_code: str
    signing_time: datetime | None


def verify_manifest(parsed: ParsedEnvelope, *, now: datetime | None = None) -> SignerInfo:
    """Checks 3 and 4: the signature verifies; the certificate chains to the province root, was
    valid at `created_at`, is not revoked, and belongs to `sender.org` (its fingerprint too)."""
    result = verify_detached(parsed.manifest_bytes, parsed.signature, at=now)
    if not result.valid:
        raise EnvelopeError(result.reason or "bad_signature", result.detail or result.reason)
    cert = result.signer
    if cert is None:  # pragma: no cover - a valid result always names its signer
        raise EnvelopeError("unknown_issuer", "signer not found")
    sender = parsed.manifest["sender"]
    # The verifier loaded the row with its organisation (no query here).
    code = cert.organisation.code if cert.organisation is not None else None
    if cert.profile != Profile.ORG_SEAL or code is None or code != sender["org"]:
        raise EnvelopeError(
            "certificate_not_sender", "the signing certificate is not the sender's seal"
        )
    if cert.fingerprint_sha256 != sender["certificate"]:
        raise EnvelopeError(
            "certificate_not_sender", "the manifest names another certificate than the signer's"
        )
    created = parse_iso(parsed.manifest["created_at"])
    if created > cert.not_after:
        raise EnvelopeError("expired", "the certificate had expired at created_at")
    if created < cert.not_before:
        raise EnvelopeError("not_yet_valid", "the certificate was not yet valid at created_at")
    revoked_at = cert.revoked_at if cert.status == CertificateStatus.REVOKED else None
    if revoked_at is not None and (revoked_at <= created or result.revocation_status == "revoked"):
        raise EnvelopeError("revoked", "the sender's certificate is revoked")
    return SignerInfo(cert, code, result.signing_time)
