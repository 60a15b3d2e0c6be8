"""Mutual TLS between nodes: the node presents its node certificate (`server_tls` profile from
the province CA: serverAuth + clientAuth) and checks the peer's server certificate against the
CA it is told to trust. A real TLS server on loopback that, like nginx with `ssl_verify_client
on`, accepts only clients with a certificate chaining to the province root."""

from __future__ import annotations

import datetime as dt
import http.server
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from egov.exchange import directory
from egov.exchange.directory import DirectoryError
from egov.exchange.tests.conftest import SYSTEM
from egov.exchange.tests.factories import NodeFactory
from egov.pki import services as pki
from egov.pki.choices import Profile
from egov.pki.signing import load_signer

pytestmark = pytest.mark.django_db
PEM = serialization.Encoding.PEM


def _loopback_server_certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1 (the peer node's web server)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test peer CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    server = tmp_path / "server.pem"
    server.write_bytes(
        cert.public_bytes(PEM)
        + key.private_bytes(PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    trust = tmp_path / "peer-ca.pem"
    trust.write_bytes(ca.public_bytes(PEM))
    return server, trust


@pytest.fixture
def province_files(ca: Any, office: Any, tmp_path: Path) -> dict[str, Path]:
    """The province root (what the server trusts for clients) and this node's client
    certificate (its chain) and key, issued by the province CA."""
    root = tmp_path / "root.pem"
    root.write_bytes(pki.get_ca("root").certificate.x509.public_bytes(PEM))
    node_cert = pki.do_issue_with_server_key(
        office, Profile.SERVER_TLS, dns_names=["node-a.hebei.gov.cn"], acting=SYSTEM
    )
    chain = node_cert.x509.public_bytes(PEM) + node_cert.issuer.certificate.x509.public_bytes(PEM)
    cert = tmp_path / "node.pem"
    cert.write_bytes(chain)
    key = tmp_path / "node.key"
    key.write_bytes(
        load_signer(node_cert).private_key.private_bytes(
            PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return {"root": root, "cert": cert, "key": key}


@pytest.fixture
def mtls_server(province_files: dict[str, Path], tmp_path: Path) -> Iterator[Any]:
    server_pem, peer_ca = _loopback_server_certificate(tmp_path)
    served: dict[str, bytes] = {"body": b""}
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            peer = self.connection.getpeercert()  # type: ignore[attr-defined]  # an SSLSocket
            seen.append(dict(x[0] for x in peer["subject"]).get("commonName", ""))
            self.send_response(200)
            self.send_header("Content-Type", "application/zip")
            self.send_header("Content-Length", str(len(served["body"])))
            self.end_headers()
            self.wfile.write(served["body"])

        def log_message(self, *args: Any) -> None:
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(server_pem)
    context.verify_mode = ssl.CERT_REQUIRED  # nginx: ssl_verify_client on
    context.load_verify_locations(province_files["root"])  # nginx: ssl_client_certificate
    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.handle_error = lambda *a: None  # type: ignore[method-assign]  # refused handshakes
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield {
            "url": f"https://127.0.0.1:{server.server_address[1]}",
            "peer_ca": peer_ca,
            "served": served,
            "seen": seen,
        }
    finally:
        server.shutdown()
        server.server_close()


def test_directory_fetch_over_mutual_tls(settings, office, province_files, mtls_server):
    settings.EGOV_EXCHANGE_DIRECTORY_SIGNER = office.code
    NodeFactory(code="node-a", url="https://a.hebei.gov.cn", operator=office)
    document, signature = directory.build_directory(serial=1)
    mtls_server["served"]["body"] = directory.package(document, signature)
    settings.EGOV_NODE_CODE = "node-b"
    settings.EGOV_EXCHANGE_TLS_CA = str(mtls_server["peer_ca"])

    # Without a client certificate the server refuses the handshake.
    with pytest.raises(DirectoryError) as exc:
        directory.fetch_directory(mtls_server["url"], acting=SYSTEM)
    assert exc.value.code == "directory_unreachable"

    # With the node certificate from the province CA it is let in.
    settings.EGOV_EXCHANGE_TLS_CERT = str(province_files["cert"])
    settings.EGOV_EXCHANGE_TLS_KEY = str(province_files["key"])
    assert directory.fetch_directory(mtls_server["url"], acting=SYSTEM).serial == 1
    assert mtls_server["seen"] == [office.name]

    # A server certificate outside the trusted CA is refused by the client.
    settings.EGOV_EXCHANGE_TLS_CA = str(province_files["root"])
    with pytest.raises(DirectoryError) as exc:
        directory.fetch_directory(mtls_server["url"], acting=SYSTEM)
    assert exc.value.code == "directory_unreachable"
