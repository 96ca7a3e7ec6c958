"""Public routes of the ledger: auditors are anyone, so no route asks for an actor; nor does the
witness, which other nodes' pushers call (C2SP tlog-witness: text bodies, not JSON)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.responses import PlainTextResponse, Response

from tongban.ledger import service as ledger
from tongban.ledger.schemas import (
    ConsistencyProofRead,
    EntryRead,
    InclusionProofRead,
    KeyRead,
    ReceiptRead,
)
from tongban.platform.errors import problem
from tongban.platform.web.deps import AppSettings, DbSession

router = APIRouter(prefix="/ledger", tags=["ledger"])

_MAX = 2**63


@router.get("/checkpoint", response_class=PlainTextResponse)
def get_checkpoint(
    session: DbSession,
    cosigned: Annotated[
        int,
        Query(
            ge=0,
            le=99,
            description="Serve the newest checkpoint cosigned by at least this many witnesses "
            "(default 0: the latest).",
        ),
    ] = 0,
) -> PlainTextResponse:
    """The latest signed checkpoint (C2SP tlog-checkpoint signed note), followed by the
    cosignature lines of the witnesses that cosigned it."""
    note = ledger.served_checkpoint(session, cosigned=cosigned).note
    return PlainTextResponse(note, media_type="text/plain; charset=utf-8")


@router.get("/key", response_model=KeyRead)
def get_key(settings: AppSettings) -> KeyRead:
    """The node's public key as a C2SP verifier key string, and its witness's key."""
    return KeyRead(
        origin=ledger.log_origin(settings),
        verifier_key=ledger.public_key(settings),
        witness_key=ledger.witness_signer(settings).verifier.vkey(),
    )


async def _raw_body(request: Request) -> bytes:
    """The request body as sent (the witness protocol's text, read before the unit thread)."""
    return await request.body()


# The protocol's refusals as problem documents (their statuses are the protocol's).
_REFUSALS = {
    400: ("bad-request", "Not an add-checkpoint request"),
    403: ("forbidden", "Not signed by the log's key"),
    404: ("not-found", "A log this witness does not cosign"),
    413: ("payload-too-large", "Payload too large"),
    422: ("invalid", "The consistency proof does not verify"),
}


@router.post("/witness/add-checkpoint", response_class=PlainTextResponse)
def add_checkpoint(
    request: Request,
    body: Annotated[bytes, Depends(_raw_body)],
    session: DbSession,
    settings: AppSettings,
) -> Response:
    """C2SP tlog-witness add-checkpoint: cosign another node's checkpoint (a log of the node
    directory, or one configured) if it is consistent with the last one cosigned. The answer
    is the cosignature line; 409 answers the size last cosigned (`text/x.tlog.size`), as the
    protocol says; other refusals are problem documents."""
    try:
        line = ledger.cosign_checkpoint(session, settings=settings, body=body)
    except ledger.WitnessError as exc:
        if exc.status == 409:
            return PlainTextResponse(exc.body, status_code=409, media_type=exc.content_type)
        code, title = _REFUSALS.get(exc.status, ("bad-request", "Bad request"))
        return problem(
            status=exc.status if exc.status in _REFUSALS else 400,
            code=code,
            title=title,
            detail=exc.message,
            instance=request.url.path,
        )
    return PlainTextResponse(line, media_type="text/plain; charset=utf-8")


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
