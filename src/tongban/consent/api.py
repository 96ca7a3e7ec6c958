"""JSON routes of consent: `GET /api/v1/my/consents`, `POST /api/v1/consents` (a consumer
department asks), `GET /api/v1/consents/{id}`, `POST /api/v1/consents/{id}/grant|refuse|revoke`,
`GET /api/v1/consents` (a department's requests), `POST /api/v1/consent-requirements` and
`POST /api/v1/consent-requirements/{id}/withdraw`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response, status

from tongban.consent import checks, consents
from tongban.consent.consents import ConsentView
from tongban.consent.schemas import ConsentIn, ConsentRead, RequirementIn, WithdrawIn
from tongban.identity.deps import CurrentActor
from tongban.platform.web.deps import AppSettings, DbSession, RowId

router = APIRouter(tags=["consent"])

ConsentId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]


def read(consent: ConsentView) -> dict[str, Any]:
    """The API shape of a consent."""
    return ConsentRead.model_validate(consent).model_dump()


@router.get("/my/consents", response_model=list[ConsentRead])
def my_consents(session: DbSession, actor: CurrentActor) -> list[dict[str, Any]]:
    """The caller's consents (and those of whom they act for), newest first."""
    return [read(c) for c in consents.my_consents(session, actor=actor)]


@router.get("/consents", response_model=list[ConsentRead])
def department_consents(session: DbSession, actor: CurrentActor) -> list[dict[str, Any]]:
    """The consents the caller's department (steward: jurisdiction) asked for."""
    return [read(c) for c in consents.department_consents(session, actor=actor)]


@router.post("/consents", status_code=status.HTTP_201_CREATED, response_model=ConsentRead)
def ask(
    body: ConsentIn, session: DbSession, actor: CurrentActor, settings: AppSettings
) -> dict[str, Any]:
    """A consumer department asks the data subject's consent (they are told by message/SMS)."""
    return read(consents.ask(session, actor=actor, data=body, settings=settings))


@router.get("/consents/{consent_id}", response_model=ConsentRead)
def get_consent(session: DbSession, actor: CurrentActor, consent_id: ConsentId) -> dict[str, Any]:
    """One consent: for its subject, their agents, or the asking department."""
    return read(consents.get(session, actor=actor, uid=consent_id))


@router.post("/consents/{consent_id}/grant", response_model=ConsentRead)
def grant(
    session: DbSession, actor: CurrentActor, settings: AppSettings, consent_id: ConsentId
) -> dict[str, Any]:
    """The data subject (or their agent within scope) grants: the node signs the artefact."""
    return read(consents.grant(session, actor=actor, uid=consent_id, settings=settings))


@router.post("/consents/{consent_id}/refuse", response_model=ConsentRead)
def refuse(session: DbSession, actor: CurrentActor, consent_id: ConsentId) -> dict[str, Any]:
    """The data subject (or their agent within scope) refuses."""
    return read(consents.refuse(session, actor=actor, uid=consent_id))


@router.post("/consents/{consent_id}/revoke", response_model=ConsentRead)
def revoke(session: DbSession, actor: CurrentActor, consent_id: ConsentId) -> dict[str, Any]:
    """The data subject (or their agent) revokes: fetches under it stop at once."""
    return read(consents.revoke(session, actor=actor, uid=consent_id))


@router.post("/consent-requirements", status_code=status.HTTP_201_CREATED)
def set_requirement(body: RequirementIn, session: DbSession, actor: CurrentActor) -> dict[str, int]:
    """A steward makes a use of a resource need the data subject's consent."""
    return {"id": checks.set_requirement(session, actor=actor, data=body)}


@router.post(
    "/consent-requirements/{requirement_id}/withdraw", status_code=status.HTTP_204_NO_CONTENT
)
def withdraw_requirement(
    requirement_id: RowId, body: WithdrawIn, session: DbSession, actor: CurrentActor
) -> Response:
    """A steward withdraws a consent requirement, with the reason (recorded)."""
    checks.withdraw_requirement(
        session, actor=actor, requirement_id=requirement_id, reason=body.reason
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
