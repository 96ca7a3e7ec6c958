"""Cases that travel between nodes (issue #18): what a node sends of a case, the case a node
receives for its authority, and the tracking copy the filing node keeps up to date.

Federation (a higher domain) carries these records over NATS; cases only turns a case into a
record and back. A bundle (一件事) is not transferred: each of its parts is, to the node of its
own authority, and the bundle here settles as its parts' copies finish. Dates go as ISO
strings; the receiving node takes the department (and the co-handling steps of a joint case)
from its own catalog (department ids are local) and keeps no account ids of the other node.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.cases import clocks, remote_supplement
from tongban.cases.handling import IN_HAND, _settle_bundle, get_case
from tongban.cases.intake import _add_steps
from tongban.cases.models import Case, CaseMaterial, Upload
from tongban.cases.offers import Offer
from tongban.cases.states import State
from tongban.cases.uploads import blob_store
from tongban.platform.config import Settings
from tongban.platform.errors import FieldError, Invalid

# The states in which a part of a bundle has finished (handling._settle_bundle).
_PART_DONE = frozenset({State.COMPLETED, State.NOT_ACCEPTED, State.WITHDRAWN})

# The columns a transfer carries as they are (text, numbers, JSON).
_PLAIN = (
    "number",
    "kind",
    "item_code",
    "item_name",
    "implementation_code",
    "case_type",
    "authority_code",
    "authority_name",
    "authority_region",
    "applicant_name",
    "applicant_id_masked",
    "filed_by_role",
    "channel",
    "service_point",
    "identity_confirmed",
    "form_data",
    "state",
    "acceptance_limit",
    "promised_value",
    "promised_unit",
    "statutory_value",
    "statutory_unit",
    "acceptance_paused_wd",
    "acceptance_paused_nd",
    "handling_paused_wd",
    "handling_paused_nd",
    "decision",
    "decision_text",
    "reason",
    "missing",
)
_MOMENTS = ("received_at", "accepted_at", "decided_at", "closed_at")
_DAYS = ("acceptance_due", "promised_due", "statutory_due", "due_date")
# What the authority's node sends back after each change (the tracking copy follows).
_FOLLOWED = (
    "state",
    "decision",
    "decision_text",
    "reason",
    "missing",
    "acceptance_paused_wd",
    "acceptance_paused_nd",
    "handling_paused_wd",
    "handling_paused_nd",
    *_MOMENTS,
    *_DAYS,
)


def _out(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def _in(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in _MOMENTS:
        return datetime.fromisoformat(str(value))
    if name in _DAYS:
        return date.fromisoformat(str(value))
    return value


def _case(session: Session, number: str) -> Case:
    """The case in hand while the after-change hooks run (handling.changed), if it is this
    one and unchanged since it was stored; else the case read (its changes flushed first)."""
    case = session.info.get(IN_HAND)
    if isinstance(case, Case) and case.number == number and not session.is_modified(case):
        return case
    return get_case(session, number=number)


def case_record(session: Session, *, number: str) -> dict[str, Any]:
    """The record of a case that goes to its authority's node (materials by SHA-256)."""
    case = _case(session, number)
    record = {name: _out(getattr(case, name)) for name in (*_PLAIN, *_MOMENTS, *_DAYS)}
    record["version"] = case.version
    record["materials"] = [
        {
            "name": m.name,
            "sha256": m.sha256,
            "media_type": m.media_type,
            "size": m.size,
            "pages": m.pages,
            "round": m.round,
        }
        for m in case.materials
    ]
    return record


def state_record(session: Session, *, number: str) -> dict[str, Any]:
    """What a tracking copy of the case follows (its state, decision, clock), with its version."""
    case = get_case(session, number=number)
    record = {name: _out(getattr(case, name)) for name in _FOLLOWED}
    record["version"] = case.version
    # A 补正 request's items: the applicant side answers them on the copy.
    record["supplement_items"] = remote_supplement.items_record(case)
    return record


def read_blob(settings: Settings, *, sha256: str) -> bytes:
    """The bytes of a material from this node's blob store."""
    return blob_store(settings).path(sha256).read_bytes()


def has_case(session: Session, *, number: str) -> bool:
    """Whether this node holds a case with this number."""
    return session.scalar(select(Case.id).where(Case.number == number)) is not None


def receive_case(
    session: Session,
    *,
    record: dict[str, Any],
    offer: Offer,
    blobs: dict[str, bytes],
    settings: Settings,
) -> str:
    """Store a case another node filed for an authority here (its number unchanged); the
    materials' bytes are checked against their SHA-256. The caller records the event."""
    store = blob_store(settings)
    for material in record.get("materials", []):
        sha = str(material["sha256"])
        data = blobs.get(sha)
        if data is None or hashlib.sha256(data).hexdigest() != sha:
            message = f"Material {material.get('name')!r} does not match its SHA-256."
            raise Invalid(message, errors=[FieldError("materials", message)])
        store.put(data)
        if session.get(Upload, sha) is None:
            session.add(
                Upload(
                    sha256=sha,
                    media_type=str(material["media_type"]),
                    size=int(material["size"]),
                    pages=material.get("pages"),
                    uploaded_by_id=None,
                    created_at=clocks.now(),
                )
            )
    values = {name: _in(name, record.get(name)) for name in (*_PLAIN, *_MOMENTS, *_DAYS)}
    now = clocks.now()
    case = Case(
        **values,
        department_id=offer.department_id,
        applicant_id=None,
        filed_by_id=None,
        payout_pending=False,
        created_at=now,
        updated_at=now,
    )
    case.materials = [
        CaseMaterial(
            name=str(m["name"]),
            sha256=str(m["sha256"]),
            media_type=str(m["media_type"]),
            size=int(m["size"]),
            pages=m.get("pages"),
            round=int(m.get("round") or 0),
            added_by_id=None,
            added_at=now,
        )
        for m in record.get("materials", [])
    ]
    # Joint handling (联办): the co-handling steps of the authority's own catalog, each for
    # a department of this node (department ids are local), done before the decision.
    _add_steps(session, case, offer)
    session.add(case)
    session.flush()
    return case.number


def follow_case(session: Session, *, number: str, record: dict[str, Any]) -> str:
    """Bring a tracking copy to the state its authority's node reported; the state before."""
    case = get_case(session, number=number)
    before = case.state
    for name in _FOLLOWED:
        if name in record:
            setattr(case, name, _in(name, record[name]))
    remote_supplement.follow_items(case, record.get("supplement_items"))
    case.updated_at = clocks.now()
    session.flush()
    if case.parent_id is not None and before != case.state and case.state in _PART_DONE:
        # A part of a bundle (一件事) handled on another node finished: the bundle here
        # settles by its own rule, as when a part handled here finishes.
        _settle_bundle(session, case=case, settings=None)
    return before


def bundle_parts(session: Session, *, number: str) -> list[str]:
    """The numbers of a bundle's sub-cases, in order ([] for a single case)."""
    case = get_case(session, number=number)
    if case.kind != "bundle":
        return []
    return list(
        session.scalars(select(Case.number).where(Case.parent_id == case.id).order_by(Case.number))
    )
