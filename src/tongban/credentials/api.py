"""JSON routes of e-licences: the holder's list, the public verifier, status lists, the trust
list and status changes (/api/v1); the issuer metadata at /.well-known/jwt-vc-issuer
(`well_known`, included without the /api/v1 prefix)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from tongban.credentials import service as credentials
from tongban.identity.deps import CurrentActor
from tongban.platform.web.deps import AppSettings, DbSession, RowId

router = APIRouter(tags=["credentials"])
well_known = APIRouter(tags=["credentials"])

# A compact SD-JWT VC with its disclosures and a KB-JWT stays well under this.
MAX_CREDENTIAL = 64 * 1024


class CredentialRead(BaseModel):
    """An e-licence in the holder's 卡包, with the compact SD-JWT VC and all its disclosures."""

    id: int
    licence_id: str
    type: str
    type_code: str
    vct: str
    issuer: str
    issuer_code: str
    status: str
    issued_at: datetime
    valid_until: date | None
    sd_jwt: str


class VerifyIn(BaseModel):
    """A credential (or presentation) to verify; a nonce and audience to check key binding."""

    credential: Annotated[str, Field(min_length=1, max_length=MAX_CREDENTIAL)]
    nonce: Annotated[str | None, Field(max_length=200)] = None
    aud: Annotated[str | None, Field(max_length=300)] = None


class VerdictRead(BaseModel):
    """The verdict: valid or the failed check (`code`, `message`), issuer, status, claims."""

    valid: bool
    code: str | None
    message: str
    status: str | None
    licence_id: str | None
    type_name: str | None
    type_code: str | None
    vct: str | None
    issuer_name: str | None
    issuer_code: str | None
    kid: str | None
    issued: str | None
    valid_until: str | None
    key_bound: bool
    claims: dict[str, Any]
    disclosed: list[str]


class StatusIn(BaseModel):
    """Suspend, revoke or reinstate, with the reason."""

    action: Literal["suspend", "revoke", "reinstate"]
    reason: Annotated[str, Field(min_length=2, max_length=500)]


class StatusRead(BaseModel):
    """A licence's status after a change."""

    licence_id: str
    status: str


@router.get("/my/credentials", response_model=list[CredentialRead])
def my_credentials(session: DbSession, actor: CurrentActor) -> list[CredentialRead]:
    """The caller's e-licences (卡包), each with its SD-JWT VC and all its disclosures."""
    return [
        CredentialRead(
            id=c.id,
            licence_id=c.licence_id,
            type=c.type,
            type_code=c.type_code,
            vct=c.vct,
            issuer=c.issuer,
            issuer_code=c.issuer_code,
            status=c.status,
            issued_at=c.issued_at,
            valid_until=c.valid_until,
            sd_jwt=c.sd_jwt,
        )
        for c in credentials.my_credentials(session, actor=actor)
    ]


@router.post("/credentials/verify", response_model=VerdictRead)
def verify(body: VerifyIn, session: DbSession, settings: AppSettings) -> VerdictRead:
    """Public: verify an e-licence or a presentation (with key binding when a nonce is sent)."""
    verdict = credentials.check_here(
        session, text=body.credential, settings=settings, nonce=body.nonce, aud=body.aud
    )
    return VerdictRead(**verdict.as_dict())


@router.get(
    "/credentials/status-lists/{list_id}",
    response_class=Response,
    responses={200: {"content": {"application/statuslist+jwt": {}}}},
)
def status_list(list_id: RowId, session: DbSession, settings: AppSettings) -> Response:
    """Public: a Token Status List (`statuslist+jwt`, 2 bits per licence), cacheable."""
    token = credentials.list_token(session, list_id=list_id, settings=settings)
    return Response(
        token,
        media_type="application/statuslist+jwt",
        headers={"Cache-Control": "public, max-age=300"},
    )


@router.get("/credentials/trust-list")
def trust_list(session: DbSession, settings: AppSettings) -> Response:
    """Public: the trust list for offline verification (keys with their states, status lists)."""
    import json

    document = credentials.trust_list(session, settings=settings)
    return Response(
        json.dumps(document, ensure_ascii=False, indent=1),
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="tongban-trust-list.json"'},
    )


@router.post("/credentials/{credential_id}/status", response_model=StatusRead)
def change_status(
    credential_id: RowId, body: StatusIn, session: DbSession, actor: CurrentActor
) -> StatusRead:
    """The issuing department suspends, revokes or reinstates a licence (with a reason)."""
    change = credentials.change_status(
        session,
        actor=actor,
        credential_id=credential_id,
        action=body.action,
        reason=body.reason,
    )
    return StatusRead(licence_id=change.licence_id, status=change.status)


@well_known.get("/.well-known/jwt-vc-issuer")
def issuer_metadata(session: DbSession, settings: AppSettings) -> dict[str, Any]:
    """Public: SD-JWT VC issuer metadata (`issuer`, `jwks` with every key, old ones too)."""
    return credentials.issuer_metadata(session, settings=settings)
