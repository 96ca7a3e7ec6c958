"""GovStack documents: uploads checked by content, with the node's limits (issue #21)."""

from __future__ import annotations

import base64
import binascii
import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.cases import service as cases
from tongban.govstack.clients import Client, record_call
from tongban.govstack.models import (
    GovstackDocument,
)
from tongban.platform.config import Settings
from tongban.platform.errors import FieldError, Invalid, NotFound


def upload_document(
    session: Session,
    *,
    client: Client,
    data: bytes,
    material: str | None,
    settings: Settings,
    base_url: str,
) -> dict[str, Any]:
    """Store a document as the client's upload (checked by content, size-limited)."""
    if not data:
        raise Invalid("The document is empty.", errors=[FieldError("file", "empty")])
    upload = cases.upload_file(session, actor=client.desk, data=data, settings=settings)
    row = GovstackDocument(
        document_id=secrets.token_hex(16),
        client_id=client.id,
        sha256=upload.sha256,
        media_type=upload.media_type,
        size=upload.size,
        material=(material or None) and str(material)[:200],
    )
    session.add(row)
    session.flush()
    record_call(
        session,
        client=client,
        operation="document.uploaded",
        data={"document": row.document_id, "media_type": upload.media_type, "size": upload.size},
        private={"sha256": upload.sha256, "material": row.material},
    )
    return {
        "code": 200,
        "type": upload.media_type,
        "message": f"Stored {upload.size} bytes ({upload.media_type}).",
        "url": f"{base_url}documents/{row.document_id}",
    }


def document(
    session: Session, *, client: Client, document_id: str, settings: Settings
) -> tuple[str, bytes]:
    """The media type and bytes of a document this client uploaded, or NotFound."""
    row = session.scalar(
        select(GovstackDocument).where(
            GovstackDocument.document_id == document_id[:40],
            GovstackDocument.client_id == client.id,
        )
    )
    if row is None:
        raise NotFound(f"No document {document_id[:40]!r}.")
    record_call(
        session, client=client, operation="document.read", data={"document": row.document_id}
    )
    return row.media_type, cases.BlobStore(settings.data_dir / "blobs").get(row.sha256)


def parse_document_payload(text: str) -> bytes:
    """The bytes of a base64 `file` field (standard or URL-safe alphabet), or Invalid."""
    cleaned = "".join(text.split())
    try:
        if "-" in cleaned or "_" in cleaned:
            return base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))
        return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise Invalid("`file` must be base64.", errors=[FieldError("file", "not base64")]) from None
