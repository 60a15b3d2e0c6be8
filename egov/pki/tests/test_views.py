"""The CA's public endpoints and the security administrator's screens."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from egov.core.acting import Acting
from egov.orgs.tests.factories import make_member
from egov.orgs.tests.otp_helpers import login_verified as login
from egov.pki import services
from egov.pki.choices import CertificateStatus, Profile, RequestStatus
from egov.pki.models import Certificate, CertificateAuthority, CertificateRequest
from egov.pki.tests.factories import (
    CertificateRequestFactory,
    make_csr,
    new_organisation,
    new_request,
    new_seal,
)

SYSTEM = Acting.system("test")
pytestmark = pytest.mark.django_db


@pytest.fixture
def unit(ca: Any) -> Any:
    return new_organisation()


@pytest.fixture
def admin_client(client: Any, unit: Any) -> Any:
    user = make_member(unit, "security_admin")
    login(client, user)
    client.user = user
    return client


# --- public endpoints ------------------------------------------------------------------------


def test_crl_and_ca_certificate_urls(client: Any, ca: Any) -> None:
    der = client.get("/pki/crl/org.crl")
    assert der.status_code == 200 and der["Content-Type"] == "application/pkix-crl"
    org_ca = CertificateAuthority.objects.get(slug="org").certificate
    assert org_ca is not None
    assert x509.load_der_x509_crl(der.content).issuer == org_ca.x509.subject
    pem = client.get("/pki/crl/org.pem")
    assert pem.status_code == 200 and pem.content.startswith(b"-----BEGIN X509 CRL")
    crt = client.get("/pki/ca/root.crt")
    assert (
        x509.load_der_x509_certificate(crt.content).subject
        == x509.load_der_x509_certificate(crt.content).issuer
    )
    assert client.get("/pki/ca/org.pem").content.startswith(b"-----BEGIN CERTIFICATE")
    assert client.get("/pki/crl/nope.crl").status_code == 404
    assert client.get("/pki/ca/nope.crt").status_code == 404


def _ocsp_request(cert: Certificate) -> bytes:
    issuer = cert.issuer.certificate.x509  # type: ignore[union-attr]
    return (
        ocsp.OCSPRequestBuilder()
        .add_certificate(cert.x509, issuer, hashes.SHA1())  # noqa: S303 (openssl ocsp's default)
        .build()
        .public_bytes(serialization.Encoding.DER)
    )


def test_ocsp_post_and_get(client: Any, ca: Any) -> None:
    cert = new_seal()
    body = _ocsp_request(cert)
    response = client.post("/pki/ocsp", body, content_type="application/ocsp-request")
    assert response.status_code == 200
    parsed = ocsp.load_der_ocsp_response(response.content)
    assert parsed.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    assert parsed.certificate_status == ocsp.OCSPCertStatus.GOOD
    encoded = base64.b64encode(body).decode()
    got = client.get(f"/pki/ocsp/{encoded}")
    assert ocsp.load_der_ocsp_response(got.content).certificate_status == ocsp.OCSPCertStatus.GOOD


@pytest.mark.parametrize("body", [b"", b"garbage", b"\x30\x03\x02\x01\x01", b"x" * 20000])
def test_ocsp_malformed(client: Any, ca: Any, body: bytes) -> None:
    response = client.post("/pki/ocsp", body, content_type="application/ocsp-request")
    assert response.status_code == 200
    parsed = ocsp.load_der_ocsp_response(response.content)
    assert parsed.response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST
    got = client.get("/pki/ocsp/not%20base64!!")
    assert (
        ocsp.load_der_ocsp_response(got.content).response_status
        == ocsp.OCSPResponseStatus.MALFORMED_REQUEST
    )


def test_ocsp_root_issued_certificate_is_unauthorized(client: Any, ca: Any) -> None:
    issuing = CertificateAuthority.objects.get(slug="org").certificate
    assert issuing is not None
    response = client.post(
        "/pki/ocsp", _ocsp_request(issuing), content_type="application/ocsp-request"
    )
    assert (
        ocsp.load_der_ocsp_response(response.content).response_status
        == ocsp.OCSPResponseStatus.UNAUTHORIZED
    )


# --- screens: scope --------------------------------------------------------------------------


SCREENS = [
    "pki:certificate_list",
    "pki:expiring_list",
    "pki:revoked_list",
    "pki:request_list",
    "pki:request_create",
]


@pytest.mark.parametrize("name", SCREENS)
def test_screens_404_without_security_admin(client: Any, unit: Any, name: str) -> None:
    login(client, make_member(unit, "system_admin"))
    assert client.get(reverse(name)).status_code == 404


def test_anonymous_redirected_to_login(client: Any, ca: Any) -> None:
    assert client.get(reverse("pki:certificate_list")).status_code == 302


@pytest.mark.parametrize("name", SCREENS)
def test_screens_open_for_security_admin(admin_client: Any, name: str) -> None:
    assert admin_client.get(reverse(name)).status_code == 200


def test_out_of_scope_objects_404(admin_client: Any) -> None:
    other = new_seal()
    req = new_request()
    assert admin_client.get(other.get_absolute_url()).status_code == 404
    assert (
        admin_client.post(
            reverse("pki:certificate_revoke", args=[other.uuid]), {"reason": 1}
        ).status_code
        == 404
    )
    assert admin_client.get(reverse("pki:request_detail", args=[req.uuid])).status_code == 404
    assert admin_client.post(reverse("pki:request_approve", args=[req.uuid])).status_code == 404
    other.refresh_from_db()
    assert other.status == CertificateStatus.VALID


def _count_queries(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("name", ["pki:certificate_list", "pki:expiring_list", "pki:revoked_list"])
def test_certificate_lists_constant_queries(
    admin_client: Any, unit: Any, name: str, settings: Any
) -> None:
    if name == "pki:expiring_list":
        settings.EGOV_PKI_VALIDITY_DAYS = {"org_seal": 20}

    def add(n: int) -> None:
        for _ in range(n):
            cert = new_seal(organisation=new_organisation(parent=unit))
            if name == "pki:revoked_list":
                services.do_revoke_certificate(cert, reason=0, acting=SYSTEM)

    add(2)
    url = reverse(name)
    small = _count_queries(admin_client, url)
    add(6)
    large = _count_queries(admin_client, url)
    content = admin_client.get(url).content.decode()
    assert small == large
    assert content.count('data-testid="certificate-row"') == 8


def test_request_list_constant_queries(admin_client: Any, unit: Any) -> None:
    new_request(organisation=unit)
    small = _count_queries(admin_client, reverse("pki:request_list"))
    CertificateRequestFactory.create_batch(5, organisation=unit)
    large = _count_queries(admin_client, reverse("pki:request_list"))
    assert small == large


# --- screens: the flow -----------------------------------------------------------------------


def test_submit_csr_approve_by_another_admin_and_revoke(
    admin_client: Any, client: Any, unit: Any
) -> None:
    upload = SimpleUploadedFile("req.csr", make_csr(unit), content_type="application/pkcs10")
    response = admin_client.post(
        reverse("pki:request_create"),
        {"organisation": str(unit.uuid), "profile": Profile.ORG_SEAL, "csr": upload},
    )
    assert response.status_code == 302
    req = CertificateRequest.objects.get()
    # The submitter may not approve their own request.
    refused = admin_client.post(reverse("pki:request_approve", args=[req.uuid]))
    assert refused.status_code == 403
    reviewer = make_member(unit, "security_admin")
    login(client, reviewer)
    approved = client.post(reverse("pki:request_approve", args=[req.uuid]))
    assert approved.status_code == 302
    req.refresh_from_db()
    assert req.status == RequestStatus.ISSUED and req.certificate is not None
    assert client.get(req.certificate.get_absolute_url()).status_code == 200
    download = client.get(reverse("pki:certificate_download", args=[req.certificate.uuid]))
    assert download.content.startswith(b"-----BEGIN CERTIFICATE")
    bad = client.post(
        reverse("pki:certificate_revoke", args=[req.certificate.uuid]), {"reason": "99"}
    )
    assert bad.status_code == 400 and b'data-testid="error-reason"' in bad.content
    ok = client.post(
        reverse("pki:certificate_revoke", args=[req.certificate.uuid]), {"reason": "1"}
    )
    assert ok.status_code == 302
    req.certificate.refresh_from_db()
    assert req.certificate.status == CertificateStatus.REVOKED


@pytest.mark.parametrize(
    "payload,field",
    [
        ({"csr": b"not a csr"}, "csr"),
        ({"csr": b"x" * (64 * 1024 + 10)}, "csr"),
        ({"csr": "other-org"}, "csr"),
        ({"profile": "root_ca", "generate_key": "on"}, "profile"),
        (
            {"profile": Profile.SERVER_TLS, "generate_key": "on", "dns_names": "www.example.com"},
            "dns_names",
        ),
        ({"profile": Profile.PERSON_SIGNING, "generate_key": "on", "holder": "nobody"}, "holder"),
        ({"organisation": "not-a-uuid", "generate_key": "on"}, "organisation"),
    ],
)
def test_request_form_bad_input(
    admin_client: Any, unit: Any, payload: dict[str, Any], field: str
) -> None:
    data: dict[str, Any] = {"organisation": str(unit.uuid), "profile": Profile.ORG_SEAL}
    data.update(payload)
    if data.get("csr") == "other-org":
        data["csr"] = make_csr(unit, code=new_organisation().code)
    if isinstance(data.get("csr"), bytes):
        data["csr"] = SimpleUploadedFile("req.csr", data["csr"])
    response = admin_client.post(reverse("pki:request_create"), data)
    assert response.status_code == 400
    assert f'data-testid="error-{field}"'.encode() in response.content
    assert CertificateRequest.objects.count() == 0


def test_request_for_out_of_scope_organisation_refused(admin_client: Any) -> None:
    other = new_organisation()
    response = admin_client.post(
        reverse("pki:request_create"),
        {"organisation": str(other.uuid), "profile": Profile.ORG_SEAL, "generate_key": "on"},
    )
    assert response.status_code == 400
    assert CertificateRequest.objects.count() == 0


def test_reject_and_renew_views(admin_client: Any, client: Any, unit: Any) -> None:
    req = new_request(organisation=unit)
    empty = admin_client.post(reverse("pki:request_reject", args=[req.uuid]), {"reason": ""})
    assert empty.status_code == 400 and b'data-testid="error-reason"' in empty.content
    done = admin_client.post(reverse("pki:request_reject", args=[req.uuid]), {"reason": "not ours"})
    assert done.status_code == 302
    cert = new_seal(organisation=unit)
    renewed = admin_client.post(reverse("pki:certificate_renew", args=[cert.uuid]))
    assert renewed.status_code == 302
    assert Certificate.objects.filter(renewed_from=cert).count() == 1


def test_pending_requests_are_to_dos_for_other_security_admins(unit: Any) -> None:
    from egov.pki.todos import PendingRequestsProvider

    submitter = make_member(unit, "security_admin")
    reviewer = make_member(unit, "security_admin")
    outsider = make_member(new_organisation(), "security_admin")
    services.do_submit_request(
        unit, profile=Profile.ORG_SEAL, generate_key_on_server=True, acting=Acting(user=submitter)
    )
    provider = PendingRequestsProvider()
    assert provider.count_for(reviewer) == 1
    assert provider.count_for(submitter) == 0
    assert provider.count_for(outsider) == 0
    items = provider.items_for(reviewer, 10)
    assert items[0].url.startswith("/pki/requests/")


def test_ocsp_responder_certificate_is_renewed_by_the_daily_job(client: Any, ca: Any) -> None:
    """The delegated responder certificate lives a year; the daily CRL job renews it before it
    expires, so OCSP answers stay signed by a valid responder (they used to expire after one
    year with no way to renew but a Python shell)."""
    import time_machine

    from egov.pki import tasks

    cert = new_seal()
    old = CertificateAuthority.objects.get(slug="org").ocsp_certificate
    assert old is not None
    with time_machine.travel(old.not_after - timedelta(days=10), tick=False):
        tasks.regenerate_crls.call()
        tasks.regenerate_crls.call()  # a second run the same day renews nothing more
    assert Certificate.objects.filter(profile=Profile.OCSP_RESPONDER).count() == 4  # org, person
    later = old.not_after + timedelta(days=1)
    with time_machine.travel(later, tick=False):
        response = client.post(
            "/pki/ocsp", _ocsp_request(cert), content_type="application/ocsp-request"
        )
        parsed = ocsp.load_der_ocsp_response(response.content)
    assert parsed.certificate_status == ocsp.OCSPCertStatus.GOOD
    responder = parsed.certificates[0]
    assert responder.not_valid_before_utc <= later <= responder.not_valid_after_utc
    assert (
        parsed.responder_key_hash
        == x509.SubjectKeyIdentifier.from_public_key(responder.public_key()).digest
    )
