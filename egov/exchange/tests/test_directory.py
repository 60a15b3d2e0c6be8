"""The signed node directory (节点目录): published on the provincial node, served, fetched over
HTTP or imported from a file by the other nodes, verified (signature, signer, serial), and
applied to the Node rows and the organisations' nodes in one transaction.

One database plays both sides: the provincial node builds and signs a directory; switching
EGOV_NODE_CODE makes the same database another node that installs it.
"""

from __future__ import annotations

import http.server
import io
import json
import shutil
import subprocess
import threading
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from egov.core.models import AuditEvent
from egov.exchange import directory
from egov.exchange.choices import DirectorySource, Transport
from egov.exchange.directory import DirectoryError
from egov.exchange.envelope import canonical_json
from egov.exchange.models import Directory, Node
from egov.exchange.sealing import seal_for, sign_manifest
from egov.exchange.tests.conftest import SYSTEM
from egov.exchange.tests.factories import NodeFactory
from egov.orgs.models import Organisation
from egov.orgs.tests.factories import OrganisationFactory
from egov.pki import services as pki

pytestmark = pytest.mark.django_db

PROVINCE = "node-a"  # the conftest's EGOV_NODE_CODE: this database starts as the province


@pytest.fixture
def province(settings, office, cities):
    """The provincial node (operated by the general office, the directory signer), a city node
    operated by the first city, and the second and third cities served by the city node."""
    settings.EGOV_EXCHANGE_DIRECTORY_SIGNER = office.code
    NodeFactory(code=PROVINCE, name="省节点", url="https://a.example", operator=office)
    NodeFactory(code="node-b", name="市节点", url="https://b.example", operator=cities[0])
    for city in cities[1:]:
        city.node_code = "node-b"
        city.save()
    return {"office": office, "cities": cities}


def become(settings, node: str) -> None:
    """This database now plays `node`."""
    settings.EGOV_NODE_CODE = node


def built(serial: int, **changes: Any) -> tuple[bytes, bytes]:
    content = directory.directory_content()
    content.update(changes)
    return directory.build_directory(serial=serial, content=content)


def sign_raw(document: bytes, org: Organisation) -> bytes:
    return sign_manifest(document, seal_for(org))


# --- publishing and serving ------------------------------------------------------------------


def test_publish_signs_and_serves_the_directory(client, province):
    office, cities = province["office"], province["cities"]
    inactive = OrganisationFactory(is_active=False)
    result = directory.do_publish_directory(acting=SYSTEM)
    assert result is not None and result.serial == 1 and not result.unchanged
    row = Directory.objects.get()
    assert (row.serial, row.source, row.signer_code) == (1, DirectorySource.PUBLISHED, office.code)
    doc = json.loads(bytes(row.document))
    assert canonical_json(doc) == bytes(row.document)
    assert doc["format"] == "egov-exchange-directory" and doc["version"] == 1
    assert doc["issuer"] == {"org": office.code, "node": PROVINCE}
    nodes = {n["code"]: n for n in doc["nodes"]}
    assert nodes["node-b"] == {
        "code": "node-b",
        "name": "市节点",
        "url": "https://b.example",
        "transport": "http",
        "operator": cities[0].code,
        "certificate_sha256": seal_for(cities[0]).fingerprint_sha256,
    }
    assert nodes[PROVINCE]["certificate_sha256"] == seal_for(office).fingerprint_sha256
    assert doc["organisations"][office.code] == PROVINCE
    assert doc["organisations"][cities[1].code] == "node-b"
    assert inactive.code not in doc["organisations"]
    # The province's own cache now holds the operators' fingerprints it published.
    assert (
        Node.objects.get(code="node-b").certificate_sha256 == nodes["node-b"]["certificate_sha256"]
    )
    assert AuditEvent.objects.filter(action="exchange.directory_installed").count() == 1

    response = client.get(reverse("exchange:directory"))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert response["X-Directory-Serial"] == "1"
    document, signature = directory.unpack(response.content)
    assert document == bytes(row.document) and signature == bytes(row.signature)
    again = client.get(reverse("exchange:directory"), HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304


def test_publish_only_if_changed_and_serials_grow(province):
    assert directory.do_publish_directory(acting=SYSTEM, only_if_changed=True).serial == 1
    assert directory.do_publish_directory(acting=SYSTEM, only_if_changed=True) is None
    NodeFactory(code="node-c", url="https://c.example")
    assert directory.do_publish_directory(acting=SYSTEM, only_if_changed=True).serial == 2
    assert directory.do_publish_directory(acting=SYSTEM).serial == 3
    assert list(Directory.objects.values_list("serial", flat=True)) == [3, 2, 1]


def test_older_serials_are_served_for_audit(client, province):
    directory.do_publish_directory(acting=SYSTEM)
    directory.do_publish_directory(acting=SYSTEM)
    old = client.get(reverse("exchange:directory"), {"serial": "1"})
    assert old.status_code == 200 and old["X-Directory-Serial"] == "1"
    assert client.get(reverse("exchange:directory"), {"serial": "9"}).status_code == 404
    bad = client.get(reverse("exchange:directory"), {"serial": "-1"})
    assert bad.status_code == 400 and bad.json()["code"] == "bad_serial"
    assert client.post(reverse("exchange:directory")).status_code == 405


def test_nothing_to_serve_is_a_404(client, db):
    response = client.get(reverse("exchange:directory"))
    assert response.status_code == 404 and response.json()["code"] == "no_directory"


def test_publish_refuses_without_the_right_setup(settings, province, office, cities):
    settings.EGOV_EXCHANGE_DIRECTORY_SIGNER = ""
    with pytest.raises(DirectoryError) as exc:
        directory.do_publish_directory(acting=SYSTEM)
    assert exc.value.code == "no_directory_signer"
    # A node not operated by the signer does not publish.
    settings.EGOV_EXCHANGE_DIRECTORY_SIGNER = cities[0].code
    with pytest.raises(DirectoryError) as exc:
        directory.do_publish_directory(acting=SYSTEM)
    assert exc.value.code == "not_directory_node"
    settings.EGOV_EXCHANGE_DIRECTORY_SIGNER = office.code
    Node.objects.filter(code=PROVINCE).update(url="")
    with pytest.raises(DirectoryError) as exc:
        directory.do_publish_directory(acting=SYSTEM)
    assert exc.value.code == "no_node_url"
    Node.objects.filter(code=PROVINCE).update(url="https://a.example")
    cities[0].node_code = "node-nowhere"
    cities[0].save()
    with pytest.raises(DirectoryError) as exc:
        directory.do_publish_directory(acting=SYSTEM)
    assert exc.value.code == "unknown_node" and "node-nowhere" in str(exc.value.message)
    assert not Directory.objects.exists()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_a_third_party_verifies_the_directory_with_stock_openssl(client, province, tmp_path):
    directory.do_publish_directory(acting=SYSTEM)
    root = pki.get_ca("root").certificate.x509.public_bytes(serialization.Encoding.PEM)
    (tmp_path / "root.pem").write_bytes(root)
    with zipfile.ZipFile(io.BytesIO(client.get(reverse("exchange:directory")).content)) as zf:
        zf.extractall(tmp_path)
    verify = [
        "openssl",
        "cms",
        "-verify",
        "-binary",
        "-inform",
        "DER",
        "-in",
        "directory.p7s",
        "-content",
        "directory.json",
        "-CAfile",
        "root.pem",
        "-out",
        "/dev/null",
    ]
    ok = subprocess.run(verify, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert ok.returncode == 0 and "Verification successful" in ok.stderr


# --- installing on another node ---------------------------------------------------------------


def test_another_node_imports_and_applies_it(settings, province, office, cities):
    stranger = "91130000MA0000000X"  # in the directory, not known on this node
    content = directory.directory_content()
    content["organisations"] = {**content["organisations"], stranger: "node-b"}
    document, signature = directory.build_directory(serial=7, content=content)
    become(settings, "node-b")
    # What node B knew before: a stale URL for the province, no certificates, city 1 at home.
    Node.objects.filter(code=PROVINCE).update(url="https://old.example", certificate_sha256="")
    Node.objects.filter(code="node-b").update(transport=Transport.LOCAL)
    cities[1].node_code = ""
    cities[1].save()
    result = directory.import_directory(
        directory.package(document, signature), acting=SYSTEM, name="d.zip"
    )
    assert result.serial == 7 and not result.unchanged
    assert result.summary["organisations_unknown"] == 1
    assert result.summary["nodes"] == 2
    a = Node.objects.get(code=PROVINCE)
    assert a.url == "https://a.example" and a.transport == Transport.HTTP
    assert a.operator == office and a.certificate_sha256 == seal_for(office).fingerprint_sha256
    b = Node.objects.get(code="node-b")
    assert b.transport == Transport.LOCAL  # this node's own row stays local
    assert b.certificate_sha256 == seal_for(cities[0]).fingerprint_sha256
    office.refresh_from_db()
    assert office.node_code == PROVINCE
    assert not Organisation.objects.filter(code=stranger).exists()
    # City 1 was blank (this node) and the directory says node-b (this node): not moved.
    cities[1].refresh_from_db()
    assert cities[1].node_code == ""
    row = Directory.objects.get()
    assert (row.serial, row.source, row.source_url) == (7, DirectorySource.IMPORTED, "d.zip")
    assert bytes(row.document) == document


def test_same_serial_again_changes_nothing(settings, province):
    document, signature = built(3)
    become(settings, "node-b")
    first = directory.do_install_directory(
        document, signature, source=DirectorySource.IMPORTED, acting=SYSTEM
    )
    again = directory.do_install_directory(
        document, signature, source=DirectorySource.IMPORTED, acting=SYSTEM
    )
    assert not first.unchanged and again.unchanged
    assert Directory.objects.count() == 1


def test_rollback_and_reused_serials_are_refused(settings, province, office):
    newer, newer_sig = built(5)
    older, older_sig = built(4)
    become(settings, "node-b")
    directory.do_install_directory(newer, newer_sig, source="imported", acting=SYSTEM)
    moved_before = list(Organisation.objects.values_list("code", "node_code"))
    with pytest.raises(DirectoryError) as exc:
        directory.do_install_directory(older, older_sig, source="imported", acting=SYSTEM)
    assert exc.value.code == "directory_rollback"
    assert list(Organisation.objects.values_list("code", "node_code")) == moved_before
    refusal = AuditEvent.objects.filter(action="exchange.directory_refused").get()
    assert refusal.details["code"] == "directory_rollback"
    assert Directory.objects.count() == 1


def test_reused_serial_with_other_content_is_refused(settings, province):
    document, signature = built(5)
    NodeFactory(code="node-c", url="https://c.example")
    changed, changed_sig = built(5)
    become(settings, "node-b")
    directory.do_install_directory(document, signature, source="imported", acting=SYSTEM)
    with pytest.raises(DirectoryError) as exc:
        directory.do_install_directory(changed, changed_sig, source="imported", acting=SYSTEM)
    assert exc.value.code == "directory_serial_reused"


def test_a_directory_signed_by_anyone_else_is_refused(settings, province, office, cities):
    content = directory.directory_content()
    content["issuer"] = {"org": cities[0].code, "node": "node-b"}
    document = canonical_json(
        {
            "format": directory.FORMAT,
            "version": 1,
            "serial": 9,
            "issued_at": "2026-01-01T00:00:00.000000Z",
            **content,
        }
    )
    signature = sign_raw(document, cities[0])  # a valid seal from the province CA, wrong org
    become(settings, "node-b")
    with pytest.raises(DirectoryError) as exc:
        directory.do_install_directory(document, signature, source="imported", acting=SYSTEM)
    assert exc.value.code == "directory_wrong_signer"
    # The signer's seal over a document naming another issuer: refused too.
    forged = sign_raw(document, office)
    with pytest.raises(DirectoryError) as exc:
        directory.do_install_directory(document, forged, source="imported", acting=SYSTEM)
    assert exc.value.code == "directory_wrong_signer"
    settings.EGOV_EXCHANGE_DIRECTORY_SIGNER = ""
    with pytest.raises(DirectoryError) as exc:
        directory.do_install_directory(document, signature, source="imported", acting=SYSTEM)
    assert exc.value.code == "no_directory_signer"
    assert not Directory.objects.exists()


def test_tampered_malformed_and_future_directories_are_refused(settings, province, office):
    document, signature = built(2)
    tampered = document.replace(b"https://b.example", b"https://evil.example")
    become(settings, "node-b")
    with pytest.raises(DirectoryError) as exc:
        directory.do_install_directory(tampered, signature, source="imported", acting=SYSTEM)
    assert exc.value.code == "directory_bad_signature"
    with pytest.raises(DirectoryError) as exc:
        directory.do_install_directory(document, b"garbage", source="imported", acting=SYSTEM)
    assert exc.value.code == "directory_malformed"
    doc = json.loads(document)
    cases = {
        "not canonical": json.dumps(doc, indent=1).encode(),
        "extra field": canonical_json({**doc, "extra": 1}),
        "serial": canonical_json({**doc, "serial": "2"}),
        "transport": canonical_json(
            {**doc, "nodes": [{**n, "transport": "local"} for n in doc["nodes"]]}
        ),
        "url": canonical_json(
            {**doc, "nodes": [{**n, "url": "javascript:alert(1)"} for n in doc["nodes"]]}
        ),
        "unknown node": canonical_json(
            {**doc, "organisations": {**doc["organisations"], "X1": "node-z"}}
        ),
        "not JSON": b"\xff\xfe",
    }
    for what, bad in cases.items():
        with pytest.raises(DirectoryError) as exc:
            directory.do_install_directory(
                bad, sign_raw(bad, office), source="imported", acting=SYSTEM
            )
        assert exc.value.code == "bad_directory", what
    become(settings, PROVINCE)
    future, future_sig = directory.build_directory(
        serial=3, now=timezone.now() + timedelta(hours=1)
    )
    become(settings, "node-b")
    with pytest.raises(DirectoryError) as exc:
        directory.do_install_directory(future, future_sig, source="imported", acting=SYSTEM)
    assert exc.value.code == "clock_skew"
    assert not Directory.objects.exists()


def test_directory_files_must_hold_exactly_the_two_files(province):
    document, signature = built(1)
    with pytest.raises(DirectoryError) as exc:
        directory.unpack(b"not a zip")
    assert exc.value.code == "bad_directory"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("directory.json", document)
        zf.writestr("directory.p7s", signature)
        zf.writestr("extra.txt", b"x")
    with pytest.raises(DirectoryError) as exc:
        directory.unpack(out.getvalue())
    assert exc.value.code == "bad_directory"


def test_a_pinned_node_keeps_its_route(settings, province):
    NodeFactory(code="node-c", url="https://c.example", transport=Transport.HTTP)
    document, signature = built(4)
    become(settings, "node-b")
    Node.objects.filter(code="node-c").update(transport=Transport.BUNDLE, url="", pinned=True)
    directory.do_install_directory(document, signature, source="imported", acting=SYSTEM)
    c = Node.objects.get(code="node-c")
    assert c.transport == Transport.BUNDLE and c.url == "https://c.example"


# --- fetching over HTTP, the command and the periodic refresh -----------------------------------


@pytest.fixture
def serve() -> Iterator[Any]:
    """A loopback HTTP server answering GET /exchange/directory with the bytes given."""
    servers: list[http.server.HTTPServer] = []

    def start(body: bytes, status: int = 200) -> str:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != "/exchange/directory":
                    self.send_error(404)
                    return
                self.send_response(status)
                self.send_header("Content-Type", "application/zip")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_fetch_over_http_and_by_command(settings, province, serve, tmp_path):
    document, signature = built(11)
    url = serve(directory.package(document, signature))
    become(settings, "node-b")
    out = io.StringIO()
    call_command("exchange", "directory", "fetch", "--from", url, stdout=out)
    result = json.loads(out.getvalue())
    assert result["ok"] and result["serial"] == 11 and result["nodes"] == 2
    row = Directory.objects.get()
    assert row.source == DirectorySource.FETCHED
    assert row.source_url == url + "/exchange/directory"
    out = io.StringIO()
    call_command("exchange", "directory", "show", stdout=out)
    shown = json.loads(out.getvalue())
    assert shown["serial"] == 11 and shown["signer"] == province["office"].code
    exported = tmp_path / "directory.zip"
    call_command("exchange", "directory", "export", str(exported), stdout=io.StringIO())
    assert directory.unpack(exported.read_bytes()) == (document, signature)
    out = io.StringIO()
    call_command("exchange", "directory", "import", str(exported), stdout=out)
    assert json.loads(out.getvalue())["unchanged"]


def test_fetch_errors_are_clear(settings, province, serve):
    become(settings, "node-b")
    with pytest.raises(CommandError, match="directory_unreachable"):
        call_command(
            "exchange", "directory", "fetch", "--from", serve(b"", 503), stdout=io.StringIO()
        )
    with pytest.raises(CommandError, match="directory_unreachable"):
        call_command(
            "exchange", "directory", "fetch", "--from", "http://127.0.0.1:9", stdout=io.StringIO()
        )
    with pytest.raises(CommandError, match="bad_url"):
        call_command("exchange", "directory", "fetch", "--from", "ftp://x", stdout=io.StringIO())
    with pytest.raises(CommandError, match="bad_directory"):
        call_command(
            "exchange", "directory", "fetch", "--from", serve(b"junk"), stdout=io.StringIO()
        )
    with pytest.raises(CommandError, match="EGOV_EXCHANGE_DIRECTORY_URL"):
        call_command("exchange", "directory", "fetch", stdout=io.StringIO())


def test_publish_command(province):
    out = io.StringIO()
    call_command("exchange", "directory", "publish", stdout=out)
    assert json.loads(out.getvalue())["serial"] == 1
    out = io.StringIO()
    call_command("exchange", "directory", "publish", "--if-changed", stdout=out)
    assert json.loads(out.getvalue())["unchanged"]


def test_node_command_pins(db):
    out = io.StringIO()
    call_command("exchange", "node", "node-x", "--transport", "bundle", "--pin", stdout=out)
    assert json.loads(out.getvalue())["pinned"]
    call_command("exchange", "node", "node-x", "--unpin", stdout=io.StringIO())
    assert not Node.objects.get(code="node-x").pinned


def test_periodic_refresh_publishes_on_the_province_and_fetches_elsewhere(
    settings, province, serve
):
    from egov.exchange.tasks import refresh_directory

    assert refresh_directory.call() == {"action": "publish", "serial": 1, "unchanged": False} | (
        Directory.objects.get().summary
    )
    assert refresh_directory.call() == {"action": "publish", "unchanged": True}
    document, signature = built(2)
    url = serve(directory.package(document, signature))
    become(settings, "node-b")
    settings.EGOV_EXCHANGE_DIRECTORY_URL = url
    assert refresh_directory.call()["serial"] == 2
    settings.EGOV_EXCHANGE_DIRECTORY_URL = "http://127.0.0.1:9"
    failed = refresh_directory.call()
    assert failed["action"] == "failed" and failed["code"] == "directory_unreachable"
    settings.EGOV_EXCHANGE_DIRECTORY_URL = ""
    assert refresh_directory.call() == {"action": "none"}


def test_the_directory_routes_deliveries(settings, province, office, cities, handler):
    """After a directory moves an organisation to another node, its envelopes go there."""
    from egov.exchange import services

    content = directory.directory_content()
    content["organisations"] = {**content["organisations"], cities[0].code: "node-b"}
    document, signature = directory.build_directory(serial=1, content=content)
    directory.do_install_directory(document, signature, source="imported", acting=SYSTEM)
    [delivery] = services.do_dispatch(
        kind="TEST_NOTICE",
        sender=office,
        recipients=[Organisation.objects.get(pk=cities[0].pk)],
        payload={"title": "t"},
        acting=SYSTEM,
    )
    assert delivery.recipient_node == "node-b"
