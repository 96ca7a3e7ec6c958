"""Fetching a person's data for a case: purpose-bound, agreement-checked, recorded.

Only an official of the department handling the case, only while the case is open, only for the
case's item and only the fields an agreement (or the 无条件共享 attribute) allows; Cedar decides
(exchange/policy.py), this module explains a refusal. Every fetch and every refusal is an
event (who, which department, which case, resource and fields, outcome; never the data, the
purpose stays beside the event). A refusal raises an error that keeps its event
(exchange/errors.py) and changes nothing else.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, NoReturn

from sqlalchemy import ColumnElement, Table, and_, bindparam, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from tongban.cases import service as cases
from tongban.consent import service as consent
from tongban.events import service as events
from tongban.exchange import policy
from tongban.exchange.catalogue import channel_of, field_names
from tongban.exchange.errors import (
    ProviderUnavailable,
    RefusedConflict,
    RefusedForbidden,
    RefusedInvalid,
    RefusedNotFound,
)
from tongban.exchange.models import Agreement, DataFetch, DataResource, PendingFetch
from tongban.exchange.providers import Answer, Query, ask
from tongban.exchange.requests import agreement_status
from tongban.exchange.schemas import Sharing
from tongban.identity import service as identity
from tongban.identity.service import Actor, Role
from tongban.platform.config import Settings
from tongban.platform.db import utcnow
from tongban.platform.db.fastpath.direct_sql import AnySelect, read_all, write_now
from tongban.platform.db.fastpath.rows import insert_now, new_row
from tongban.platform.errors import AppError, FieldError, Forbidden, NotFound

_PENDING: Table = PendingFetch.__table__  # type: ignore[assignment]
# Built once, every value a parameter: run directly on every fetch that found its record.
_PENDING_DONE = (
    update(_PENDING)
    .where(
        _PENDING.c.case_number == bindparam("for_case"),
        _PENDING.c.resource_code == bindparam("for_resource"),
        _PENDING.c.state.in_([bindparam("pending"), bindparam("failed")]),
    )
    .values(
        state=bindparam("done"),
        fetch_id=bindparam("done_by"),
        problem=bindparam("no_problem"),
        updated_at=bindparam("done_at"),
    )
)
_CASE_NUMBER = re.compile(r"^[0-9A-Z-]{8,40}$")

# Refusal code -> (error class, message). Codes go into the ledger; messages to the caller.
REFUSALS: dict[str, tuple[type[AppError], str]] = {
    "no-case": (RefusedInvalid, "A fetch is always for a case: name the case."),
    "unknown-case": (RefusedNotFound, "No case {case}."),
    "case-closed": (
        RefusedConflict,
        "Case {case} is not open: data is fetched only while handling.",
    ),
    "unknown-resource": (RefusedInvalid, "No data resource {resource}."),
    "unknown-field": (RefusedInvalid, "{resource} has no field(s) {detail}."),
    "not-shared": (RefusedForbidden, "{resource} is not shared (不予共享)."),
    "no-agreement": (RefusedForbidden, "Your department has no sharing agreement for {resource}."),
    "revoked": (RefusedForbidden, "The sharing agreement for {resource} was revoked."),
    "expired": (RefusedForbidden, "The sharing agreement for {resource} has expired."),
    "item-not-covered": (
        RefusedForbidden,
        "The sharing agreement for {resource} does not cover this case's item.",
    ),
    "field-not-agreed": (
        RefusedForbidden,
        "The sharing agreement for {resource} does not cover field(s) {detail}.",
    ),
    "no-subject": (RefusedConflict, "No resident ID is on record for this case's applicant."),
}
# A use that needs the person's consent (consent/checks.py) and has none covering it.
REFUSALS.update({code: (RefusedForbidden, text) for code, text in consent.REFUSAL_MESSAGES.items()})


def _refuse(
    session: Session,
    *,
    actor: Actor,
    case_number: str,
    resource: str,
    fields: list[str],
    code: str,
    detail: str = "",
    purpose: str | None = None,
) -> NoReturn:
    """Record the refusal, then raise the error that keeps it."""
    kind, message = REFUSALS[code]
    case_id = case_number if _CASE_NUMBER.match(case_number or "") else "none"
    events.record(
        session,
        action="exchange.fetch_refused",
        resource_type="case_data",
        resource_id=case_id,
        channel=channel_of(actor),
        actor_id=actor.account_id,
        actor_role=actor.role.value,
        data={
            "resource": resource if re.match(r"^[A-Z0-9-]{1,40}$", resource) else "none",
            "fields": [f for f in fields if re.match(r"^[a-z0-9_]{1,40}$", f)],
            "department": actor.department_code,
            "outcome": "refused",
            "refusal": code,
        },
        private={"purpose": purpose} if purpose else None,
    )
    text = message.format(case=case_number, resource=resource, detail=detail)
    field = {"no-case": "case", "unknown-resource": "resource"}.get(code, "fields")
    error = (
        RefusedInvalid(text, errors=[FieldError(field, text)])
        if kind is RefusedInvalid
        else kind(text)
    )
    error.refusal = code  # type: ignore[attr-defined]  # pages say it in the reader's language
    raise error


def _subject(session: Session, case: cases.CaseView, settings: Settings) -> str | None:
    """The applicant's resident ID: their account's bound number, or the one filed with it."""
    if case.applicant_id is not None:
        number = identity.reveal_resident_id(
            session, account_id=case.applicant_id, settings=settings
        )
        if number:
            return number
    personal = events.personal_of_first(
        session, resource_type="case", resource_id=case.number, action="case.submitted"
    )
    found = (personal or {}).get("resident_id")
    return str(found) if found else None


# Every column of a resource, then every column of an agreement (labelled apart).
_RESOURCE_KEYS = tuple(prop.key for prop in sa_inspect(DataResource).column_attrs)
_AGREEMENT_KEYS = tuple(prop.key for prop in sa_inspect(Agreement).column_attrs)
_AGREEMENT_ID = len(_RESOURCE_KEYS) + _AGREEMENT_KEYS.index("id")


def _with_agreements(consumer: ColumnElement[bool]) -> AnySelect:
    return (
        select(
            *(getattr(DataResource, key) for key in _RESOURCE_KEYS),
            *(getattr(Agreement, key).label(f"agreement_{key}") for key in _AGREEMENT_KEYS),
        )
        .outerjoin(Agreement, and_(Agreement.resource_id == DataResource.id, consumer))
        .where(DataResource.code == bindparam("code"))
        .order_by(Agreement.id)
    )


# Built once, one for each way a consumer is named (its department here, its code on the
# provider's node): read on every fetch and every query served.
_BY_DEPARTMENT = _with_agreements(Agreement.consumer_department_id == bindparam("consumer"))
_BY_CONSUMER_CODE = _with_agreements(Agreement.consumer_code == bindparam("consumer"))


def resource_and_agreements(
    session: Session, *, code: str, department_id: int | None = None, consumer_code: str = ""
) -> tuple[DataResource | None, list[Agreement]]:
    """The resource with this code and its agreements with the consumer (a department of this
    node by `department_id`, else another node's by `consumer_code`), oldest first.

    One statement (an outer join) built once, its rows made into objects without the ORM's
    loading (new_row: as if loaded, not in the session; the fetch only reads them): 246 µs
    a fetch through the ORM, ~60 µs so (docs/benchmarks.md, Exchange)."""
    statement = _BY_DEPARTMENT if department_id is not None else _BY_CONSUMER_CODE
    consumer = department_id if department_id is not None else consumer_code
    rows = read_all(session, statement, {"code": code, "consumer": consumer})
    if not rows:
        return None, []
    split = len(_RESOURCE_KEYS)
    resource = new_row(DataResource, **dict(zip(_RESOURCE_KEYS, rows[0][:split], strict=True)))
    agreements = [
        new_row(Agreement, **dict(zip(_AGREEMENT_KEYS, row[split:], strict=True)))
        for row in rows
        if row[_AGREEMENT_ID] is not None
    ]
    return resource, agreements


def _why_not(
    agreements: list[Agreement], *, item: str, fields: list[str], now: datetime
) -> tuple[str, str]:
    """Why no agreement allows this (Cedar said no): the refusal code and its detail."""
    if not agreements:
        return "no-agreement", ""
    statuses = [agreement_status(a, now=now) for a in agreements]
    live = [a for a, s in zip(agreements, statuses, strict=True) if s == "active"]
    if not live:
        return ("revoked" if "revoked" in statuses else "expired"), ""
    covering = [a for a in live if item in a.item_codes]
    if not covering:
        return "item-not-covered", ""
    outside = sorted(set(fields) - set().union(*(set(a.fields) for a in covering)))
    return "field-not-agreed", ", ".join(outside)


def policies_for(
    resource: DataResource, agreements: list[Agreement]
) -> tuple[list[str], list[Agreement | None]]:
    """The Cedar policies deciding fetches of the resource (revoked agreements left out),
    and which agreement each one is (None for the resource's own open/closed policy)."""
    texts: list[str] = []
    owners: list[Agreement | None] = []
    if resource.sharing == Sharing.UNCONDITIONAL.value:
        texts.append(policy.open_policy(resource=resource.code, fields=field_names(resource)))
        owners.append(None)
    elif resource.sharing == Sharing.NONE.value:
        texts.append(policy.closed_policy(resource=resource.code))
        owners.append(None)
    for agreement in agreements:
        if agreement.revoked_at is None:
            texts.append(agreement.policy)
            owners.append(agreement)
    return texts, owners


# session.info key: the resource a fetch in progress read, while it runs. The tracker's line of
# the fetch's event (consent, through exchange.service.consent_terms) describes that resource:
# it is taken from here instead of read again in the same transaction.
FETCHING = "exchange.fetching"


def fetch_for_case(
    session: Session,
    *,
    actor: Actor,
    case_number: str,
    resource_code: str,
    fields: list[str] | None,
    purpose: str,
    settings: Settings,
    now: datetime | None = None,
) -> DataFetch:
    """Fetch the applicant's data for an open case of the caller's department; recorded."""
    try:
        return _fetch_for_case(
            session,
            actor=actor,
            case_number=case_number,
            resource_code=resource_code,
            fields=fields,
            purpose=purpose,
            settings=settings,
            now=now,
        )
    finally:
        session.info.pop(FETCHING, None)
        session.info.pop(consent.KNOWN_CASE, None)


def _fetch_for_case(
    session: Session,
    *,
    actor: Actor,
    case_number: str,
    resource_code: str,
    fields: list[str] | None,
    purpose: str,
    settings: Settings,
    now: datetime | None,
) -> DataFetch:
    identity.authorize(actor, "exchange.fetch")  # the role first: a clear 403
    asked = list(dict.fromkeys(fields or []))
    refuse: dict[str, Any] = {
        "actor": actor,
        "case_number": case_number or "",
        "resource": resource_code,
        "fields": asked,
        "purpose": purpose,
    }
    if not (case_number or "").strip():
        _refuse(session, **refuse, code="no-case")
    try:
        case = cases.get_case(session, number=case_number)
        if case.kind == "bundle" or actor.role is not Role.OFFICIAL:
            raise Forbidden("not an official's case")
        identity.authorize(
            actor,
            "exchange.fetch",
            {"department_id": case.department_id, "region_code": case.authority_region},
        )
    except (NotFound, Forbidden):
        # A case one may not handle does not exist for them (as cases answer).
        _refuse(session, **refuse, code="unknown-case")
    if case.state not in cases.OPEN_STATES:
        _refuse(session, **refuse, code="case-closed")
    session.info[consent.KNOWN_CASE] = case  # the tracker's line of this fetch's event
    resource, agreements = resource_and_agreements(
        session, code=resource_code, department_id=actor.department_id
    )
    if resource is None or not resource.active:
        _refuse(session, **refuse, code="unknown-resource")
    session.info[FETCHING] = resource
    if resource.sharing == Sharing.NONE.value:
        _refuse(session, **refuse, code="not-shared")
    unknown = [name for name in asked if name not in field_names(resource)]
    if unknown:
        _refuse(session, **refuse, code="unknown-field", detail=", ".join(unknown))
    now = now or utcnow()
    item = case.item_code or ""
    assert actor.department_id is not None and actor.department_code is not None
    if not asked:
        asked = _default_fields(resource, agreements, item=item, now=now)
        refuse["fields"] = asked
    texts, owners = policies_for(resource, agreements)
    decision = policy.decide(
        policies=texts,
        consumer=actor.department_code,
        resource=resource.code,
        item=item,
        fields=asked,
        now=now,
    )
    if not decision.allowed:
        code, detail = _why_not(agreements, item=item, fields=asked, now=now)
        _refuse(session, **refuse, code=code, detail=detail)
    agreement = _deciding(decision, owners)
    subject = _subject(session, case, settings)
    if subject is None:
        _refuse(session, **refuse, code="no-subject")
    refusal = consent.check_and_use(
        session,
        actor=actor,
        consumer_code=actor.department_code,
        resource_code=resource.code,
        item=item,
        case_number=case.number,
        resident_id=subject,
        fields=asked,
        settings=settings,
        now=now,
    )
    if refusal is not None:
        _refuse(session, **refuse, code=refusal.code, detail=refusal.detail)
    query = Query(
        resource=resource.code,
        fields=tuple(asked),
        resident_id=subject,
        case_number=case.number,
        purpose=purpose,
        client=actor.department_code,
        item=item,
    )
    try:
        answer = ask(session, resource=resource, query=query, settings=settings)
    except ProviderUnavailable as exc:
        _unavailable(session, actor=actor, case=case, resource=resource, fields=asked, exc=exc)
    return _store(
        session,
        actor=actor,
        case=case,
        resource=resource,
        fields=asked,
        purpose=purpose,
        agreement=agreement,
        answer=answer,
        subject=subject,
    )


def _default_fields(
    resource: DataResource, agreements: list[Agreement], *, item: str, now: datetime
) -> list[str]:
    """No fields named: the agreed ones (of an active agreement for the item), else all."""
    for agreement in agreements:
        if agreement_status(agreement, now=now) == "active" and item in agreement.item_codes:
            return list(agreement.fields)
    return field_names(resource)


def _deciding(decision: policy.Decision, owners: list[Agreement | None]) -> Agreement | None:
    for reason in decision.policies:
        index = int(reason.removeprefix("policy")) if reason.startswith("policy") else -1
        if 0 <= index < len(owners) and owners[index] is not None:
            return owners[index]
    return None


def _unavailable(
    session: Session,
    *,
    actor: Actor,
    case: cases.CaseView,
    resource: DataResource,
    fields: list[str],
    exc: ProviderUnavailable,
) -> NoReturn:
    events.record(
        session,
        action="exchange.fetch_refused",
        resource_type="case_data",
        resource_id=case.number,
        channel=channel_of(actor),
        actor_id=actor.account_id,
        actor_role=actor.role.value,
        data={
            "resource": resource.code,
            "fields": fields,
            "department": actor.department_code,
            "outcome": "failed",
            "refusal": "provider-unavailable",
            "provider_node": resource.endpoint,
        },
    )
    raise exc


def _store(
    session: Session,
    *,
    actor: Actor,
    case: cases.CaseView,
    resource: DataResource,
    fields: list[str],
    purpose: str,
    agreement: Agreement | None,
    answer: Answer,
    subject: str,
) -> DataFetch:
    row = new_row(
        DataFetch,
        case_number=case.number,
        resource_code=resource.code,
        resource_name=resource.name,
        provider_name=resource.provider_name,
        department_id=actor.department_id,
        actor_id=actor.account_id,
        fields=fields,
        purpose=purpose.strip(),
        agreement_id=agreement.id if agreement else None,
        data=answer.data,
        found=answer.found,
        source=answer.source,
        message_id=answer.message_id,
        fetched_at=utcnow(),
    )
    # Stored at once by a cached INSERT (no unit-of-work flush), as the message log.
    insert_now(session, row)
    if answer.found:  # a fetch by hand stands in for one queued at acceptance (automatic.py)
        # A prebuilt UPDATE run at once: no ORM object of the queue is loaded here, so there
        # is nothing in the session to synchronise (the ORM's bulk UPDATE cost more); what the
        # caller changed is flushed first, as the ORM's autoflush would.
        write_now(
            session,
            _PENDING_DONE,
            {
                "for_case": case.number,
                "for_resource": resource.code,
                "pending": "pending",
                "failed": "failed",
                "done": "done",
                "done_by": row.id,
                "no_problem": None,
                "done_at": row.fetched_at,
            },
        )
    events.record(
        session,
        action="exchange.fetched",
        resource_type="case_data",
        resource_id=case.number,
        channel=channel_of(actor),
        actor_id=actor.account_id,
        actor_role=actor.role.value,
        data={
            "fetch": row.id,
            "resource": resource.code,
            "fields": fields,
            "department": actor.department_code,
            "outcome": "fetched" if answer.found else "not-found",
            "agreement": row.agreement_id,
            "provider_node": answer.source,
            "message_id": answer.message_id,
            # The message's hashes (exchange/remote.py): in the ledger with the fetch.
            **(
                {}
                if answer.message_hashes is None
                else {
                    "request_sha256": answer.message_hashes[0],
                    "response_sha256": answer.message_hashes[1],
                }
            ),
        },
        private={"purpose": row.purpose},
        # Whose data it was, committed to (never in the leaf): the applicant's own receipt
        # opens it to prove the fetch was about them (the tracker, consent/tracker.py).
        personal={"subject": {"resident_id": identity.mask_resident_id(subject)}},
    )
    return row


def fetches_of_case(session: Session, *, actor: Actor | None, case_number: str) -> list[DataFetch]:
    """A case's fetches, oldest first: for its handling officials and its applicant."""
    try:
        case = cases.get_case(session, number=case_number)
        identity.authorize(actor, "exchange.fetch.read")
        assert actor is not None
        if actor.role is Role.OFFICIAL:
            target: dict[str, Any] = {
                "department_id": case.department_id,
                "region_code": case.authority_region,
            }
        else:
            target = {"owner_id": case.applicant_id}
        identity.authorize(actor, "exchange.fetch.read", target)
    except Forbidden:
        raise NotFound(f"No case {case_number}.") from None
    return materials_of_case(session, case_number=case_number)


def materials_of_case(session: Session, *, case_number: str) -> list[DataFetch]:
    """A case's fetches, oldest first (no check: for the shell's checklist hook)."""
    return list(
        session.scalars(
            select(DataFetch).where(DataFetch.case_number == case_number).order_by(DataFetch.id)
        )
    )
