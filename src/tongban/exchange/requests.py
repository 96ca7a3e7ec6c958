"""Sharing requests (供需对接) and the agreements an approval makes.

A consumer department's steward asks for the minimum fields of a resource, with purpose, legal
basis, the catalog items it serves and a duration. The provider's steward answers within
REPLY_WORKING_DAYS working days (the official calendar: workdays); a pending request past its
due date is flagged overdue. An approval compiles a Cedar policy (exchange/policy.py) whose
SHA-256 goes into the ledger with the agreement's event; revoking stops fetches at once.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.cases import service as cases
from tongban.catalog import service as catalog
from tongban.events import service as events
from tongban.exchange import policy
from tongban.exchange.catalogue import channel_of, field_names, get_resource
from tongban.exchange.models import Agreement, DataResource, SharingRequest
from tongban.exchange.schemas import RequestIn, Sharing
from tongban.identity import service as identity
from tongban.identity.service import Actor
from tongban.platform.db import utcnow
from tongban.platform.errors import Conflict, FieldError, Invalid, NotFound
from tongban.workdays import service as workdays

# 《政务数据共享条例》: the provider answers a conditional request within 10 working days.
REPLY_WORKING_DAYS = 10


def today() -> date:
    """Today's date in Asia/Shanghai (due dates count local working days)."""
    return cases.local_date(utcnow())


def is_overdue(request: SharingRequest, *, day: date | None = None) -> bool:
    """True when the request still waits for its answer after its due date."""
    return request.status == "pending" and (day or today()) > request.due_date


def _event(
    session: Session,
    *,
    actor: Actor | None,
    action: str,
    resource_type: str,
    resource_id: str,
    data: dict[str, Any],
    reason: str | None = None,
    private: dict[str, Any] | None = None,
) -> None:
    events.record(
        session,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        channel=channel_of(actor),
        actor_id=actor.account_id if actor else None,
        actor_role=actor.role.value if actor else None,
        data=data,
        reason=reason,
        private=private,
    )


def _check_items(session: Session, items: list[str]) -> None:
    unknown = [code for code in items if catalog.item_name(session, code) is None]
    if unknown:
        raise Invalid(
            "Name catalog items by their codes.",
            errors=[FieldError("items", f"unknown item {code}") for code in unknown],
        )


def file_request(
    session: Session,
    *,
    actor: Actor | None,
    data: RequestIn,
    reply_days: int = REPLY_WORKING_DAYS,
) -> SharingRequest:
    """File a sharing request for the consumer department (the steward's, by default)."""
    try:
        resource = get_resource(session, code=data.resource)
    except NotFound:
        raise Invalid(
            "No such data resource.", errors=[FieldError("resource", "unknown resource")]
        ) from None
    consumer_code = data.consumer or (actor.department_code if actor else None)
    if not consumer_code:
        raise Invalid("Name the consumer department.", errors=[FieldError("consumer", "required")])
    try:
        consumer = identity.get_department_by_code(session, code=consumer_code)
    except NotFound:
        raise Invalid(
            "No such consumer department.", errors=[FieldError("consumer", "unknown department")]
        ) from None
    if actor is not None:
        identity.authorize(actor, "exchange.request.file", {"region_code": consumer.region_code})
    if resource.sharing == Sharing.NONE.value:
        raise Conflict(f"{resource.name} is not shared (不予共享): {resource.conditions or ''}")
    unknown = sorted(set(data.fields) - set(field_names(resource)))
    if unknown:
        raise Invalid(
            "Ask only for fields the resource has.",
            errors=[FieldError("fields", f"no field {name}") for name in unknown],
        )
    _check_items(session, data.items)
    due = workdays.load_calendar(session).add_working_days(today(), reply_days)
    row = SharingRequest(
        resource_id=resource.id,
        consumer_department_id=consumer.id,
        consumer_code=consumer.code,
        consumer_region=consumer.region_code,
        fields=sorted(set(data.fields)),
        purpose=data.purpose.strip(),
        legal_basis=data.legal_basis.strip(),
        item_codes=sorted(set(data.items)),
        duration_days=data.duration_days,
        requested_by_id=actor.account_id if actor else None,
        due_date=due,
        status="pending",
    )
    session.add(row)
    session.flush()
    _event(
        session,
        actor=actor,
        action="exchange.request_filed",
        resource_type="sharing_request",
        resource_id=str(row.id),
        data={
            "resource": resource.code,
            "consumer": consumer.code,
            "fields": row.fields,
            "items": row.item_codes,
            "duration_days": row.duration_days,
            "due_date": due.isoformat(),
        },
        private={"purpose": row.purpose, "legal_basis": row.legal_basis},
    )
    return row


def get_request(session: Session, *, request_id: int) -> SharingRequest:
    """The request with this id, or NotFound."""
    row = session.get(SharingRequest, request_id)
    if row is None:
        raise NotFound(f"No sharing request {request_id}.")
    return row


def decide_request(
    session: Session,
    *,
    actor: Actor | None,
    request_id: int,
    approve: bool,
    reason: str | None,
    now: datetime | None = None,
) -> SharingRequest:
    """The provider's answer: approval makes the agreement; a refusal needs its reasons."""
    row = get_request(session, request_id=request_id)
    resource = session.get(DataResource, row.resource_id)
    assert resource is not None
    if actor is not None:
        identity.authorize(actor, "exchange.request.decide", {"region_code": resource.region_code})
    if row.status != "pending":
        raise Conflict(f"Sharing request {row.id} was already answered ({row.status}).")
    text = (reason or "").strip() or None
    if not approve and text is None:
        raise Invalid(
            "A refusal states its reasons.", errors=[FieldError("reason", "required to refuse")]
        )
    now = now or utcnow()
    row.status = "approved" if approve else "refused"
    row.decided_at = now
    row.decided_by_id = actor.account_id if actor else None
    row.reason = text
    session.flush()
    _event(
        session,
        actor=actor,
        action="exchange.request_approved" if approve else "exchange.request_refused",
        resource_type="sharing_request",
        resource_id=str(row.id),
        data={
            "resource": resource.code,
            "consumer": row.consumer_code,
            "overdue": now.date() > row.due_date,
        },
        reason=text,
    )
    if approve:
        make_agreement(session, actor=actor, request=row, resource=resource, now=now)
    return row


def make_agreement(
    session: Session,
    *,
    actor: Actor | None,
    request: SharingRequest,
    resource: DataResource,
    now: datetime,
) -> Agreement:
    """The agreement an approval makes: its Cedar policy and hash, recorded in the ledger."""
    row = Agreement(
        request_id=request.id,
        resource_id=resource.id,
        consumer_department_id=request.consumer_department_id,
        consumer_code=request.consumer_code,
        fields=list(request.fields),
        item_codes=list(request.item_codes),
        valid_from=now,
        valid_until=now + timedelta(days=request.duration_days),
        policy="",
        policy_sha256="",
    )
    session.add(row)
    session.flush()  # the id names the policy
    row.policy = policy.agreement_policy(
        agreement_id=row.id,
        consumer=row.consumer_code,
        resource=resource.code,
        fields=row.fields,
        items=row.item_codes,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
    )
    row.policy_sha256 = policy.sha256(row.policy)
    session.flush()
    _event(
        session,
        actor=actor,
        action="exchange.agreement_made",
        resource_type="sharing_agreement",
        resource_id=str(row.id),
        data={
            "request": request.id,
            "resource": resource.code,
            "consumer": row.consumer_code,
            "fields": row.fields,
            "items": row.item_codes,
            "valid_from": row.valid_from.isoformat(),
            "valid_until": row.valid_until.isoformat(),
            "policy_sha256": row.policy_sha256,
        },
    )
    return row


def get_agreement(session: Session, *, agreement_id: int) -> Agreement:
    """The agreement with this id, or NotFound."""
    row = session.get(Agreement, agreement_id)
    if row is None:
        raise NotFound(f"No sharing agreement {agreement_id}.")
    return row


def agreement_status(row: Agreement, *, now: datetime | None = None) -> str:
    """active, revoked, expired, or pending (not yet valid)."""
    now = now or utcnow()
    if row.revoked_at is not None:
        return "revoked"
    if now >= row.valid_until:
        return "expired"
    if now < row.valid_from:
        return "pending"
    return "active"


def revoke_agreement(
    session: Session, *, actor: Actor | None, agreement_id: int, reason: str
) -> Agreement:
    """Revoke an agreement: fetches under it stop at once; recorded with its hash."""
    row = get_agreement(session, agreement_id=agreement_id)
    resource = session.get(DataResource, row.resource_id)
    assert resource is not None
    if actor is not None:
        identity.authorize(
            actor, "exchange.agreement.revoke", {"region_code": resource.region_code}
        )
    if row.revoked_at is not None:
        raise Conflict(f"Sharing agreement {row.id} is already revoked.")
    row.revoked_at = utcnow()
    row.revoked_by_id = actor.account_id if actor else None
    row.revoke_reason = reason.strip()
    session.flush()
    _event(
        session,
        actor=actor,
        action="exchange.agreement_revoked",
        resource_type="sharing_agreement",
        resource_id=str(row.id),
        data={"resource": resource.code, "policy_sha256": row.policy_sha256},
        reason=row.revoke_reason,
    )
    return row


def list_requests(
    session: Session, *, region: str | None = None, status: str | None = None
) -> list[SharingRequest]:
    """Requests, newest first; `region` keeps those whose consumer or provider lies in it."""
    stmt = select(SharingRequest).order_by(SharingRequest.id.desc()).limit(500)
    if status:
        stmt = stmt.where(SharingRequest.status == status)
    rows = list(session.scalars(stmt))
    return [r for r in rows if region is None or _touches(session, r, region)]


def _touches(session: Session, row: SharingRequest, region: str) -> bool:
    resource = session.get(DataResource, row.resource_id)
    codes = [row.consumer_region, resource.region_code if resource else ""]
    return any(identity.within(root=region, code=code) for code in codes if code)


def list_agreements(
    session: Session, *, consumer_department_id: int | None = None
) -> list[Agreement]:
    """Agreements, newest first (optionally one consumer department's)."""
    stmt = select(Agreement).order_by(Agreement.id.desc()).limit(500)
    if consumer_department_id is not None:
        stmt = stmt.where(Agreement.consumer_department_id == consumer_department_id)
    return list(session.scalars(stmt))
