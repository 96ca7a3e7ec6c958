"""Issuing e-licences: at the completion of an approved case, to its applicant.

The status entry is the next free index of the department's current status list (a new list
of LIST_SIZE entries when it is full); the serial number (流水号) is derived from it, (list id -
1) x LIST_SIZE + index + 1, unique on the node and known before the row is written, so a
licence is signed and stored in one INSERT. The licence's public id is its 证照标识.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from joserfc.jwk import OKPKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.credentials import keys, licences, sdjwt
from tongban.credentials.licences import HOLDER_CODE_TYPES, LicenceType
from tongban.credentials.models import Credential, StatusListRow
from tongban.events import service as events
from tongban.events.service import Channel
from tongban.identity import service as identity
from tongban.identity.service import Actor, DepartmentView
from tongban.platform.config import Settings
from tongban.platform.db import utcnow
from tongban.platform.errors import Invalid

log = logging.getLogger(__name__)

# Entries per status list: fixed, so a list's size tells nothing about how many were issued.
LIST_SIZE = 131072
SHANGHAI_OFFSET = timedelta(hours=8)
# Licences (with their events) per INSERT statement of a batch.
_CHUNK = 40


def issuer_url(settings: Settings) -> str:
    """This node's issuer identifier (`iss`), where /.well-known/jwt-vc-issuer is served."""
    return (settings.public_base_url or f"https://{settings.node_name}").rstrip("/")


def status_list_uri(settings: Settings, list_id: int) -> str:
    """The address of a status list token."""
    return f"{issuer_url(settings)}/api/v1/credentials/status-lists/{list_id}"


def list_id_of(uri: str, settings: Settings) -> int | None:
    """The id of one of this node's status lists from its address, or None."""
    prefix = f"{issuer_url(settings)}/api/v1/credentials/status-lists/"
    tail = uri.removeprefix(prefix) if uri.startswith(prefix) else None
    return int(tail) if tail and tail.isdigit() and len(tail) < 16 else None


def _status_slots(
    session: Session, department: DepartmentView, count: int
) -> list[tuple[StatusListRow, int]]:
    """`count` consecutive free entries of the department's current status list(s): one
    locked read and one UPDATE per list touched (a new list when the current one is full)."""
    slots: list[tuple[StatusListRow, int]] = []
    while len(slots) < count:
        query = (
            select(StatusListRow)
            .where(
                StatusListRow.department_id == department.id,
                StatusListRow.next_index < StatusListRow.size,
            )
            .order_by(StatusListRow.id)
            .limit(1)
            .with_for_update()
        )
        row = session.scalar(query)
        if row is None:
            row = StatusListRow(
                department_id=department.id,
                department_code=department.code,
                size=LIST_SIZE,
                next_index=0,
                version=1,
                updated_at=utcnow(),
            )
            session.add(row)
            session.flush()
        start = row.next_index
        take = min(count - len(slots), row.size - start)
        slots.extend((row, index) for index in range(start, start + take))
        row.next_index = start + take
        if len(slots) < count:
            session.flush()  # the next read must see this list full
    return slots


def _status_slot(session: Session, department: DepartmentView) -> tuple[StatusListRow, int]:
    return _status_slots(session, department, 1)[0]


def _epoch(day: date) -> int:
    """The end of a day in Asia/Shanghai, as seconds since the epoch."""
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=timezone(SHANGHAI_OFFSET))
    return int(end.timestamp())


@dataclass(frozen=True)
class Subject:
    """Who the licence is about: name, ID number (and its type), birth date and sex."""

    name: str
    code: str
    code_type: str
    birth_date: date | None
    sex: str | None


def build(
    *,
    kind: LicenceType,
    serial: int,
    subject: Subject,
    department: DepartmentView,
    kid: str,
    key: OKPKey,
    iss: str,
    status_uri: str,
    status_index: int,
    form: dict[str, Any],
    issued: datetime,
    holder_jwk: dict[str, Any] | None = None,
) -> tuple[str, str, date, date | None]:
    """Sign one licence: (SD-JWT VC with all disclosures, 证照标识, valid from, valid until)."""
    today = (issued + SHANGHAI_OFFSET).date()
    until = licences.add_years(today, kind.validity_years) if kind.validity_years else None
    ident = licences.licence_id(
        type_code=kind.type_code, issuer_code=department.code, serial=serial
    )
    claims: dict[str, Any] = {
        "iss": iss,
        "iat": int(issued.timestamp()),
        "vct": kind.vct,
        "licence_id": ident,
        "licence_type_name": kind.name,
        "licence_type_code": kind.type_code,
        "issuer_name": department.name,
        "issuer_code": department.code,
        "issue_date": today.isoformat(),
        "valid_from": today.isoformat(),
        "status": {"status_list": {"idx": status_index, "uri": status_uri}},
    }
    if until is None:
        claims["long_term"] = True
    else:
        claims["valid_until"] = until.isoformat()
        claims["exp"] = _epoch(until)
    disclosable: dict[str, Any] = {
        "holder_name": subject.name,
        "holder_code": subject.code,
        "holder_code_type": subject.code_type,
        **licences.surface_items(
            kind, birth_date=subject.birth_date, sex=subject.sex, form=form, today=today
        ),
    }
    token = sdjwt.issue(
        key=key, kid=kid, claims=claims, disclosable=disclosable, holder_jwk=holder_jwk
    )
    return token, ident, today, until


@dataclass(frozen=True)
class IssuedView:
    """What was issued: the credential's id, 证照标识 and type."""

    id: int
    licence_id: str
    type_code: str
    type_name: str


def issue(
    session: Session,
    *,
    kind: LicenceType,
    holder_id: int,
    department_id: int,
    form: dict[str, Any],
    settings: Settings,
    case_number: str | None = None,
    actor: Actor | None = None,
    holder_jwk: dict[str, Any] | None = None,
) -> IssuedView:
    """Issue one licence to an account whose identity is verified (Invalid otherwise)."""
    grant = Grant(holder_id=holder_id, form=form, case_number=case_number, holder_jwk=holder_jwk)
    return issue_many(
        session,
        kind=kind,
        department_id=department_id,
        grants=[grant],
        settings=settings,
        actor=actor,
    )[0]


def issue_at_completion(
    session: Session,
    *,
    actor: Actor,
    case_number: str,
    item_code: str | None,
    department_id: int | None,
    applicant_id: int | None,
    decision: str | None,
    form_data: dict[str, Any],
    settings: Settings,
) -> IssuedView | None:
    """The cases hook: an approved, completed case of an item that yields a licence issues it.
    Nothing for other items, refusals, or applicants without an account or a verified identity
    (then an event says why, and the case completes as before)."""
    kind = licences.for_item(item_code)
    if kind is None or decision != "approved" or department_id is None:
        return None
    known = session.scalar(select(Credential.id).where(Credential.case_number == case_number))
    if known is not None:
        return None
    reason = None
    if applicant_id is None:
        reason = "no_account"
    else:
        account = identity.get_account(session, account_id=applicant_id)
        if not account.identity_verified:
            reason = "identity_unverified"
    if reason is not None or applicant_id is None:
        events.record(
            session,
            action="credential.not_issued",
            resource_type="case",
            resource_id=case_number,
            channel=Channel.SYSTEM,
            data={"v": 1, "type_code": kind.type_code, "why": reason},
        )
        return None
    return issue(
        session,
        kind=kind,
        holder_id=applicant_id,
        department_id=department_id,
        form=form_data,
        settings=settings,
        case_number=case_number,
        actor=actor,
    )


@dataclass(frozen=True)
class Grant:
    """One licence of a batch: to whom, the form it is made from, the case it concludes."""

    holder_id: int
    form: dict[str, Any]
    case_number: str | None = None
    holder_jwk: dict[str, Any] | None = None


def issue_many(
    session: Session,
    *,
    kind: LicenceType,
    department_id: int,
    grants: list[Grant],
    settings: Settings,
    actor: Actor | None = None,
) -> list[IssuedView]:
    """Issue a batch of licences of one type and department (e.g. for past completed cases):
    the same licences, rows and events as `issue` one by one, with the department, its key
    and each holder read once, the status entries taken in one block and the rows inserted
    together. Invalid, with nothing issued, when a holder's identity is not verified."""
    if not grants:
        return []
    subjects: dict[int, Subject] = {}
    for holder_id in dict.fromkeys(g.holder_id for g in grants):
        account = identity.get_account(session, account_id=holder_id)
        resident_id = identity.reveal_resident_id(session, account_id=holder_id, settings=settings)
        if resident_id is None or not account.identity_verified:
            raise Invalid("A licence is issued only to a holder whose identity is verified.")
        facts = identity.resident_facts(resident_id)
        subjects[holder_id] = Subject(
            name=account.display_name,
            code=resident_id,
            code_type=HOLDER_CODE_TYPES[kind.holder],
            birth_date=facts.birth_date,
            sex="男" if facts.sex == "M" else "女",
        )
    department = identity.get_department(session, department_id=department_id)
    kid, key = keys.active_key(session, department=department, settings=settings)
    slots = _status_slots(session, department, len(grants))
    iss = issuer_url(settings)
    rows: list[Credential] = []
    for grant, (status_list, index) in zip(grants, slots, strict=True):
        now = utcnow()
        token, ident, start, until = build(
            kind=kind,
            serial=(status_list.id - 1) * status_list.size + index + 1,
            subject=subjects[grant.holder_id],
            department=department,
            kid=kid,
            key=key,
            iss=iss,
            status_uri=status_list_uri(settings, status_list.id),
            status_index=index,
            form=grant.form,
            issued=now,
            holder_jwk=grant.holder_jwk,
        )
        rows.append(
            Credential(
                licence_id=ident,
                sd_jwt=token,
                type_code=kind.type_code,
                vct=kind.vct,
                item_code=kind.item,
                case_number=grant.case_number,
                holder_id=grant.holder_id,
                department_id=department.id,
                department_code=department.code,
                department_name=department.name,
                kid=kid,
                list_id=status_list.id,
                list_index=index,
                status="valid",
                issued_at=now,
                valid_from=start,
                valid_until=until,
                updated_at=now,
            )
        )
    channel = Channel.SYSTEM if actor is None else Channel.ONLINE
    for at in range(0, len(rows), _CHUNK):
        chunk = rows[at : at + _CHUNK]
        # The chunk's rows and their events: on PostgreSQL one statement.
        events.insert_with_events(
            session,
            chunk[0],
            also=chunk[1:],
            events=[
                {
                    "action": "credential.issued",
                    "resource_type": "credential",
                    "resource_id": row.licence_id or "",
                    "channel": channel,
                    "actor_id": actor.account_id if actor else None,
                    "actor_role": actor.role.value if actor else None,
                    "data": {
                        "v": 1,
                        "type_code": kind.type_code,
                        "issuer_code": department.code,
                        "kid": kid,
                        "case": row.case_number,
                        "list_id": row.list_id,
                        "idx": row.list_index,
                    },
                    "personal": {"holder_id": row.holder_id},
                }
                for row in chunk
            ],
        )
    return [
        IssuedView(
            id=row.id,
            licence_id=row.licence_id or "",
            type_code=kind.type_code,
            type_name=kind.name,
        )
        for row in rows
    ]
