"""Every write of the provincial CA: hierarchy, requests, issuing, renewal, revocation, CRLs.

State machine of a request (证书申请): pending → issued (approved by the unit's security
administrator, which issues at once) or pending → rejected. A certificate: valid → revoked.
Each step records an audit event (`pki.*`).
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from egov.core.acting import Acting
from egov.core.audit import record_audit, sm3_hex
from egov.core.errors import DomainError, InvalidTransition, NotPermitted
from egov.orgs.models import Organisation, User
from egov.pki.choices import (
    REQUESTABLE_PROFILES,
    CAKind,
    CertificateStatus,
    Profile,
    RequestStatus,
    RevocationReason,
)
from egov.pki.errors import (
    CaOffline,
    CsrInvalid,
    CsrTooLarge,
    NameNotPermitted,
    NotInitialised,
    SubjectMismatch,
    UnknownCertificate,
    WeakKey,
)
from egov.pki.keystore import PrivateKey, get_keystore, key_algorithm
from egov.pki.models import Certificate, CertificateAuthority, CertificateRequest, RevocationList
from egov.pki.profiles import (
    IssuerInfo,
    PublicKey,
    build_certificate,
    name_for_ca,
    name_for_organisation,
    name_for_person,
    permitted_dns_zones,
    validity_days,
)
from egov.pki.signing import forget_signer

logger = logging.getLogger(__name__)

MAX_CSR_BYTES = 64 * 1024
MIN_RSA_BITS = 3072
MAX_RSA_BITS = 8192
ROOT_SLUG = "root"
ISSUING_SLUGS = {CAKind.ORGANISATION: "org", CAKind.PERSON: "person"}
PROFILE_CA = {
    Profile.ORG_SEAL: "org",
    Profile.SERVER_TLS: "org",
    Profile.PERSON_SIGNING: "person",
}
CRL_VALIDITY = timedelta(days=7)
ROOT_CRL_VALIDITY = timedelta(days=365)
REVOCABLE_REASONS = {
    int(r) for r in RevocationReason if r not in (6, 8)
}  # no certificateHold / removeFromCRL: revocation here is final
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
)
REQUEST_TRANSITIONS = {
    RequestStatus.PENDING: {RequestStatus.ISSUED, RequestStatus.REJECTED},
    RequestStatus.ISSUED: set(),
    RequestStatus.REJECTED: set(),
}


def _digests(data: bytes) -> tuple[str, str]:
    return hashlib.sha256(data).hexdigest(), sm3_hex(data)


def ca_name_prefix() -> str:
    from django.conf import settings

    return str(getattr(settings, "EGOV_PKI_CA_NAME_PREFIX", "河北省电子政务"))


# --- keys and CSRs ---------------------------------------------------------------------------


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


# --- hierarchy -------------------------------------------------------------------------------


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


# --- issuing ---------------------------------------------------------------------------------


def _subject_for(profile: str, organisation: Organisation, holder: User | None) -> x509.Name:
    if profile == Profile.PERSON_SIGNING:
        if holder is None:
            raise DomainError(_("A person's certificate needs a holder."), field="holder")
        return name_for_person(
            holder.full_name or holder.username,
            organisation.name,
            organisation.code,
            holder.username,
        )
    return name_for_organisation(organisation.name, organisation.code)


def _issue(
    *,
    profile: str,
    organisation: Organisation,
    public_key: PublicKey,
    holder: User | None = None,
    dns_names: list[str] | None = None,
    key_ref: str = "",
    renewed_from: Certificate | None = None,
    acting: Acting,
    ca_cache: dict[str, tuple[CertificateAuthority, IssuerInfo]] | None = None,
) -> Certificate:
    slug = PROFILE_CA[Profile(profile)]
    if ca_cache is not None and slug in ca_cache:
        ca, info = ca_cache[slug]
    else:
        ca = get_ca(slug)
        info = _issuer_info(ca)
        if ca_cache is not None:
            ca_cache[slug] = (ca, info)
    now = timezone.now()
    not_after = min(
        now + timedelta(days=validity_days(profile)),
        ca.certificate.not_after if ca.certificate else now,
    )
    cert = build_certificate(
        profile=profile,
        subject=_subject_for(profile, organisation, holder),
        public_key=public_key,
        issuer=info,
        not_before=now,
        not_after=not_after,
        dns_names=dns_names,
    )
    row = _save_certificate(
        cert,
        issuer=ca,
        profile=profile,
        organisation=organisation,
        holder=holder,
        key_ref=key_ref,
        renewed_from=renewed_from,
    )
    record_audit(
        "pki.certificate_issued",
        acting=acting,
        obj=row,
        details={
            "profile": profile,
            "serial": row.serial,
            "ca": ca.slug,
            "organisation": organisation.code,
            "not_after": row.not_after.isoformat(),
            "sha256": row.fingerprint_sha256,
            "sm3": row.fingerprint_sm3,
            "server_generated_key": bool(key_ref),
        },
    )
    return row


def do_issue_with_server_key(
    organisation: Organisation,
    profile: str = Profile.ORG_SEAL,
    *,
    holder: User | None = None,
    dns_names: list[str] | None = None,
    acting: Acting,
) -> Certificate:
    """Issue directly with a key generated here (operators' command line, the demo)."""
    if profile not in REQUESTABLE_PROFILES:
        raise DomainError(_("Unknown profile."), field="profile")
    if profile == Profile.SERVER_TLS:
        dns_names = check_dns_names(dns_names or [])
    with transaction.atomic():
        key = generate_key()
        key_ref = get_keystore().store(key)
        return _issue(
            profile=profile,
            organisation=organisation,
            public_key=key.public_key(),
            holder=holder,
            dns_names=dns_names,
            key_ref=key_ref,
            acting=acting,
        )


def do_issue_demo_seals(organisations: list[Organisation], *, acting: Acting) -> list[Certificate]:
    """A seal certificate for each organisation that has no valid one (for `pki init --demo`)."""
    have = set(
        Certificate.objects.filter(
            profile=Profile.ORG_SEAL,
            status=CertificateStatus.VALID,
            organisation__in=organisations,
            not_after__gt=timezone.now(),
        ).values_list("organisation_id", flat=True)
    )
    issued = []
    cache: dict[str, tuple[CertificateAuthority, IssuerInfo]] = {}
    with transaction.atomic():
        for org in organisations:
            if org.pk in have:
                continue
            key = generate_key()
            issued.append(
                _issue(
                    profile=Profile.ORG_SEAL,
                    organisation=org,
                    public_key=key.public_key(),
                    key_ref=get_keystore().store(key),
                    acting=acting,
                    ca_cache=cache,
                )
            )
    return issued


# --- requests --------------------------------------------------------------------------------


def do_submit_request(
    organisation: Organisation,
    *,
    profile: str,
    csr: bytes | str | None = None,
    generate_key_on_server: bool = False,
    holder: User | None = None,
    dns_names: list[str] | None = None,
    acting: Acting,
) -> CertificateRequest:
    """Record a request: a CSR (validated now) or a key the server generates on approval."""
    if profile not in {str(p) for p in REQUESTABLE_PROFILES}:
        raise DomainError(_("Choose one of the certificate profiles."), field="profile")
    if (csr is None or csr == b"" or csr == "") == (not generate_key_on_server):
        raise DomainError(
            _("Upload a CSR, or ask for the key to be generated on the server (not both)."),
            field="csr",
        )
    if profile == Profile.PERSON_SIGNING and holder is None:
        raise DomainError(_("A person's certificate needs a holder."), field="holder")
    if profile != Profile.PERSON_SIGNING:
        holder = None
    names = check_dns_names(dns_names or []) if profile == Profile.SERVER_TLS else []
    csr_der = None
    algorithm = "ec-secp256r1"
    sha256 = sm3 = ""
    if csr:
        parsed = parse_csr(csr)
        check_csr_subject(parsed, organisation)
        csr_der = parsed.public_bytes(serialization.Encoding.DER)
        algorithm = key_algorithm(parsed.public_key())  # type: ignore[arg-type]
        sha256, sm3 = _digests(csr_der)
    with transaction.atomic():
        req = CertificateRequest.objects.create(
            organisation=organisation,
            holder=holder,
            profile=profile,
            csr_der=csr_der,
            server_generated_key=csr_der is None,
            key_algorithm=algorithm,
            dns_names=names,
            csr_sha256=sha256,
            csr_sm3=sm3,
            submitted_by=acting.user,
        )
        record_audit(
            "pki.request_submitted",
            acting=acting,
            obj=req,
            details={
                "profile": profile,
                "organisation": organisation.code,
                "server_generated_key": req.server_generated_key,
                "csr_sha256": sha256,
                "csr_sm3": sm3,
                "dns_names": names,
            },
        )
    return req


def _lock_request(req: CertificateRequest, target: RequestStatus) -> CertificateRequest:
    locked = CertificateRequest.objects.select_for_update().get(pk=req.pk)
    if target not in REQUEST_TRANSITIONS[RequestStatus(locked.status)]:
        raise InvalidTransition(_("This request has already been reviewed."), field="status")
    return locked


def _check_reviewer(req: CertificateRequest, acting: Acting) -> None:
    if acting.user is not None and acting.user.pk == req.submitted_by_id:
        raise NotPermitted(_("A request is reviewed by someone other than its submitter."))


def do_approve_request(req: CertificateRequest, *, acting: Acting) -> Certificate:
    """审核通过: issue the certificate at once (generating the key if asked)."""
    _check_reviewer(req, acting)
    with transaction.atomic():
        locked = _lock_request(req, RequestStatus.ISSUED)
        key_ref = ""
        if locked.csr_der is not None:
            public_key = check_public_key(
                x509.load_der_x509_csr(bytes(locked.csr_der)).public_key()
            )
        else:
            key = generate_key(locked.key_algorithm)
            key_ref = get_keystore().store(key)
            public_key = key.public_key()
        cert = _issue(
            profile=locked.profile,
            organisation=locked.organisation,
            public_key=public_key,
            holder=locked.holder,
            dns_names=locked.dns_names or None,
            key_ref=key_ref,
            acting=acting,
        )
        locked.status = RequestStatus.ISSUED
        locked.reviewed_by = acting.user
        locked.reviewed_at = timezone.now()
        locked.certificate = cert
        locked.save(
            update_fields=["status", "reviewed_by", "reviewed_at", "certificate", "updated_at"]
        )
        record_audit(
            "pki.request_approved",
            acting=acting,
            obj=locked,
            details={"certificate": str(cert.uuid), "serial": cert.serial},
        )
    req.refresh_from_db()
    return cert


def do_reject_request(
    req: CertificateRequest, *, reason: str, acting: Acting
) -> CertificateRequest:
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Say why the request is rejected."), field="reason")
    if len(reason) > 500:
        raise DomainError(_("At most 500 characters."), field="reason")
    _check_reviewer(req, acting)
    with transaction.atomic():
        locked = _lock_request(req, RequestStatus.REJECTED)
        locked.status = RequestStatus.REJECTED
        locked.reviewed_by = acting.user
        locked.reviewed_at = timezone.now()
        locked.rejection_reason = reason
        locked.save(
            update_fields=["status", "reviewed_by", "reviewed_at", "rejection_reason", "updated_at"]
        )
        record_audit("pki.request_rejected", acting=acting, obj=locked, details={"reason": reason})
    req.refresh_from_db()
    return locked


# --- renewal and revocation ------------------------------------------------------------------


def do_renew_certificate(cert: Certificate, *, acting: Acting) -> Certificate:
    """A new certificate for the same holder and profile; a server-held key is replaced."""
    if cert.profile not in {str(p) for p in REQUESTABLE_PROFILES}:
        raise DomainError(_("CA certificates are renewed with `pki init`."), field="certificate")
    if cert.is_revoked:
        raise InvalidTransition(_("A revoked certificate cannot be renewed."), field="certificate")
    if cert.organisation is None:
        raise DomainError(_("The certificate has no organisation."), field="certificate")
    dns_names = None
    if cert.profile == Profile.SERVER_TLS:
        san = cert.x509.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns_names = [str(v) for v in san.get_values_for_type(x509.DNSName)]
    with transaction.atomic():
        key_ref = ""
        if cert.key_ref:
            key = generate_key(cert.key_algorithm)
            key_ref = get_keystore().store(key)
            public_key = key.public_key()
        else:
            public_key = cert.x509.public_key()  # type: ignore[assignment]
        new = _issue(
            profile=cert.profile,
            organisation=cert.organisation,
            public_key=public_key,
            holder=cert.holder,
            dns_names=dns_names,
            key_ref=key_ref,
            renewed_from=cert,
            acting=acting,
        )
        record_audit(
            "pki.certificate_renewed",
            acting=acting,
            obj=new,
            details={"previous_serial": cert.serial, "serial": new.serial},
        )
    return new


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


# --- the root offline ------------------------------------------------------------------------


def do_root_offline(*, passphrase: str, acting: Acting) -> bytes:
    """Export the root key (encrypted PEM under the operator's passphrase) and remove it here.

    A fresh root CRL is signed first, valid for a year, so relying parties keep one while the
    key is away.
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
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(passphrase.encode()),
        )
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


# --- expiry reminders ------------------------------------------------------------------------

EXPIRY_NOTICE_KIND = "pki.certificate_expiring"


def do_send_expiry_reminders(*, acting: Acting, days: int = 30) -> int:
    """Notify each holder and the unit's security administrators once before expiry."""
    import egov.pki.notifications  # noqa: F401  (registers the kind)
    from egov.core.notifications import do_notify

    now = timezone.now()
    due = list(
        Certificate.objects.filter(
            status=CertificateStatus.VALID,
            expiry_reminded_at__isnull=True,
            not_after__gt=now,
            not_after__lte=now + timedelta(days=days),
            organisation__isnull=False,
        ).select_related("organisation", "holder")
    )
    sent = 0
    for cert in due:
        if cert.organisation is None:
            raise RuntimeError("cert.organisation is missing")
        org_ids = [*cert.organisation.ancestor_ids, cert.organisation.pk]
        recipients = list(
            User.objects.filter(
                is_active=True,
                positions__is_active=True,
                positions__organisation_id__in=org_ids,
                positions__role_grants__role="security_admin",
            ).distinct()
        )
        if cert.holder is not None and cert.holder not in recipients:
            recipients.append(cert.holder)
        with transaction.atomic():
            if recipients:
                do_notify(
                    recipients,
                    kind=EXPIRY_NOTICE_KIND,
                    title=_("Certificate of %(name)s expires on %(date)s")
                    % {"name": cert.common_name, "date": cert.not_after.date().isoformat()},
                    body=_("Serial %s. Renew it before it expires.") % cert.serial,
                    url=cert.get_absolute_url(),
                    acting=acting,
                )
            Certificate.objects.filter(pk=cert.pk).update(expiry_reminded_at=now)
            sent += 1
    return sent
