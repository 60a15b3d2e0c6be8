"""sign_detached / verify_detached: a valid signature, and each precise reason for failure."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.utils import timezone

from egov.core.acting import Acting
from egov.pki import cms, services, signing
from egov.pki.choices import Profile, RevocationReason
from egov.pki.tests.factories import new_organisation, new_request, new_seal

SYSTEM = Acting.system("test")
DATA = "河北省人民政府办公厅 公文 正文".encode() * 20
pytestmark = pytest.mark.django_db


def test_valid_signature_reports_signer_chain_revocation_and_digests(ca: Any) -> None:
    cert = new_seal()
    result = signing.verify_detached(DATA, signing.sign_detached(DATA, cert))
    assert result.valid, result.as_dict()
    assert result.signer == cert
    assert [c.subject for c in result.chain][1:] == [
        a.certificate.x509.subject for a in ca.authorities if a.slug in ("org", "root")
    ][::-1] or len(result.chain) == 3
    assert len(result.chain) == 3
    # The `or` above lets any three-certificate chain pass; the order is leaf, issuing CA, root.
    by_slug = {a.slug: a.certificate.x509 for a in ca.authorities}
    assert result.chain[1:] == [by_slug["org"], by_slug["root"]]
    assert result.revocation_status == "good"
    assert result.signing_time is not None
    assert len(result.data_sha256) == 64 and len(result.data_sm3) == 64
    assert result.as_dict()["valid"] is True


def test_changed_data_is_bad_signature(ca: Any) -> None:
    cert = new_seal()
    signature = signing.sign_detached(DATA, cert)
    changed = bytearray(DATA)
    changed[0] ^= 1
    result = signing.verify_detached(bytes(changed), signature)
    assert (result.valid, result.reason) == (False, signing.Reason.BAD_SIGNATURE)


def test_changed_signature_value_is_bad_signature(ca: Any) -> None:
    cert = new_seal()
    signature = bytearray(signing.sign_detached(DATA, cert))
    # The signature value is the last OCTET STRING: flip a byte in the r integer inside it.
    signature[-20] ^= 0x01
    result = signing.verify_detached(DATA, bytes(signature))
    assert result.reason in (signing.Reason.BAD_SIGNATURE, signing.Reason.MALFORMED)
    assert not result.valid


@pytest.mark.parametrize(
    "garbage", [b"", b"\x30\x80\x00\x00", b"not der at all", b"\x30\x03\x02\x01"]
)
def test_malformed_signature(ca: Any, garbage: bytes) -> None:
    result = signing.verify_detached(DATA, garbage)
    assert (result.valid, result.reason) == (False, signing.Reason.MALFORMED)


def _foreign_signer() -> signing.Signer:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Elsewhere CA")])
    now = timezone.now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, True, True, False, False), critical=True
        )
        .sign(key, hashes.SHA256())
    )
    der = cert.public_bytes(
        cms.__dict__.get("Encoding", None)
        or __import__(
            "cryptography.hazmat.primitives.serialization", fromlist=["Encoding"]
        ).Encoding.DER
    )
    return signing.Signer(
        certificate_id=0,
        certificate=cert,
        private_key=key,
        sid=cms.seq(cert.issuer.public_bytes(), cms.integer(cert.serial_number)),
        signature_algorithm=cms.algorithm(cms.OID_ECDSA_SHA256),
        certificates_block=cms.tlv(0xA0, der),
        is_ec=True,
    )


def test_unknown_issuer(ca: Any) -> None:
    result = signing.verify_detached(DATA, signing.sign_detached(DATA, _foreign_signer()))
    assert (result.valid, result.reason) == (False, signing.Reason.UNKNOWN_ISSUER)


def test_expired_at_signing_time(ca: Any) -> None:
    cert = new_seal()
    with time_machine.travel(cert.not_after + timedelta(days=1), tick=False):
        signature = signing.sign_detached(DATA, cert)
        result = signing.verify_detached(DATA, signature)
    assert (result.valid, result.reason) == (False, signing.Reason.EXPIRED), result.as_dict()


def test_signature_made_while_valid_stays_valid_after_expiry(ca: Any) -> None:
    cert = new_seal()
    signature = signing.sign_detached(DATA, cert)
    with time_machine.travel(cert.not_after + timedelta(days=1), tick=False):
        assert signing.verify_detached(DATA, signature).valid


def test_revoked(ca: Any) -> None:
    cert = new_seal()
    signature = signing.sign_detached(DATA, cert)
    services.do_revoke_certificate(cert, reason=RevocationReason.KEY_COMPROMISE, acting=SYSTEM)
    result = signing.verify_detached(DATA, signature)
    assert (result.valid, result.reason, result.revocation_status) == (
        False,
        signing.Reason.REVOKED,
        "revoked",
    )
    assert result.revocation_reason == RevocationReason.KEY_COMPROMISE
    # The revoked key no longer signs.
    with pytest.raises(signing.SigningError):
        signing.sign_detached(DATA, cert)


def test_superseded_after_signing_stays_valid_but_says_so(ca: Any) -> None:
    cert = new_seal()
    signature = signing.sign_detached(DATA, cert)
    with time_machine.travel(timezone.now() + timedelta(hours=1), tick=False):
        services.do_revoke_certificate(cert, reason=RevocationReason.SUPERSEDED, acting=SYSTEM)
    result = signing.verify_detached(DATA, signature)
    assert result.valid
    assert result.revocation_status == "revoked_after_signing"


def test_wrong_key_usage(ca: Any) -> None:
    tls = new_seal(profile=Profile.SERVER_TLS, dns_names=["node1.hebei.gov.cn"])
    result = signing.verify_detached(DATA, signing.sign_detached(DATA, tls))
    assert (result.valid, result.reason) == (False, signing.Reason.WRONG_KEY_USAGE)


def test_signing_needs_a_server_held_key(ca: Any) -> None:
    from egov.pki.tests.factories import make_csr

    org = new_organisation()
    req = new_request(organisation=org, csr=make_csr(org))
    cert = services.do_approve_request(req, acting=SYSTEM)
    with pytest.raises(signing.SigningError) as exc:
        signing.sign_detached(DATA, cert)
    assert exc.value.field == "signer"


def test_person_certificate_signs(ca: Any) -> None:
    from egov.orgs.tests.factories import make_member

    org = new_organisation()
    person = make_member(org, "signer")
    cert = new_seal(organisation=org, profile=Profile.PERSON_SIGNING, holder=person)
    assert cert.issuer.slug == "person"
    assert signing.verify_detached(DATA, signing.sign_detached(DATA, cert)).valid


def test_revoked_elsewhere_no_longer_signs_from_the_cache(ca: Any) -> None:
    """Another process revoked the certificate: this process's cached signer must not sign."""
    from egov.pki.choices import CertificateStatus
    from egov.pki.models import Certificate

    cert = new_seal()
    signing.sign_detached(DATA, cert)  # the signer is now cached in this process
    # What another web or task process's revocation leaves here: the row changes, the cache
    # of this process is not told.
    Certificate.objects.filter(pk=cert.pk).update(
        status=CertificateStatus.REVOKED,
        revoked_at=timezone.now(),
        revocation_reason=RevocationReason.KEY_COMPROMISE,
    )
    fresh = Certificate.objects.get(pk=cert.pk)
    with pytest.raises(signing.SigningError) as exc:
        signing.sign_detached(DATA, fresh)
    assert exc.value.field == "signer"


@pytest.mark.parametrize(
    "dotted",
    [cms.OID_SIGNED_DATA, cms.OID_SHA256, cms.OID_SM3, cms.OID_ECDSA_SHA256, "0.9.2342", "1.3"],
)
def test_oids_read_back(dotted: str) -> None:
    assert cms.decode_oid(cms.oid(dotted)[2:]) == dotted


def test_oid_with_a_long_first_subidentifier() -> None:
    # 2.999.3 (X.690 8.19.5 example): the first subidentifier 1079 takes two octets.
    assert cms.decode_oid(bytes([0x88, 0x37, 0x03])) == "2.999.3"


@pytest.mark.parametrize(
    "body",
    [
        cms.oid(cms.OID_SIGNED_DATA)[2:] + b"\x81",  # a subidentifier cut short
        b"\x2a\x80\x86\x48",  # a padded (non-minimal) subidentifier
    ],
    ids=["truncated", "padded"],
)
def test_malformed_oids_are_refused(body: bytes) -> None:
    with pytest.raises(cms.DerError):
        cms.decode_oid(body)


def test_signature_whose_content_type_oid_is_cut_short_is_malformed(ca: Any) -> None:
    signature = signing.sign_detached(DATA, new_seal())
    signed_data_oid = cms.oid(cms.OID_SIGNED_DATA)
    # Append a dangling continuation octet to the ContentInfo's OID (lengths adjusted).
    body = signed_data_oid[2:] + b"\x81"
    outer = cms.read_one(signature)
    rest = outer.content[len(signed_data_oid) :]
    tampered = cms.seq(cms.tlv(0x06, body), rest)
    result = signing.verify_detached(DATA, tampered)
    assert (result.valid, result.reason) == (False, signing.Reason.MALFORMED)


def test_the_signer_takes_its_issuing_ca_from_the_cached_anchors_only_if_it_signed(
    ca: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert = new_seal()
    issuer = next(a for a in ca.authorities if a.pk == cert.issuer_id)
    other = next(a for a in ca.authorities if a.pk != cert.issuer_id)
    signing._trust_anchors(fresh=True)  # this test's CA (an earlier test may have cached its own)
    cached = signing._cached_issuer(cert, cert.x509)
    assert cached is not None and cached.pk == issuer.pk
    # A stale cache (a test database rebuilt, a CA re-created under the same id) names another
    # CA's certificate for the id: it did not sign this one, so the database is asked instead.
    stale = type(issuer)(pk=issuer.pk, kind=issuer.kind, certificate=other.certificate)
    monkeypatch.setattr(signing, "_anchors", ([], [], {bytes(other.certificate.der): stale}))
    assert signing._cached_issuer(cert, cert.x509) is None
    signing.forget_signer(cert.fingerprint_sha256)
    result = signing.verify_detached(DATA, signing.sign_detached(DATA, cert))
    assert result.valid, result.as_dict()
