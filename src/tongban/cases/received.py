"""Many cases received from other nodes at once (issue #18): the rows `receive_case` stores
for one, for a whole batch a federation worker fetched, with one flush.

A batch of 200 transfers stored one by one paid a flush (and a look-up of each material's
upload) per case: half of a receiving node's work. Here the uploads already known are read
in one query, each new blob is stored once, and the cases, their materials and co-handling
steps go to the database as one multi-row INSERT per table (the unit of work would insert
cases one at a time: they refer to cases, their bundle). The rows are the same as
`receive_case`'s (tests/federation/test_batch_apply.py compares them); the caller records
the events.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from tongban.cases import clocks
from tongban.cases.federated import _DAYS, _MOMENTS, _PLAIN, _in
from tongban.cases.intake import _add_steps
from tongban.cases.models import Case, CaseMaterial, CaseStep, Upload
from tongban.cases.offers import Offer
from tongban.cases.uploads import blob_store
from tongban.platform.config import Settings
from tongban.platform.errors import FieldError, Invalid

# (the case's record as its filing node sent it, this node's offer of its implementation,
# the materials' bytes by SHA-256)
Received = tuple[dict[str, Any], Offer, dict[str, bytes]]


def existing_numbers(session: Session, *, numbers: Sequence[str]) -> set[str]:
    """Which of these case numbers this node holds already (one query)."""
    if not numbers:
        return set()
    return set(session.scalars(select(Case.number).where(Case.number.in_(list(numbers)))))


def _checked(material: dict[str, Any], blobs: dict[str, bytes]) -> bytes:
    sha = str(material["sha256"])
    data = blobs.get(sha)
    if data is None or hashlib.sha256(data).hexdigest() != sha:
        message = f"Material {material.get('name')!r} does not match its SHA-256."
        raise Invalid(message, errors=[FieldError("materials", message)])
    return data


def receive_cases(session: Session, *, received: Sequence[Received], settings: Settings) -> None:
    """Store cases other nodes filed for authorities here, as `receive_case` does each, with
    one flush; raises (Invalid, ValueError, KeyError, TypeError) on the first bad record,
    having stored nothing of it: the caller rolls back and takes them one by one."""
    store = blob_store(settings)
    shas = {str(m["sha256"]) for record, _, _ in received for m in record.get("materials", [])}
    known = set(session.scalars(select(Upload.sha256).where(Upload.sha256.in_(shas))))
    stored: set[str] = set()
    now = clocks.now()
    rows: list[dict[str, Any]] = []
    known_steps: dict[str, list[dict[str, Any]]] = {}
    for record, offer, blobs in received:
        for material in record.get("materials", []):
            sha = str(material["sha256"])
            data = _checked(material, blobs)
            if sha not in stored:
                store.put(data)
                stored.add(sha)
            if sha not in known:
                known.add(sha)
                session.add(
                    Upload(
                        sha256=sha,
                        media_type=str(material["media_type"]),
                        size=int(material["size"]),
                        pages=material.get("pages"),
                        uploaded_by_id=None,
                        created_at=now,
                    )
                )
        values = {name: _in(name, record.get(name)) for name in (*_PLAIN, *_MOMENTS, *_DAYS)}
        rows.append(
            {
                **values,
                "department_id": offer.department_id,
                "applicant_id": None,
                "filed_by_id": None,
                "payout_pending": False,
                "created_at": now,
                "updated_at": now,
                "version": 1,
            }
        )
    session.flush()  # the uploads
    session.execute(insert(Case), rows)
    # Their ids by number in one query (RETURNING in order would insert row by row on SQLite).
    numbers = [str(row["number"]) for row in rows]
    ids = dict(session.execute(select(Case.number, Case.id).where(Case.number.in_(numbers))).all())
    materials: list[dict[str, Any]] = []
    steps: list[dict[str, Any]] = []
    for number, (record, offer, _) in zip(numbers, received, strict=True):
        case_id = ids[number]
        materials += [
            {
                "case_id": case_id,
                "name": str(m["name"]),
                "sha256": str(m["sha256"]),
                "media_type": str(m["media_type"]),
                "size": int(m["size"]),
                "pages": m.get("pages"),
                "round": int(m.get("round") or 0),
                "added_by_id": None,
                "added_at": now,
            }
            for m in record.get("materials", [])
        ]
        steps += [{"case_id": case_id, **step} for step in _steps(session, offer, known_steps)]
    if materials:
        session.execute(insert(CaseMaterial), materials)
    if steps:
        session.execute(insert(CaseStep), steps)


def _steps(
    session: Session, offer: Offer, known: dict[str, list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """The co-handling steps of a joint case (联办), as `intake._add_steps` makes them, worked
    out once per implementation."""
    if offer.code not in known:
        probe = Case()
        _add_steps(session, probe, offer)
        known[offer.code] = [
            {
                "position": step.position,
                "authority_code": step.authority_code,
                "authority_name": step.authority_name,
                "region_code": step.region_code,
                "department_id": step.department_id,
            }
            for step in probe.steps
        ]
    return known[offer.code]
