"""Import of the catalog exchange format (YAML / JSON; Excel through workbook.py).

Import is all or nothing: the whole file is read (parsing.py) and validated first
(validation.py), and only then written (upsert.py), upserting by code.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.catalog import workbook
from tongban.catalog.models import CatalogRevision
from tongban.catalog.parsing import check_size, limit_or_default, parse_text
from tongban.catalog.upsert import apply_document
from tongban.catalog.validation import Issue, Problem, refuse, validate_document
from tongban.platform.errors import FieldError, Invalid

SEED_PATH = Path(__file__).parent / "data" / "seed_catalog.yaml"
ZIP_MAGIC = b"PK\x03\x04"


def import_document(
    session: Session,
    *,
    data: Any,
    source: str,
    actor_id: int | None = None,
    actor_role: str | None = None,
    channel: str = "system",
    locate: Callable[[Issue], Problem] | None = None,
) -> dict[str, Any]:
    """Validate and import a parsed YAML/JSON document, all or nothing; return the counts."""
    keep: list[Any] = []
    doc = validate_document(session, data, locate=locate, keep=keep)
    result = apply_document(
        session, doc, source=source, actor_id=actor_id, actor_role=actor_role, channel=channel
    )
    keep.clear()
    return result


def import_workbook(
    session: Session,
    *,
    content: bytes,
    source: str = "workbook.xlsx",
    max_bytes: int | None = None,
    actor_id: int | None = None,
    actor_role: str | None = None,
    channel: str = "system",
) -> dict[str, Any]:
    """Validate and import an Excel workbook (5 sheets), all or nothing; return the counts."""
    check_size(len(content), max_bytes=max_bytes)
    data, locate, issues = workbook.read(content, max_bytes=limit_or_default(max_bytes))
    if issues:
        # The layout's problems first: rows that point nowhere make their content's checks
        # meaningless (the wrong parent code is the one mistake to fix).
        raise refuse(issues, locate)
    return import_document(
        session,
        data=data,
        source=source,
        actor_id=actor_id,
        actor_role=actor_role,
        channel=channel,
        locate=locate,
    )


def import_bytes(
    session: Session,
    *,
    content: bytes,
    source: str,
    max_bytes: int | None = None,
    actor_id: int | None = None,
    actor_role: str | None = None,
    channel: str = "system",
) -> dict[str, Any]:
    """Import a file's bytes, recognizing Excel by its zip signature, else JSON or YAML."""
    check_size(len(content), max_bytes=max_bytes)
    if content.startswith(ZIP_MAGIC) or source.lower().endswith(".xlsx"):
        return import_workbook(
            session,
            content=content,
            source=source,
            max_bytes=max_bytes,
            actor_id=actor_id,
            actor_role=actor_role,
            channel=channel,
        )
    stripped = content.lstrip(b"\xef\xbb\xbf \t\r\n")
    kind = "json" if stripped[:1] in (b"{", b"[") else "yaml"
    return import_document(
        session,
        data=parse_text(content, kind=kind),
        source=source,
        actor_id=actor_id,
        actor_role=actor_role,
        channel=channel,
    )


def import_file(
    session: Session, *, path: Path | str, max_bytes: int | None = None
) -> dict[str, Any]:
    """Import a .yaml/.yml/.json/.xlsx file, all or nothing; return the counts."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".json", ".xlsx"):
        raise Invalid(
            f"Unsupported file type {suffix or '(none)'}.",
            errors=[FieldError("file", "use .yaml, .yml, .json or .xlsx")],
        )
    check_size(path.stat().st_size, max_bytes=max_bytes)
    content = path.read_bytes()
    if suffix == ".xlsx":
        return import_workbook(
            session, content=content, source=path.name, channel="cli", max_bytes=max_bytes
        )
    data = parse_text(content, kind="json" if suffix == ".json" else "yaml")
    return import_document(session, data=data, source=path.name, channel="cli")


def load_seed(session: Session, *, path: Path | None = None) -> int:
    """Import the shipped seed catalog (idempotent); the number of basic items, 0 if absent."""
    path = path or SEED_PATH
    if not path.exists():
        return 0
    data = parse_text(path.read_bytes(), kind="yaml")
    import_document(session, data=data, source=f"seed:{path.name}")
    return len(data.get("items") or []) if isinstance(data, dict) else 0


def check_workbook(content: bytes, *, max_bytes: int | None = None) -> None:
    """Refuse, before any parsing, what is over the limit or is no Excel workbook by content
    (a zip holding xl/workbook.xml), whatever its name says."""
    check_size(len(content), max_bytes=max_bytes)
    if not content.startswith(ZIP_MAGIC):
        raise workbook.not_a_workbook()
    workbook.check_zip(content, limit_or_default(max_bytes))


def revision_summary(session: Session, *, token: str) -> dict[str, Any] | None:
    """What the import that made this catalog revision created, updated and left unchanged."""
    row = session.scalar(select(CatalogRevision).where(CatalogRevision.token == token[:36]))
    return dict(row.summary) if row is not None else None


def latest_revision(session: Session) -> str:
    """The token of the catalog's latest import (the one this unit of work just made)."""
    token = session.scalar(select(CatalogRevision.token).order_by(CatalogRevision.id.desc()))
    return token or ""
