"""`manage.py pki` subcommands with --json."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from egov.orgs.choices import OrgKind
from egov.orgs.tests.factories import OrganisationFactory
from egov.pki.models import Certificate, CertificateAuthority
from egov.pki.tests.factories import new_organisation

pytestmark = pytest.mark.django_db


def pki(*args: str) -> dict[str, Any]:
    out = StringIO()
    call_command("pki", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_init_demo_is_idempotent_and_issues_seals() -> None:
    OrganisationFactory.create_batch(3)
    new_organisation(kind=OrgKind.INTERNAL_UNIT)
    first = pki("init", "--demo")
    assert first["ok"] and first["created"] and first["seals_issued"] == 3
    assert {a["slug"] for a in first["authorities"]} == {"root", "org", "person"}
    assert all(len(a["sm3"]) == 64 for a in first["authorities"])
    again = pki("init", "--demo")
    assert not again["created"] and again["seals_issued"] == 0
    assert CertificateAuthority.objects.count() == 3


def test_issue_revoke_crl_export(tmp_path: Path) -> None:
    org = new_organisation()
    pki("init")
    issued = pki("issue", "--org", org.code)["certificate"]
    assert issued["organisation"] == org.code and issued["status"] == "valid"
    tls = pki("issue", "--org", org.code, "--profile", "server_tls", "--dns", "a.hebei.gov.cn")
    assert tls["certificate"]["profile"] == "server_tls"
    revoked = pki("revoke", "--serial", issued["serial"], "--reason", "key_compromise")
    assert revoked["certificate"]["status"] == "revoked"
    assert revoked["certificate"]["revocation_reason"] == 1
    crls = pki("crl")["crls"]
    assert {c["ca"] for c in crls} == {"root", "org", "person"}
    out = tmp_path / "org-crl.pem"
    written = pki("export", "--ca", "org", "--crl", "--out", str(out))
    assert written["ok"] and out.read_bytes().startswith(b"-----BEGIN X509 CRL")
    root = tmp_path / "root.der"
    pki("export", "--ca", "root", "--format", "der", "--out", str(root))
    assert root.read_bytes()[:1] == b"\x30"
    leaf = pki("export", "--ca", "org", "--serial", tls["certificate"]["serial"])
    assert leaf["pem"].startswith("-----BEGIN CERTIFICATE")
    listed = pki("list")["authorities"]
    assert [a["slug"] for a in listed] == ["root", "org", "person"]


def test_errors_are_clear_and_json() -> None:
    pki("init")
    for args, field in (
        (["revoke", "--serial", "abcdef"], "serial"),
        (["issue", "--org", "NOPE"], "org"),
        (
            [
                "issue",
                "--org",
                new_organisation().code,
                "--profile",
                "server_tls",
                "--dns",
                "x.example.com",
            ],
            "dns_names",
        ),
    ):
        out = StringIO()
        with pytest.raises(CommandError):
            call_command("pki", *args, "--json", stdout=out)
        data = json.loads(out.getvalue())
        assert data["ok"] is False and data["field"] == field
    assert Certificate.objects.filter(profile="server_tls").count() == 0


def test_root_offline_and_online(tmp_path: Path, monkeypatch: Any) -> None:
    pki("init")
    monkeypatch.setenv("EGOV_PKI_ROOT_PASSPHRASE", "a long operator passphrase")
    key = tmp_path / "root-key.pem"
    pki("root-offline", "--out", str(key))
    assert key.stat().st_mode & 0o777 == 0o600
    assert b"ENCRYPTED PRIVATE KEY" in key.read_bytes()
    assert [a["online"] for a in pki("list")["authorities"]] == [False, True, True]
    with pytest.raises(CommandError):
        call_command("pki", "root-offline", "--out", str(tmp_path / "again.pem"), stdout=StringIO())
    pki("root-online", "--key", str(key))
    assert [a["online"] for a in pki("list")["authorities"]] == [True, True, True]


def test_missing_kek_in_production_is_an_error(settings: Any, monkeypatch: Any) -> None:
    monkeypatch.delenv("EGOV_PKI_KEK", raising=False)
    settings.EGOV_PKI_KEK = ""
    settings.EGOV_PKI_REQUIRE_KEK = True
    with pytest.raises(CommandError, match="EGOV_PKI_KEK"):
        call_command("pki", "list", stdout=StringIO())


def test_root_offline_keeps_the_key_when_the_file_cannot_be_written(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """The key leaves the server only once its encrypted copy is on disk."""
    pki("init")
    monkeypatch.setenv("EGOV_PKI_ROOT_PASSPHRASE", "a long operator passphrase")
    unwritable = tmp_path / "no-such-directory" / "root-key.pem"
    with pytest.raises((CommandError, OSError)):
        call_command("pki", "root-offline", "--out", str(unwritable), stdout=StringIO())
    assert not unwritable.exists()
    assert [a["online"] for a in pki("list")["authorities"]] == [True, True, True]
    # And the CA still signs with it.
    assert pki("crl", "--ca", "root")["crls"][0]["ca"] == "root"
