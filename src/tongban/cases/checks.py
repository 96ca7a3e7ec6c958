"""The checks of a submission against what the catalog offers: the form's fields and the
materials (the caller's own uploads, every required one named).

Uploads are kept once per content (by SHA-256), but belong to whoever uploaded them: the first
uploader (`Upload.uploaded_by_id`) and each later uploader of the same bytes (`UploadOwner`).
A submission or a supplement attaches only uploads of its `owners` (the caller, and the person
they act for under an authorisation); anyone else's is answered exactly like an unknown hash,
so a refusal tells nothing about other people's files.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tongban.cases.models import Upload, UploadOwner
from tongban.cases.offers import Offer
from tongban.platform.errors import FieldError, Invalid

# --- checks ----------------------------------------------------------------------------------


def check_form(offers: list[Offer], form: dict[str, Any]) -> None:
    """Required form fields present, typed values well formed."""
    errors: list[FieldError] = []
    seen: set[str] = set()
    for offer in offers:
        for spec in offer.form_fields:
            name = str(spec.get("name"))
            if name in seen:
                continue
            seen.add(name)
            value = form.get(name)
            if value in (None, ""):
                if spec.get("required"):
                    errors.append(
                        FieldError(f"form.{name}", f"{spec.get('label', name)} is required")
                    )
                continue
            kind = spec.get("type", "text")
            if kind == "number" and not isinstance(value, (int, float)):
                errors.append(FieldError(f"form.{name}", "must be a number"))
            elif kind == "choice" and value not in (spec.get("choices") or []):
                errors.append(FieldError(f"form.{name}", "must be one of the choices"))
            elif kind == "date":
                try:
                    datetime.strptime(str(value), "%Y-%m-%d")
                except ValueError:
                    errors.append(FieldError(f"form.{name}", "must be a date YYYY-MM-DD"))
    if errors:
        raise Invalid("The form has missing or wrong fields.", errors=errors)


def record_uploader(session: Session, *, row: Upload, account_id: int) -> None:
    """Remember that this account uploaded these bytes too (the first uploader is on the row)."""
    if row.uploaded_by_id == account_id:
        return
    if session.get(UploadOwner, (row.sha256, account_id)) is not None:
        return
    try:
        with session.begin_nested():
            session.add(UploadOwner(sha256=row.sha256, account_id=account_id))
            session.flush()
    except IntegrityError:
        pass  # the same account uploaded the same bytes at the same moment: it is recorded


def owned_uploads(
    session: Session, *, shas: Collection[str], owners: Collection[int] | None
) -> dict[str, Upload]:
    """The uploads among these digests that one of `owners` uploaded, by digest. `None`: an
    action another node relayed, whose files came with it (stored here, checked by digest on
    arrival, cases/remote.py): every stored one of them."""
    wanted = {sha.lower() for sha in shas}
    if not wanted or (owners is not None and not owners):
        return {}
    rows = {
        row.sha256: row
        for row in (session.get(Upload, sha) for sha in sorted(wanted))
        if row is not None
    }
    if owners is None:
        return rows
    found = {sha: row for sha, row in rows.items() if row.uploaded_by_id in owners}
    later = set(rows) - set(found)
    if later:
        for sha in session.scalars(
            select(UploadOwner.sha256).where(
                UploadOwner.sha256.in_(sorted(later)), UploadOwner.account_id.in_(sorted(owners))
            )
        ):
            found[sha] = rows[sha]
    return found


def check_materials(
    session: Session,
    *,
    offers: list[Offer],
    refs: list[tuple[str, str]],
    require_all: bool,
    owners: Collection[int] | None,
    satisfied: Collection[str] = (),
) -> list[Upload]:
    """Each reference names a checklist line and a file one of `owners` uploaded; required
    lines are covered.

    Materials from government sources (obtainable by sharing, 共享获取) are never demanded.
    """
    names = {m.name for o in offers for m in o.materials}
    errors: list[FieldError] = []
    uploads: list[Upload] = []
    owned = owned_uploads(session, shas=[sha for _, sha in refs], owners=owners)
    for index, (name, sha) in enumerate(refs):
        row = owned.get(sha.lower())
        if name not in names:
            errors.append(
                FieldError(f"materials[{index}].name", f"{name!r} is not on the checklist")
            )
        if row is None:
            errors.append(
                FieldError(f"materials[{index}].sha256", "no such upload; upload it first")
            )
        else:
            uploads.append(row)
    if require_all:
        given = {name for name, _ in refs}
        for offer in offers:
            for m in offer.materials:
                if m.required == "yes" and m.source != "government" and m.name not in given:
                    if m.name in satisfied:  # an e-licence stood in for it (免证办)
                        continue
                    errors.append(FieldError("materials", f"required material missing: {m.name}"))
    if errors:
        # Name the first missing material in the detail so a clerk sees it at once.
        raise Invalid(f"Materials are incomplete or wrong: {errors[0].message}.", errors=errors)
    return uploads
