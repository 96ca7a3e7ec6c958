"""Cases rules (办件) as other domains use them: the state machine, the clocks, and cases as
CaseViews, never rows; cases' own routes use the sub-modules directly.

The work is split by sub-domain: states.py (the transition table), clocks.py (working-day
deadlines), materials.py (file checks, blob store), uploads.py, offers.py (what the catalog
offers), checks.py (form and materials), intake.py (submission, routing),
handling.py (transitions), queries.py (reads, queue), receipts.py, notify.py.

Case numbers: `{node_region}-{yyyymmdd}-{12 Crockford base32}` (e.g. 440300-20260302-7KQ2M9XD4HZT):
the node's region code keeps them unique across nodes, the Asia/Shanghai date helps people, and
60 random bits make them non-guessable and reveal no volumes. Sub-cases of a bundle append
`-01`, `-02`... to the bundle's number.

Bundles (一件事): one submission (one form, one set of materials) makes a parent case
(kind "bundle", state in_progress, in no queue) and one sub-case per component routed to its
own department; each sub-case gets the materials its checklist names. When every sub-case has
finished, the parent becomes `completed` if all were completed with approval, otherwise
`partially_completed` (some refused, rejected or withdrawn); the parent takes no actions.

Materials: required materials must be attached, except those from government sources
(`source: government`, obtainable by sharing, which must not be collected again).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, load_only

from tongban.cases import handling, intake
from tongban.cases.clocks import SHANGHAI, Deadlines, deadlines, limit_due, local_date, urgency
from tongban.cases.cohandling import co_handled_remotely, done_steps, remote_steps
from tongban.cases.federated import (
    bundle_parts,
    case_record,
    follow_case,
    has_case,
    read_blob,
    receive_case,
    state_record,
)
from tongban.cases.handling import before_act, on_changed, on_forward
from tongban.cases.intake import new_case_number
from tongban.cases.materials import BlobStore, Detected, inspect, sniff
from tongban.cases.models import Case
from tongban.cases.notify import message_account
from tongban.cases.offers import Offer, find_offer
from tongban.cases.pdf_fonts import use as use_pdf_font
from tongban.cases.queries import my_cases, queue, read_case, reveal_applicant_id
from tongban.cases.receipts import qr_svg, receipt_pdf, tracking_url
from tongban.cases.received import existing_numbers, receive_cases
from tongban.cases.remote import (
    APPLICANT_ACTIONS,
    RemoteRequest,
    RemoteView,
    on_view,
    relayed_action,
)
from tongban.cases.remote_supplement import outgoing as supplement_payload
from tongban.cases.schemas import ActionIn, CaseCreate, MaterialRef, UploadRead
from tongban.cases.states import (
    FINAL_STATES,
    OPEN_STATES,
    TRANSITIONS,
    Action,
    Clock,
    Party,
    State,
    Transition,
    transition,
)

# Importing tracking registers it with identity: walk-in cases join an account on binding.
from tongban.cases.tracking import TrackRead, track_by_name, track_by_token
from tongban.identity import service as identity
from tongban.platform.config import Settings
from tongban.platform.db.fastpath.direct_sql import read_one
from tongban.platform.errors import NotFound

__all__ = [
    "APPLICANT_ACTIONS",
    "FINAL_STATES",
    "OPEN_STATES",
    "SHANGHAI",
    "TRANSITIONS",
    "Action",
    "ActionIn",
    "BlobStore",
    "CaseCreate",
    "CaseView",
    "Clock",
    "Deadlines",
    "Detected",
    "MaterialRef",
    "Offer",
    "Party",
    "RemoteRequest",
    "RemoteView",
    "State",
    "TrackRead",
    "Transition",
    "UploadRead",
    "act_on_case",
    "before_act",
    "bundle_parts",
    "case_record",
    "case_version",
    "co_handled_remotely",
    "deadlines",
    "done_steps",
    "existing_numbers",
    "file_case",
    "find_offer",
    "follow_case",
    "get_case",
    "get_cases",
    "has_case",
    "inspect",
    "limit_due",
    "local_date",
    "message_account",
    "my_cases",
    "new_case_number",
    "on_changed",
    "on_forward",
    "on_view",
    "qr_svg",
    "queue",
    "read_blob",
    "read_case",
    "receipt_pdf",
    "receive_case",
    "receive_cases",
    "relayed_action",
    "remote_steps",
    "reveal_applicant_id",
    "sniff",
    "state_record",
    "supplement_payload",
    "track_by_name",
    "track_by_token",
    "tracking_url",
    "transition",
    "upload_file",
    "urgency",
    "use_pdf_font",
]


@dataclass(frozen=True, slots=True)
class CaseView:
    """The facts of a case other domains decide on (who, what, where, which state, when)."""

    number: str
    kind: str
    state: str
    item_code: str | None
    item_name: str
    implementation_code: str | None
    department_id: int | None
    authority_code: str | None
    authority_region: str
    applicant_id: int | None
    filed_by_id: int | None
    channel: str
    service_point: str | None
    received_at: datetime
    closed_at: datetime | None
    due_date: date | None
    decision: str | None

    @classmethod
    def of(cls, row: Case) -> CaseView:
        """The view of a row."""
        return cls(
            number=row.number,
            kind=row.kind,
            state=row.state,
            item_code=row.item_code,
            item_name=row.item_name,
            implementation_code=row.implementation_code,
            department_id=row.department_id,
            authority_code=row.authority_code,
            authority_region=row.authority_region,
            applicant_id=row.applicant_id,
            filed_by_id=row.filed_by_id,
            channel=row.channel,
            service_point=row.service_point,
            received_at=row.received_at,
            closed_at=row.closed_at,
            due_date=row.due_date,
            decision=row.decision,
        )


# What a CaseView reads of a row: a list of views loads only these columns.
_VIEW_COLUMNS = [getattr(Case, f.name) for f in fields(CaseView)]
# Built once: other domains read a case's view on every step (an exchange fetch, the tracker),
# where building the ORM query cost four times running it (read_one).
_VIEW_BY_NUMBER = select(*_VIEW_COLUMNS).where(Case.number == bindparam("number"))


def get_case(session: Session, *, number: str) -> CaseView:
    """The case with this number, or NotFound."""
    row = read_one(session, _VIEW_BY_NUMBER, {"number": number})
    if row is None:
        raise NotFound(f"No case {number}.")
    return CaseView(*row)


def get_cases(session: Session, *, numbers: list[str]) -> dict[str, CaseView]:
    """The cases among these numbers, by number (unknown numbers are left out), read 500 to a
    query: for lists of cases another domain keeps (the GovStack adapter's files)."""
    wanted = list(dict.fromkeys(numbers))
    found: dict[str, CaseView] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        stmt = select(Case).options(load_only(*_VIEW_COLUMNS)).where(Case.number.in_(chunk))
        for row in session.scalars(stmt):
            found[row.number] = CaseView.of(row)
    return found


# Filing, acting and uploading for adapters above cases (the GovStack building block, #21):
# the same intake and handling as the routes, answered as views.


def file_case(
    session: Session,
    *,
    actor: identity.Actor,
    data: CaseCreate,
    settings: Settings,
    idempotency_key: str | None = None,
) -> tuple[CaseView, bool]:
    """Submit an application (intake.submit): the case's view and whether it is new."""
    case, created = intake.submit(
        session, actor=actor, data=data, settings=settings, idempotency_key=idempotency_key
    )
    return CaseView.of(case), created


def act_on_case(
    session: Session,
    *,
    actor: identity.Actor,
    number: str,
    action: str,
    body: ActionIn,
    settings: Settings,
) -> CaseView:
    """Take one action on a case (handling.act: checks, clocks, events, messages)."""
    return CaseView.of(
        handling.act(
            session, actor=actor, number=number, action=action, body=body, settings=settings
        )
    )


def case_version(session: Session, *, number: str) -> int:
    """The case's current version (what an action must send), or NotFound."""
    return handling.get_case(session, number=number).version


def upload_file(
    session: Session, *, actor: identity.Actor, data: bytes, settings: Settings
) -> UploadRead:
    """Check a file by content and store it as the caller's upload (intake.receive_upload)."""
    row = intake.receive_upload(session, actor=actor, data=data, settings=settings)
    return UploadRead(sha256=row.sha256, media_type=row.media_type, size=row.size, pages=row.pages)
