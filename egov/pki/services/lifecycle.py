"""Issuing and the request lifecycle: requests (CSR or server-generated key), review,
issue, renewal.

State machine of a request (证书申请): pending → issued (approved by the unit's security
administrator, which issues at once) or pending → rejected.
"""

from __future__ import annotations

from datetime import timedelta

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from egov.core.acting import Acting
from egov.core.audit import record_audit
from egov.core.errors import Conflict, DomainError, InvalidTransition, NotPermitted
from egov.orgs.models import Organisation, User
from egov.pki.choices import (
    REQUESTABLE_PROFILES,
    CertificateStatus,
    Profile,
    RequestStatus,
)
from egov.pki.keystore import get_keystore, key_algorithm
from egov.pki.models import Certificate, CertificateAuthority, CertificateRequest
from egov.pki.profiles import (
    IssuerInfo,
    PublicKey,
    build_certificate,
    name_for_organisation,
    name_for_person,
    validity_days,
)
from egov.pki.services.certificates import _digests, _issuer_info, _save_certificate, get_ca
from egov.pki.services.keys import (
    check_csr_subject,
    check_dns_names,
    check_public_key,
    generate_key,
    parse_csr,
)

PROFILE_CA = {
    Profile.ORG_SEAL: "org",
    Profile.SERVER_TLS: "org",
    Profile.PERSON_SIGNING: "person",
}
REQUEST_TRANSITIONS = {
    RequestStatus.PENDING: {RequestStatus.ISSUED, RequestStatus.REJECTED},
    RequestStatus.ISSUED: set(),
    RequestStatus.REJECTED: set(),
}


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
        # Lock the old certificate so a double click issues one renewal, not two.
        Certificate.objects.select_for_update().filter(pk=cert.pk).first()
        if cert.renewals.exists():
            raise Conflict(_("This certificate has already been renewed."), field="certificate")
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
