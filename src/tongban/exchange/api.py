"""JSON routes of the exchange: the catalogue (public), requests, agreements, and a case's
fetches (`/api/v1/cases/{number}/data-fetches`). The provider side between nodes,
`POST /exchange/v1/query`, is signed and lives in exchange/provider_api.py."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from sqlalchemy.orm import Session

from tongban.exchange import catalogue, fetch, requests
from tongban.exchange.models import Agreement, DataResource, SharingRequest
from tongban.exchange.schemas import (
    AgreementRead,
    DecisionIn,
    FetchIn,
    FetchRead,
    RequestIn,
    RequestRead,
    ResourceIn,
    ResourceRead,
    RevokeIn,
    Sharing,
)
from tongban.identity import service as identity
from tongban.identity.deps import CurrentActor
from tongban.identity.service import Actor, Role
from tongban.platform.web.deps import AppSettings, DbSession, RowId

router = APIRouter(tags=["exchange"])

ResourceCode = Annotated[str, Path(max_length=40)]
CaseNumber = Annotated[str, Path(max_length=40)]


def request_read(session: Session, row: SharingRequest) -> RequestRead:
    """The API shape of a request (with its resource and agreement)."""
    resource = session.get(DataResource, row.resource_id)
    assert resource is not None
    agreement = session.query(Agreement.id).filter(Agreement.request_id == row.id).scalar()
    return RequestRead(
        id=row.id,
        resource=resource.code,
        resource_name=resource.name,
        consumer_code=row.consumer_code,
        fields=row.fields,
        purpose=row.purpose,
        legal_basis=row.legal_basis,
        items=row.item_codes,
        duration_days=row.duration_days,
        requested_at=row.requested_at,
        due_date=row.due_date,
        status=row.status,  # type: ignore[arg-type]
        overdue=requests.is_overdue(row),
        decided_at=row.decided_at,
        reason=row.reason,
        agreement_id=agreement,
    )


def agreement_read(session: Session, row: Agreement) -> AgreementRead:
    """The API shape of an agreement (with its status now)."""
    resource = session.get(DataResource, row.resource_id)
    assert resource is not None
    return AgreementRead(
        id=row.id,
        request_id=row.request_id,
        resource=resource.code,
        consumer_code=row.consumer_code,
        fields=row.fields,
        items=row.item_codes,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        policy=row.policy,
        policy_sha256=row.policy_sha256,
        revoked_at=row.revoked_at,
        status=requests.agreement_status(row),  # type: ignore[arg-type]
    )


def _region(actor: Actor) -> str | None:
    return None if actor.role is Role.ADMIN else actor.region_root or "-"


@router.get("/exchange/resources", response_model=list[ResourceRead])
def list_resources(
    session: DbSession,
    q: Annotated[str | None, Query(max_length=60)] = None,
    sharing: Sharing | None = None,
) -> list[DataResource]:
    """Public: the data resource catalogue (政务数据资源目录), searchable."""
    return catalogue.list_resources(session, q=q, sharing=sharing.value if sharing else None)


@router.get("/exchange/resources/{code}", response_model=ResourceRead)
def get_resource(session: DbSession, code: ResourceCode) -> DataResource:
    """Public: one resource of the catalogue (fields and terms, never records)."""
    return catalogue.get_resource(session, code=code)


@router.post(
    "/exchange/resources", status_code=status.HTTP_201_CREATED, response_model=ResourceRead
)
def publish_resource(body: ResourceIn, session: DbSession, actor: CurrentActor) -> DataResource:
    """A provider's steward publishes a resource (or a new version of it)."""
    identity.authorize(actor, "exchange.resource.publish")
    return catalogue.publish_resource(session, actor=actor, data=body)


@router.post("/exchange/requests", status_code=status.HTTP_201_CREATED, response_model=RequestRead)
def file_request(body: RequestIn, session: DbSession, actor: CurrentActor) -> RequestRead:
    """A consumer's steward asks for a resource's minimum fields (供需对接)."""
    identity.authorize(actor, "exchange.request.file")
    return request_read(session, requests.file_request(session, actor=actor, data=body))


@router.get("/exchange/requests", response_model=list[RequestRead])
def list_requests(
    session: DbSession,
    actor: CurrentActor,
    status_: Annotated[
        str | None, Query(alias="status", pattern="^(pending|approved|refused)$")
    ] = None,
) -> list[RequestRead]:
    """Requests to or from departments of the caller's jurisdiction, newest first."""
    identity.authorize(actor, "exchange.request.read")
    rows = requests.list_requests(session, region=_region(actor), status=status_)
    return [request_read(session, row) for row in rows]


@router.post("/exchange/requests/{request_id}/decision", response_model=RequestRead)
def decide_request(
    request_id: RowId, body: DecisionIn, session: DbSession, actor: CurrentActor
) -> RequestRead:
    """The provider's answer: approve (makes the agreement) or refuse with reasons."""
    identity.authorize(actor, "exchange.request.decide")
    row = requests.decide_request(
        session,
        actor=actor,
        request_id=request_id,
        approve=body.decision == "approve",
        reason=body.reason,
    )
    return request_read(session, row)


@router.get("/exchange/agreements", response_model=list[AgreementRead])
def list_agreements(session: DbSession, actor: CurrentActor) -> list[AgreementRead]:
    """Sharing agreements with their Cedar policies and hashes (the caller's jurisdiction)."""
    identity.authorize(actor, "exchange.agreement.read")
    region = _region(actor)
    out = []
    for row in requests.list_agreements(session):
        read = agreement_read(session, row)
        if region is None or _agreement_in(session, row, region):
            out.append(read)
    return out


def _agreement_in(session: Session, row: Agreement, region: str) -> bool:
    resource = session.get(DataResource, row.resource_id)
    consumer = identity.get_department(session, department_id=row.consumer_department_id)
    codes = [consumer.region_code, resource.region_code if resource else ""]
    return any(identity.within(root=region, code=code) for code in codes if code)


@router.post("/exchange/agreements/{agreement_id}/revoke", response_model=AgreementRead)
def revoke_agreement(
    agreement_id: RowId, body: RevokeIn, session: DbSession, actor: CurrentActor
) -> AgreementRead:
    """Revoke an agreement: fetches under it stop at once."""
    identity.authorize(actor, "exchange.agreement.revoke")
    row = requests.revoke_agreement(
        session, actor=actor, agreement_id=agreement_id, reason=body.reason
    )
    return agreement_read(session, row)


@router.post(
    "/cases/{number}/data-fetches",
    status_code=status.HTTP_201_CREATED,
    response_model=FetchRead,
)
def fetch_data(
    number: CaseNumber,
    body: FetchIn,
    session: DbSession,
    actor: CurrentActor,
    settings: AppSettings,
) -> object:
    """An official handling the case fetches its applicant's data (已通过共享获取)."""
    return fetch.fetch_for_case(
        session,
        actor=actor,
        case_number=number,
        resource_code=body.resource,
        fields=body.fields,
        purpose=body.purpose,
        settings=settings,
    )


@router.get("/cases/{number}/data-fetches", response_model=list[FetchRead])
def list_fetches(number: CaseNumber, session: DbSession, actor: CurrentActor) -> object:
    """What was fetched for the case: for its handling officials and its applicant."""
    return fetch.fetches_of_case(session, actor=actor, case_number=number)
