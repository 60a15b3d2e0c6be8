"""Attachment uploads (公文附件): real files in, content-identified, hashed, zip bombs refused."""

from __future__ import annotations

import hashlib
import io
import struct
import tracemalloc
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils import translation
from PIL import Image

from egov.core.audit import sm3_hex
from egov.core.errors import DomainError
from egov.documents.uploads import (
    ALLOWED,
    MAX_ZIP_ENTRIES,
    UploadRefused,
    max_upload_bytes,
    store_upload,
    zip_expansion_limit,
)
from egov.exchange.envelope import PartStore, check_part_name

MIB = 1024 * 1024


@pytest.fixture(autouse=True)
def _exchange_dir(settings: Any, tmp_path: Path) -> Iterator[None]:
    settings.EGOV_EXCHANGE_DIR = str(tmp_path / "exchange")
    with translation.override("en"):
        yield


@pytest.fixture
def store(tmp_path: Path) -> PartStore:
    return PartStore()


def stored_files(store: PartStore) -> list[Path]:
    """Every file under the store's root, temporary files included."""
    return sorted(p for p in store.root.rglob("*") if p.is_file()) if store.root.exists() else []


def upload(store: PartStore, name: str, data: bytes, **kwargs: Any) -> Any:
    return store_upload(name, io.BytesIO(data), store=store, **kwargs)


def refused(store: PartStore, name: str, data: bytes, **kwargs: Any) -> UploadRefused:
    """Upload expecting a refusal; nothing new may be left in the store."""
    before = stored_files(store)
    with pytest.raises(UploadRefused) as caught:
        upload(store, name, data, **kwargs)
    assert stored_files(store) == before
    return caught.value


# --- real files ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pdf() -> bytes:
    from weasyprint import HTML

    return HTML(string="<h1>关于做好防汛工作的通知</h1><p>各市人民政府：</p>").write_pdf()


def image(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, fmt)
    return out.getvalue()


def make_zip(entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=compression) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return out.getvalue()


CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
    b'package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>'
)


def docx() -> bytes:
    return make_zip(
        {
            "[Content_Types].xml": CONTENT_TYPES,
            "_rels/.rels": b'<?xml version="1.0"?><Relationships/>',
            "word/document.xml": "<w:document><w:body><w:p><w:r><w:t>通知</w:t></w:r></w:p></w:body></w:document>".encode(),
        }
    )


def xlsx() -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.append(["单位", "人数"])  # type: ignore[union-attr]  # a new book has a sheet
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def ofd() -> bytes:
    return make_zip(
        {
            "OFD.xml": b'<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" Version="1.0"/>',
            "Doc_0/Document.xml": b"<ofd:Document/>",
            "Doc_0/Pages/Page_0/Content.xml": b"<ofd:Page/>",
        }
    )


OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
FREE, END, FATSECT, NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


def cfb(*streams: str) -> bytes:
    """A minimal compound file (version 3): header, one FAT sector, one directory sector."""
    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII",
        OLE_MAGIC,
        bytes(16),
        0x3E,
        3,
        0xFFFE,
        9,
        6,
        bytes(6),
        0,  # directory sectors (0 in version 3)
        1,  # FAT sectors
        1,  # first directory sector
        0,
        4096,
        END,  # first mini FAT sector
        0,
        END,  # first DIFAT sector
        0,
    ) + struct.pack("<109I", 0, *([FREE] * 108))
    fat = struct.pack("<128I", FATSECT, END, *([FREE] * 126))

    def entry(name: str, kind: int, child: int = NOSTREAM, right: int = NOSTREAM) -> bytes:
        raw = name.encode("utf-16-le") + b"\0\0"
        return struct.pack(
            "<64sHBBIII16sIQQIQ",
            raw,
            len(raw),
            kind,
            1,
            NOSTREAM,
            right,
            child,
            bytes(16),
            0,
            0,
            0,
            END,
            0,
        )

    assert len(streams) <= 3
    entries = [entry("Root Entry", 5, child=1 if streams else NOSTREAM)]
    for i, name in enumerate(streams, start=1):
        entries.append(entry(name, 2, right=i + 1 if i < len(streams) else NOSTREAM))
    directory = b"".join(entries).ljust(512, b"\0")
    assert len(header) == 512
    return header + fat + directory


# --- accepted ------------------------------------------------------------------------------------


def test_pdf_is_stored_with_sha256_and_sm3(store: PartStore, pdf: bytes, tmp_path: Path) -> None:
    stored = store_upload("通知.pdf", io.BytesIO(pdf))  # the default store, from settings

    assert stored.name == "通知.pdf"
    assert stored.media_type == "application/pdf"
    assert stored.size == len(pdf)
    assert stored.sha256 == hashlib.sha256(pdf).hexdigest()
    assert stored.sm3 == sm3_hex(pdf)
    path = PartStore().path(stored.sha256)
    assert path.is_relative_to(tmp_path / "exchange")
    assert path.read_bytes() == pdf
    assert stored_files(store) == [path]  # no temporary file left beside it


def test_literal_minimal_pdf(store: PartStore) -> None:
    minimal = (
        b"%PDF-1.1\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    )
    assert upload(store, "min.pdf", minimal).media_type == "application/pdf"


@pytest.mark.parametrize(
    ("name", "make", "media_type"),
    [
        ("照片.png", lambda: image("PNG"), "image/png"),
        ("照片.jpg", lambda: image("JPEG"), "image/jpeg"),
        ("照片.JPEG", lambda: image("JPEG"), "image/jpeg"),
        ("扫描件.tif", lambda: image("TIFF"), "image/tiff"),
        ("扫描件.tiff", lambda: image("TIFF"), "image/tiff"),
        (
            "通知.docx",
            docx,
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        ("名单.xlsx", xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("公文.ofd", ofd, "application/ofd"),
        ("材料.zip", lambda: make_zip({"a.txt": b"a", "目录/b.txt": b"b"}), "application/zip"),
        ("打包.zip", docx, "application/zip"),  # a .docx is a ZIP archive too
        ("旧稿.doc", lambda: cfb("WordDocument", "1Table"), "application/msword"),
        ("旧表.xls", lambda: cfb("Workbook"), "application/vnd.ms-excel"),
        ("旧表95.xls", lambda: cfb("Book"), "application/vnd.ms-excel"),
        ("金山.wps", lambda: cfb("WordDocument"), "application/wps-office.wps"),
        ("金山.et", lambda: cfb("Workbook"), "application/wps-office.et"),
        (
            "说明.txt",
            lambda: "关于防汛工作的说明\r\n\t第一条。\n".encode(),
            "text/plain; charset=utf-8",
        ),
        ("说明.txt", lambda: "\ufeff带BOM的文本\n".encode(), "text/plain; charset=utf-8"),
        (
            "说明.txt",
            lambda: "关于防汛工作的说明\r\n".encode("gb18030"),
            "text/plain; charset=gb18030",
        ),
        ("note.txt", lambda: b"MZ is where this note starts.\n", "text/plain; charset=utf-8"),
    ],
)
def test_accepted_types(
    store: PartStore, name: str, make: Callable[[], bytes], media_type: str
) -> None:
    data = make()
    stored = upload(store, name, data)

    assert stored.media_type == media_type
    assert media_type in ALLOWED
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.sm3 == sm3_hex(data)
    assert store.path(stored.sha256).read_bytes() == data


def test_allowed_covers_the_brief() -> None:
    extensions = {ext for exts in ALLOWED.values() for ext in exts}
    assert extensions >= {".pdf", ".ofd", ".doc", ".docx", ".xls", ".xlsx", ".wps", ".et"}
    assert extensions >= {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".txt", ".zip"}


def test_same_content_twice_keeps_one_copy(store: PartStore, pdf: bytes) -> None:
    first = upload(store, "a.pdf", pdf)
    second = upload(store, "b.pdf", pdf)

    assert (first.sha256, first.sm3) == (second.sha256, second.sm3)
    assert second.name == "b.pdf"
    assert stored_files(store) == [store.path(first.sha256)]


# --- names ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("C:\\fakepath\\通知.pdf", "通知.pdf"),
        ("/home/clerk/../../etc/通知.pdf", "通知.pdf"),
        ("..\\..\\通知.pdf", "通知.pdf"),
        ("通\x00知\n\r.pdf", "通知.pdf"),
        ("re\u202eport.pdf", "report.pdf"),  # right-to-left override
        ('a:b*c?"d<e>f|.pdf', "a_b_c__d_e_f_.pdf"),
        ("  通知.pdf  ", "通知.pdf"),
        ("通知.PDF", "通知.PDF"),
        ("e\u0301.pdf", "\u00e9.pdf"),  # NFC
    ],
)
def test_names_are_cleaned(store: PartStore, pdf: bytes, raw: str, clean: str) -> None:
    stored = upload(store, raw, pdf)

    assert stored.name == clean
    assert check_part_name(stored.name) is None


def test_long_names_are_cut_keeping_the_extension(store: PartStore, pdf: bytes) -> None:
    stored = upload(store, "关" * 300 + ".pdf", pdf)

    assert len(stored.name) == 200
    assert stored.name.endswith("关.pdf")
    assert check_part_name(stored.name) is None


@pytest.mark.parametrize("raw", ["", "   ", "..", "C:\\fakepath\\", "\u202e\x00"])
def test_unusable_names(store: PartStore, pdf: bytes, raw: str) -> None:
    assert refused(store, raw, pdf).reason == "bad_name"


@pytest.mark.parametrize("name", ["setup.exe", "通知", "a.tar.gz", "rep\u202egpj.exe", "a.odt"])
def test_extensions_not_accepted(store: PartStore, pdf: bytes, name: str) -> None:
    error = refused(store, name, pdf)

    assert error.reason == "type_not_accepted"
    assert "not accepted" in str(error.message)


# --- content does not match the name -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "make", "what"),
    [
        (
            "通知.pdf",
            lambda: make_zip({"a.txt": b"a"}),
            "the name says .pdf but the file is a ZIP archive",
        ),
        (
            "通知.pdf",
            lambda: b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + bytes(100),
            "a Windows program",
        ),
        ("通知.pdf", lambda: b"\x7fELF\x02\x01\x01" + bytes(100), "a Linux program"),
        ("通知.docx", lambda: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "a PDF document"),
        ("通知.docx", lambda: make_zip({"a.txt": b"a"}), "a ZIP archive"),
        ("通知.docx", xlsx, "an Excel workbook (.xlsx)"),
        ("通知.docx", lambda: cfb("EncryptedInfo", "EncryptedPackage"), "password-protected"),
        ("通知.doc", lambda: cfb("Workbook"), "an Excel 97–2003 workbook"),
        ("通知.doc", lambda: cfb("PowerPoint Document"), "a PowerPoint presentation"),
        ("通知.xls", lambda: cfb("WordDocument"), "a Word 97–2003 document"),
        ("通知.doc", lambda: cfb("Other"), "neither Word nor Excel"),
        ("通知.ofd", docx, "a Word document (.docx)"),
        ("通知.ofd", lambda: make_zip({"Doc_0/Document.xml": b"<x/>"}), "a ZIP archive"),
        ("照片.jpg", lambda: image("PNG"), "a PNG image"),
        ("照片.png", lambda: image("GIF"), "a GIF image"),
        ("通知.pdf", lambda: "纯文本".encode(), "plain text"),
        ("通知.txt", lambda: image("PNG"), "a PNG image"),
        ("通知.zip", lambda: b"Rar!\x1a\x07\x01\x00" + bytes(50), "a RAR archive"),
        ("通知.zip", lambda: b"\x1f\x8b\x08\x00" + bytes(50), "a gzip archive"),
        ("通知.doc", lambda: b"{\\rtf1\\ansi\x00" + bytes(20), "an RTF document"),
        ("通知.txt", lambda: "UTF-16".encode("utf-16"), "UTF-16 text"),
    ],
)
def test_content_must_match_the_extension(
    store: PartStore, name: str, make: Callable[[], bytes], what: str
) -> None:
    error = refused(store, name, make())

    assert error.reason == "type_mismatch"
    assert name in str(error.message)
    assert what in str(error.message)


def test_refusal_is_a_domain_error_on_the_attachments_field(store: PartStore) -> None:
    error = refused(store, "通知.pdf", b"MZ" + bytes(64))

    assert isinstance(error, DomainError)
    assert (error.code, error.status, error.field) == ("upload_refused", 400, "attachments")
    assert error.details == [{"field": "attachments", "message": str(error.message)}]


def test_empty_file(store: PartStore) -> None:
    error = refused(store, "通知.pdf", b"")

    assert error.reason == "empty"
    assert "通知.pdf is empty" in str(error.message)


@pytest.mark.parametrize(
    "data",
    [
        b"\x00\x01\x02\x03binary" * 10,
        "中文".encode() + b"\x80\xff",  # neither UTF-8 nor GB18030
        b"text with a NUL\x00 inside\n",
        b"text with an escape \x1b[31m\n",
    ],
)
def test_text_must_be_utf8_or_gb18030(store: PartStore, data: bytes) -> None:
    error = refused(store, "说明.txt", data)

    assert error.reason == "unknown_type"
    assert "not UTF-8 or GB18030 text" in str(error.message)


def test_text_is_checked_past_the_first_block(store: PartStore) -> None:
    data = b"a" * (3 * 256 * 1024) + b"\xff\xfe tail"
    assert refused(store, "说明.txt", data).reason == "unknown_type"


def test_unknown_binary(store: PartStore) -> None:
    error = refused(store, "图.png", bytes(range(256)) * 4)

    assert error.reason == "unknown_type"


def test_damaged_ole2_file(store: PartStore) -> None:
    error = refused(store, "旧稿.doc", OLE_MAGIC + b"\xff" * 600)

    assert error.reason == "broken_file"


def test_ole2_directory_loop_is_refused(store: PartStore) -> None:
    data = bytearray(cfb("WordDocument"))
    struct.pack_into("<I", data, 512 + 4, 1)  # the directory sector's FAT entry points to itself
    assert refused(store, "旧稿.doc", bytes(data)).reason == "broken_file"


# --- size ----------------------------------------------------------------------------------------


def test_too_large(store: PartStore, pdf: bytes) -> None:
    error = refused(store, "通知.pdf", pdf, max_bytes=1000)

    assert error.reason == "too_large"
    assert "通知.pdf is too large" in str(error.message)
    assert "the limit is 1000 B" in str(error.message)


def test_limit_from_settings(store: PartStore, settings: Any, pdf: bytes) -> None:
    settings.EGOV_DOCUMENT_MAX_UPLOAD_BYTES = 2 * MIB
    assert max_upload_bytes() == 2 * MIB
    settings.EGOV_DOCUMENT_MAX_UPLOAD_BYTES = 1024
    error = refused(store, "通知.pdf", pdf)
    assert "the limit is 1.0 KB" in str(error.message)


def test_default_limit_is_200_mib(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EGOV_DOCUMENT_MAX_UPLOAD_BYTES", raising=False)
    if hasattr(settings, "EGOV_DOCUMENT_MAX_UPLOAD_BYTES"):
        del settings.EGOV_DOCUMENT_MAX_UPLOAD_BYTES
    assert max_upload_bytes() == 200 * MIB


class Generated:
    """A reader over generated data: the file never exists whole in memory."""

    def __init__(self, head: bytes, total: int | None, filler: bytes = b"0123456789" * 10_000):
        self.head = head
        self.remaining = total
        self.filler = filler
        self.read_bytes = 0

    def read(self, n: int = -1) -> bytes:
        if self.head:
            block, self.head = self.head, b""
        else:
            block = self.filler[: n if n > 0 else None]
        if self.remaining is not None:
            block = block[: self.remaining]
            self.remaining -= len(block)
        self.read_bytes += len(block)
        return block


def test_too_large_stops_reading_at_the_limit(store: PartStore) -> None:
    endless = Generated(b"%PDF-1.7\n", total=None)
    with pytest.raises(UploadRefused) as caught:
        store_upload("大.pdf", endless, store=store, max_bytes=MIB)  # type: ignore[arg-type]

    assert caught.value.reason == "too_large"
    assert "at least" in str(caught.value.message)
    assert endless.read_bytes <= MIB + 256 * 1024
    assert stored_files(store) == []


def test_declared_size_is_refused_before_reading(store: PartStore) -> None:
    class Declared(io.BytesIO):
        size = 300 * MIB

        def read(self, size: int | None = -1, /) -> bytes:
            raise AssertionError("must not be read")

    error = refused_stream(store, "大.pdf", Declared())
    assert error.reason == "too_large"
    assert "300.0 MB, the limit is 200.0 MB" in str(error.message)


def refused_stream(store: PartStore, name: str, stream: Any) -> UploadRefused:
    with pytest.raises(UploadRefused) as caught:
        store_upload(name, stream, store=store)
    assert stored_files(store) == []
    return caught.value


@pytest.mark.parametrize(
    ("name", "head", "filler", "media_type"),
    [
        ("大.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", bytes(range(256)) * 390, "application/pdf"),
        (
            "大.txt",
            "开头\n".encode(),
            "一行中文文本。\n".encode() * 4000,
            "text/plain; charset=utf-8",
        ),
    ],
)
def test_streaming_keeps_memory_small(
    store: PartStore, name: str, head: bytes, filler: bytes, media_type: str
) -> None:
    total = 50 * 1000 * 1000
    expected = hashlib.sha256()
    source = Generated(head, total, filler)
    while block := source.read(256 * 1024):
        expected.update(block)

    tracemalloc.start()
    try:
        stored = store_upload(name, Generated(head, total, filler), store=store)  # type: ignore[arg-type]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert peak < 10 * 1000 * 1000
    assert stored.media_type == media_type
    assert stored.size == total
    assert stored.sha256 == expected.hexdigest()
    assert store.path(stored.sha256).stat().st_size == total


# --- zip bombs and hostile archives --------------------------------------------------------------


def zeros_zip(size: int, entries: dict[str, bytes] | None = None) -> bytes:
    """`size` bytes of zeros deflated (~1000:1), written in blocks."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in (entries or {}).items():
            zf.writestr(name, data)
        with zf.open("zeros.bin", "w") as member:
            chunk = bytes(MIB)
            for _ in range(size // MIB):
                member.write(chunk)
    return out.getvalue()


DOCX_PARTS = {"[Content_Types].xml": CONTENT_TYPES, "word/document.xml": b"<w:document/>"}
XLSX_PARTS = {"[Content_Types].xml": CONTENT_TYPES, "xl/workbook.xml": b"<workbook/>"}
OFD_PARTS = {"OFD.xml": b"<ofd:OFD/>"}


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        ("炸弹.zip", {}),
        ("炸弹.docx", DOCX_PARTS),
        ("炸弹.xlsx", XLSX_PARTS),
        ("炸弹.ofd", OFD_PARTS),
    ],
)
def test_zip_bomb_by_ratio(store: PartStore, name: str, parts: dict[str, bytes]) -> None:
    data = zeros_zip(64 * MIB, parts)
    assert len(data) < 200 * 1024

    error = refused(store, name, data)

    assert error.reason == "zip_bomb"
    assert name in str(error.message)
    assert "zip bomb" in str(error.message)


def test_zip_bomb_by_declared_size(store: PartStore) -> None:
    data = bytearray(make_zip({"a.txt": b"x"}, zipfile.ZIP_STORED))
    directory = data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, directory + 24, 0xF0000000)  # declares 3.75 GiB

    assert refused(store, "a.zip", bytes(data)).reason == "zip_bomb"


def test_expansion_limit() -> None:
    assert zip_expansion_limit(1000) == 10 * MIB  # the floor
    assert zip_expansion_limit(1 * MIB) == 100 * MIB  # 100:1
    assert zip_expansion_limit(50 * MIB) == 1024 * MIB  # the ceiling


def test_compressible_but_reasonable_office_file_is_accepted(store: PartStore) -> None:
    # 8 MiB of zeros compress to ~8 KiB: above 100:1, but under the 10 MiB floor.
    stored = upload(store, "稀疏.docx", zeros_zip(8 * MIB, DOCX_PARTS))
    assert stored.media_type.endswith("wordprocessingml.document")


def test_too_many_entries(store: PartStore) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as zf:
        for i in range(MAX_ZIP_ENTRIES + 1):
            zf.writestr(f"{i}", b"")

    error = refused(store, "多.zip", out.getvalue())

    assert error.reason == "zip_too_many_entries"
    assert "too many files" in str(error.message)


def test_entry_limit_is_inclusive(store: PartStore) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as zf:
        for i in range(MAX_ZIP_ENTRIES):
            zf.writestr(f"{i}", b"")
    assert upload(store, "多.zip", out.getvalue()).media_type == "application/zip"


def test_end_record_announcing_too_many_entries(store: PartStore) -> None:
    data = bytearray(make_zip({"a.txt": b"x"}))
    end = data.rindex(b"PK\x05\x06")
    struct.pack_into("<HH", data, end + 8, 60000, 60000)
    assert refused(store, "a.zip", bytes(data)).reason == "zip_too_many_entries"


@pytest.mark.parametrize(
    "entry", ["../../x", "a/../../b", "/etc/passwd", "..\\..\\x", "\\x", "C:/Windows/x", "d/.."]
)
@pytest.mark.parametrize("name", ["归档.zip", "通知.docx"])
def test_path_traversal_in_archives(store: PartStore, entry: str, name: str) -> None:
    data = make_zip({**DOCX_PARTS, entry: b"x"})
    error = refused(store, name, data)

    assert error.reason == "zip_path_traversal"
    assert "outside the archive" in str(error.message)


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[:-30],  # the end record cut off
        lambda data: data[: len(data) // 2],
        lambda data: data.replace(b"PK\x01\x02", b"PK\x01\x03"),  # the central directory broken
        lambda data: b"PK\x03\x04" + bytes(40),
    ],
)
def test_broken_central_directory(store: PartStore, damage: Callable[[bytes], bytes]) -> None:
    error = refused(store, "通知.docx", damage(docx()))

    assert error.reason == "broken_file"
    assert "central directory" in str(error.message)


def test_duplicate_names_in_archive(store: PartStore) -> None:
    out = io.BytesIO()
    with (
        pytest.warns(UserWarning, match="Duplicate name"),
        zipfile.ZipFile(out, "w") as zf,
    ):
        zf.writestr("a.txt", b"one")
        zf.writestr("a.txt", b"two")

    assert refused(store, "a.zip", out.getvalue()).reason == "zip_duplicate_name"


def test_empty_archive(store: PartStore) -> None:
    assert refused(store, "空.zip", make_zip({})).reason == "empty"


# --- the store after a refusal -------------------------------------------------------------------


def test_refusal_keeps_content_stored_by_an_earlier_upload(store: PartStore, pdf: bytes) -> None:
    earlier = upload(store, "通知.pdf", pdf)

    refused(store, "通知.png", pdf)

    assert store.has(earlier.sha256)
    assert store.path(earlier.sha256).read_bytes() == pdf


def test_refusal_after_reading_leaves_no_temporary_file(store: PartStore) -> None:
    data = zeros_zip(32 * MIB)
    refused(store, "炸弹.zip", data)
    assert stored_files(store) == []
