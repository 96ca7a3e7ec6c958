"""JSON routes to follow a case without logging in (`/api/v1/track`): by its number and the
applicant's name as filed, or by the token of a tracking link. The same 404 for a wrong name
and for an unknown number; failed look-ups are rate limited per client address (429 with
Retry-After). POST keeps the name out of URLs and server logs; GET is for simple clients."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import JSONResponse

from tongban.cases import tracking
from tongban.cases.tracking import TrackIn, TrackRead
from tongban.platform.web.deps import AppSettings, DbSession

router = APIRouter(tags=["tracking"])

_NUMBER = r"^[0-9A-Za-z -]+$"
_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _answer(read: TrackRead) -> JSONResponse:
    return JSONResponse(read.model_dump(mode="json"), headers=_HEADERS)


@router.post("/track", response_model=TrackRead)
def track_case(
    body: TrackIn, request: Request, session: DbSession, settings: AppSettings
) -> JSONResponse:
    """A case's state, steps (codes and dates) and deadlines, for its number and the
    applicant's name as filed; no login."""
    return _answer(
        tracking.track_by_name(
            session,
            number=body.number,
            name=body.name,
            client_ip=_client_ip(request),
            settings=settings,
        )
    )


@router.get("/track", response_model=TrackRead)
def track_case_by_query(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    number: Annotated[str, Query(min_length=1, max_length=40, pattern=_NUMBER)],
    name: Annotated[str, Query(min_length=1, max_length=100)],
) -> JSONResponse:
    """The same as POST /track, with the number and the name in the query."""
    return _answer(
        tracking.track_by_name(
            session, number=number, name=name, client_ip=_client_ip(request), settings=settings
        )
    )


@router.get("/track/t/{token}", response_model=TrackRead)
def track_case_by_link(
    token: Annotated[str, Path(max_length=100)],
    session: DbSession,
    settings: AppSettings,
) -> JSONResponse:
    """The same view for the token of a tracking link (`/track/t/{token}`, the receipt's QR
    code): 404 when this node did not make it or it has expired (the detail says which)."""
    return _answer(tracking.track_by_token(session, token=token, settings=settings))
