"""Safe attachment uploads (公文附件): stream, identify by content, refuse what is unsafe.

`store_upload` copies the client's stream in blocks into a temporary file beside the shared
content-addressed `PartStore`, hashing SHA-256 and SM3 while copying; memory stays at a few
blocks whatever the file's size. The file moves into the store only after every check passed,
so a refused upload leaves nothing behind. When the same content is already stored (from an
earlier upload or envelope) the stored copy is kept untouched and the temporary file dropped.

What is checked, in order:

- the name: basename only (browsers send `C:\\fakepath\\x.pdf`), NFC, control and format
  characters (bidi overrides, zero-width) removed, `:*?"<>|` replaced, at most 200 characters,
  passes `check_part_name`; the extension must be one of `ALLOWED`'s;
- the size: over `max_upload_bytes()` stops the copy at once; empty files are refused;
- the type, from the content, never from the client's name or media type: magic numbers
  (PDF, PNG, JPEG, TIFF, OLE2, ZIP); inside OLE2 the directory's stream names tell Word from
  Excel; inside ZIP the central directory's entry names tell OFD (`OFD.xml`), Word (`word/`)
  and Excel (`xl/`) from a plain archive. The extension must agree with the content. Where two
  formats share one container byte for byte (Word 97 and WPS text, Excel 97 and WPS sheets;
  any ZIP-based format and `.zip`) the extension picks the label among those the content
  allows;
- plain text: the whole file (not just the first block) must decode as UTF-8 or, failing that,
  GB18030 (what Chinese Windows Notepad wrote before 2019), with no control characters other
  than tab, line and page breaks. The charset found is part of the media type
  (`text/plain; charset=gb18030`) so a download can be served as is;
- ZIP-based files (zip bombs): only the central directory is read, nothing is decompressed.
  Refused when the end record announces more than `MAX_ZIP_ENTRIES` entries or a central
  directory over `MAX_ZIP_DIRECTORY_BYTES` (checked before `zipfile` reads it into memory),
  the directory is broken, an entry name is absolute or climbs out (`..`), a name repeats,
  or the declared uncompressed total exceeds `zip_expansion_limit(size)`:
  min(1 GiB, max(100 × the file's size, 10 MiB)). The 10 MiB floor keeps small, highly
  compressible Office files (a sparse sheet easily reaches 100:1) from being refused; the
  1 GiB ceiling bounds what any later reader may be asked to inflate.

Declared sizes can lie: whoever later decompresses an entry (full-text extraction, OFD
rendering) must still read through a bounded reader. Archives nested in a ZIP are not opened.
"""

from __future__ import annotations

import codecs
import os
import re
import struct
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO

from django.utils.translation import gettext as _

from egov.core.errors import DomainError
from egov.exchange.conf import setting_int
from egov.exchange.envelope import BLOCK, Hasher, PartStore, check_part_name

MAX_NAME_CHARS = 200
DEFAULT_MAX_UPLOAD_BYTES = 200 * 1024 * 1024
HEAD_BYTES = 16  # enough for every magic number below

MAX_ZIP_ENTRIES = 10_000
# ~420 B per entry at the entry limit; a lying end record then costs zipfile < 50 MB.
MAX_ZIP_DIRECTORY_BYTES = 4 * 1024 * 1024
ZIP_MAX_EXPANDED = 1024 * 1024 * 1024
ZIP_MAX_RATIO = 100
ZIP_EXPANSION_FLOOR = 10 * 1024 * 1024

MAX_OLE_DIRECTORY_SECTORS = 1024

PDF = "application/pdf"
OFD = "application/ofd"
DOC = "application/msword"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLS = "application/vnd.ms-excel"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
WPS = "application/wps-office.wps"
ET = "application/wps-office.et"
PNG = "image/png"
JPEG = "image/jpeg"
TIFF = "image/tiff"
TEXT_UTF8 = "text/plain; charset=utf-8"
TEXT_GB18030 = "text/plain; charset=gb18030"
ZIP = "application/zip"

ALLOWED: dict[str, tuple[str, ...]] = {
    PDF: (".pdf",),
    OFD: (".ofd",),
    DOC: (".doc",),
    DOCX: (".docx",),
    XLS: (".xls",),
    XLSX: (".xlsx",),
    WPS: (".wps",),
    ET: (".et",),
    PNG: (".png",),
    JPEG: (".jpg", ".jpeg"),
    TIFF: (".tif", ".tiff"),
    TEXT_UTF8: (".txt",),
    TEXT_GB18030: (".txt",),
    ZIP: (".zip",),
}

_EXTENSIONS = frozenset(ext for exts in ALLOWED.values() for ext in exts)


class UploadRefused(DomainError):
    """An attachment was refused; `reason` is a stable sub-code (too_large, type_mismatch, …)."""

    code = "upload_refused"
    status = 400

    def __init__(self, message: object, *, reason: str = "refused", field: str = "attachments"):
        super().__init__(message, field=field)
        self.reason = reason


@dataclass(frozen=True)
class StoredUpload:
    name: str
    media_type: str
    size: int
    sha256: str
    sm3: str


def max_upload_bytes() -> int:
    return setting_int("EGOV_DOCUMENT_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES)


def zip_expansion_limit(size: int) -> int:
    """The most a ZIP-based file of `size` bytes may declare uncompressed."""
    return min(ZIP_MAX_EXPANDED, max(ZIP_MAX_RATIO * size, ZIP_EXPANSION_FLOOR))


def store_upload(
    name: str,
    stream: BinaryIO,
    *,
    store: PartStore | None = None,
    max_bytes: int | None = None,
) -> StoredUpload:
    """Check and store one attachment; raises `UploadRefused` with nothing left stored."""
    store = store or PartStore()
    limit = max_upload_bytes() if max_bytes is None else max_bytes
    clean = _clean_name(name)
    ext = os.path.splitext(clean)[1].lower()
    if ext not in _EXTENSIONS:
        raise UploadRefused(
            _("%(name)s: files of type %(ext)s are not accepted (accepted: %(allowed)s).")
            % {"name": clean, "ext": ext or _("(none)"), "allowed": _allowed_text()},
            reason="type_not_accepted",
        )
    declared = getattr(stream, "size", None)
    if isinstance(declared, int) and declared > limit:
        raise _too_large(clean, declared, limit, exact=True)

    store.root.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=store.root, prefix=".upload-")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w+b") as out:
            hasher, head, text = _copy(clean, stream, out, limit)
            if hasher.size == 0:
                raise UploadRefused(_("%(name)s is empty.") % {"name": clean}, reason="empty")
            media_type = _identify(clean, ext, head, text, out, hasher.size)
        sha, sm3 = hasher.digests()
        if store.has(sha):
            # Content-addressed and shared: the stored copy is identical, leave it alone.
            tmp.unlink()
        else:
            target = store.path(sha)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return StoredUpload(name=clean, media_type=media_type, size=hasher.size, sha256=sha, sm3=sm3)


# --- name -----------------------------------------------------------------------------------------

_RESERVED = re.compile(r'[:*?"<>|]')


def _clean_name(raw: str) -> str:
    text = unicodedata.normalize("NFC", str(raw))
    text = re.split(r"[\\/]", text)[-1]
    # Cc: controls (C0, DEL, C1); Cf: format characters such as the right-to-left override
    # that makes "txt.exe" display as "exe.txt".
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf"))
    text = _RESERVED.sub("_", text).strip().strip(".").strip()
    if len(text) > MAX_NAME_CHARS:
        stem, ext = os.path.splitext(text)
        if len(ext) > 20:
            stem, ext = text, ""
        text = stem[: MAX_NAME_CHARS - len(ext)].rstrip(" .") + ext
    if not text or check_part_name(text) is not None:
        shown = re.sub(r"[\x00-\x1f\x7f]", "?", str(raw))[:MAX_NAME_CHARS]
        raise UploadRefused(
            _("The file name %(name)r cannot be used.") % {"name": shown}, reason="bad_name"
        )
    return text


def _allowed_text() -> str:
    return ", ".join(sorted(_EXTENSIONS))


# --- copying --------------------------------------------------------------------------------------


def _size_text(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n} B"


def _too_large(name: str, size: int, limit: int, *, exact: bool) -> UploadRefused:
    values = {"name": name, "size": _size_text(size), "limit": _size_text(limit)}
    if exact:
        message = _("%(name)s is too large: %(size)s, the limit is %(limit)s.") % values
    else:
        message = _("%(name)s is too large: at least %(size)s, the limit is %(limit)s.") % values
    return UploadRefused(message, reason="too_large")


# Control characters that plain text has no business holding (tab, LF, VT, FF, CR allowed).
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f]")


class _TextCheck:
    """Decodes the whole stream as UTF-8 and as GB18030 side by side, block by block."""

    def __init__(self) -> None:
        self.decoders = {
            TEXT_UTF8: codecs.getincrementaldecoder("utf-8")(),
            TEXT_GB18030: codecs.getincrementaldecoder("gb18030")(),
        }

    def feed(self, block: bytes, final: bool = False) -> None:
        for media_type, decoder in list(self.decoders.items()):
            try:
                text = decoder.decode(block, final)
            except UnicodeDecodeError:
                del self.decoders[media_type]
                continue
            if _TEXT_CONTROL.search(text):
                del self.decoders[media_type]

    def stop(self) -> None:
        self.decoders.clear()

    def media_type(self) -> str | None:
        self.feed(b"", final=True)
        for media_type in (TEXT_UTF8, TEXT_GB18030):  # UTF-8 first: ASCII is valid in both
            if media_type in self.decoders:
                return media_type
        return None


def _copy(
    name: str, stream: BinaryIO, out: IO[bytes], limit: int
) -> tuple[Hasher, bytes, _TextCheck]:
    hasher = Hasher()
    head = b""
    text = _TextCheck()
    while block := stream.read(BLOCK):
        if hasher.size + len(block) > limit:
            raise _too_large(name, hasher.size + len(block), limit, exact=False)
        hasher.update(block)
        out.write(block)
        if len(head) < HEAD_BYTES:
            head += block[: HEAD_BYTES - len(head)]
            if len(head) >= HEAD_BYTES and _magic(head) is not None:
                text.stop()  # a binary format: no need to decode it
        if text.decoders:
            text.feed(block)
    out.flush()
    return hasher, head, text


# --- identifying ----------------------------------------------------------------------------------

# Content kinds the checks below can tell apart, and the media types each may be stored as.
_CANDIDATES: dict[str, tuple[str, ...]] = {
    "pdf": (PDF,),
    "png": (PNG,),
    "jpeg": (JPEG,),
    "tiff": (TIFF,),
    "ole_word": (DOC, WPS),
    "ole_excel": (XLS, ET),
    "ofd": (OFD, ZIP),
    "docx": (DOCX, ZIP),
    "xlsx": (XLSX, ZIP),
    "zip": (ZIP,),
    "text_utf8": (TEXT_UTF8,),
    "text_gb18030": (TEXT_GB18030,),
}

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"II+\x00", "tiff"),  # BigTIFF
    (b"MM\x00+", "tiff"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole"),
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),  # an empty archive: refused below, with a clear message
)

# Recognised but not accepted; only consulted when the content is not plain text, so a note
# that happens to start with "MZ" is still text.
_REFUSED_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"MZ", "exe"),
    (b"\x7fELF", "elf"),
    (b"\xcf\xfa\xed\xfe", "macho"),
    (b"\xce\xfa\xed\xfe", "macho"),
    (b"\xca\xfe\xba\xbe", "macho"),
    (b"Rar!\x1a\x07", "rar"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"\x1f\x8b", "gzip"),
    (b"GIF8", "gif"),
    (b"{\\rtf", "rtf"),
    (b"\xff\xfe", "utf16"),
    (b"\xfe\xff", "utf16"),
)


def _describe(kind: str) -> str:
    """What the content is, for messages ("… but the file is a ZIP archive")."""
    descriptions = {
        "pdf": _("a PDF document"),
        "png": _("a PNG image"),
        "jpeg": _("a JPEG image"),
        "tiff": _("a TIFF image"),
        "ole_word": _("a Word 97–2003 document"),
        "ole_excel": _("an Excel 97–2003 workbook"),
        "ole_powerpoint": _("a PowerPoint presentation"),
        "ole_encrypted": _("a password-protected Office document (remove the password first)"),
        "ole_other": _("an OLE2 compound file that is neither Word nor Excel"),
        "ofd": _("an OFD document"),
        "docx": _("a Word document (.docx)"),
        "xlsx": _("an Excel workbook (.xlsx)"),
        "zip": _("a ZIP archive"),
        "text_utf8": _("plain text"),
        "text_gb18030": _("plain text"),
        "exe": _("a Windows program"),
        "elf": _("a Linux program"),
        "macho": _("a macOS program"),
        "rar": _("a RAR archive"),
        "7z": _("a 7-Zip archive"),
        "gzip": _("a gzip archive"),
        "gif": _("a GIF image"),
        "rtf": _("an RTF document"),
        "utf16": _("UTF-16 text (save it as UTF-8)"),
    }
    return descriptions.get(kind, kind)


def _magic(head: bytes) -> str | None:
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    return None


def _identify(name: str, ext: str, head: bytes, text: _TextCheck, f: IO[bytes], size: int) -> str:
    kind = _magic(head)
    if kind == "ole":
        kind = _ole_kind(name, f, size)
    elif kind == "zip":
        kind = _zip_kind(name, f, size)
    elif kind is None:
        text_type = text.media_type()
        if text_type is not None:
            kind = "text_utf8" if text_type == TEXT_UTF8 else "text_gb18030"
        else:
            kind = next((k for magic, k in _REFUSED_MAGIC if head.startswith(magic)), None)
    if kind is None:
        if ext == ".txt":
            message = _("%(name)s is not UTF-8 or GB18030 text.")
        else:
            message = _("%(name)s: the content is not of a type that is accepted.")
        raise UploadRefused(message % {"name": name}, reason="unknown_type")
    for media_type in _CANDIDATES.get(kind, ()):
        if ext in ALLOWED[media_type]:
            return media_type
    raise UploadRefused(
        _("%(name)s: the name says %(ext)s but the file is %(what)s.")
        % {"name": name, "ext": ext, "what": _describe(kind)},
        reason="type_mismatch",
    )


# --- OLE2 (compound file binary): .doc .xls .wps .et ----------------------------------------------

_FREE, _END = 0xFFFFFFFF, 0xFFFFFFFE
_MAX_REGULAR_SECTOR = 0xFFFFFFFA


class _Broken(Exception):
    pass


def _ole_kind(name: str, f: IO[bytes], size: int) -> str:
    try:
        names = _ole_entry_names(f, size)
    except (_Broken, struct.error, OSError) as exc:
        raise UploadRefused(
            _("%(name)s is a damaged Office 97–2003 file.") % {"name": name}, reason="broken_file"
        ) from exc
    if "encryptedpackage" in names:
        return "ole_encrypted"
    if "worddocument" in names:
        return "ole_word"
    if "workbook" in names or "book" in names:
        return "ole_excel"
    if "powerpoint document" in names:
        return "ole_powerpoint"
    return "ole_other"


def _ole_entry_names(f: IO[bytes], size: int) -> set[str]:
    """Lower-cased names in the compound file's directory, following the FAT chain (bounded)."""
    f.seek(0)
    header = f.read(512)
    if len(header) < 512:
        raise _Broken("short header")
    shift = struct.unpack_from("<H", header, 30)[0]
    if shift not in (9, 12):
        raise _Broken("sector size")
    sector_size = 1 << shift
    per_sector = sector_size // 4
    first_directory = struct.unpack_from("<I", header, 48)[0]
    first_difat, difat_count = struct.unpack_from("<II", header, 68)
    header_difat = struct.unpack_from("<109I", header, 76)

    def read_sector(number: int) -> bytes:
        offset = (number + 1) << shift
        if number > _MAX_REGULAR_SECTOR or offset + sector_size > size:
            raise _Broken("sector out of range")
        f.seek(offset)
        return f.read(sector_size)

    def fat_location(index: int) -> int:
        if index < len(header_difat):
            return int(header_difat[index])
        index -= len(header_difat)
        difat = first_difat
        for _hop in range(difat_count):
            data = read_sector(difat)
            if index < per_sector - 1:
                return int(struct.unpack_from("<I", data, index * 4)[0])
            index -= per_sector - 1
            difat = struct.unpack_from("<I", data, (per_sector - 1) * 4)[0]
        raise _Broken("FAT sector beyond the DIFAT")

    fat_cache: dict[int, bytes] = {}

    def next_sector(number: int) -> int:
        index, slot = divmod(number, per_sector)
        location = fat_location(index)
        if location not in fat_cache:
            fat_cache[location] = read_sector(location)
        return int(struct.unpack_from("<I", fat_cache[location], slot * 4)[0])

    names: set[str] = set()
    seen: set[int] = set()
    sector = first_directory
    while sector != _END and len(seen) < MAX_OLE_DIRECTORY_SECTORS:
        if sector in seen or sector == _FREE:
            raise _Broken("directory chain loops")
        seen.add(sector)
        data = read_sector(sector)
        for offset in range(0, sector_size, 128):
            length, kind = struct.unpack_from("<HB", data, offset + 64)
            if kind in (1, 2, 5) and 2 <= length <= 64 and length % 2 == 0:
                raw = data[offset : offset + length - 2]
                names.add(raw.decode("utf-16-le", "replace").lower())
        sector = next_sector(sector)
    return names


# --- ZIP-based: .zip .docx .xlsx .ofd -------------------------------------------------------------


def _zip_kind(name: str, f: IO[bytes], size: int) -> str:
    def refuse(message: str, reason: str) -> UploadRefused:
        return UploadRefused(message % {"name": name}, reason=reason)

    broken = _("%(name)s is a damaged ZIP-based file (its central directory cannot be read).")
    try:
        entries, directory_bytes = _zip_end_record(f, size)
    except (_Broken, struct.error, OSError) as exc:
        raise refuse(broken, "broken_file") from exc
    too_many = _("%(name)s holds too many files (at most %(max)d).")
    if entries > MAX_ZIP_ENTRIES or directory_bytes > MAX_ZIP_DIRECTORY_BYTES:
        raise UploadRefused(
            too_many % {"name": name, "max": MAX_ZIP_ENTRIES}, reason="zip_too_many_entries"
        )
    try:
        f.seek(0)
        with zipfile.ZipFile(f) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, struct.error) as exc:
        raise refuse(broken, "broken_file") from exc
    except NotImplementedError as exc:  # multi-disk archives
        raise refuse(broken, "broken_file") from exc
    if len(infos) > MAX_ZIP_ENTRIES:
        raise UploadRefused(
            too_many % {"name": name, "max": MAX_ZIP_ENTRIES}, reason="zip_too_many_entries"
        )
    if not infos:
        raise refuse(_("%(name)s is an empty archive."), "empty")
    names = [info.filename for info in infos]
    for entry in names:
        parts = entry.replace("\\", "/").split("/")
        if entry.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", entry) or ".." in parts:
            raise UploadRefused(
                _("%(name)s holds a file named %(entry)r that points outside the archive.")
                % {"name": name, "entry": entry[:200]},
                reason="zip_path_traversal",
            )
    if len(set(names)) != len(names):
        raise refuse(_("%(name)s holds two files with the same name."), "zip_duplicate_name")
    declared = sum(info.file_size for info in infos)
    allowed = zip_expansion_limit(size)
    if declared > allowed:
        raise UploadRefused(
            _(
                "%(name)s would expand to %(declared)s from %(size)s (at most %(allowed)s); "
                "it looks like a zip bomb."
            )
            % {
                "name": name,
                "declared": _size_text(declared),
                "size": _size_text(size),
                "allowed": _size_text(allowed),
            },
            reason="zip_bomb",
        )
    present = set(names)
    if "OFD.xml" in present:
        return "ofd"
    if "[Content_Types].xml" in present:
        if any(n.startswith("word/") for n in names):
            return "docx"
        if any(n.startswith("xl/") for n in names):
            return "xlsx"
    return "zip"


def _zip_end_record(f: IO[bytes], size: int) -> tuple[int, int]:
    """(entries, central directory bytes) as the end record announces them (ZIP64 too)."""
    tail_size = min(size, 22 + 0xFFFF)
    tail_start = size - tail_size
    f.seek(tail_start)
    tail = f.read(tail_size)
    # The last signature, as zipfile itself chooses, so both read the same directory.
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + 22 > len(tail):
        raise _Broken("no end of central directory")
    entries, directory_bytes, directory_offset = struct.unpack_from("<HII", tail, at + 10)
    if entries != 0xFFFF and directory_bytes != 0xFFFFFFFF and directory_offset != 0xFFFFFFFF:
        return entries, directory_bytes
    locator_at = tail_start + at - 20
    if locator_at < 0:
        raise _Broken("no ZIP64 locator")
    f.seek(locator_at)
    locator = f.read(20)
    if len(locator) < 20 or not locator.startswith(b"PK\x06\x07"):
        raise _Broken("no ZIP64 locator")
    # The ZIP64 end record sits right before its locator (where zipfile looks for it too).
    record_at = locator_at - 56
    if record_at < 0:
        raise _Broken("no ZIP64 end record")
    f.seek(record_at)
    record = f.read(56)
    if not record.startswith(b"PK\x06\x06"):
        raise _Broken("no ZIP64 end record")
    entries64, directory_bytes64 = struct.unpack_from("<QQ", record, 32)
    return int(entries64), int(directory_bytes64)
