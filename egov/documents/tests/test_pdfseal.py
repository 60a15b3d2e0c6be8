"""Electronic seals on PDFs: real WeasyPrint documents, real pyHanko, stock pdfsig/pdftoppm."""

from __future__ import annotations

import io
import re
import subprocess
import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone, translation
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from egov.core.acting import Acting
from egov.documents.pdfseal import (
    SealCheck,
    SealError,
    SealRequest,
    province_roots,
    seal_pdf,
    validate_sealed_pdf,
)
from egov.documents.seal_image import draw_seal
from egov.orgs.models import Organisation
from egov.orgs.tests.factories import UserFactory
from egov.pki import services as pki
from egov.pki.choices import CAKind, Profile, RevocationReason
from egov.pki.models import Certificate
from egov.pki.signing import SigningError, load_signer


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """The refusals are checked by their English source text."""
    with translation.override("en"):
        yield


SYSTEM = Acting.system("test")
BOX = (380.0, 90.0, 500.0, 210.0)
CertOf = Callable[[Organisation], Certificate]


def sealed(source: bytes, seals: list[SealRequest], **kwargs: Any) -> bytes:
    out = io.BytesIO()
    seal_pdf(io.BytesIO(source), out, seals, **kwargs)
    return out.getvalue()


def checks_of(data: bytes, **kwargs: Any) -> list[SealCheck]:
    return validate_sealed_pdf(io.BytesIO(data), **kwargs)


def write(tmp_path: Path, data: bytes, name: str = "sealed.pdf") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def signature_dicts(data: bytes) -> list[Any]:
    reader = PdfFileReader(io.BytesIO(data))
    return [sig.sig_object for sig in reader.embedded_regular_signatures]


# --- sealing and pyHanko's validation --------------------------------------------------------


def test_sealed_pdf_is_intact_valid_trusted_and_covers_the_file(
    office: Organisation, seal_cert: CertOf, three_page_pdf: bytes
) -> None:
    cert = seal_cert(office)
    data = sealed(
        three_page_pdf,
        [SealRequest(cert, 2, BOX, "seal-1")],
        reason="发文用印",
        location="石家庄",
    )

    assert data.startswith(three_page_pdf)  # an incremental revision: the original is untouched
    [check] = checks_of(data)
    assert check.field_name == "seal-1"
    assert check.signer_organisation == "河北省人民政府办公厅"
    assert check.certificate_sha256 == cert.fingerprint_sha256
    assert (check.intact, check.valid, check.trusted, check.revoked) == (True, True, True, False)
    assert check.covers_whole_file
    assert check.coverage == "entire_file"
    assert check.ok
    assert check.signing_time is not None
    assert abs(check.signing_time - timezone.now()) < timedelta(minutes=2)
    [sig] = signature_dicts(data)
    assert sig["/SubFilter"] == "/ETSI.CAdES.detached"
    assert sig["/Reason"] == "发文用印"
    assert sig["/Location"] == "石家庄"


def test_province_roots_are_the_root_ca_rows(ca: Any) -> None:
    [root] = province_roots()
    row = next(a for a in ca.authorities if a.kind == CAKind.ROOT)
    assert root == row.certificate.x509


def test_a_foreign_root_does_not_make_the_seal_trusted(
    office: Organisation, seal_cert: CertOf, three_page_pdf: bytes
) -> None:
    data = sealed(three_page_pdf, [SealRequest(seal_cert(office), 0, BOX, "seal-1")])
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Some other root")])
    now = timezone.now()
    other = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )

    [check] = checks_of(data, roots=[other])

    assert check.intact and check.valid
    assert not check.trusted
    assert not check.ok


def test_an_unsealed_pdf_has_no_seals(ca: Any, three_page_pdf: bytes) -> None:
    assert checks_of(three_page_pdf) == []


def test_a_file_that_is_not_a_pdf_is_refused(office: Organisation, seal_cert: CertOf) -> None:
    with pytest.raises(SealError):
        checks_of(b"this is not a PDF at all")
    out = io.BytesIO()
    with pytest.raises(SealError):
        seal_pdf(io.BytesIO(b"%PDF-1.7 junk"), out, [SealRequest(seal_cert(office), 0, BOX, "s")])
    assert out.getvalue() == b""


# --- pdfsig (poppler + NSS) ------------------------------------------------------------------


def test_pdfsig_finds_the_seal_valid_and_trusted_through_the_province_root(
    live_pki: str,
    office: Organisation,
    seal_cert: CertOf,
    three_page_pdf: bytes,
    nss_trust_dir: str,
    pdfsig: Callable[..., str],
    tmp_path: Path,
) -> None:
    path = write(tmp_path, sealed(three_page_pdf, [SealRequest(seal_cert(office), 2, BOX, "s1")]))

    report = pdfsig(path, nss_trust_dir, ocsp=True)  # NSS asks our OCSP responder

    assert "Signature Field Name: s1" in report
    assert "Signature Type: ETSI.CAdES.detached" in report
    assert "Total document signed" in report
    assert "Signature is Valid." in report
    assert "Certificate is Trusted." in report

    empty = tmp_path / "empty-nssdb"
    empty.mkdir()
    subprocess.run(
        ["certutil", "-N", "-d", f"sql:{empty}", "--empty-password"],
        check=True,
        capture_output=True,
    )
    untrusted = pdfsig(path, f"sql:{empty}", ocsp=True)
    assert "Signature is Valid." in untrusted
    assert "Certificate is Trusted." not in untrusted


def test_a_seal_revoked_after_sealing_is_reported_revoked(
    live_pki: str,
    office: Organisation,
    seal_cert: CertOf,
    three_page_pdf: bytes,
    nss_trust_dir: str,
    pdfsig: Callable[..., str],
    tmp_path: Path,
) -> None:
    cert = seal_cert(office)
    data = sealed(three_page_pdf, [SealRequest(cert, 0, BOX, "seal-1")])
    pki.do_revoke_certificate(cert, reason=RevocationReason.KEY_COMPROMISE, acting=SYSTEM)

    [check] = checks_of(data)
    assert check.intact and check.valid
    assert check.revoked
    assert not check.trusted
    assert not check.ok
    assert check.revoked_at is not None
    assert check.revocation_reason == RevocationReason.KEY_COMPROMISE
    report = pdfsig(write(tmp_path, data), nss_trust_dir, ocsp=True)
    assert "Signature is Valid." in report
    assert "Certificate has been Revoked." in report


def _byte_inside_a_content_stream(data: bytes, signed_until: int) -> int:
    for match in re.finditer(rb"stream\r?\n", data):
        offset = match.end() + 10
        if offset < signed_until and data[match.start() - 3 : match.start()] != b"end":
            return offset
    raise AssertionError("no stream inside the first signed range")


def test_one_changed_byte_makes_the_seal_invalid(
    office: Organisation,
    seal_cert: CertOf,
    three_page_pdf: bytes,
    pdfsig: Callable[..., str],
    tmp_path: Path,
) -> None:
    data = bytearray(sealed(three_page_pdf, [SealRequest(seal_cert(office), 0, BOX, "seal-1")]))
    [sig] = signature_dicts(bytes(data))
    contents_start = int(sig["/ByteRange"][1])
    offset = _byte_inside_a_content_stream(bytes(data), contents_start)
    data[offset] ^= 0x01

    [check] = checks_of(bytes(data))
    assert not check.intact
    assert not check.ok
    report = pdfsig(write(tmp_path, bytes(data)))
    assert "Signature is Valid." not in report
    assert "Digest Mismatch." in report


def test_bytes_appended_after_the_seal_are_not_covered(
    office: Organisation,
    seal_cert: CertOf,
    three_page_pdf: bytes,
    pdfsig: Callable[..., str],
    tmp_path: Path,
) -> None:
    data = sealed(three_page_pdf, [SealRequest(seal_cert(office), 0, BOX, "seal-1")])
    tampered = data + b"\n% appended after sealing\n" + b"garbage " * 20 + b"\n"

    [check] = checks_of(tampered)
    assert check.intact and check.valid and check.trusted
    assert not check.covers_whole_file
    assert check.coverage != "entire_file"
    assert not check.ok
    report = pdfsig(write(tmp_path, tampered))
    assert "Signature is Valid." in report
    assert "Not total document signed" in report


def test_a_revision_that_changes_the_page_after_sealing_is_flagged(
    office: Organisation, seal_cert: CertOf, three_page_pdf: bytes
) -> None:
    data = sealed(three_page_pdf, [SealRequest(seal_cert(office), 0, BOX, "seal-1")])
    writer = IncrementalPdfFileWriter(io.BytesIO(data))  # an unsigned edit, as a forger would
    overlay = generic.StreamObject(stream_data=b"1 1 1 rg 90 600 400 100 re f")
    writer.add_stream_to_page(0, writer.add_object(overlay))
    edited = io.BytesIO()
    writer.write(edited)

    [check] = checks_of(edited.getvalue())
    assert check.intact and check.valid and check.trusted  # the signed bytes are untouched
    assert not check.covers_whole_file
    assert check.modification_level == "other"
    assert not check.ok


# --- joint issue (联合行文) ------------------------------------------------------------------


def test_a_joint_issue_carries_both_seals_in_two_revisions(
    office: Organisation,
    department: Organisation,
    seal_cert: CertOf,
    three_page_pdf: bytes,
    pdfsig: Callable[..., str],
    tmp_path: Path,
) -> None:
    data = sealed(
        three_page_pdf,
        [
            SealRequest(seal_cert(office), 2, (120.0, 90.0, 240.0, 210.0), "seal-office"),
            SealRequest(seal_cert(department), 2, (300.0, 90.0, 420.0, 210.0), "seal-dept"),
        ],
    )

    assert data.count(b"%%EOF") == three_page_pdf.count(b"%%EOF") + 2
    first, second = checks_of(data)
    assert (first.field_name, first.signer_organisation) == ("seal-office", "河北省人民政府办公厅")
    assert (second.field_name, second.signer_organisation) == ("seal-dept", "河北省财政厅")
    for check in (first, second):
        assert check.intact and check.valid and check.trusted and not check.revoked
        assert check.ok
    assert not first.covers_whole_file
    assert first.coverage == "entire_revision"
    assert first.modification_level == "form_filling"  # only the second seal was added
    assert second.covers_whole_file
    report = pdfsig(write(tmp_path, data))
    assert report.count("Signature #") == 2
    assert report.count("Signature is Valid.") == 2


# --- refusals --------------------------------------------------------------------------------


def test_a_revoked_seal_certificate_is_refused(
    office: Organisation, seal_cert: CertOf, three_page_pdf: bytes
) -> None:
    cert = seal_cert(office)  # this instance still says "valid": the row is read again
    pki.do_revoke_certificate(
        Certificate.objects.get(pk=cert.pk), reason=RevocationReason.SUPERSEDED, acting=SYSTEM
    )
    out = io.BytesIO()

    with pytest.raises(SealError) as refused:
        seal_pdf(io.BytesIO(three_page_pdf), out, [SealRequest(cert, 0, BOX, "seal-1")])

    assert refused.value.field == "certificate"
    assert "revoked" in str(refused.value)
    assert out.getvalue() == b""
    with pytest.raises(SigningError):  # egov.pki refuses it as well
        load_signer(Certificate.objects.get(pk=cert.pk))


@pytest.mark.parametrize("kind", ["server_tls", "person_signing", "root_ca"])
def test_a_certificate_of_another_profile_is_refused(
    kind: str, ca: Any, office: Organisation, three_page_pdf: bytes
) -> None:
    if kind == "server_tls":
        cert = pki.do_issue_with_server_key(
            office, Profile.SERVER_TLS, dns_names=["node1.hebei.gov.cn"], acting=SYSTEM
        )
    elif kind == "person_signing":
        cert = pki.do_issue_with_server_key(
            office, Profile.PERSON_SIGNING, holder=UserFactory(), acting=SYSTEM
        )
    else:
        cert = next(a for a in ca.authorities if a.kind == CAKind.ROOT).certificate
    out = io.BytesIO()

    with pytest.raises(SealError) as refused:
        seal_pdf(io.BytesIO(three_page_pdf), out, [SealRequest(cert, 0, BOX, "seal-1")])

    assert refused.value.field == "certificate"
    assert "organisation seal" in str(refused.value)
    assert out.getvalue() == b""


@pytest.mark.parametrize(
    ("page", "box", "names", "field"),
    [
        (3, BOX, ["s1"], "page"),
        (-1, BOX, ["s1"], "page"),
        (0, (500.0, 90.0, 620.0, 210.0), ["s1"], "box"),  # beyond the right edge of A4
        (0, (380.0, 210.0, 500.0, 90.0), ["s1"], "box"),
        (0, (380.0, 90.0, 385.0, 95.0), ["s1"], "box"),
        (0, BOX, ["a.b"], "field_name"),
        (0, BOX, [""], "field_name"),
        (0, BOX, ["s1", "s1"], "field_name"),
        (0, BOX, [], "seals"),
    ],
)
def test_a_bad_request_is_refused_before_anything_is_written(
    page: int,
    box: tuple[float, float, float, float],
    names: list[str],
    field: str,
    office: Organisation,
    seal_cert: CertOf,
    three_page_pdf: bytes,
) -> None:
    cert = seal_cert(office)
    out = io.BytesIO()

    with pytest.raises(SealError) as refused:
        seal_pdf(io.BytesIO(three_page_pdf), out, [SealRequest(cert, page, box, n) for n in names])

    assert refused.value.field == field
    assert out.getvalue() == b""


def test_a_field_name_already_in_the_document_is_refused(
    office: Organisation, department: Organisation, seal_cert: CertOf, three_page_pdf: bytes
) -> None:
    once = sealed(three_page_pdf, [SealRequest(seal_cert(office), 0, BOX, "seal-1")])

    with pytest.raises(SealError) as refused:
        sealed(once, [SealRequest(seal_cert(department), 0, BOX, "seal-1")])

    assert refused.value.field == "field_name"
    twice = sealed(once, [SealRequest(seal_cert(department), 0, BOX, "seal-2")])
    assert [c.ok for c in checks_of(twice)] == [True, True]


# --- the visible seal ------------------------------------------------------------------------


def _render(path: Path, page: int, box: tuple[float, ...], page_height: float) -> list[bytes]:
    """RGB pixels (72 dpi, one pixel a point) of `box` on `page`, rows top to bottom."""
    x1, y1, x2, y2 = (round(v) for v in box)
    number = str(page + 1)
    args = ["pdftoppm", "-r", "72", "-f", number, "-l", number]
    crop = {"-x": x1, "-y": round(page_height) - y2, "-W": x2 - x1, "-H": y2 - y1}
    for flag, value in crop.items():
        args += [flag, str(value)]
    done = subprocess.run([*args, str(path)], capture_output=True, check=True)
    # Binary PPM: "P6\n<w> <h>\n255\n" then the pixels.
    magic, size, _maxval, pixels = done.stdout.split(b"\n", 3)
    assert magic == b"P6"
    w, h = (int(v) for v in size.split())
    return [pixels[i : i + 3] for i in range(0, w * h * 3, 3)]


def test_the_seal_is_visible_red_and_the_text_below_stays_readable(
    office: Organisation, seal_cert: CertOf, three_page_pdf: bytes, tmp_path: Path
) -> None:
    box = (240.0, 560.0, 360.0, 680.0)  # over the body text of the first page
    data = sealed(three_page_pdf, [SealRequest(seal_cert(office), 0, box, "seal-1")])

    reader = PdfFileReader(io.BytesIO(data))
    [sig] = reader.embedded_regular_signatures
    widget = sig.sig_field
    assert [float(v) for v in widget["/Rect"]] == pytest.approx(list(box))
    assert widget["/P"].get_object()["/Type"] == "/Page"
    assert int(widget["/F"]) & 4  # printed with the document
    appearance = widget["/AP"]["/N"]
    stream = appearance.data
    assert len(stream) > 1000  # ring, star and ten glyph outlines
    assert b"/SealGS gs" in stream
    assert b"0.86 0.08 0.08 rg" in stream
    bx1, by1, bx2, by2 = (float(v) for v in appearance["/BBox"])
    assert (abs(bx2 - bx1), abs(by2 - by1)) == pytest.approx((120, 120))
    gs = appearance["/Resources"]["/ExtGState"]["/SealGS"]
    assert gs["/BM"] == "/Multiply"

    page_height = float(reader.root["/Pages"]["/Kids"][0]["/MediaBox"][3])
    before = _render(write(tmp_path, three_page_pdf, "plain.pdf"), 0, box, page_height)
    after = _render(write(tmp_path, data), 0, box, page_height)
    red = sum(1 for p in after if p[0] > 150 and p[1] < 90 and p[2] < 90)
    assert red > len(after) * 0.08  # ring, star and name in red
    dark_before = [i for i, p in enumerate(before) if max(p) < 60]
    assert len(dark_before) > 50  # the box does lie over text
    still_dark = sum(1 for i in dark_before if after[i][0] < 100)
    assert still_dark > len(dark_before) * 0.9  # multiply: black text stays black


def test_the_seal_drawing_needs_a_cjk_font(settings: Any) -> None:
    drawing = draw_seal("河北省人民政府办公厅", 120, 120, caption="公文专用章")
    assert drawing.count(" cm ") == 15  # ten characters on the arc, five in the caption
    assert drawing.endswith("h f")  # the star last
    settings.EGOV_SEAL_FONT = "/nonexistent/font.ttc"
    with pytest.raises(ImproperlyConfigured):
        draw_seal("河北省财政厅", 120, 120)


# --- streams and scale -----------------------------------------------------------------------


class _ForwardOnly(io.RawIOBase):
    """A source that cannot seek (an upload being received, a pipe)."""

    def __init__(self, data: bytes) -> None:
        self._inner = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._inner.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


class _WriteOnly(io.RawIOBase):
    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        self.data += bytes(b)
        return len(b)


def test_streams_that_cannot_seek_are_accepted(
    office: Organisation, seal_cert: CertOf, three_page_pdf: bytes
) -> None:
    out = _WriteOnly()
    seal_pdf(_ForwardOnly(three_page_pdf), out, [SealRequest(seal_cert(office), 0, BOX, "s")])  # type: ignore[arg-type]

    [check] = validate_sealed_pdf(_ForwardOnly(bytes(out.data)))  # type: ignore[arg-type]
    assert check.ok


@pytest.mark.parametrize("noise_pixels", [0, 1500], ids=["text", "with-6MB-scan"])
def test_sealing_twenty_pages_time_and_memory(
    noise_pixels: int,
    office: Organisation,
    department: Organisation,
    seal_cert: CertOf,
    pdf_maker: Callable[..., bytes],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Measured, not asserted: time and peak Python memory (tracemalloc) of sealing a 20-page
    document from a file into a file, so the figure is the sealing's own memory."""
    source = write(tmp_path, pdf_maker(20, noise_pixels=noise_pixels), "source.pdf")
    office_cert, dept_cert = seal_cert(office), seal_cert(department)
    load_signer(office_cert), load_signer(dept_cert)  # key decryption is not sealing
    sealed(source.read_bytes(), [SealRequest(office_cert, 0, BOX, "warm-up")])  # font, imports

    def measure(seals: list[SealRequest], target: Path) -> tuple[float, int]:
        tracemalloc.start()
        started = time.perf_counter()
        with source.open("rb") as src, target.open("wb") as out:
            seal_pdf(src, out, seals)
        seconds = time.perf_counter() - started
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return seconds, peak

    one_seconds, one_peak = measure(
        [SealRequest(office_cert, 19, BOX, "seal-1")], tmp_path / "one.pdf"
    )
    two_seconds, two_peak = measure(
        [
            SealRequest(office_cert, 19, (120.0, 90.0, 240.0, 210.0), "seal-1"),
            SealRequest(dept_cert, 19, (300.0, 90.0, 420.0, 210.0), "seal-2"),
        ],
        tmp_path / "two.pdf",
    )
    started = time.perf_counter()
    with (tmp_path / "two.pdf").open("rb") as two:
        checks = validate_sealed_pdf(two)
    check_seconds = time.perf_counter() - started

    assert [c.ok for c in checks] == [True, True]
    assert checks_of((tmp_path / "one.pdf").read_bytes())[0].ok
    size = source.stat().st_size / 2**20
    with capsys.disabled():
        print(
            f"\n[pdfseal] 20 pages, {size:.2f} MiB: one seal {one_seconds:.2f} s "
            f"(peak Python memory {one_peak / 2**20:.1f} MiB); two seals {two_seconds:.2f} s "
            f"(peak {two_peak / 2**20:.1f} MiB); validating two seals {check_seconds:.2f} s"
        )
