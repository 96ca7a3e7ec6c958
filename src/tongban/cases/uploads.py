"""Uploads: a file checked by its content (materials.py), stored by SHA-256 in the node's blob
store, its metadata kept for the case that names it."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy.orm import Session

from tongban.cases import clocks
from tongban.cases.materials import BlobStore, inspect
from tongban.cases.models import Upload
from tongban.identity import service as identity
from tongban.identity.service import Actor
from tongban.platform.config import Settings
from tongban.platform.errors import FieldError, Invalid


def blob_store(settings: Settings) -> BlobStore:
    """The node's blob store under its data directory."""
    return BlobStore(settings.data_dir / "blobs")


def upload(session: Session, *, actor: Actor, data: bytes, settings: Settings) -> Upload:
    """Check a file by content, store it by SHA-256, and remember its metadata."""
    identity.authorize(actor, "case.upload")
    return store(session, actor=actor, data=data, settings=settings)


def store(
    session: Session,
    *,
    actor: Actor,
    data: bytes,
    settings: Settings,
    media_types: Collection[str] | None = None,
    refused: str = "This type of file is not accepted here.",
) -> Upload:
    """Check a file by content (Invalid with `refused` when its type is not one of
    `media_types`), store it by SHA-256 and remember its metadata; the caller authorized."""
    detected = inspect(
        data,
        max_bytes=settings.upload_max_bytes,
        max_pages=settings.upload_max_pages,
        max_pixels=settings.upload_max_pixels,
        max_unpacked_bytes=settings.upload_max_unpacked_bytes,
    )
    if media_types is not None and detected.media_type not in media_types:
        raise Invalid(refused, errors=[FieldError("file", refused)])
    blob_store(settings).put(data)
    row = session.get(Upload, detected.sha256)
    if row is None:
        row = Upload(
            sha256=detected.sha256,
            media_type=detected.media_type,
            size=detected.size,
            pages=detected.pages,
            uploaded_by_id=actor.account_id,
            created_at=clocks.now(),
        )
        session.add(row)
        session.flush()
    return row
