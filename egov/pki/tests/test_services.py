"""Services: hierarchy, requests and their review, bad input, renewal, revocation, CRLs, keys."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.core.exceptions import ImproperlyConfigured

from egov.core.acting import Acting
from egov.core.errors import Conflict, DomainError, InvalidTransition, NotPermitted
from egov.core.models import AuditEvent
from egov.orgs.tests.factories import OrganisationFactory, make_member
from egov.pki import keystore, services
from egov.pki.choices import CertificateStatus, Profile, RequestStatus, RevocationReason
from egov.pki.errors import CaOffline, CsrInvalid, CsrTooLarge, SubjectMismatch, WeakKey
from egov.pki.models import (
    Certificate,
    CertificateAuthority,
    CertificateRequest,
    RevocationList,
    StoredKey,
)
from egov.pki.tests.factories import (
    make_csr,
    new_organisation,
    new_request,
    new_seal,
    rsa_key,
)

SYSTEM = Acting.system("test")
pytestmark = pytest.mark.django_db


def _actions() -> list[str]:
    return list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))


def test_init_builds_the_hierarchy_once(ca: Any) -> None:
    by_slug = {a.slug: a for a in ca.authorities}
    assert set(by_slug) == {"root", "org", "person"}
    root = by_slug["root"].certificate.x509
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length == 1
    org = by_slug["org"].certificate.x509
    assert org.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length == 0
    constraints = org.extensions.get_extension_for_class(x509.NameConstraints).value
    assert [n.value for n in constraints.permitted_subtrees] == ["hebei.gov.cn"]
    responder = by_slug["org"].ocsp_certificate.x509
    assert responder.extensions.get_extension_for_class(x509.OCSPNoCheck)
    assert (
        ExtendedKeyUsageOID.OCSP_SIGNING
        in responder.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    )
    assert RevocationList.objects.count() == 3
    assert _actions().count("pki.ca_initialised") == 1
    again = services.do_init_hierarchy(acting=SYSTEM)
    assert not again.created
    assert CertificateAuthority.objects.count() == 3
    assert _actions().count("pki.ca_initialised") == 1


def test_seal_subject_carries_name_and_code_and_pointers(ca: Any, settings: Any) -> None:
    org = new_organisation(name="河北省发展和改革委员会")
    cert = new_seal(organisation=org).x509
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == org.name
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == org.name
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_IDENTIFIER)[0].value == org.code
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment
    cdp = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert cdp[0].full_name[0].value == "http://127.0.0.1:8000/pki/crl/org.crl"
    aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert {d.access_location.value for d in aia} == {
        "http://127.0.0.1:8000/pki/ocsp",
        "http://127.0.0.1:8000/pki/ca/org.crt",
    }


def test_certificate_fingerprints_sha256_and_sm3(ca: Any) -> None:
    cert = new_seal()
    import hashlib

    assert cert.fingerprint_sha256 == hashlib.sha256(bytes(cert.der)).hexdigest()
    assert len(cert.fingerprint_sm3) == 64 and cert.fingerprint_sm3 != cert.fingerprint_sha256


def test_demo_seals_for_sixty_organisations_take_seconds_and_are_idempotent(ca: Any) -> None:
    orgs = OrganisationFactory.create_batch(60)
    started = time.perf_counter()
    issued = services.do_issue_demo_seals(orgs, acting=SYSTEM)
    elapsed = time.perf_counter() - started
    assert len(issued) == 60
    assert elapsed < 10, elapsed
    assert services.do_issue_demo_seals(orgs, acting=SYSTEM) == []


# --- keys ------------------------------------------------------------------------------------


def test_stored_keys_are_encrypted_pkcs8(ca: Any) -> None:
    cert = new_seal()
    row = StoredKey.objects.get(key_ref=cert.key_ref)
    blob = bytes(row.encrypted_pkcs8)
    with pytest.raises(TypeError):  # password required
        serialization.load_der_private_key(blob, None)
    key = serialization.load_der_private_key(blob, keystore.load_kek())
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert b"PRIVATE KEY" not in blob


def test_kek_required_in_production(settings: Any, monkeypatch: Any) -> None:
    monkeypatch.delenv("EGOV_PKI_KEK", raising=False)
    settings.EGOV_PKI_KEK = ""
    settings.EGOV_PKI_REQUIRE_KEK = True
    with pytest.raises(ImproperlyConfigured):
        keystore.load_kek()


def test_short_kek_refused(settings: Any, monkeypatch: Any) -> None:
    monkeypatch.delenv("EGOV_PKI_KEK", raising=False)
    settings.EGOV_PKI_KEK = "short"
    with pytest.raises(ImproperlyConfigured):
        keystore.load_kek()


def test_development_kek_generated_once_mode_0600(
    settings: Any, monkeypatch: Any, tmp_path: Path
) -> None:
    monkeypatch.delenv("EGOV_PKI_KEK", raising=False)
    settings.EGOV_PKI_KEK = ""
    settings.EGOV_PKI_KEK_FILE = str(tmp_path / "var" / "pki-kek")
    first = keystore.load_kek()
    assert (tmp_path / "var" / "pki-kek").stat().st_mode & 0o777 == 0o600
    assert keystore.load_kek() == first
    assert len(first) >= keystore.MIN_KEK_LENGTH


def test_keystore_delete(ca: Any) -> None:
    store = keystore.DatabaseKeyStore()
    ref = store.store(ec.generate_private_key(ec.SECP256R1()))
    assert store.load(ref)
    store.delete(ref)
    with pytest.raises(KeyError):
        store.load(ref)


# --- requests and bad input ------------------------------------------------------------------


def test_csr_request_reviewed_and_issued_with_audit(ca: Any) -> None:
    org = new_organisation()
    submitter = make_member(org, "clerk")
    reviewer = make_member(org, "security_admin")
    req = services.do_submit_request(
        org, profile=Profile.ORG_SEAL, csr=make_csr(org), acting=Acting(user=submitter)
    )
    assert req.status == RequestStatus.PENDING and len(req.csr_sm3) == 64
    with pytest.raises(NotPermitted):
        services.do_approve_request(req, acting=Acting(user=submitter))
    cert = services.do_approve_request(req, acting=Acting(user=reviewer))
    req.refresh_from_db()
    assert (req.status, req.certificate, req.reviewed_by) == (RequestStatus.ISSUED, cert, reviewer)
    assert cert.key_ref == "" and cert.organisation == org
    with pytest.raises(InvalidTransition):
        services.do_approve_request(req, acting=Acting(user=reviewer))
    assert _actions()[-3:] == [
        "pki.request_submitted",
        "pki.certificate_issued",
        "pki.request_approved",
    ]


def test_server_generated_key_request(ca: Any) -> None:
    req = new_request()
    assert req.server_generated_key
    cert = services.do_approve_request(req, acting=SYSTEM)
    assert cert.key_ref and StoredKey.objects.filter(key_ref=cert.key_ref).exists()


def test_reject_needs_reason_and_is_final(ca: Any) -> None:
    req = new_request()
    with pytest.raises(DomainError) as exc:
        services.do_reject_request(req, reason="  ", acting=SYSTEM)
    assert exc.value.field == "reason"
    services.do_reject_request(req, reason="wrong unit", acting=SYSTEM)
    req.refresh_from_db()
    assert req.status == RequestStatus.REJECTED
    with pytest.raises(InvalidTransition):
        services.do_approve_request(req, acting=SYSTEM)
    assert "pki.request_rejected" in _actions()
    assert not Certificate.objects.filter(profile=Profile.ORG_SEAL).exists()


def _refused(org: Any, csr: Any, error: type[DomainError], field: str = "csr", **kw: Any) -> None:
    before = (
        CertificateRequest.objects.count(),
        Certificate.objects.count(),
        AuditEvent.objects.count(),
    )
    with pytest.raises(error) as exc:
        services.do_submit_request(
            org, csr=csr, acting=SYSTEM, **{"profile": Profile.ORG_SEAL, **kw}
        )
    assert exc.value.field == field
    assert str(exc.value.message)
    after = (
        CertificateRequest.objects.count(),
        Certificate.objects.count(),
        AuditEvent.objects.count(),
    )
    assert before == after  # nothing half-written


def test_bad_csrs_refused_with_field(ca: Any) -> None:
    org = new_organisation()
    other = new_organisation()
    _refused(
        org,
        b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
        CsrInvalid,
    )
    _refused(org, b"\x30\x82\x01\x00garbage", CsrInvalid)
    _refused(org, b"x" * (64 * 1024 + 1), CsrTooLarge)
    _refused(org, make_csr(org, key=rsa_key(2048)), WeakKey)
    _refused(org, make_csr(org, key=ec.generate_private_key(ec.SECP384R1())), WeakKey)
    _refused(org, make_csr(org, code=other.code), SubjectMismatch)
    _refused(org, make_csr(org, name=other.name), SubjectMismatch)
    _refused(org, None, DomainError)  # neither CSR nor server key
    _refused(org, make_csr(org), DomainError, field="profile", profile="root_ca")


def test_csr_with_bad_signature_refused(ca: Any) -> None:
    org = new_organisation()
    der = bytearray(make_csr(org, fmt=serialization.Encoding.DER))
    der[-5] ^= 0x01
    _refused(org, bytes(der), CsrInvalid)


def test_accepted_csrs(ca: Any) -> None:
    org = new_organisation()
    for csr in (
        make_csr(org),
        make_csr(org, fmt=serialization.Encoding.DER),
        make_csr(org, key=rsa_key(3072)),
        make_csr(None),  # a bare subject: the CA writes the organisation's name and code
    ):
        req = services.do_submit_request(org, profile=Profile.ORG_SEAL, csr=csr, acting=SYSTEM)
        assert req.status == RequestStatus.PENDING


def test_server_names_limited_to_zones(ca: Any) -> None:
    org = new_organisation()
    for names, field in (
        (["www.example.com"], "dns_names"),
        (["bad name"], "dns_names"),
        ([], "dns_names"),
    ):
        with pytest.raises(DomainError) as exc:
            services.do_submit_request(
                org,
                profile=Profile.SERVER_TLS,
                generate_key_on_server=True,
                dns_names=names,
                acting=SYSTEM,
            )
        assert exc.value.field == field
    req = services.do_submit_request(
        org,
        profile=Profile.SERVER_TLS,
        generate_key_on_server=True,
        dns_names=["Node1.Hebei.gov.cn"],
        acting=SYSTEM,
    )
    assert req.dns_names == ["node1.hebei.gov.cn"]


def test_person_request_needs_holder(ca: Any) -> None:
    org = new_organisation()
    with pytest.raises(DomainError) as exc:
        services.do_submit_request(
            org, profile=Profile.PERSON_SIGNING, generate_key_on_server=True, acting=SYSTEM
        )
    assert exc.value.field == "holder"


# --- renewal, revocation, CRLs ---------------------------------------------------------------


def test_renew_replaces_server_key_and_links(ca: Any) -> None:
    cert = new_seal()
    new = services.do_renew_certificate(cert, acting=SYSTEM)
    assert new.renewed_from == cert and new.key_ref and new.key_ref != cert.key_ref
    assert new.subject == cert.subject
    assert "pki.certificate_renewed" in _actions()


def test_a_certificate_is_renewed_once(ca: Any) -> None:
    cert = new_seal()
    services.do_renew_certificate(cert, acting=SYSTEM)
    issued = Certificate.objects.count()
    with pytest.raises(Conflict) as exc:
        services.do_renew_certificate(cert, acting=SYSTEM)
    assert exc.value.field == "certificate"
    assert Certificate.objects.count() == issued


def test_revoke_regenerates_crl_at_once(ca: Any) -> None:
    cert = new_seal()
    org_ca = CertificateAuthority.objects.get(slug="org")
    before = org_ca.crl_number
    services.do_revoke_certificate(cert, reason=RevocationReason.KEY_COMPROMISE, acting=SYSTEM)
    cert.refresh_from_db()
    assert cert.status == CertificateStatus.REVOKED and cert.revocation_reason == 1
    crl_row = RevocationList.objects.filter(ca=org_ca).order_by("-number").first()
    assert crl_row is not None and crl_row.number == before + 1
    crl = x509.load_der_x509_crl(bytes(crl_row.der))
    entry = crl.get_revoked_certificate_by_serial_number(cert.serial_int)
    assert entry is not None
    assert (
        entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
        == x509.ReasonFlags.key_compromise
    )
    assert crl.is_signature_valid(org_ca.certificate.x509.public_key())  # type: ignore[union-attr,arg-type]
    assert _actions()[-2:] == ["pki.certificate_revoked", "pki.crl_generated"]
    with pytest.raises(InvalidTransition):
        services.do_revoke_certificate(cert, reason=0, acting=SYSTEM)
    with pytest.raises(InvalidTransition):
        services.do_renew_certificate(cert, acting=SYSTEM)


def test_revoke_bad_reason_and_unknown_serial(ca: Any) -> None:
    cert = new_seal()
    for reason in (6, 8, 99, "x"):
        with pytest.raises(DomainError) as exc:
            services.do_revoke_certificate(cert, reason=reason, acting=SYSTEM)  # type: ignore[arg-type]
        assert exc.value.field == "reason"
    for serial in ("abc123", "not-hex"):
        with pytest.raises(DomainError) as exc:
            services.find_certificate("org", serial)
        assert exc.value.field == "serial"
    assert services.find_certificate("org", cert.serial.upper()) == cert


def test_root_offline_then_online(ca: Any) -> None:
    pem = services.do_root_offline(passphrase="correct horse battery", acting=SYSTEM)
    assert b"ENCRYPTED PRIVATE KEY" in pem
    root = CertificateAuthority.objects.get(slug="root")
    assert root.key_ref == ""
    # The issuing CAs keep working: issue, revoke, CRL.
    cert = new_seal()
    services.do_revoke_certificate(cert, reason=0, acting=SYSTEM)
    # What needs the root fails clearly.
    issuing = Certificate.objects.get(
        profile=Profile.ISSUING_CA, issuer=root, authority__slug="org"
    )
    with pytest.raises(CaOffline):
        services.do_revoke_certificate(issuing, reason=0, acting=SYSTEM)
    with pytest.raises(CaOffline):
        services.do_generate_crl(root, acting=SYSTEM)
    with pytest.raises(DomainError):
        services.do_root_online(pem=pem, passphrase="wrong passphrase", acting=SYSTEM)
    services.do_root_online(pem=pem, passphrase="correct horse battery", acting=SYSTEM)
    services.do_generate_crl(CertificateAuthority.objects.get(slug="root"), acting=SYSTEM)


def test_exported_root_key_uses_a_slow_kdf(ca: Any, tmp_path: Any) -> None:
    """The offline root key is protected by a person's passphrase: PBKDF2 must be slow
    (cryptography's BestAvailableEncryption used 2,048 iterations). Stock OpenSSL reads it."""
    import shutil
    import subprocess

    from cryptography.hazmat.primitives import serialization

    from egov.pki import cms

    passphrase = "correct horse battery"
    pem = services.do_root_offline(passphrase=passphrase, acting=SYSTEM)
    body = b"".join(pem.strip().splitlines()[1:-1])
    info = cms.read_one(__import__("base64").b64decode(body))
    algorithm, _data = cms.children(info.content)
    pbes2_oid, params = cms.children(algorithm.content)
    assert cms.decode_oid(pbes2_oid.content) == "1.2.840.113549.1.5.13"  # PBES2
    kdf, scheme = cms.children(params.content)
    kdf_oid, kdf_params = cms.children(kdf.content)
    assert cms.decode_oid(kdf_oid.content) == "1.2.840.113549.1.5.12"  # PBKDF2
    salt, iterations, prf = cms.children(kdf_params.content)
    assert len(salt.content) >= 16
    assert int.from_bytes(iterations.content, "big") >= 600_000
    assert cms.decode_oid(cms.children(prf.content)[0].content) == "1.2.840.113549.2.9"
    assert cms.decode_oid(cms.children(scheme.content)[0].content) == "2.16.840.1.101.3.4.1.42"
    key = serialization.load_pem_private_key(pem, passphrase.encode())
    root = CertificateAuthority.objects.get(slug="root")
    assert root.certificate is not None
    assert key.public_key().public_bytes(  # type: ignore[union-attr]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) == root.certificate.x509.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if shutil.which("openssl"):
        path = tmp_path / "root-key.pem"
        path.write_bytes(pem)
        checked = subprocess.run(
            ["openssl", "pkey", "-in", str(path), "-passin", f"pass:{passphrase}", "-noout"],
            capture_output=True,
            check=False,
        )
        assert checked.returncode == 0, checked.stderr


def test_expiry_reminders_once(ca: Any) -> None:
    from egov.core.models import Notification

    org = new_organisation()
    admin = make_member(org, "security_admin")
    outsider = make_member(new_organisation(), "security_admin")
    cert = new_seal(organisation=org)
    assert services.do_send_expiry_reminders(acting=SYSTEM) == 0
    with time_machine.travel(cert.not_after - timedelta(days=10), tick=False):
        assert services.do_send_expiry_reminders(acting=SYSTEM) == 1
        assert services.do_send_expiry_reminders(acting=SYSTEM) == 0
    notes = list(Notification.objects.filter(kind=services.EXPIRY_NOTICE_KIND))
    assert [n.recipient for n in notes] == [admin]
    assert outsider not in [n.recipient for n in notes]
    assert notes[0].url == cert.get_absolute_url()


def test_periodic_jobs_registered() -> None:
    from egov.core.scheduling import periodic_jobs

    names = {job.name for job in periodic_jobs()}
    assert {"pki.expiry_reminders", "pki.regenerate_crls"} <= names
