"""Uploaded materials: type detection by content, page limits, and the content-addressed store.

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
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from tongban.platform.errors import FieldError, Invalid, PayloadTooLarge

log = logging.getLogger(__name__)

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
OFD = "application/ofd"
ACCEPTED_TYPES = (PDF, JPEG, PNG, OFD)
# Catalog `formats` words that name electronic file types, mapped to media types.
FORMAT_WORDS = {"pdf": PDF, "jpg": JPEG, "jpeg": JPEG, "png": PNG, "ofd": OFD}


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
    if data.startswith(b"PK\x03\x04") and _is_ofd(data):
        return OFD
    return None


def _is_ofd(data: bytes) -> bool:
    # GB/T 33190: an OFD package is a ZIP whose root holds OFD.xml.
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "OFD.xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


def pdf_pages(data: bytes) -> int:
    """Count the pages of a PDF (pypdf reads cross-reference streams and object streams)."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        return len(PdfReader(io.BytesIO(data), strict=False).pages)
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, AssertionError) as exc:
        raise Invalid(
            "The PDF cannot be read.", errors=[FieldError("file", f"unreadable PDF: {exc}")]
        ) from exc


def ofd_pages(data: bytes) -> int | None:
    """Count the pages of an OFD package by its Doc_N/Pages/Page_N folders."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        pages = {
            name.rsplit("/", 1)[0]
            for name in archive.namelist()
            if "/Pages/Page_" in name and name.endswith("Content.xml")
        }
    return len(pages) or None


def inspect(data: bytes, *, max_bytes: int, max_pages: int) -> Detected:
    """Check size, type and pages of an upload; raise a clear error when it is refused."""
    if len(data) > max_bytes:
        raise PayloadTooLarge(
            f"The file is {len(data)} bytes; the limit is {max_bytes}.",
            errors=[FieldError("file", f"at most {max_bytes} bytes")],
        )
    if not data:
        raise Invalid("The file is empty.", errors=[FieldError("file", "empty file")])
    media_type = sniff(data)
    if media_type is None:
        raise Invalid(
            "Only PDF, JPEG, PNG and OFD files are accepted (checked by content, not name).",
            errors=[FieldError("file", "not a PDF, JPEG, PNG or OFD file")],
        )
    pages: int | None = None
    if media_type == PDF:
        pages = pdf_pages(data)
    elif media_type == OFD:
        pages = ofd_pages(data)
    elif media_type in (JPEG, PNG):
        pages = 1
    if pages is not None and pages > max_pages:
        raise Invalid(
            f"The file has {pages} pages; the limit is {max_pages}.",
            errors=[FieldError("file", f"at most {max_pages} pages")],
        )
    return Detected(hashlib.sha256(data).hexdigest(), media_type, len(data), pages)


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
