"""The checks of a submission against what the catalog offers: the form's fields and the
materials (the caller's own uploads, every required one named)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tongban.cases.models import Upload
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


def check_materials(
    session: Session, *, offers: list[Offer], refs: list[tuple[str, str]], require_all: bool
) -> list[Upload]:
    """Each reference names a checklist line and an uploaded file; required lines are covered.

    Materials from government sources (obtainable by sharing, 共享获取) are never demanded.
    """
    names = {m.name for o in offers for m in o.materials}
    errors: list[FieldError] = []
    uploads: list[Upload] = []
    for index, (name, sha) in enumerate(refs):
        row = session.get(Upload, sha.lower())
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
                    errors.append(FieldError("materials", f"required material missing: {m.name}"))
    if errors:
        # Name the first missing material in the detail so a clerk sees it at once.
        raise Invalid(f"Materials are incomplete or wrong: {errors[0].message}.", errors=errors)
    return uploads
