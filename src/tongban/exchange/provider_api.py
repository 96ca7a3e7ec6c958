"""The provider side between nodes: `POST /exchange/v1/query`, signed (RFC 9421) both ways.

Not under /api/v1: it is the nodes' protocol (X-Road-style), not the platform's API; callers
are other nodes, authenticated by their signatures against the node directory, not accounts.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from tongban.exchange import serving
from tongban.platform.web.deps import AppSettings, DbSession

router = APIRouter(tags=["exchange between nodes"])


async def raw_body(request: Request) -> bytes:
    """The body's bytes, read on the event loop (the signature covers their digest)."""
    return await request.body()


RawBody = Annotated[bytes, Depends(raw_body)]


@router.post(
    "/exchange/v1/query",
    responses={
        200: {
            "description": "The record's asked fields, signed (Signature, "
            "Signature-Input, Content-Digest, X-Road-Id, X-Road-Request-Hash)."
        }
    },
)
def query(request: Request, body: RawBody, session: DbSession, settings: AppSettings) -> Response:
    """A consumer node's signed query for a person's record (X-Road-style headers)."""
    served = serving.serve_query(
        session,
        request=serving.IncomingRequest(
            method=request.method, url=str(request.url), headers=request.headers
        ),
        body=body,
        settings=settings,
    )
    return Response(content=served.body, status_code=served.status_code, headers=served.headers)
