"""Public read routes of the ledger: auditors are anyone, so no route asks for an actor."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from starlette.responses import PlainTextResponse

from tongban.ledger import service as ledger
from tongban.ledger.schemas import (
    ConsistencyProofRead,
    EntryRead,
    InclusionProofRead,
    KeyRead,
    ReceiptRead,
)
from tongban.platform.web.deps import AppSettings, DbSession

router = APIRouter(prefix="/ledger", tags=["ledger"])

_MAX = 2**63


@router.get("/checkpoint", response_class=PlainTextResponse)
def get_checkpoint(session: DbSession) -> PlainTextResponse:
    """The latest signed checkpoint (C2SP tlog-checkpoint signed note)."""
    note = ledger.latest_checkpoint(session).note
    return PlainTextResponse(note, media_type="text/plain; charset=utf-8")


@router.get("/key", response_model=KeyRead)
def get_key(settings: AppSettings) -> KeyRead:
    """The node's public key as a C2SP verifier key string."""
    return KeyRead(origin=ledger.log_origin(settings), verifier_key=ledger.public_key(settings))


@router.get("/entries/{index}", response_model=EntryRead)
def get_entry(
    index: Annotated[int, Path(ge=0, lt=_MAX, description="Leaf index.")], session: DbSession
) -> EntryRead:
    """One entry: the canonical JSON text and its leaf hash."""
    return EntryRead(**ledger.entry(session, index=index))


@router.get("/proof/inclusion", response_model=InclusionProofRead)
def get_inclusion_proof(
    session: DbSession,
    index: Annotated[int, Query(ge=0, lt=_MAX, description="Leaf index.")],
    size: Annotated[
        int | None, Query(ge=1, lt=_MAX, description="Tree size (default: latest checkpoint).")
    ] = None,
) -> InclusionProofRead:
    """The inclusion proof of leaf `index` in the tree of `size` leaves."""
    return InclusionProofRead(**ledger.inclusion_proof(session, index=index, size=size))


@router.get("/proof/consistency", response_model=ConsistencyProofRead)
def get_consistency_proof(
    session: DbSession,
    old: Annotated[int, Query(ge=0, lt=_MAX, description="Older tree size.")],
    new: Annotated[
        int | None, Query(ge=0, lt=_MAX, description="Newer tree size (default: latest).")
    ] = None,
) -> ConsistencyProofRead:
    """The consistency proof from the tree of `old` leaves to the tree of `new` leaves."""
    return ConsistencyProofRead(**ledger.consistency_proof(session, old=old, new=new))


@router.get("/receipts/{event_uid}", response_model=ReceiptRead)
def get_receipt(
    event_uid: Annotated[str, Path(min_length=1, max_length=36)], session: DbSession
) -> ReceiptRead:
    """A self-contained receipt for one event (verify with `tongban ledger verify-receipt`)."""
    return ReceiptRead(**ledger.receipt_for_event(session, event_uid=event_uid))
