"""Results (办理结果): the decision document an official attaches when deciding a case, and
its opening by the applicant, their agent or the deciding officials.

The document is a PDF or OFD file, checked by its content and size with the uploads' checks
(materials.inspect) and kept in the same blob store. It is attached to the decision actions
(approve, reject, refuse, complete) by its SHA-256; only the official who uploaded it may
attach it. Each opening by someone other than the applicant is an event on the case's
timeline, like a look at the materials: the applicant sees who opened their result.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy.orm import Session

from tongban.cases import clocks, decisions, uploads
from tongban.cases.checks import owned_uploads, record_uploader
from tongban.cases.materials import OFD, PDF
from tongban.cases.models import Case, Upload
from tongban.cases.states import Action, State
from tongban.events import service as events
from tongban.events.service import Channel
from tongban.identity import service as identity
from tongban.identity.service import Actor, Role
from tongban.platform.config import Settings
from tongban.platform.errors import FieldError, Forbidden, Invalid, NotFound

RESULT_TYPES = (PDF, OFD)
# The actions that decide a case and may carry its decision document.
DECIDING = (Action.APPROVE, Action.REJECT, Action.REFUSE, Action.COMPLETE)
# The states in which a case has a result to notify (办理结果告知书): decided or refused.
DECIDED_STATES = frozenset({State.APPROVED, State.REJECTED, State.COMPLETED, State.NOT_ACCEPTED})


def _invalid(field_name: str, message: str) -> Invalid:
    return Invalid(message, errors=[FieldError(field_name, message)])


def _authority(case: Case) -> dict[str, object]:
    return {"department_id": case.department_id, "region_code": case.authority_region}


def receive(
    session: Session, *, actor: Actor, case: Case, data: bytes, settings: Settings
) -> Upload:
    """Check (PDF or OFD, by content and size) and store a decision document for a case the
    official's department decides; the caller has checked that they may read the case."""
    identity.authorize(actor, "case.approve")  # the deciding role first: a clear 403
    identity.authorize(actor, "case.approve", _authority(case))
    row = uploads.store(
        session,
        actor=actor,
        data=data,
        settings=settings,
        media_types=RESULT_TYPES,
        refused="A decision document is a PDF or OFD file.",
    )
    record_uploader(session, row=row, account_id=actor.account_id)
    return row


def check_document(
    session: Session, *, sha256: str, action: Action, owners: Collection[int]
) -> None:
    """Invalid unless the action decides the case and the document is the caller's own PDF
    or OFD upload."""
    if action not in DECIDING:
        raise _invalid(
            "result_document",
            "A decision document goes with a decision (approve, reject, refuse or complete).",
        )
    row = owned_uploads(session, shas=[sha256], owners=owners).get(sha256.lower())
    if row is None:
        raise _invalid("result_document", "No such upload; upload the result document first.")
    if row.media_type not in RESULT_TYPES:
        raise _invalid("result_document", "A decision document is a PDF or OFD file.")


def attach(case: Case, action: Action, sha256: str | None) -> None:
    """Keep the decision's document on the case (a decision without one keeps none, a later
    step without one keeps the earlier)."""
    if action in (Action.APPROVE, Action.REJECT):
        case.result_document = sha256.lower() if sha256 else None
    elif action in DECIDING and sha256:
        case.result_document = sha256.lower()


def subject_part(case: Case) -> dict[str, Any]:
    """The personal part of an event that uses the applicant's data: who the data is about
    (committed to beside the event, never in the leaf; the applicant's own receipt opens it
    to prove the step is about them, consent/tracker.py)."""
    return {"subject": {"name": case.applicant_name, "resident_id": case.applicant_id_masked}}


def open_result(
    session: Session, *, actor: Actor, case: Case, settings: Settings
) -> tuple[Upload, bytes]:
    """The case's decision document for the applicant, their agent and the deciding officials
    (the caller has checked that they may read the case); others' openings are recorded."""
    if actor.role not in (Role.CITIZEN, Role.OFFICIAL):
        raise Forbidden(
            "The decision document is for the applicant, their authorised agent and the "
            "deciding officials."
        )
    if actor.role is Role.OFFICIAL:
        identity.authorize(actor, "case.approve", _authority(case))
    if not case.result_document:
        raise NotFound(f"Case {case.number} has no decision document.")
    row = session.get(Upload, case.result_document)
    if row is None:
        raise NotFound(f"Case {case.number} has no decision document.")
    data = uploads.blob_store(settings).get(row.sha256)
    if actor.account_id != case.applicant_id:
        events.record(
            session,
            action="case.result_viewed",
            resource_type="case",
            resource_id=case.number,
            channel=Channel.API if actor.token_id else Channel.ONLINE,
            actor_id=actor.account_id,
            actor_role=str(actor.role),
            data={"department": actor.department_code} if actor.department_code else {},
            # Which file was read stays beside the event, like a material's digest.
            private={"sha256": row.sha256},
            personal=subject_part(case),
        )
    return row, data


def state_words(session: Session, case: Case) -> dict[str, str]:
    """The msgids of a decided state in the item type's words (准予许可 only for a licence)."""
    words = decisions.words_of_item(session, case.item_code)
    return {str(State.APPROVED): words.approved, str(State.REJECTED): words.rejected}


def notice_facts(session: Session, case: Case, receipt_facts: dict[str, Any]) -> dict[str, Any]:
    """What the result notice prints: the receipt's facts and the decision (the decision
    itself, granted or refused, rather than "completed"), its date, text and reason; NotFound
    while the case has no result (and for bundles, whose sub-cases have them)."""
    if case.kind == "bundle" or case.state not in DECIDED_STATES:
        raise NotFound(f"Case {case.number} has no result yet.")
    moment = case.decided_at or case.closed_at
    refused = case.decision == "rejected" or case.state == State.NOT_ACCEPTED
    return {
        **receipt_facts,
        "state": case.decision or case.state,
        "state_words": state_words(session, case),
        "decided": clocks.local_date(moment).isoformat() if moment else "",
        "decision_text": case.decision_text or "",
        # A refusal's reason (a special procedure's reason may sit in the same column).
        "reason": (case.reason or "") if refused else "",
    }
