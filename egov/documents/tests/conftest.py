"""Shared fixtures of the documents tests: settings, the CA, two organisations with seal
certificates, PDFs made by WeasyPrint, and `pdfsig` with an NSS database trusting the root.

Keep fixtures here generic; tests of one module keep theirs in their own file.
"""

from __future__ import annotations

import html
import io
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from egov.documents.tests.factories import SYSTEM, World, make_world
from egov.orgs.models import Organisation
from egov.orgs.tests.factories import OrganisationFactory
from egov.pki import services as pki
from egov.pki.choices import CertificateStatus, Profile
from egov.pki.models import Certificate

PDFSIG = "/usr/bin/pdfsig"
CERTUTIL = "/usr/bin/certutil"


@pytest.fixture(autouse=True)
def _documents_settings(settings: Any, tmp_path: Path) -> None:
    settings.EGOV_PKI_KEK = "test-key-encryption-key-0123456789abcdef"
    settings.EGOV_PKI_KEK_FILE = str(tmp_path / "pki-kek")
    settings.EGOV_EXCHANGE_DIR = str(tmp_path / "exchange")
    settings.EGOV_NODE_CODE = "node-a"


@pytest.fixture
def live_pki(settings: Any, transactional_db: Any, live_server: Any) -> Iterator[str]:
    """The live server as the CA's public endpoints (OCSP responder, CRLs, CA certificates).

    Certificates issued afterwards carry its URLs, so `pdfsig` (NSS) can ask the OCSP
    responder; `ca` makes sure this runs first when a test asks for both. The audit rows the
    test leaves are removed afterwards so the transactional flush is not refused by the audit
    trail's delete guard (as in egov/pki/tests/conftest.py)."""
    from django.db import connection

    settings.EGOV_PKI_BASE_URL = live_server.url
    yield live_server.url
    with connection.cursor() as cursor:
        cursor.execute("SELECT retention_days FROM core_auditguard WHERE id = 1")
        row = cursor.fetchone()
        cursor.execute("UPDATE core_auditguard SET retention_days = 0 WHERE id = 1")
        cursor.execute("DELETE FROM core_auditevent")
        if row is not None:
            cursor.execute("UPDATE core_auditguard SET retention_days = %s WHERE id = 1", [row[0]])


@pytest.fixture
def ca(request: pytest.FixtureRequest, db: Any) -> pki.InitResult:
    """The provincial CA hierarchy (root, issuing CAs, first CRLs)."""
    if "live_pki" in request.fixturenames:
        request.getfixturevalue("live_pki")  # the certificates must point at the live server
    return pki.do_init_hierarchy(acting=SYSTEM)


@pytest.fixture
def office(ca: Any) -> Organisation:
    """The provincial general office (河北省人民政府办公厅) with a seal certificate."""
    org: Organisation = OrganisationFactory(name="河北省人民政府办公厅")
    pki.do_issue_demo_seals([org], acting=SYSTEM)
    return org


@pytest.fixture
def department(ca: Any) -> Organisation:
    """A second organisation with a seal certificate (co-issuer of joint documents)."""
    org: Organisation = OrganisationFactory(name="河北省财政厅")
    pki.do_issue_demo_seals([org], acting=SYSTEM)
    return org


def seal_certificate(org: Organisation) -> Certificate:
    """The organisation's valid seal certificate (ORG_SEAL)."""
    return Certificate.objects.get(
        organisation=org, profile=Profile.ORG_SEAL, status=CertificateStatus.VALID
    )


@pytest.fixture
def seal_cert() -> Callable[[Organisation], Certificate]:
    """`seal_cert(org)` → the organisation's valid seal certificate."""
    return seal_certificate


@pytest.fixture
def root_pem(ca: Any, tmp_path: Path) -> Path:
    """The province root certificate as a PEM file."""
    from egov.documents.pdfseal import province_roots

    path = tmp_path / "province-root.pem"
    path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in province_roots()))
    return path


@pytest.fixture
def nss_trust_dir(root_pem: Path, tmp_path: Path) -> str:
    """An NSS database (for `pdfsig -nssdir`) trusting the province root; returns "sql:DIR".

    Trust flags "C,C,C": trusted to issue certificates for TLS, e-mail and object signing;
    pdfsig verifies signers for the e-mail signing usage, so the second flag matters."""
    directory = tmp_path / "nssdb"
    directory.mkdir()
    spec = f"sql:{directory}"
    subprocess.run(
        [CERTUTIL, "-N", "-d", spec, "--empty-password"], check=True, capture_output=True
    )
    subprocess.run(
        [CERTUTIL, "-A", "-d", spec, "-n", "province-root", "-t", "C,C,C", "-i", str(root_pem)],
        check=True,
        capture_output=True,
    )
    return spec


@pytest.fixture
def pdfsig() -> Callable[..., str]:
    """`pdfsig(path, nssdir=None, ocsp=False)` → pdfsig's report (stdout and stderr).

    Without `ocsp`, pdfsig runs with -no-ocsp (no network). Poppler 22.12 then reports
    "Unknown issue with Certificate" even for a good chain: it reads NSS's last error code
    after a successful verification, and the OCSP-disabled policy leaves one behind. A failed
    OCSP fetch does the same, so "Certificate is Trusted" needs `ocsp=True` and certificates
    whose OCSP URL answers (the `live_pki` fixture)."""

    def run(path: Path | str, nssdir: str | None = None, *, ocsp: bool = False) -> str:
        args = [PDFSIG] if ocsp else [PDFSIG, "-no-ocsp"]
        if nssdir:
            args += ["-nssdir", nssdir]
        done = subprocess.run(
            [*args, str(path)], capture_output=True, text=True, timeout=60, check=False
        )
        return done.stdout + done.stderr

    return run


def make_pdf(
    pages: int = 3, *, title: str = "关于做好2026年防汛工作的通知", noise_pixels: int = 0
) -> bytes:
    """A simple A4 document of `pages` pages, made by WeasyPrint (CJK text, one page each).

    `noise_pixels` > 0 adds a square image of random noise to the first page (incompressible,
    3 bytes a pixel: 1500 gives a PDF of about 6.5 MB), standing in for a scanned page."""
    from weasyprint import HTML

    paragraph = (
        "各市人民政府，省政府各部门：为切实做好今年防汛工作，保障人民群众生命财产安全，"
        "现就有关事项通知如下。" * 6
    )
    image = ""
    if noise_pixels > 0:
        import base64
        import os

        from PIL import Image

        side = noise_pixels
        png = io.BytesIO()
        Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(png, "PNG")
        uri = "data:image/png;base64," + base64.b64encode(png.getvalue()).decode()
        image = f'<img src="{uri}" style="width: 100mm">'
    body = "".join(
        f"<section><h1>{html.escape(title)}</h1><p>第{n + 1}页。{paragraph}</p>"
        f"{image if n == 0 else ''}</section>"
        for n in range(pages)
    )
    document = f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><style>
      @page {{ size: A4; margin: 37mm 26mm 35mm 28mm; }}
      body {{ font-family: "Noto Serif CJK SC", serif; font-size: 16pt; line-height: 1.6; }}
      h1 {{ font-size: 22pt; text-align: center; }}
      section {{ break-after: page; }}
      section:last-child {{ break-after: auto; }}
    </style></head><body>{body}</body></html>"""
    return bytes(HTML(string=document).write_pdf())


@pytest.fixture
def pdf_maker() -> Callable[..., bytes]:
    """`pdf_maker(pages=3, title=...)` → bytes of a WeasyPrint PDF."""
    return make_pdf


@pytest.fixture(scope="session")
def three_page_pdf() -> bytes:
    """A 3-page WeasyPrint PDF (made once per session; treat as read-only bytes)."""
    return make_pdf(3)


@pytest.fixture
def world(ca: Any) -> World:
    """A province's general office, a city government and one person per role (factories.py)."""
    return make_world()
