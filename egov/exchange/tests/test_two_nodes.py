"""Two nodes as separate processes with separate databases on loopback (started here): the
notice from the provincial general office to the 11 city governments, six of them on the other
node; crash faults at random points; a network cut; bundles with no HTTP between the nodes;
and a third party's check of an envelope with stock OpenSSL and sha256sum."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from egov.exchange.tests.nodes import NODE_A, NODE_B, NodeProcess, prepare_template

pytestmark = pytest.mark.slow

DISPATCH = """
import io, json
from egov.core.acting import Acting
from egov.exchange import services
from egov.orgs.models import Organisation
office = Organisation.objects.get(code=%(office)r)
recipients = list(Organisation.objects.filter(code__in=%(codes)r).order_by("code"))
parts = services.store_parts([services.PartInput("notice.pdf", "application/pdf",
                                                 io.BytesIO(b"%%PDF-1.7 " * %(size)d))])
ds = services.do_dispatch(kind="TEST_NOTICE", sender=office, recipients=recipients,
    payload={"title": %(title)r}, parts=parts, title=%(title)r, acting=Acting.system("test"))
print(json.dumps([str(d.envelope_id) for d in ds]))
"""

STATE = """
import json
from collections import Counter
from egov.core.models import AuditEvent
from egov.exchange.log import verify_log
from egov.exchange.models import Delivery, InboxEntry
print(json.dumps({
    "deliveries": dict(Counter(Delivery.objects.values_list("state", flat=True))),
    "reply_kinds": dict(Counter(Delivery.objects.values_list("reply_kind", flat=True))),
    "inbox": [[str(e), r] for e, r in InboxEntry.objects.values_list("envelope_id", "recipient__code")],
    "accepted": [[e.details["envelope_id"], e.details["recipient"]] for e in
                 AuditEvent.objects.filter(action="exchange.test_notice_accepted")],
    "log_problems": list(verify_log()),
}))
"""


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    directory = tmp_path_factory.mktemp("exchange-template")
    codes = prepare_template(directory)
    return directory / "template.sqlite3", codes


@pytest.fixture
def nodes(template: tuple[Path, dict[str, Any]], tmp_path: Path) -> Iterator[Any]:
    db, codes = template
    a = NodeProcess(NODE_A, tmp_path / "a", db)
    b = NodeProcess(NODE_B, tmp_path / "b", db)
    a.manage("exchange", "node", NODE_B, "--url", b.url, "--transport", "http")
    b.manage("exchange", "node", NODE_A, "--url", a.url, "--transport", "http")
    try:
        yield a, b, codes
    finally:
        a.stop()
        b.stop()


def dispatch(
    node: NodeProcess, codes: dict[str, Any], recipients: list[str], title: str
) -> list[str]:
    code = DISPATCH % {"office": codes["office"], "codes": recipients, "title": title, "size": 3000}
    return list(node.shell(code))


def state(node: NodeProcess) -> dict[str, Any]:
    return dict(node.shell(STATE))


def assert_exactly_once(a: NodeProcess, b: NodeProcess, sent: list[str]) -> None:
    sa, sb = state(a), state(b)
    assert sa["deliveries"] == {"delivered": len(sent)}, sa["deliveries"]
    assert sa["log_problems"] == [] and sb["log_problems"] == []
    accepted = [e for e, _r in sa["accepted"] + sb["accepted"]]
    inbox = [e for e, _r in sa["inbox"] + sb["inbox"]]
    assert sorted(accepted) == sorted(sent), "every envelope accepted exactly once"
    assert sorted(inbox) == sorted(sent)


def test_notice_to_eleven_cities_across_two_nodes(nodes):
    a, b, codes = nodes
    b.start()
    sent = dispatch(a, codes, codes["cities"], "关于做好年度电子政务工作的通知")
    assert len(sent) == 11
    out = a.manage("exchange_worker", "--until-idle")
    assert out.returncode == 0
    sa, sb = state(a), state(b)
    assert sa["deliveries"] == {"delivered": 11}
    assert sa["reply_kinds"] == {"RECEIPT": 11}
    remote = set(codes["remote"])
    assert sorted(r for _e, r in sb["accepted"]) == sorted(remote)
    assert sorted(r for _e, r in sa["accepted"]) == sorted(set(codes["cities"]) - remote)
    assert_exactly_once(a, b, sent)
    # Nothing more to do; a second run sends nothing.
    assert json.loads(a.manage("exchange", "worker", "--once").stdout)["claimed"] == 0


WORKER_POINTS = ["before_send", "after_send", "before_receipt_stored"]
RECEIVER_POINTS = ["inbox_before_commit", "inbox_after_commit"]


def test_crashes_at_random_points_lose_nothing_duplicate_nothing(nodes):
    a, b, codes = nodes
    rng = random.Random(20261125)
    b.start()
    sent: list[str] = []
    remote = codes["remote"]
    crashes = 0
    for round_no in range(4):  # 40 envelopes in flight, dispatched in 4 batches
        for recipients in (rng.sample(remote, 2), rng.sample(remote, 3), remote[:5]):
            sent += dispatch(a, codes, recipients, f"通知{round_no}")
    for _round in range(20):
        point = rng.choice(WORKER_POINTS + RECEIVER_POINTS)
        if point in WORKER_POINTS:
            out = a.manage(
                "exchange",
                "worker",
                "--once",
                "--limit",
                "1",
                check=False,
                EGOV_EXCHANGE_FAULT=point,
            )
            crashes += out.returncode == 17
        else:
            # The receiving process dies at that point (gunicorn's arbiter survives it; the
            # node is restarted whole afterwards).
            b.start(EGOV_EXCHANGE_FAULT=point)
            out = json.loads(a.manage("exchange", "worker", "--once", "--limit", "1").stdout)
            assert out["claimed"] == 1, out
            crashes += out["retried"]  # a repeat is answered from the inbox before any fault
            b.start()
    assert crashes >= 10
    a.manage("exchange_worker", "--until-idle")
    assert_exactly_once(a, b, sent)


def test_network_cut_heals_by_retry(nodes):
    a, b, codes = nodes
    sent = dispatch(a, codes, codes["remote"][:3], "网络中断后的通知")
    # B is down: every attempt fails and is rescheduled; nothing is lost.
    for _ in range(3):
        out = json.loads(a.manage("exchange", "worker", "--once").stdout)
        assert out["retried"] == 3 and out["errors"] == {"unreachable": 3}
    assert state(a)["deliveries"] == {"pending": 3}
    b.start()
    a.manage("exchange_worker", "--until-idle")
    assert_exactly_once(a, b, sent)


def test_bundle_round_trip_without_http(nodes, tmp_path):
    a, b, codes = nodes
    a.manage("exchange", "node", NODE_B, "--transport", "bundle", "--url", "")
    sent = dispatch(a, codes, codes["remote"], "离线摆渡的通知")
    # The worker leaves bundle-bound envelopes alone.
    assert json.loads(a.manage("exchange", "worker", "--once").stdout)["claimed"] == 0
    bundle = tmp_path / "to-b.zip"
    out = json.loads(a.manage("exchange", "export", "--to", NODE_B, str(bundle)).stdout)
    assert out["envelopes"] == 6
    replies = tmp_path / "replies.zip"
    first = json.loads(
        b.manage("exchange", "import", str(bundle), "--replies-out", str(replies)).stdout
    )
    assert (first["accepted"], first["duplicates"], first["replies"]) == (6, 0, 6)
    again = tmp_path / "replies-again.zip"
    second = json.loads(
        b.manage("exchange", "import", str(bundle), "--replies-out", str(again)).stdout
    )
    assert (second["accepted"], second["duplicates"], second["replies"]) == (0, 6, 6)
    back = json.loads(a.manage("exchange", "import", str(replies)).stdout)
    assert back["settled"] == 6
    back_again = json.loads(a.manage("exchange", "import", str(again)).stdout)
    assert back_again["settled"] == 6 and back_again["refused"] == {}
    assert_exactly_once(a, b, sent)
    # A tampered bundle is refused whole.
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(broken, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.startswith("envelopes/") and not dst.namelist():
                data = data[:-1] + bytes([data[-1] ^ 1])
            dst.writestr(info.filename, data)
    out = b.manage("exchange", "import", str(broken), check=False)
    assert out.returncode != 0 and "bundle_hash_mismatch" in out.stderr


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_third_party_verifies_with_stock_openssl(nodes, tmp_path):
    a, _b, codes = nodes
    [envelope_id] = dispatch(a, codes, codes["cities"][1:2], "第三方核验")
    root = tmp_path / "root.pem"
    a.manage("pki", "export", "--ca", "root", "--out", str(root))
    package = tmp_path / "envelope.zip"
    a.shell(
        "from egov.exchange.models import Delivery; from egov.exchange.envelope import package_bytes;"
        f"d = Delivery.objects.get(envelope_id={envelope_id!r});"
        f"open({str(package)!r}, 'wb').write(package_bytes(bytes(d.manifest), bytes(d.signature)))"
    )
    work = tmp_path / "unpacked"
    with zipfile.ZipFile(package) as zf:
        zf.extractall(work)
    verify = [
        "openssl",
        "cms",
        "-verify",
        "-binary",
        "-inform",
        "DER",
        "-in",
        "manifest.p7s",
        "-content",
        "manifest.json",
        "-CAfile",
        str(root),
        "-out",
        "/dev/null",
    ]
    ok = subprocess.run(verify, cwd=work, capture_output=True, text=True, check=False)
    assert ok.returncode == 0 and "Verification successful" in ok.stderr
    manifest = json.loads((work / "manifest.json").read_bytes())
    for part in manifest["parts"]:
        out = subprocess.run(
            ["sha256sum", f"parts/{part['name']}"],
            cwd=work,
            capture_output=True,
            text=True,
            check=True,
        )
        assert out.stdout.split()[0] == part["sha256"]
    # One changed byte in the manifest: OpenSSL refuses.
    raw = bytearray((work / "manifest.json").read_bytes())
    raw[-3] ^= 1
    (work / "manifest.json").write_bytes(bytes(raw))
    bad = subprocess.run(verify, cwd=work, capture_output=True, text=True, check=False)
    assert bad.returncode != 0 and "Verification failure" in bad.stderr
    # And egov's own verifier names sender, signer and time.
    out = json.loads(a.manage("exchange", "verify", str(package)).stdout)
    assert out["ok"] and out["sender"]["org"] == codes["office"] and out["log"]


SEND_FROM_B = """
import json
from egov.core.acting import Acting
from egov.exchange import services
from egov.orgs.models import Organisation
sender = Organisation.objects.get(code=%(sender)r)
office = Organisation.objects.get(code=%(office)r)
ds = services.do_dispatch(kind="TEST_NOTICE", sender=sender, recipients=[office],
    payload={"title": "报送材料"}, title="报送材料", acting=Acting.system("test"))
print(json.dumps([str(d.envelope_id) for d in ds]))
"""


def test_directory_published_fetched_and_used(nodes, tmp_path):
    """A (the province, operated by the general office) publishes the signed directory; B fetches
    it over HTTP, learns A's URL and certificate, and its envelopes then reach A; an older
    directory carried to B afterwards is refused."""
    a, b, codes = nodes
    signer = {"EGOV_EXCHANGE_DIRECTORY_SIGNER": codes["office"]}
    a.manage("exchange", "node", NODE_A, "--url", a.url)
    first = json.loads(a.manage("exchange", "directory", "publish", **signer).stdout)
    assert first["serial"] == 1 and first["organisations"] == 12
    old = tmp_path / "directory-1.zip"
    a.manage("exchange", "directory", "export", str(old))
    a.manage("exchange", "node", "node-c", "--url", "https://c.hebei.gov.cn")
    second = json.loads(
        a.manage("exchange", "directory", "publish", "--if-changed", **signer).stdout
    )
    assert second["serial"] == 2
    a.start(**signer)
    # B's idea of A is stale until it fetches the directory.
    b.manage("exchange", "node", NODE_A, "--url", "http://127.0.0.1:1")
    fetched = json.loads(
        b.manage("exchange", "directory", "fetch", "--from", a.url, **signer).stdout
    )
    assert fetched["serial"] == 2 and fetched["nodes_created"] == 1
    shown = json.loads(b.manage("exchange", "directory", "show").stdout)
    nodes_b = {n["code"]: n for n in shown["nodes"]}
    assert nodes_b[NODE_A]["url"] == a.url and nodes_b["node-c"]
    assert len(nodes_b[NODE_A]["certificate_sha256"]) == 64
    sent = b.shell(SEND_FROM_B % {"sender": codes["remote"][0], "office": codes["office"]})
    b.manage("exchange_worker", "--until-idle")
    assert state(b)["deliveries"] == {"delivered": 1}
    assert [e for e, _r in state(a)["accepted"]] == sent
    # Rollback: the serial-1 file carried to B is refused, B keeps serial 2.
    refused = b.manage("exchange", "directory", "import", str(old), check=False, **signer)
    assert refused.returncode != 0 and "directory_rollback" in refused.stderr
    assert json.loads(b.manage("exchange", "directory", "show").stdout)["serial"] == 2
