"""Consent for conditional sharing (授权同意): a consumer department asks, the data subject (or
their agent within scope, or a clerk recording a paper consent) grants or refuses, the node
signs the artefact, and every fetch that needs consent is checked against it and counted.

Consent sits below exchange: it knows a resource only through `describe_resource`, a hook the
shell sets to exchange's catalogue, and exchange's fetch calls `check_and_use`. Events carry
codes only (the consent id, resource, departments, counts); the data subject goes in the
event's `personal` part as `subject_account_id` and `subject_hash` (the keyed lookup hash of
the resident ID), the purpose text in `private`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tongban.adapters.sms import load_gateway, mask_phone
from tongban.cases import service as cases
from tongban.catalog import service as catalog
from tongban.consent import artefact
from tongban.consent.models import Consent, ConsentUse
from tongban.consent.schemas import ConsentIn
from tongban.events import service as events
from tongban.events.service import Channel
from tongban.identity import service as identity
from tongban.identity.service import Actor, Role
from tongban.platform.config import Settings
from tongban.platform.db import utcnow
from tongban.platform.db.uow import after_commit
from tongban.platform.errors import (
    Conflict,
    FieldError,
    Forbidden,
    Invalid,
    NotFound,
)

log = logging.getLogger(__name__)

MAX_VALIDITY = timedelta(days=366)
MAX_FIELDS = 40
# How often a consent may be used: at most `value` fetches per unit (INF: over its validity).
PERIODS: dict[str, timedelta | None] = {
    "HOUR": timedelta(hours=1),
    "DAY": timedelta(days=1),
    "MONTH": timedelta(days=30),
    "YEAR": timedelta(days=365),
    "INF": None,
}


@dataclass(frozen=True, slots=True)
class ResourceTerms:
    """What consent needs to know of a resource: who provides it and its fields' labels."""

    code: str
    name: str
    provider_code: str
    provider_name: str
    fields: dict[str, str]  # field code -> label


_describe: list[Callable[[Session, str], ResourceTerms | None]] = []


def on_describe_resource(describe: Callable[[Session, str], ResourceTerms | None]) -> None:
    """Set how consent learns a resource's terms (the shell hands it exchange's catalogue)."""
    _describe[:] = [describe]


def describe_resource(session: Session, code: str) -> ResourceTerms | None:
    """The resource's terms, or None when it is unknown (or nobody set the hook)."""
    return _describe[0](session, code) if _describe else None


class RefusedGrant(Forbidden):
    """A grant, refusal or revocation by someone who may not give it: recorded, nothing else."""

    keeps_writes = True


@dataclass(frozen=True, slots=True)
class ConsentView:
    """A consent request or artefact as pages, the API and other domains see it."""

    id: str
    status: str  # requested | granted | refused | revoked | expired
    subject_account_id: int | None
    subject_masked: str
    requester_code: str
    requester_name: str
    provider_code: str
    provider_name: str
    resource_code: str
    resource_name: str
    fields: tuple[str, ...]
    field_labels: tuple[str, ...]
    purpose_code: str
    purpose_text: str
    case_number: str | None
    item_code: str | None
    item_name: str | None
    valid_from: datetime
    valid_until: datetime
    frequency_unit: str
    frequency_value: int
    uses: int
    requested_at: datetime
    decided_at: datetime | None
    decided_via: str | None
    revoked_at: datetime | None
    artefact: str | None
    artefact_sha256: str | None
    signature: str | None
    key_id: str | None


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a fetch may not go ahead: a refusal code (exchange's REFUSALS) and its detail."""

    code: str
    detail: str = ""


def status_of(row: Consent, *, now: datetime | None = None) -> str:
    """requested, granted, refused, revoked, or expired (granted, past its validity)."""
    now = now or utcnow()
    if row.status == "granted" and row.valid_until <= now:
        return "expired"
    return row.status


def _uses(session: Session, consent_id: int, since: datetime | None = None) -> int:
    stmt = select(func.count()).select_from(ConsentUse).where(ConsentUse.consent_id == consent_id)
    if since is not None:
        stmt = stmt.where(ConsentUse.used_at > since)
    return int(session.scalar(stmt) or 0)


def view(session: Session, row: Consent, *, now: datetime | None = None) -> ConsentView:
    """The view of a row (field labels from the resource's terms when known)."""
    terms = describe_resource(session, row.resource_code)
    labels = terms.fields if terms else {}
    return ConsentView(
        id=row.uid,
        status=status_of(row, now=now),
        subject_account_id=row.subject_account_id,
        subject_masked=row.subject_masked,
        requester_code=row.requester_code,
        requester_name=row.requester_name,
        provider_code=row.provider_code,
        provider_name=row.provider_name,
        resource_code=row.resource_code,
        resource_name=row.resource_name,
        fields=tuple(row.fields),
        field_labels=tuple(labels.get(name, name) for name in row.fields),
        purpose_code=row.purpose_code,
        purpose_text=row.purpose_text,
        case_number=row.case_number,
        item_code=row.item_code,
        item_name=catalog.item_name(session, row.item_code) if row.item_code else None,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        frequency_unit=row.frequency_unit,
        frequency_value=row.frequency_value,
        uses=_uses(session, row.id),
        requested_at=row.requested_at,
        decided_at=row.decided_at,
        decided_via=row.decided_via,
        revoked_at=row.revoked_at,
        artefact=row.artefact,
        artefact_sha256=row.artefact_sha256,
        signature=row.signature,
        key_id=row.key_id,
    )


def _channel(actor: Actor | None) -> Channel:
    if actor is None:
        return Channel.SYSTEM
    return Channel.API if actor.token_id is not None else Channel.ONLINE


def _record(
    session: Session,
    row: Consent,
    *,
    action: str,
    actor: Actor | None,
    data: dict[str, Any] | None = None,
    channel: Channel | None = None,
    on_behalf_of_id: int | None = None,
) -> None:
    events.record(
        session,
        action=action,
        resource_type="consent",
        resource_id=row.uid,
        channel=channel or _channel(actor),
        actor_id=actor.account_id if actor else None,
        actor_role=actor.role.value if actor else None,
        on_behalf_of_id=on_behalf_of_id,
        service_point=actor.service_point if actor else None,
        data={
            "consent": row.uid,
            "resource": row.resource_code,
            "requester": row.requester_code,
            "provider": row.provider_code,
            "fields": list(row.fields),
            "case": row.case_number,
            "item": row.item_code,
            **(data or {}),
        },
        personal={"subject_account_id": row.subject_account_id, "subject_hash": row.subject_hash},
    )


# Asking ------------------------------------------------------------------------------------


def _subject_of_case(
    session: Session, case: cases.CaseView, settings: Settings
) -> tuple[str | None, int | None]:
    if case.applicant_id is not None:
        number = identity.reveal_resident_id(
            session, account_id=case.applicant_id, settings=settings
        )
        if number:
            return number, case.applicant_id
    personal = events.personal_of_first(
        session, resource_type="case", resource_id=case.number, action="case.submitted"
    )
    found = (personal or {}).get("resident_id")
    return (str(found) if found else None), case.applicant_id


def ask(
    session: Session,
    *,
    actor: Actor,
    data: ConsentIn,
    settings: Settings,
    now: datetime | None = None,
) -> ConsentView:
    """A consumer department asks the data subject's consent; they are told (message, SMS)."""
    identity.authorize(actor, "consent.request")
    if actor.department_id is None:
        raise Forbidden("Only a department's official asks for consent.")
    department = identity.get_department(session, department_id=actor.department_id)
    return open_request(
        session, actor=actor, department=department, data=data, settings=settings, now=now
    )


def open_request(
    session: Session,
    *,
    actor: Actor | None,
    department: identity.DepartmentView,
    data: ConsentIn,
    settings: Settings,
    now: datetime | None = None,
) -> ConsentView:
    """Open a consent request of a department (the caller authorized; the demo has no actor)."""
    now = now or utcnow()
    terms = describe_resource(session, data.resource)
    if terms is None:
        raise Invalid(
            f"No data resource {data.resource}.",
            errors=[FieldError("resource", f"No data resource {data.resource}.")],
        )
    unknown = [name for name in data.fields if name not in terms.fields]
    if unknown:
        text = f"{data.resource} has no field(s) {', '.join(unknown)}."
        raise Invalid(text, errors=[FieldError("fields", text)])
    item = data.item
    resident_id: str | None = None
    account_id: int | None = None
    if data.case:
        try:
            case = cases.get_case(session, number=data.case)
            if case.department_id != department.id:
                raise Forbidden("another department's case")
        except (NotFound, Forbidden):
            raise NotFound(f"No case {data.case}.") from None
        if case.state not in cases.OPEN_STATES:
            raise Conflict(f"Case {data.case} is not open.")
        if data.item and data.item != case.item_code:
            raise Invalid(
                "The case is for another item.",
                errors=[FieldError("item", "The case is for another item.")],
            )
        item = case.item_code
        resident_id, account_id = _subject_of_case(session, case, settings)
        if resident_id is None:
            raise Conflict("No resident ID is on record for this case's applicant.")
    else:
        if not data.item or not data.subject_resident_id:
            text = "Name the case, or the item and the person's resident ID."
            raise Invalid(text, errors=[FieldError("case", text)])
        resident_id = identity.validate_resident_id(
            data.subject_resident_id, field="subject_resident_id"
        )
    subject_hash = identity.resident_id_lookup_hash(resident_id, settings=settings)
    if account_id is None:
        found = identity.find_account_by_resident_id(
            session, resident_id=resident_id, settings=settings
        )
        account_id = found.id if found else None
    valid_from = data.valid_from or now
    valid_until = data.valid_until
    if valid_until <= valid_from or valid_until - valid_from > MAX_VALIDITY:
        text = "A consent is valid for a positive period of at most a year."
        raise Invalid(text, errors=[FieldError("valid_until", text)])
    if valid_until <= now:
        text = "The consent would already have expired."
        raise Invalid(text, errors=[FieldError("valid_until", text)])
    row = Consent(
        uid=str(uuid.uuid4()),
        subject_hash=subject_hash,
        subject_account_id=account_id,
        subject_masked=identity.mask_resident_id(resident_id),
        requester_department_id=department.id,
        requester_code=department.code,
        requester_name=department.name,
        requester_region=department.region_code,
        requested_by_id=actor.account_id if actor else None,
        provider_code=terms.provider_code,
        provider_name=terms.provider_name,
        resource_code=terms.code,
        resource_name=terms.name,
        fields=list(dict.fromkeys(data.fields)),
        purpose_code=data.purpose_code,
        purpose_text=data.purpose_text.strip(),
        case_number=data.case or None,
        item_code=item or None,
        valid_from=valid_from,
        valid_until=valid_until,
        frequency_unit=data.frequency_unit,
        frequency_value=data.frequency_value,
        status="requested",
        requested_at=now,
    )
    session.add(row)
    session.flush()
    _record(
        session,
        row,
        action="consent.requested",
        actor=actor,
        data={"frequency": f"{row.frequency_value}/{row.frequency_unit}"},
    )
    _tell_subject(session, row, settings=settings)
    return view(session, row, now=now)


def _tell_subject(session: Session, row: Consent, *, settings: Settings) -> None:
    """An in-app message and an SMS link to the subject's account, when they have one."""
    if row.subject_account_id is None:
        return
    path = f"/my/consents/{row.uid}"
    text = (
        f"{row.requester_name}请求使用您的{row.resource_name}"
        f"（用途：{row.purpose_text}），请查看并决定是否同意：{path}"
    )
    cases.message_account(
        session,
        account_id=row.subject_account_id,
        case_number=row.case_number or "",
        kind="consent",
        text=text,
    )
    account = identity.get_account(session, account_id=row.subject_account_id)
    phone = account.phone
    if not phone:
        return
    link = f"{settings.public_base_url.rstrip('/')}{path}" if settings.public_base_url else path
    sms = f"{row.requester_name}请求使用您的{row.resource_name}，请登录查看并决定：{link}"
    gateway_path = settings.sms_gateway

    def send() -> None:
        try:
            load_gateway(gateway_path).send(phone, sms)
        except Exception:  # the request stands when the SMS provider is down
            log.exception("consent sms to %s failed", mask_phone(phone))

    after_commit(session, send)


# Deciding ----------------------------------------------------------------------------------


def _row(session: Session, uid: str) -> Consent:
    row = session.scalar(select(Consent).where(Consent.uid == uid))
    if row is None:
        raise NotFound(f"No consent {uid}.")
    return row


def _may_decide(session: Session, actor: Actor, row: Consent, *, action: str) -> int | None:
    """None when the actor is the data subject; the subject's id when they act as an agent
    within scope; otherwise a refusal event and RefusedGrant."""
    try:
        identity.authorize(actor, "consent.decide")
        if row.subject_account_id is None:
            raise Forbidden("This person has no account: a clerk records their consent.")
        if actor.account_id == row.subject_account_id:
            return None
        scope_item = row.item_code
        if scope_item is None and row.case_number:
            scope_item = cases.get_case(session, number=row.case_number).item_code
        identity.check_proxy(
            session,
            agent_id=actor.account_id,
            principal_id=row.subject_account_id,
            item_code=scope_item,
        )
        return row.subject_account_id
    except Forbidden as exc:
        _record(
            session,
            row,
            action="consent.decision_refused",
            actor=actor,
            data={"attempt": action, "outcome": "refused"},
        )
        error = RefusedGrant(
            f"Only the person concerned, or their agent within scope, may {action} this "
            f"consent: {exc.detail}"
        )
        raise error from None


def get(session: Session, *, actor: Actor, uid: str) -> ConsentView:
    """One consent, for its subject, their agents, or the requesting department."""
    row = _row(session, uid)
    identity.authorize(actor, "consent.read")
    if actor.role is Role.CITIZEN:
        if actor.account_id != row.subject_account_id:
            try:
                _proxy_check(session, actor, row)
            except Forbidden:
                raise NotFound(f"No consent {uid}.") from None
    elif actor.role in (Role.OFFICIAL, Role.STEWARD):
        try:  # the refusal is kept (auth.refused, hidden) by the error handler
            identity.authorize(actor, "consent.read", _department(row))
        except Forbidden:
            raise NotFound(f"No consent {uid}.") from None
    elif actor.role is Role.CLERK:
        pass  # a clerk at the counter records paper consents (consent.record checks more)
    return view(session, row)


def _proxy_check(session: Session, actor: Actor, row: Consent) -> None:
    if row.subject_account_id is None:
        raise Forbidden("no account")
    identity.check_proxy(
        session,
        agent_id=actor.account_id,
        principal_id=row.subject_account_id,
        item_code=row.item_code,
    )


def _department(row: Consent) -> dict[str, Any]:
    return {"department_id": row.requester_department_id, "region_code": row.requester_region}


def sign_and_grant(
    session: Session,
    row: Consent,
    *,
    actor: Actor | None,
    via: str,
    settings: Settings,
    on_behalf_of_id: int | None,
    now: datetime,
) -> None:
    row.status = "granted"
    row.decided_at = now
    row.decided_by_id = actor.account_id if actor else None
    row.decided_via = via
    artefact.sign(row, settings=settings)
    session.flush()
    _record(
        session,
        row,
        action="consent.granted",
        actor=actor,
        on_behalf_of_id=on_behalf_of_id,
        channel={"proxy": Channel.PROXY, "counter": Channel.ASSISTED}.get(via),
        data={
            "artefact_sha256": row.artefact_sha256,
            "via": via,
            "valid_until": row.valid_until.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "frequency": f"{row.frequency_value}/{row.frequency_unit}",
        },
    )


def _pending(row: Consent, *, now: datetime) -> None:
    if row.status != "requested":
        raise Conflict(f"This consent request was already answered ({row.status}).")
    if row.valid_until <= now:
        raise Conflict("This consent request has lapsed: its period is over.")


def grant(
    session: Session, *, actor: Actor, uid: str, settings: Settings, now: datetime | None = None
) -> ConsentView:
    """The data subject (or their agent within scope) grants: the node signs the artefact."""
    now = now or utcnow()
    row = _row(session, uid)
    principal = _may_decide(session, actor, row, action="grant")
    _pending(row, now=now)
    sign_and_grant(
        session,
        row,
        actor=actor,
        via="proxy" if principal else "online",
        settings=settings,
        on_behalf_of_id=principal,
        now=now,
    )
    return view(session, row, now=now)


def refuse(session: Session, *, actor: Actor, uid: str, now: datetime | None = None) -> ConsentView:
    """The data subject (or their agent within scope) refuses the request."""
    now = now or utcnow()
    row = _row(session, uid)
    principal = _may_decide(session, actor, row, action="refuse")
    _pending(row, now=now)
    row.status = "refused"
    row.decided_at = now
    row.decided_by_id = actor.account_id
    row.decided_via = "proxy" if principal else "online"
    session.flush()
    _record(
        session,
        row,
        action="consent.refused",
        actor=actor,
        on_behalf_of_id=principal,
        data={"via": row.decided_via},
    )
    return view(session, row, now=now)


def revoke(session: Session, *, actor: Actor, uid: str, now: datetime | None = None) -> ConsentView:
    """The data subject (or their agent) revokes a granted consent: fetches stop at once."""
    now = now or utcnow()
    row = _row(session, uid)
    principal = _may_decide(session, actor, row, action="revoke")
    if row.status != "granted":
        raise Conflict(f"Only a granted consent can be revoked (this one is {row.status}).")
    row.status = "revoked"
    row.revoked_at = now
    row.revoked_by_id = actor.account_id
    session.flush()
    _record(
        session,
        row,
        action="consent.revoked",
        actor=actor,
        on_behalf_of_id=principal,
        data={"artefact_sha256": row.artefact_sha256},
    )
    return view(session, row, now=now)


PAPER_TYPES = ("application/pdf", "image/jpeg", "image/png")


def record_at_counter(
    session: Session,
    *,
    actor: Actor,
    uid: str,
    resident_id: str,
    paper: bytes,
    settings: Settings,
    now: datetime | None = None,
) -> ConsentView:
    """A clerk records a consent the citizen signed on paper at the counter (the scan is
    checked like any upload and kept by its SHA-256; the ID card was checked in person)."""
    identity.authorize(actor, "consent.record")
    now = now or utcnow()
    row = _row(session, uid)
    number = identity.validate_resident_id(resident_id)
    if identity.resident_id_lookup_hash(number, settings=settings) != row.subject_hash:
        _record(
            session,
            row,
            action="consent.decision_refused",
            actor=actor,
            channel=Channel.ASSISTED,
            data={"attempt": "record", "outcome": "refused"},
        )
        raise RefusedGrant("This resident ID is not the one the request is about.")
    _pending(row, now=now)
    detected = cases.inspect(
        paper,
        max_bytes=settings.upload_max_bytes,
        max_pages=settings.upload_max_pages,
        max_pixels=settings.upload_max_pixels,
        max_unpacked_bytes=settings.upload_max_unpacked_bytes,
    )
    if detected.media_type not in PAPER_TYPES:
        text = "Upload the signed paper as a PDF, JPEG or PNG scan."
        raise Invalid(text, errors=[FieldError("file", text)])
    row.paper_sha256 = cases.BlobStore(settings.data_dir / "blobs").put(paper)
    sign_and_grant(
        session,
        row,
        actor=actor,
        via="counter",
        settings=settings,
        on_behalf_of_id=row.subject_account_id,
        now=now,
    )
    return view(session, row, now=now)


# Lists -------------------------------------------------------------------------------------


def my_consents(session: Session, *, actor: Actor) -> list[ConsentView]:
    """The actor's consents (as data subject) and those of whom they act for, newest first."""
    identity.authorize(actor, "consent.read_own", {"owner_id": actor.account_id})
    principals = {actor.account_id}
    for proxy in identity.list_proxies(session, agent_id=actor.account_id, include_inactive=False):
        if identity.proxy_status(proxy) == "active":
            principals.add(proxy.principal_id)
    rows = session.scalars(
        select(Consent)
        .where(Consent.subject_account_id.in_(sorted(principals)))
        .order_by(Consent.requested_at.desc(), Consent.id.desc())
        .limit(500)
    )
    return [view(session, row) for row in rows]


def department_consents(session: Session, *, actor: Actor) -> list[ConsentView]:
    """The consents a department asked for (stewards: their jurisdiction's), newest first."""
    identity.authorize(actor, "consent.read")
    if actor.role not in (Role.OFFICIAL, Role.STEWARD, Role.ADMIN):
        raise Forbidden("Only a department's staff read the consents it asked for.")
    stmt = select(Consent).order_by(Consent.requested_at.desc(), Consent.id.desc()).limit(500)
    if actor.role is Role.OFFICIAL:
        stmt = stmt.where(Consent.requester_department_id == actor.department_id)
    rows = [
        row
        for row in session.scalars(stmt)
        if identity.allowed(actor, "consent.read", _department(row))
    ]
    return [view(session, row) for row in rows]


def pending_for_subject(session: Session, *, resident_id: str, settings: Settings) -> list[str]:
    """The ids of the open requests about one person (the clerk's counter page)."""
    subject = identity.resident_id_lookup_hash(
        identity.validate_resident_id(resident_id), settings=settings
    )
    return list(
        session.scalars(
            select(Consent.uid)
            .where(Consent.subject_hash == subject, Consent.status == "requested")
            .order_by(Consent.id)
        )
    )
