"""The data tracker (我的数据使用记录): every use of a citizen's personal data, from the events.

Rules as data: `USES` maps each event type that is a use of someone's personal data to the
line it makes; `NOT_USES` names every other event type that carries a data subject, with why it
is no line (the person's own step, or a step of the case the person sees on the case itself).
A test derives the event types that carry a data subject from the code and fails when one is in
neither table (tests/consent/test_tracker_completeness.py).

A line is written by an events hook (`note_event`, registered by the shell) in the same
transaction as its event: a use that is in the ledger is in the tracker, and `missing_lines`
checks it. Each line links to its event's ledger receipt; the subject's own receipt adds the
opening of the leaf's salted commitment (`own_receipt`), which proves the entry is about them.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, text
from sqlalchemy.orm import Session

from tongban.cases import service as cases
from tongban.consent import consents
from tongban.consent.models import Consent
from tongban.consent.tracker_models import DataUse
from tongban.events import service as events
from tongban.events.service import Channel, EventView
from tongban.identity import service as identity
from tongban.identity.service import Actor
from tongban.ledger import service as ledger
from tongban.platform.db.fastpath.rows import insert_now, new_row
from tongban.platform.errors import AppError, Forbidden, Invalid, NotFound
from tongban.platform.web.rendering import N_


@dataclass(frozen=True, slots=True)
class Use:
    """What a line of the tracker says about one event type."""

    kind: str  # fetch, id_view, file_open, licence_use, consent_use
    words: str  # msgid: what happened, in the citizen's words
    # Where the data subject is found: "case" (the resource id is a case number: its applicant),
    # "account" (the resource id is the subject's account), "consent" (the consent's subject).
    subject: str = "case"


# Event type -> the tracker line it makes.
USES: dict[str, Use] = {
    "exchange.fetched": Use("fetch", N_("Your data was obtained from another department")),
    "exchange.fetch_refused": Use("fetch", N_("A request for your data was refused")),
    "case.applicant_id_viewed": Use("id_view", N_("An official looked at your full ID number")),
    "case.material_viewed": Use("file_open", N_("An official opened a paper you handed in")),
    "case.result_viewed": Use("file_open", N_("Someone else opened your decision document")),
    "credential.used": Use("licence_use", N_("Your e-licence was checked for a case")),
    "consent.used": Use(
        "consent_use", N_("Your data was fetched under your consent"), subject="consent"
    ),
}

# Event types that carry a data subject but are no use of their data by someone else: why.
# An entry ending in ".*" covers the event types a module builds from a code (f-strings).
NOT_USES: dict[str, str] = {
    "case.submitted": "the application itself: shown on the case (我的办件)",
    "case.*": "a step of the case's procedure: shown on the case's timeline",
    "case.assigned": "the case handed to an official: shown on the case",
    "case.applicant_linked": "the case joined the applicant's account (backfills its lines)",
    "case.payout_confirmed": "the applicant's own confirmation",
    "case.bundle_settled": "a combined application finished: shown on the case",
    "case.day_list_exported": (
        "an official downloaded their queue (many cases, names masked, no one subject): "
        "watched by the guard export.bulk rule"
    ),
    "identity.token_new_place": (
        "the person's own API token used from a new address (its pseudonym): a security "
        "signal for the guard, no data of theirs used"
    ),
    "account.registered": "the person's own account",
    "account.created": "an account opened (by the person, or by an administrator for staff)",
    "account.updated": "account administration: the account's own settings, not data used",
    "account.deactivated": "account administration: the account closed",
    "account.reactivated": "account administration: the account opened again",
    "account.preferences_changed": "the person's own settings",
    "account.password_changed": "the person's own password",
    "account.password_reset": "a reset the person asked for at the counter",
    "account.identity_verified": "the person's identity bound in person, with them present",
    "account.identity_verification_failed": "a failed check, with the person present",
    "help.requested": "the person's own call-back request",
    "review.rectified": "the follow-up of the person's own rating",
    "exchange.fetch_queued": "an automatic fetch queued: exchange.fetched is its line",
    "federation.case_received": "the case reaching its competent node (收受分离): on the case",
    "federation.case_followed": "the case's progress from another node: on the case",
    "federation.case_routed": "the case sent to its competent node (收受分离): on the case",
    "federation.request_sent": "the applicant side's withdrawal sent to the competent node",
    "federation.request_received": "the applicant side's withdrawal applied (or refused) there",
    "federation.request_answered": "the competent node's answer to the applicant's withdrawal",
    "federation.cohandle_sent": "a co-handling step (联办) sent to its co-handler's node",
    "federation.cohandle_received": "a co-handling step (联办) to be done here: on the case",
    "federation.cohandled_received": "a co-handler's node reporting its step (联办) done",
    "credential.issued": "an e-licence issued to the person: in their licence wallet",
    "credential.not_issued": "an e-licence not issued: the person is told on the case",
    # Not yet a line: a connected system's calls are logged by client, and the subject is not
    # resolved from them yet (docs/tracker.md, what is not done).
    "govstack.*": "a GovStack client's call, logged per client (not yet resolved to a person)",
    "consent.requested": "a department asks for consent: shown in 我的授权 to answer",
    "consent.granted": "the person's own decision (or their agent's, within scope)",
    "consent.refused": "the person's own decision (or their agent's, within scope)",
    "consent.revoked": "the person's own decision (or their agent's, within scope)",
    "consent.requirement_set": "a rule for a data resource: about nobody",
    "consent.requirement_withdrawn": "a rule for a data resource withdrawn: about nobody",
    "consent.decision_refused": "a refused attempt to decide: nothing was used",
    "data_usage.read_refused": "a refused look at a tracker: nothing was read",
    "data_usage.objected": "the person's own objection",
    "data_usage.objection_answered": "the answer to the person's objection (sent to them)",
}

# Resource types whose events carry a data subject (a case is its applicant's, its data too).
SUBJECT_RESOURCES = frozenset({"case", "case_data", "account", "consent", "data_use_objection"})

SHANGHAI = cases.SHANGHAI
PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
OUTCOME_WORDS: dict[str, str] = {
    "fetched": N_("Obtained"),
    "not-found": N_("No record held"),
    "refused": N_("Refused"),
    "failed": N_("Provider did not answer"),
    "seen": N_("Seen"),
    "allowed": N_("Allowed by your consent"),
}


def mask_name(name: str | None) -> str | None:
    """A name with all but its first character hidden (李建国 -> 李**)."""
    name = (name or "").strip()
    return name[:1] + "*" * max(len(name) - 1, 1) if name else None


def _subject_of(session: Session, event: EventView, use: Use) -> tuple[int | None, Any]:
    """The subject's account of an event (None: no account yet), and its case if any."""
    if use.subject == "account":
        return (int(event.resource_id) if event.resource_id.isdigit() else None), None
    number = event.resource_id
    subject_id: int | None = None
    if use.subject == "consent":
        consent = session.scalar(select(Consent).where(Consent.uid == event.resource_id))
        if consent is None:
            return None, None
        subject_id = consent.subject_account_id
        number = str((event.data or {}).get("use_case") or consent.case_number or "")
        if not number:
            return subject_id, None
    known = session.info.get(KNOWN_CASE)
    try:
        case = (
            known
            if isinstance(known, cases.CaseView) and known.number == number
            else cases.get_case(session, number=number)
        )
    except NotFound:
        return subject_id, None
    return (subject_id if use.subject == "consent" else case.applicant_id), case


# session.info key: a case (cases.CaseView) its caller read a moment ago in this transaction
# and is still working on (exchange's fetch sets it while it runs): the line of an event about
# that case takes it from here instead of reading it again (docs/benchmarks.md, Exchange).
KNOWN_CASE = "consent.tracker.known_case"


def _line(session: Session, event: EventView, use: Use, subject_id: int, case: Any) -> DataUse:
    return DataUse(**_line_values(session, event, use, subject_id, case))


def _line_values(
    session: Session, event: EventView, use: Use, subject_id: int, case: Any
) -> dict[str, Any]:
    data = event.data or {}
    department_code = data.get("department") or data.get("requester")
    # Two names, each one column by a statement built once: a line is written with every
    # fetch (docs/benchmarks.md, Exchange).
    department_name = None
    if isinstance(department_code, str):
        department_name = identity.department_name(session, code=department_code)
    actor_name = None
    if event.actor_id is not None:
        try:
            actor_name = identity.account_card(session, account_id=event.actor_id).display_name
        except NotFound:
            actor_name = None
    if actor_name and " " in actor_name.strip():
        actor_name = actor_name.split()[-1]  # "数据管理员 陈静": the person's name
    purpose = (event.private or {}).get("purpose") or event.reason
    fields = [str(f) for f in data.get("used_fields") or data.get("fields") or []]
    resource = data.get("resource")
    terms = consents.describe_resource(session, resource) if isinstance(resource, str) else None
    labels = [terms.fields.get(f, f) if terms else f for f in fields]
    return dict(
        event_id=event.id,
        event_uid=event.uid,
        subject_id=subject_id,
        occurred_at=event.occurred_at,
        action=event.action,
        kind=use.kind,
        department_code=department_code if isinstance(department_code, str) else None,
        department_name=department_name,
        actor_id=event.actor_id,
        actor_role=event.actor_role,
        actor_name_masked=mask_name(actor_name),
        case_number=case.number if case is not None else None,
        item_code=case.item_code if case is not None else None,
        fields=fields,
        field_labels=labels,
        purpose=purpose if isinstance(purpose, str) else None,
        outcome=str(data.get("outcome") or "seen")[:24],
    )


def note_event(session: Session, event: EventView) -> None:
    """The events hook: write the tracker line of an event that uses someone's data."""
    if event.action == "case.applicant_linked":
        backfill_case(session, case_number=event.resource_id)
        return
    use = USES.get(event.action)
    if use is None:
        return
    subject_id, case = _subject_of(session, event, use)
    if subject_id is None:
        return  # no account yet: the lines come when the case joins one (backfill_case)
    # Stored at once by a cached INSERT, as its event is (no unit-of-work flush at commit):
    # a line is written with every fetch (docs/benchmarks.md, Exchange).
    insert_now(session, new_row(DataUse, **_line_values(session, event, use, subject_id, case)))


def backfill_case(session: Session, *, case_number: str) -> int:
    """Write the missing lines of a case's earlier uses (it just joined its applicant's
    account); how many."""
    try:
        case = cases.get_case(session, number=case_number)
    except NotFound:
        return 0
    if case.applicant_id is None:
        return 0
    session.flush()
    written = 0
    for resource_type in ("case", "case_data"):
        timeline = events.for_resource(
            session, resource_type=resource_type, resource_id=case_number
        )
        seen = set(
            session.scalars(
                select(DataUse.event_id).where(DataUse.event_id.in_([e.id for e in timeline]))
            )
        )
        for event in timeline:
            use = USES.get(event.action)
            if use is None or event.id in seen or use.subject != "case":
                continue
            session.add(_line(session, event, use, case.applicant_id, case))
            written += 1
    return written


@dataclass(frozen=True, slots=True)
class UsageLine:
    """One line of the tracker as the subject (or their proxy) sees it."""

    id: int
    at: datetime
    action: str
    kind: str
    words: str
    department: str | None
    department_name: str | None
    official: str | None
    official_number: str | None
    role: str | None
    case: str | None
    purpose: str | None
    fields: list[str]
    field_labels: list[str]
    outcome: str
    event_uid: str
    ledger_receipt: str
    own_receipt: str
    objection: ObjectionState | None = None


@dataclass(frozen=True, slots=True)
class ObjectionState:
    """An objection to a line, as its line shows it."""

    id: int
    filed_at: datetime
    due_date: Any
    answer: str | None
    answered_at: datetime | None
    overdue: bool


@dataclass(frozen=True, slots=True)
class UsagePage:
    """One page of a tracker, newest first, and the cursor of the next page (None: last)."""

    subject_id: int
    items: list[UsageLine]
    next_cursor: str | None
    departments: list[tuple[str, str]] = field(default_factory=list)


def official_number(actor_id: int | None) -> str | None:
    """The staff number shown for an official (the platform has no badge register: the
    account number, zero-padded)."""
    return f"{actor_id:06d}" if actor_id is not None else None


def _view(row: DataUse, objection: ObjectionState | None) -> UsageLine:
    use = USES.get(row.action)
    return UsageLine(
        id=row.id,
        at=row.occurred_at,
        action=row.action,
        kind=row.kind,
        words=use.words if use else row.action,
        department=row.department_code,
        department_name=row.department_name,
        official=row.actor_name_masked,
        official_number=official_number(row.actor_id) if row.actor_role != "citizen" else None,
        role=row.actor_role,
        case=row.case_number,
        purpose=row.purpose,
        fields=list(row.fields or []),
        field_labels=[str(label) for label in row.field_labels or row.fields or []],
        outcome=row.outcome,
        event_uid=row.event_uid,
        ledger_receipt=f"/api/v1/ledger/receipts/{row.event_uid}",
        own_receipt=f"/api/v1/my/data-usage/{row.id}/receipt",
        objection=objection,
    )


def encode_cursor(at: datetime, line_id: int) -> str:
    """An opaque cursor: the last line's time and id."""
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{line_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The time and id a cursor carries; Invalid when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, line_id = raw.split("|")
        return datetime.fromisoformat(at), int(line_id)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise Invalid("The cursor is not one this API gave out.") from exc


class TrackerRefused(Forbidden):
    """Another person's tracker, without a proxy that covers it: refused and recorded."""

    keeps_writes = True


def _refuse(session: Session, *, actor: Actor, subject_id: int) -> AppError:
    events.record(
        session,
        action="data_usage.read_refused",
        resource_type="account",
        resource_id=str(subject_id),
        channel=Channel.API if actor.token_id else Channel.ONLINE,
        actor_id=actor.account_id,
        actor_role=str(actor.role),
        data={"refusal": "not-subject"},
    )
    return TrackerRefused("This is another person's data-usage record: you may not read it.")


def reader_scope(session: Session, *, actor: Actor, subject_id: int | None) -> tuple[int, Any]:
    """Whose tracker the caller reads and which items of it: (subject, None for all, or a
    set of item codes a proxy covers). Another person's without a proxy: refused, recorded."""
    identity.authorize(actor, "data_usage.read")
    if subject_id is None or subject_id == actor.account_id:
        return actor.account_id, None
    items: set[str] = set()
    for proxy in identity.list_proxies(
        session, principal_id=subject_id, agent_id=actor.account_id, include_inactive=False
    ):
        if identity.proxy_status(proxy) != "active":
            continue
        if proxy.all_items:
            return subject_id, None
        items.update(proxy.item_codes)
    if not items:
        raise _refuse(session, actor=actor, subject_id=subject_id)
    return subject_id, items


def data_usage(
    session: Session,
    *,
    actor: Actor,
    subject_id: int | None = None,
    department: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: str | None = None,
    limit: int = PAGE_SIZE,
) -> UsagePage:
    """One page of a person's tracker, newest first, filtered by department and period."""
    from tongban.consent import objections

    subject, items = reader_scope(session, actor=actor, subject_id=subject_id)
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    stmt = select(DataUse).where(DataUse.subject_id == subject)
    if items is not None:
        stmt = stmt.where(DataUse.item_code.in_(sorted(items)))
    if department:
        stmt = stmt.where(DataUse.department_code == department)
    if since is not None:
        stmt = stmt.where(DataUse.occurred_at >= since)
    if until is not None:
        stmt = stmt.where(DataUse.occurred_at < until)
    if cursor:
        at, line_id = decode_cursor(cursor)
        stmt = stmt.where(
            or_(DataUse.occurred_at < at, and_(DataUse.occurred_at == at, DataUse.id < line_id))
        )
    stmt = stmt.order_by(DataUse.occurred_at.desc(), DataUse.id.desc()).limit(limit + 1)
    rows = list(session.scalars(stmt))
    more = len(rows) > limit
    rows = rows[:limit]
    states = objections.states_of(session, use_ids=[row.id for row in rows])
    lines = [_view(row, states.get(row.id)) for row in rows]
    next_cursor = encode_cursor(rows[-1].occurred_at, rows[-1].id) if more and rows else None
    return UsagePage(subject_id=subject, items=lines, next_cursor=next_cursor)


# The distinct departments of one person's lines, by a loose index scan: each step is one
# seek on ix_data_uses_subject_department (the next code after the last), so a person with
# 10,000 lines over 4 departments costs 5 seeks, on SQLite and PostgreSQL alike.
_DEPARTMENTS = text(
    """
    WITH RECURSIVE seen(code) AS (
        SELECT min(department_code) FROM data_uses WHERE subject_id = :subject
        UNION ALL
        SELECT (
            SELECT min(department_code) FROM data_uses
            WHERE subject_id = :subject AND department_code > seen.code
        ) FROM seen WHERE seen.code IS NOT NULL
    )
    SELECT code FROM seen WHERE code IS NOT NULL
    """
)


def departments_seen(session: Session, *, subject_id: int) -> list[tuple[str, str]]:
    """The departments in a person's tracker (code, name), for the filter."""
    codes = session.scalars(_DEPARTMENTS, {"subject": subject_id}).all()
    found = []
    for code in codes:
        name = session.scalar(
            select(DataUse.department_name)
            .where(DataUse.subject_id == subject_id, DataUse.department_code == code)
            .limit(1)
        )
        found.append((str(code), str(name or code)))
    return sorted(found, key=lambda d: d[1])


def get_line(session: Session, *, actor: Actor, use_id: int) -> UsageLine:
    """One line, for its subject (or a proxy covering it); NotFound for anyone else."""
    from tongban.consent import objections

    row = session.get(DataUse, use_id)
    if row is None:
        raise NotFound("No such line in your data-usage record.")
    identity.authorize(actor, "data_usage.read")
    if row.subject_id != actor.account_id:
        try:
            _, items = reader_scope(session, actor=actor, subject_id=row.subject_id)
        except TrackerRefused:
            raise
        if items is not None and row.item_code not in items:
            raise NotFound("No such line in your data-usage record.")
    return _view(row, objections.states_of(session, use_ids=[row.id]).get(row.id))


def line_row(session: Session, *, use_id: int) -> DataUse | None:
    """The stored line (for this package's objections)."""
    return session.get(DataUse, use_id)


def own_receipt(session: Session, *, actor: Actor, use_id: int) -> dict[str, Any]:
    """The ledger receipt of a line with the opening of its leaf's commitment (the salt and
    what it covers): for the subject alone, who may hand it to whoever they choose."""
    line = get_line(session, actor=actor, use_id=use_id)
    row = session.get(DataUse, use_id)
    assert row is not None
    if row.subject_id != actor.account_id:
        # A proxy sees the line; the opening proves identity and stays with the subject.
        raise Forbidden("Only the person the data is about may take the opening of a receipt.")
    receipt = ledger.receipt_for_event(session, event_uid=line.event_uid)
    opened = events.disclosure(session, event_uid=line.event_uid)
    if opened is None:
        raise NotFound("This step has no commitment to open.")
    receipt["opening"] = {
        "event_uid": opened.uid,
        "format": opened.format,
        "salt": opened.salt,
        "committed": opened.committed,
    }
    return receipt


def missing_lines(session: Session) -> list[str]:
    """The uids of events that are uses of an account's data but have no tracker line
    (empty when the tracker is complete)."""
    log = events.events_table().c
    rows = session.execute(
        select(log.id, log.uid, log.action, log.resource_type, log.resource_id)
        .where(log.action.in_(sorted(USES)))
        .where(~log.id.in_(select(DataUse.event_id)))
    )
    missing: list[str] = []
    for _id, uid, action, _type, resource_id in rows:
        use = USES[action]
        if use.subject == "account":
            if str(resource_id).isdigit():
                missing.append(uid)
            continue
        try:
            case = cases.get_case(session, number=resource_id)
        except NotFound:
            continue
        if case.applicant_id is not None:
            missing.append(uid)
    return missing


__all__ = [
    "NOT_USES",
    "OUTCOME_WORDS",
    "SUBJECT_RESOURCES",
    "USES",
    "TrackerRefused",
    "UsageLine",
    "UsagePage",
    "Use",
    "backfill_case",
    "data_usage",
    "departments_seen",
    "get_line",
    "missing_lines",
    "note_event",
    "own_receipt",
]
