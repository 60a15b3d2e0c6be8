"""Interoperability: stock `openssl` (run as a subprocess) checks what the CA produces."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from egov.core.acting import Acting
from egov.pki import services, signing
from egov.pki.choices import Profile, RevocationReason
from egov.pki.models import Certificate
from egov.pki.tests.factories import new_organisation, new_request, new_seal

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
SYSTEM = Acting.system("test")


def _pem(cert: Certificate) -> bytes:
    return cert.x509.public_bytes(serialization.Encoding.PEM)


def _write_chain(tmp_path: Path, ca: services.InitResult, leaf: Certificate) -> dict[str, Path]:
    by_slug = {a.slug: a for a in ca.authorities}
    paths = {}
    for name, cert in (
        ("root", by_slug["root"].certificate),
        ("org", by_slug["org"].certificate),
        ("leaf", leaf),
    ):
        path = tmp_path / f"{name}.pem"
        path.write_bytes(_pem(cert))  # type: ignore[arg-type]
        paths[name] = path
    return paths


def _crl_pem(tmp_path: Path, client: Any) -> Path:
    response = client.get("/pki/crl/org.pem")
    assert response.status_code == 200
    path = tmp_path / "org-crl.pem"
    path.write_bytes(response.content)
    return path


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=30)


@pytest.mark.django_db
def test_openssl_verify_accepts_then_crl_check_rejects_after_revocation(
    ca: services.InitResult, tmp_path: Path, client: Any
) -> None:
    leaf = new_seal()
    p = _write_chain(tmp_path, ca, leaf)
    base = ["verify", "-CAfile", str(p["root"]), "-untrusted", str(p["org"])]

    ok = _run(*base, str(p["leaf"]))
    assert ok.returncode == 0, ok.stderr
    assert f"{p['leaf']}: OK" in ok.stdout

    crl = _crl_pem(tmp_path, client)
    checked = _run(*base, "-crl_check", "-CRLfile", str(crl), str(p["leaf"]))
    assert checked.returncode == 0, checked.stdout + checked.stderr

    services.do_revoke_certificate(leaf, reason=RevocationReason.KEY_COMPROMISE, acting=SYSTEM)
    crl = _crl_pem(tmp_path, client)
    rejected = _run(*base, "-crl_check", "-CRLfile", str(crl), str(p["leaf"]))
    assert rejected.returncode != 0
    assert "certificate revoked" in rejected.stdout + rejected.stderr
    # Without the CRL check the chain itself is still sound.
    assert _run(*base, str(p["leaf"])).returncode == 0


@pytest.mark.django_db
def test_openssl_verify_accepts_every_profile(ca: services.InitResult, tmp_path: Path) -> None:
    from egov.pki.choices import Profile
    from egov.pki.models import CertificateAuthority

    leaves = [
        new_seal(),
        new_seal(profile=Profile.SERVER_TLS, dns_names=["www.hebei.gov.cn"]),
    ]
    ocsp = CertificateAuthority.objects.get(slug="org").ocsp_certificate
    assert ocsp is not None
    leaves.append(ocsp)
    for index, leaf in enumerate(leaves):
        p = _write_chain(tmp_path, ca, leaf)
        path = tmp_path / f"leaf{index}.pem"
        path.write_bytes(_pem(leaf))
        result = _run("verify", "-CAfile", str(p["root"]), "-untrusted", str(p["org"]), str(path))
        assert result.returncode == 0, (leaf.profile, result.stdout, result.stderr)
    # The issuing CA's name constraints: a TLS name outside the zones fails under OpenSSL too.
    tls = _run(
        "verify",
        "-purpose",
        "sslserver",
        "-CAfile",
        str(tmp_path / "root.pem"),
        "-untrusted",
        str(tmp_path / "org.pem"),
        str(tmp_path / "leaf1.pem"),
    )
    assert tls.returncode == 0, tls.stdout + tls.stderr


def test_openssl_ocsp_good_then_revoked_then_unknown(ocsp_server: Any, tmp_path: Path) -> None:
    ca = services.do_init_hierarchy(acting=SYSTEM)
    leaf = new_seal()
    p = _write_chain(tmp_path, ca, leaf)
    url = f"{ocsp_server.url}/pki/ocsp"
    base = ["ocsp", "-issuer", str(p["org"]), "-url", url, "-CAfile", str(p["root"])]

    good = _run(*base, "-cert", str(p["leaf"]))
    assert good.returncode == 0, good.stderr
    assert "Response verify OK" in good.stderr
    assert f"{p['leaf']}: good" in good.stdout

    services.do_revoke_certificate(leaf, reason=RevocationReason.SUPERSEDED, acting=SYSTEM)
    revoked = _run(*base, "-cert", str(p["leaf"]))
    assert "Response verify OK" in revoked.stderr
    assert f"{p['leaf']}: revoked" in revoked.stdout
    assert "Reason: superseded" in revoked.stdout

    unknown = _run(*base, "-serial", "0x1234abcd")
    assert "Response verify OK" in unknown.stderr
    assert ": unknown" in unknown.stdout


def test_openssl_ocsp_for_another_ca_is_unauthorized(ocsp_server: Any, tmp_path: Path) -> None:
    services.do_init_hierarchy(acting=SYSTEM)
    foreign_key = tmp_path / "foreign.key"
    foreign = tmp_path / "foreign.pem"
    made = _run(
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        str(foreign_key),
        "-out",
        str(foreign),
        "-subj",
        "/CN=Foreign CA",
        "-days",
        "2",
    )
    assert made.returncode == 0, made.stderr
    answer = _run(
        "ocsp",
        "-issuer",
        str(foreign),
        "-serial",
        "0x10",
        "-url",
        f"{ocsp_server.url}/pki/ocsp",
        "-noverify",
    )
    assert "unauthorized" in (answer.stdout + answer.stderr).lower()


@pytest.mark.django_db
def test_openssl_cms_verifies_detached_signature_and_fails_after_one_byte_changes(
    ca: services.InitResult, tmp_path: Path
) -> None:
    leaf = new_seal()
    p = _write_chain(tmp_path, ca, leaf)
    data = "关于印发《2026年全省政务信息化工作要点》的通知\n".encode() * 50
    (tmp_path / "data.bin").write_bytes(data)
    (tmp_path / "sig.der").write_bytes(signing.sign_detached(data, leaf))
    cmd = [
        "cms",
        "-verify",
        "-binary",
        "-inform",
        "DER",
        "-in",
        str(tmp_path / "sig.der"),
        "-content",
        str(tmp_path / "data.bin"),
        "-CAfile",
        str(p["root"]),
        "-out",
        "/dev/null",
    ]
    ok = _run(*cmd)
    assert ok.returncode == 0, ok.stderr
    assert "Verification successful" in ok.stderr

    changed = bytearray(data)
    changed[100] ^= 0x01
    (tmp_path / "data.bin").write_bytes(bytes(changed))
    bad = _run(*cmd)
    assert bad.returncode != 0
    assert "Verification failure" in bad.stderr


@pytest.mark.django_db
def test_openssl_cms_verifies_rsa_3072_signature(ca: services.InitResult, tmp_path: Path) -> None:
    from egov.pki.tests.factories import make_csr, rsa_key

    org = new_organisation()
    key = rsa_key(3072)
    req = new_request(organisation=org, csr=make_csr(org, key=key))
    cert = services.do_approve_request(req, acting=SYSTEM)
    signer = signing.Signer(
        certificate_id=cert.pk,
        certificate=cert.x509,
        private_key=key,
        sid=signing.cms.seq(cert.x509.issuer.public_bytes(), signing.cms.integer(cert.serial_int)),
        signature_algorithm=signing.cms.algorithm(signing.cms.OID_RSA_SHA256, null_params=True),
        certificates_block=signing.cms.tlv(
            0xA0,
            bytes(cert.der) + bytes(cert.issuer.certificate.der),  # type: ignore[union-attr]
        ),
        is_ec=False,
    )
    data = b"rsa data"
    signature = signing.sign_detached(data, signer)
    assert signing.verify_detached(data, signature).valid
    p = _write_chain(tmp_path, ca, cert)
    (tmp_path / "data.bin").write_bytes(data)
    (tmp_path / "sig.der").write_bytes(signature)
    ok = _run(
        "cms",
        "-verify",
        "-binary",
        "-inform",
        "DER",
        "-in",
        str(tmp_path / "sig.der"),
        "-content",
        str(tmp_path / "data.bin"),
        "-CAfile",
        str(p["root"]),
        "-out",
        "/dev/null",
    )
    assert ok.returncode == 0, ok.stderr


@pytest.mark.django_db
def test_openssl_cms_verifies_a_person_signature(ca: services.InitResult, tmp_path: Path) -> None:
    """A 签发人's own signature: stock OpenSSL's S/MIME signing purpose needs emailProtection
    beside clientAuth when the certificate carries extended key usages (it answered
    "unsuitable certificate purpose")."""
    from egov.orgs.tests.factories import make_member

    org = new_organisation()
    holder = make_member(org, "signer")
    leaf = new_seal(organisation=org, profile=Profile.PERSON_SIGNING, holder=holder)
    p = _write_chain(tmp_path, ca, leaf)
    data = "签发意见：同意。\n".encode() * 20
    (tmp_path / "data.bin").write_bytes(data)
    (tmp_path / "sig.der").write_bytes(signing.sign_detached(data, leaf))
    ok = _run(
        "cms",
        "-verify",
        "-binary",
        "-inform",
        "DER",
        "-in",
        str(tmp_path / "sig.der"),
        "-content",
        str(tmp_path / "data.bin"),
        "-CAfile",
        str(p["root"]),
        "-out",
        "/dev/null",
    )
    assert ok.returncode == 0, ok.stderr
    assert "Verification successful" in ok.stderr
