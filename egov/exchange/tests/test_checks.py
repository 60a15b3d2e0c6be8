"""The receiver's checks in order: each bad envelope refused at its check with its code,
nothing stored as received."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from egov.exchange import services
from egov.exchange.choices import CHECK_OF_REASON, Kind
from egov.exchange.envelope import PartStore, canonical_json, iso, package_bytes, parse_package
from egov.exchange.models import InboxEntry
from egov.exchange.receiving import receive_bytes
from egov.exchange.sealing import seal_for
from egov.exchange.tests.conftest import SYSTEM
from egov.exchange.tests.handlers import KIND
from egov.orgs.tests.factories import OrganisationFactory
from egov.pki import services as pki
from egov.pki.choices import RevocationReason

pytestmark = pytest.mark.django_db


@pytest.fixture
def delivery(office, cities, parts, handler):
    [d] = services.do_dispatch(
        kind=KIND,
        sender=office,
        recipients=cities[:1],
        payload={"title": "通知"},
        parts=parts,
        acting=SYSTEM,
    )
    return d


def entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def rezip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, content in files.items():
            zf.writestr(name, content)
    return out.getvalue()


def resign(manifest: dict[str, Any], org: Any) -> tuple[bytes, bytes]:
    raw = canonical_json(manifest)
    return raw, services.sign_manifest(raw, seal_for(org))


def refused(data: bytes, code: str) -> None:
    outcome = receive_bytes(data)
    assert (outcome.code, outcome.reply) == (code, None), outcome
    assert InboxEntry.objects.count() == 0


def original(d: Any) -> bytes:
    return package_bytes(bytes(d.manifest), bytes(d.signature))


def test_garbage_bytes(delivery):
    refused(b"\x00garbage" * 10, "malformed_package")
    refused(b"", "malformed_package")


def test_extra_missing_and_traversal(delivery):
    files = entries(original(delivery))
    refused(rezip({**files, "parts/evil.exe": b"x"}), "unexpected_file")
    refused(rezip({**files, "extra.txt": b"x"}), "unexpected_file")
    refused(rezip({**files, "../../etc/passwd": b"x"}), "path_traversal")
    refused(rezip({**files, "parts/../../x": b"x"}), "path_traversal")
    missing = dict(files)
    del missing["parts/notice.pdf"]
    refused(rezip(missing), "missing_part")
    no_sig = dict(files)
    del no_sig["manifest.p7s"]
    refused(rezip(no_sig), "missing_part")


def test_part_name_traversal_in_manifest(delivery, office):
    files = entries(original(delivery))
    manifest = json.loads(files["manifest.json"])
    manifest["parts"][0]["name"] = "../notice.pdf"
    raw, sig = resign(manifest, office)
    refused(rezip({"manifest.json": raw, "manifest.p7s": sig}), "path_traversal")


def test_tampered_and_swapped_parts(delivery):
    files = entries(original(delivery))
    tampered = dict(files)
    body = bytearray(files["parts/notice.pdf"])
    body[10] ^= 1
    tampered["parts/notice.pdf"] = bytes(body)
    refused(rezip(tampered), "hash_mismatch")
    swapped = dict(files)
    swapped["parts/notice.pdf"], swapped["parts/附件1.txt"] = (
        files["parts/附件1.txt"],
        files["parts/notice.pdf"],
    )
    refused(rezip(swapped), "size_mismatch")


def test_a_part_this_node_holds_is_still_checked_against_both_hashes(delivery, office):
    # Sender and recipient share this node's part store, so the part is held already, with the
    # SM3 recorded when it was stored: the receiver checks SHA-256 and that recorded SM3.
    store = PartStore()
    files = entries(original(delivery))
    manifest = json.loads(files["manifest.json"])
    spec = manifest["parts"][0]
    assert store.stored_sm3(spec["sha256"]) == spec["sm3"]
    tampered = dict(files)
    tampered["parts/notice.pdf"] = files["parts/notice.pdf"][:-1] + b"!"
    refused(rezip(tampered), "hash_mismatch")
    # The right SHA-256 beside a wrong SM3 (re-signed by the sender) is refused too.
    manifest["parts"][0]["sm3"] = "0" * 64
    raw, sig = resign(manifest, office)
    refused(rezip({**files, "manifest.json": raw, "manifest.p7s": sig}), "hash_mismatch")


def test_a_held_part_without_a_recorded_sm3_is_hashed_and_recorded(delivery):
    store = PartStore()
    spec = json.loads(bytes(delivery.manifest))["parts"][0]
    sidecar = store.path(spec["sha256"]).with_suffix(".sm3")
    sidecar.unlink()  # a part stored before the digests were recorded
    assert store.stored_sm3(spec["sha256"]) is None
    outcome = receive_bytes(original(delivery))
    assert outcome.reply is not None and outcome.code == ""
    assert store.stored_sm3(spec["sha256"]) == spec["sm3"]


def test_oversized(delivery, settings):
    settings.EGOV_EXCHANGE_MAX_ENVELOPE_BYTES = 1000
    refused(original(delivery), "too_large")


def test_manifest_not_canonical_or_incomplete(delivery):
    files = entries(original(delivery))
    manifest = json.loads(files["manifest.json"])
    refused(
        rezip({**files, "manifest.json": json.dumps(manifest, indent=1).encode()}), "bad_manifest"
    )
    refused(rezip({**files, "manifest.json": b"[1,2]"}), "bad_manifest")
    refused(rezip({**files, "manifest.json": b"\xff\xfe"}), "bad_manifest")


def test_manifest_changed_breaks_signature(delivery):
    files = entries(original(delivery))
    manifest = json.loads(files["manifest.json"])
    manifest["payload"]["title"] = "另一个标题"
    refused(rezip({**files, "manifest.json": canonical_json(manifest)}), "bad_signature")
    refused(rezip({**files, "manifest.p7s": b"\x30\x03\x02\x01\x01"}), "malformed")


def test_certificate_of_another_organisation(delivery, cities):
    files = entries(original(delivery))
    manifest = json.loads(files["manifest.json"])
    raw, sig = resign(manifest, cities[1])  # signed by a city claiming to be the office
    refused(rezip({**files, "manifest.json": raw, "manifest.p7s": sig}), "certificate_not_sender")


def test_revoked_certificate(delivery, office):
    cert = seal_for(office)
    pki.do_revoke_certificate(cert, reason=RevocationReason.KEY_COMPROMISE, acting=SYSTEM)
    refused(original(delivery), "revoked")


def test_unknown_issuer(delivery, office, tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    # A self-made CA and leaf that look like the office's seal.
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake")])
    now = timezone.now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=10))
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, False, False, False, False), True
        )
        .sign(key, hashes.SHA256())
    )
    from egov.pki import cms
    from egov.pki.signing import Signer, sign_detached

    signer = Signer(
        certificate_id=0,
        certificate=cert,
        private_key=key,
        sid=cms.seq(cert.issuer.public_bytes(), cms.integer(1)),
        signature_algorithm=cms.algorithm(cms.OID_ECDSA_SHA256),
        certificates_block=cms.tlv(0xA0, cert.public_bytes(serialization.Encoding.DER)),
        is_ec=True,
    )
    files = entries(original(delivery))
    refused(
        rezip({**files, "manifest.p7s": sign_detached(files["manifest.json"], signer)}),
        "unknown_issuer",
    )


def test_misaddressed_is_returned(delivery, office, handler):
    from egov.exchange.tests.factories import NodeFactory

    NodeFactory(code="node-a", operator=office)
    files = entries(original(delivery))
    manifest = json.loads(files["manifest.json"])
    stranger = OrganisationFactory(node_code="node-elsewhere")
    manifest["recipient"]["org"] = stranger.code
    raw, sig = resign(manifest, office)
    outcome = receive_bytes(rezip({**files, "manifest.json": raw, "manifest.p7s": sig}))
    assert outcome.reply_kind == Kind.RETURN and outcome.code == "misaddressed"
    reply = parse_package(io.BytesIO(outcome.reply or b""))
    assert reply.manifest["payload"]["reason"] == "misaddressed"
    assert InboxEntry.objects.count() == 0 and handler.accepted == []


def test_expired_and_future_envelopes(delivery, office, handler):
    data = original(delivery)
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        outcome = receive_bytes(data)
    assert (outcome.reply_kind, outcome.code) == (Kind.RETURN, "envelope_expired")
    files = entries(data)
    manifest = json.loads(files["manifest.json"])
    manifest["created_at"] = iso(timezone.now() + timedelta(hours=1))
    raw, sig = resign(manifest, office)
    outcome = receive_bytes(rezip({**files, "manifest.json": raw, "manifest.p7s": sig}))
    assert (outcome.reply_kind, outcome.code) == (Kind.RETURN, "clock_skew")
    assert InboxEntry.objects.count() == 0 and handler.accepted == []


def test_replayed_id_with_other_content(delivery, office, handler):
    assert receive_bytes(original(delivery)).reply is not None
    files = entries(original(delivery))
    manifest = json.loads(files["manifest.json"])
    manifest["payload"]["title"] = "换了内容"
    raw, sig = resign(manifest, office)
    outcome = receive_bytes(rezip({**files, "manifest.json": raw, "manifest.p7s": sig}))
    assert outcome.code == "envelope_id_reused" and outcome.reply is None
    assert len(handler.accepted) == 1


def test_every_reason_names_its_check():
    assert all(1 <= n <= 8 for n in CHECK_OF_REASON.values())
