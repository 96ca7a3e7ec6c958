"""Uploads: type by content (magic bytes), limits, content-addressed storage."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.cases.conftest import PNG_BYTES, World, pdf_bytes
from tongban.cases import materials
from tongban.platform.config import Settings
from tongban.platform.errors import Invalid, PayloadTooLarge


def _ofd(pages: int = 2) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("OFD.xml", "<ofd:OFD/>")
        for n in range(pages):
            archive.writestr(f"Doc_0/Pages/Page_{n}/Content.xml", "<ofd:Page/>")
    return buffer.getvalue()


def test_detection_by_content_not_name() -> None:
    assert materials.sniff(PNG_BYTES) == materials.PNG
    assert materials.sniff(b"\xff\xd8\xff\xe0rest") == materials.JPEG
    assert materials.sniff(pdf_bytes()) == materials.PDF
    assert materials.sniff(_ofd()) == materials.OFD
    plain_zip = io.BytesIO()
    with zipfile.ZipFile(plain_zip, "w") as archive:
        archive.writestr("readme.txt", "x")
    assert materials.sniff(plain_zip.getvalue()) is None
    assert materials.sniff(b"hello, I am text") is None


def test_limits() -> None:
    assert materials.inspect(pdf_bytes(3), max_bytes=10**6, max_pages=5).pages == 3
    assert materials.inspect(_ofd(4), max_bytes=10**6, max_pages=5).pages == 4
    with pytest.raises(Invalid, match="pages"):
        materials.inspect(pdf_bytes(6), max_bytes=10**6, max_pages=5)
    with pytest.raises(PayloadTooLarge):
        materials.inspect(PNG_BYTES, max_bytes=10, max_pages=5)
    with pytest.raises(Invalid, match="cannot be read"):
        materials.inspect(b"%PDF-1.7 garbage", max_bytes=10**6, max_pages=5)


def test_blob_store_is_content_addressed_and_atomic(tmp_path: Path) -> None:
    store = materials.BlobStore(tmp_path / "blobs")
    digest = store.put(PNG_BYTES)
    assert store.put(PNG_BYTES) == digest
    path = store.path(digest)
    assert path.parent.name == digest[:2] and path.read_bytes() == PNG_BYTES
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".tmp-")]
    with pytest.raises(Invalid):
        store.path("../../etc/passwd")


def test_upload_api(client: TestClient, world: World, settings: Settings) -> None:
    # A PNG renamed .pdf is detected as a PNG.
    r = client.post(
        "/api/v1/uploads", headers=world.h("clerk"), files={"file": ("scan.pdf", PNG_BYTES)}
    )
    assert r.status_code == 201 and r.json()["media_type"] == "image/png"
    sha = r.json()["sha256"]
    assert (settings.data_dir / "blobs" / sha[:2] / sha).read_bytes() == PNG_BYTES
    # A text file named x.pdf is refused.
    r = client.post(
        "/api/v1/uploads", headers=world.h("clerk"), files={"file": ("x.pdf", b"just text")}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "file"
    r = client.post(
        "/api/v1/uploads", headers=world.h("clerk"), files={"file": ("a.pdf", pdf_bytes(2))}
    )
    assert r.json()["pages"] == 2 and r.json()["media_type"] == "application/pdf"
    r = client.post(
        "/api/v1/uploads", headers=world.h("official"), files={"file": ("a.png", PNG_BYTES)}
    )
    assert r.status_code == 403
    r = client.post("/api/v1/uploads", files={"file": ("a.png", PNG_BYTES)})
    assert r.status_code == 401
