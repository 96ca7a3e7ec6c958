"""Uploaded materials: type detection by content, bounded checks, and the content-addressed store.

Every check reads at most what the limits allow before it gives up, so that a hostile file costs
little to refuse: a PDF's pages are counted by pypdf under strict limits (objects, arrays, page
tree size and depth, decompressed bytes), an image's dimensions come from its header (nothing is
decoded), and an OFD package's entries are counted and sized from its central directory, then
each is inflated only up to the size it declares. A file that breaks a limit or cannot be read is
refused with `Invalid` (422) or `PayloadTooLarge` (413), never an unexpected error.

Files are stored once under `<data_dir>/blobs/<aa>/<sha256>` (aa = first two hex digits),
written to a temporary file in the same directory and renamed, so a reader never sees a half
file and two writers of the same content both end with the same bytes. The database keeps only
the metadata (case_uploads, case_materials).
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import struct
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from tongban.platform.errors import FieldError, Invalid, PayloadTooLarge

log = logging.getLogger(__name__)
# pypdf warns once per broken cross-reference entry: a hostile file would flood the log (and
# the warnings cost more CPU than the parsing). What is wrong with a file is said to its sender.
logging.getLogger("pypdf").setLevel(logging.ERROR)

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
OFD = "application/ofd"
ACCEPTED_TYPES = (PDF, JPEG, PNG, OFD)
# Catalog `formats` words that name electronic file types, mapped to media types.
FORMAT_WORDS = {"pdf": PDF, "jpg": JPEG, "jpeg": JPEG, "png": PNG, "ofd": OFD}

MIB = 1024 * 1024
# Defaults of the settings upload_max_pixels and upload_max_unpacked_bytes.
DEFAULT_MAX_PIXELS = 40_000_000
DEFAULT_MAX_UNPACKED_BYTES = 100 * MIB
# PDF: indirect objects (and cross-reference entries) a file may have; pypdf's reading costs
# about 5 µs each, so this bounds the check of any PDF to well under a second.
PDF_MAX_OBJECTS = 100_000
PDF_MAX_TREE_DEPTH = 32  # page tree levels; real files have a handful
PDF_MAX_STREAM_BYTES = 32 * MIB  # what one object or cross-reference stream may inflate to
# JPEG: marker segments read before the frame header (real files have a few dozen).
JPEG_MAX_SEGMENTS = 1024
# OFD (a ZIP package): entries, central directory size, and the compression ratio an entry
# larger than OFD_RATIO_FLOOR may have (XML and images compress 2-50 times; a bomb, 1,000).
OFD_MAX_ENTRIES = 10_000
OFD_MAX_DIRECTORY_BYTES = 2 * MIB
OFD_MAX_RATIO = 250
OFD_RATIO_FLOOR = MIB

_ZIP = b"PK\x03\x04"


@dataclass(frozen=True)
class Detected:
    """What a file really is."""

    sha256: str
    media_type: str
    size: int
    pages: int | None


def sniff(data: bytes) -> str | None:
    """The media type from the file's first bytes (never from its name), or None."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(_ZIP) and _is_ofd(data):
        return OFD
    return None


def _is_ofd(data: bytes) -> bool:
    # GB/T 33190: an OFD package is a ZIP whose root holds OFD.xml.
    try:
        with _open_package(data) as archive:
            return "OFD.xml" in archive.namelist()
    except (Invalid, PayloadTooLarge, zipfile.BadZipFile, OSError, ValueError):
        return False


def _unreadable(kind: str, exc: BaseException | None = None) -> Invalid:
    reason = f": {exc}" if exc is not None and str(exc) else ""
    return Invalid(
        f"The {kind} cannot be read.",
        errors=[FieldError("file", f"unreadable {kind}{reason}"[:200])],
    )


# --- PDF ---------------------------------------------------------------------------------


def pdf_pages(data: bytes, *, max_pages: int = 300) -> int:
    """Count the pages of a PDF with bounded work; `Invalid` past `max_pages` or when unreadable.

    pypdf reads cross-reference streams and object streams; its limits are set so that a hostile
    file (a huge or lying page tree, a deep one, a bomb in an object stream) stops it early.
    """
    objects = data.count(b" obj")
    if objects > PDF_MAX_OBJECTS:
        raise _pdf_too_complex(f"it has {objects} objects; the limit is {PDF_MAX_OBJECTS}")
    from pypdf import PdfReader, apply_configuration
    from pypdf.errors import LimitReachedError
    from pypdf.generic import DictionaryObject

    tree_nodes = 2 * max_pages + 1024
    try:
        with apply_configuration(
            array_maximum_element_count=max(PDF_MAX_OBJECTS, tree_nodes),
            dictionary_maximum_element_count=10_000,
            page_tree_maximum_depth=PDF_MAX_TREE_DEPTH,
            page_tree_maximum_entries=tree_nodes,
            page_tree_maximum_page_entries=100 * tree_nodes,
            maximum_declared_stream_length=max(len(data), 1),
            zlib_maximum_output_length=PDF_MAX_STREAM_BYTES,
            lzw_maximum_output_length=PDF_MAX_STREAM_BYTES,
            run_length_maximum_output_length=PDF_MAX_STREAM_BYTES,
            brotli_maximum_output_length=PDF_MAX_STREAM_BYTES,
            jbig2_maximum_output_length=PDF_MAX_STREAM_BYTES,
            array_based_stream_maximum_output_length=PDF_MAX_STREAM_BYTES,
            stream_decoding_work_maximum_length=2 * PDF_MAX_STREAM_BYTES,
        ):
            reader = PdfReader(
                io.BytesIO(data),
                strict=False,
                root_object_recovery_limit=1000,
                xref_stream_maximum_entries=PDF_MAX_OBJECTS,
            )
            # The tree's own count first: a file that says it is too long is not walked.
            tree = reader.root_object.get("/Pages")
            tree = tree.get_object() if tree is not None else None
            declared = tree.get("/Count") if isinstance(tree, DictionaryObject) else None
            if isinstance(declared, int) and declared > max_pages:
                raise _too_many_pages(declared, max_pages)
            pages = len(reader.pages)
    except (Invalid, PayloadTooLarge):
        raise
    except LimitReachedError as exc:
        raise _pdf_too_complex(
            f"more than {max_pages} pages, or a page tree deeper than {PDF_MAX_TREE_DEPTH} "
            f"levels, or a part too large to read ({exc})"
        ) from exc
    except Exception as exc:  # any parser failure is the file's, never a 500
        raise _unreadable("PDF", exc) from exc
    if pages > max_pages:
        raise _too_many_pages(pages, max_pages)
    return pages


def _too_many_pages(pages: int, max_pages: int) -> Invalid:
    return Invalid(
        f"The file has {pages} pages; the limit is {max_pages}.",
        errors=[FieldError("file", f"at most {max_pages} pages")],
    )


def _pdf_too_complex(reason: str) -> Invalid:
    return Invalid(
        f"The PDF is too large or too complex to check: {reason}.",
        errors=[FieldError("file", "too many pages or objects")],
    )


# --- images ------------------------------------------------------------------------------


def image_size(data: bytes, media_type: str) -> tuple[int, int]:
    """Width and height from a PNG's IHDR or a JPEG's frame header, without decoding."""
    if media_type == PNG:
        # Signature, then the first chunk, which must be IHDR (13 bytes): width, height, ...
        if len(data) < 24 or data[12:16] != b"IHDR":
            raise _unreadable("image")
        width, height = struct.unpack(">II", data[16:24])
    else:
        width, height = _jpeg_size(data)
    if not (0 < width < 2**31 and 0 < height < 2**31):
        raise _unreadable("image")
    return width, height


def _jpeg_size(data: bytes) -> tuple[int, int]:
    position = 2  # after SOI
    for _ in range(JPEG_MAX_SEGMENTS):
        while position < len(data) and data[position] == 0xFF:
            position += 1  # a marker, possibly after fill bytes
        if position >= len(data):
            break
        marker = data[position]
        position += 1
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            continue  # no length
        if marker in (0xD8, 0xD9, 0xDA) or position + 2 > len(data):
            break  # a second SOI, the end, or the scan before any frame header
        (length,) = struct.unpack(">H", data[position : position + 2])
        if length < 2:
            break
        # SOF0-SOF15 except DHT (C4), JPG (C8) and DAC (CC): precision, height, width.
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if position + 7 > len(data):
                break
            height, width = struct.unpack(">HH", data[position + 3 : position + 7])
            return width, height
        position += length
    raise _unreadable("image")


def check_image(data: bytes, media_type: str, *, max_pixels: int) -> None:
    """Refuse an image whose dimensions (read from its header) exceed `max_pixels`."""
    width, height = image_size(data, media_type)
    if width * height > max_pixels:
        raise PayloadTooLarge(
            f"The image is {width}×{height} pixels ({width * height / 1e6:.1f} megapixels); "
            f"the limit is {max_pixels / 1e6:g} megapixels.",
            errors=[FieldError("file", f"at most {max_pixels} pixels")],
        )


# --- OFD (a ZIP package) -------------------------------------------------------------------


def _directory_size(data: bytes) -> tuple[int, int]:
    """Entries and central directory bytes a ZIP declares, read from its end records only."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 22 - 65535))
    if end < 0 or end + 22 > len(data):
        raise _unreadable("OFD package")
    entries, size = struct.unpack("<HI", data[end + 10 : end + 16])
    locator = end - 20
    if locator >= 0 and data[locator : locator + 4] == b"PK\x06\x07":
        # ZIP64: zipfile takes the counts from the record before the locator.
        record = locator - 56
        if record < 0 or data[record : record + 4] != b"PK\x06\x06":
            raise _unreadable("OFD package")
        entries, size = struct.unpack("<QQ", data[record + 32 : record + 48])
    return entries, size


def _open_package(data: bytes) -> zipfile.ZipFile:
    """The ZIP, opened only when its central directory is small enough to read."""
    entries, size = _directory_size(data)
    if entries > OFD_MAX_ENTRIES or size > OFD_MAX_DIRECTORY_BYTES:
        raise PayloadTooLarge(
            f"The OFD package has {entries} entries in a {size}-byte directory; "
            f"the limits are {OFD_MAX_ENTRIES} entries and {OFD_MAX_DIRECTORY_BYTES} bytes.",
            errors=[FieldError("file", f"at most {OFD_MAX_ENTRIES} entries")],
        )
    return zipfile.ZipFile(io.BytesIO(data))


def _unpacked_too_large(detail: str) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The OFD package is too large when unpacked: {detail}.",
        errors=[FieldError("file", "too large when unpacked")],
    )


def _check_entry(data: bytes, info: zipfile.ZipInfo) -> None:
    """Inflate one entry up to the size it declares, and check its length and CRC."""
    if info.flag_bits & 0x1:
        raise Invalid(
            "An OFD package may not be encrypted.",
            errors=[FieldError("file", "encrypted OFD package")],
        )
    header = info.header_offset
    if data[header : header + 4] != _ZIP or header + 30 > len(data):
        raise _unreadable("OFD package")
    name_length, extra_length = struct.unpack("<HH", data[header + 26 : header + 30])
    start = header + 30 + name_length + extra_length
    raw = data[start : start + info.compress_size]
    if len(raw) != info.compress_size:
        raise _unreadable("OFD package")
    crc = 0
    produced = 0
    if info.compress_type == zipfile.ZIP_STORED:
        crc, produced = zlib.crc32(raw), len(raw)
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        inflater = zlib.decompressobj(-15)
        pending = raw
        while pending and not inflater.eof:
            # At most one byte past the declared size: more means the size lies.
            chunk = inflater.decompress(pending, min(MIB, info.file_size - produced + 1))
            produced += len(chunk)
            crc = zlib.crc32(chunk, crc)
            if produced > info.file_size:
                raise _unpacked_too_large(f"{info.filename} holds more than it declares")
            pending = inflater.unconsumed_tail
            if not chunk and pending:
                break  # no progress: a corrupt stream
        if not inflater.eof:
            raise _unreadable("OFD package")
    else:
        raise Invalid(
            "An OFD package's entries must be stored or deflated.",
            errors=[FieldError("file", "unsupported compression in the OFD package")],
        )
    if produced != info.file_size or crc != info.CRC:
        raise _unreadable("OFD package")


def ofd_pages(data: bytes, *, max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED_BYTES) -> int | None:
    """Count the pages of an OFD package by its Doc_N/Pages/Page_N folders, after checking
    its entries: how many, how large unpacked (declared, then verified), how compressed."""
    try:
        with _open_package(data) as archive:
            infos = archive.infolist()
            if len(infos) > OFD_MAX_ENTRIES:
                raise _unpacked_too_large(f"{len(infos)} entries; the limit is {OFD_MAX_ENTRIES}")
            total = sum(info.file_size for info in infos)
            if total > max_unpacked_bytes:
                raise _unpacked_too_large(f"{total} bytes; the limit is {max_unpacked_bytes}")
            for info in infos:
                ratio = info.file_size / max(info.compress_size, 1)
                if info.file_size > OFD_RATIO_FLOOR and ratio > OFD_MAX_RATIO:
                    raise _unpacked_too_large(
                        f"{info.filename} is compressed {ratio:.0f} times; "
                        f"the limit is {OFD_MAX_RATIO}"
                    )
            for info in infos:
                _check_entry(data, info)
            names = archive.namelist()
    except (Invalid, PayloadTooLarge):
        raise
    except Exception as exc:  # a broken archive is the file's fault, never a 500
        raise _unreadable("OFD package", exc) from exc
    pages = {
        name.rsplit("/", 1)[0]
        for name in names
        if "/Pages/Page_" in name and name.endswith("Content.xml")
    }
    return len(pages) or None


# --- the whole check -----------------------------------------------------------------------


def inspect(
    data: bytes,
    *,
    max_bytes: int,
    max_pages: int,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED_BYTES,
) -> Detected:
    """Check size, type and pages of an upload; raise a clear error when it is refused."""
    if len(data) > max_bytes:
        raise PayloadTooLarge(
            f"The file is {len(data)} bytes; the limit is {max_bytes}.",
            errors=[FieldError("file", f"at most {max_bytes} bytes")],
        )
    if not data:
        raise Invalid("The file is empty.", errors=[FieldError("file", "empty file")])
    if data.startswith(_ZIP):
        # The package's limits are checked before anything else reads it (sniff included).
        with _open_package_or_unreadable(data) as archive:
            is_ofd = "OFD.xml" in archive.namelist()
        media_type = OFD if is_ofd else None
    else:
        media_type = sniff(data)
    if media_type is None:
        raise Invalid(
            "Only PDF, JPEG, PNG and OFD files are accepted (checked by content, not name).",
            errors=[FieldError("file", "not a PDF, JPEG, PNG or OFD file")],
        )
    pages: int | None = None
    if media_type == PDF:
        pages = pdf_pages(data, max_pages=max_pages)
    elif media_type == OFD:
        pages = ofd_pages(data, max_unpacked_bytes=max_unpacked_bytes)
    else:
        check_image(data, media_type, max_pixels=max_pixels)
        pages = 1
    if pages is not None and pages > max_pages:
        raise _too_many_pages(pages, max_pages)
    return Detected(hashlib.sha256(data).hexdigest(), media_type, len(data), pages)


def _open_package_or_unreadable(data: bytes) -> zipfile.ZipFile:
    try:
        return _open_package(data)
    except (Invalid, PayloadTooLarge):
        raise
    except Exception as exc:
        raise Invalid(
            "Only PDF, JPEG, PNG and OFD files are accepted (checked by content, not name).",
            errors=[FieldError("file", "not a PDF, JPEG, PNG or OFD file")],
        ) from exc


class BlobStore:
    """Files by SHA-256 under one directory; writes are atomic and idempotent."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        """Where the blob with this digest lives."""
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise Invalid("Bad digest.", errors=[FieldError("sha256", "64 lowercase hex")])
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes) -> str:
        """Store bytes (once) and return their SHA-256."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.exists():
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    def get(self, sha256: str) -> bytes:
        """The bytes of a stored blob."""
        return self.path(sha256).read_bytes()

    def exists(self, sha256: str) -> bool:
        """Whether the blob is stored."""
        return self.path(sha256).exists()


def accepted_media_types(formats: list[str]) -> set[str]:
    """Media types a catalog material accepts (all four when it names no electronic format)."""
    wanted = {FORMAT_WORDS[f.lower()] for f in formats if f.lower() in FORMAT_WORDS}
    return wanted or set(ACCEPTED_TYPES)
