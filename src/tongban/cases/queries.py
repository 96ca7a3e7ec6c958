"""Reading cases: one case with its checklist and timeline, the official's queue, my cases."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.orm import Session, aliased

from tongban.cases import clocks, handling, payout, supplements
from tongban.cases.handling import authorize_read, current_clock, find_offer, get_case
from tongban.cases.models import Case, CaseMaterial, CaseStep
from tongban.cases.offers import Offer
from tongban.cases.results import subject_part
from tongban.cases.schemas import (
    AssigneeRead,
    CasePage,
    CaseRead,
    CaseSummary,
    ChecklistLine,
    DeadlinesRead,
    EventRead,
    PauseRead,
    QueuePage,
    QueueRow,
    StepRead,
    SupplementItemRead,
)
from tongban.cases.states import OPEN_STATES, PAUSED_STATES, Action, actions_from, transition
from tongban.cases.uploads import blob_store
from tongban.events import service as events
from tongban.events.service import Channel
from tongban.identity import service as identity
from tongban.identity.service import Actor, Role
from tongban.platform.config import Settings
from tongban.platform.errors import FieldError, Forbidden, Invalid, NotFound
from tongban.platform.web.rendering import N_
from tongban.regions import service as regions
from tongban.workdays.service import WorkingCalendar, load_calendar


def today() -> date:
    """Today in Asia/Shanghai."""
    return clocks.local_date(clocks.now())


# The columns a list row needs: the queue selects only these (no ORM objects to build).
_SUMMARY_COLUMNS = (
    Case.number,
    Case.kind,
    Case.item_name,
    Case.implementation_code,
    Case.authority_name,
    Case.authority_region,
    Case.applicant_name,
    Case.state,
    Case.received_at,
    Case.due_date,
    Case.version,
)
# The queue's rows add how and where a case came in, and who works it.
_QUEUE_COLUMNS = (
    *_SUMMARY_COLUMNS,
    Case.item_code,
    Case.applicant_id_masked,
    Case.channel,
    Case.service_point,
    Case.assignee_id,
)


def _urgency(case: Any, calendar: WorkingCalendar, day: date, warn: int) -> str:
    if case.state in ("supplement_requested", "special_procedure"):
        return "paused"
    return clocks.urgency(calendar, today=day, due=case.due_date, warn_days=warn)


def summary(case: Any, calendar: WorkingCalendar, *, day: date, warn: int) -> CaseSummary:
    """A case (or a row of its summary columns) as a list row, with its overdue / due-soon flag."""
    return CaseSummary(
        number=case.number,
        kind=case.kind,
        item_name=case.item_name,
        implementation_code=case.implementation_code,
        authority_name=case.authority_name,
        authority_region=case.authority_region,
        applicant_name=case.applicant_name,
        state=case.state,
        received_at=case.received_at,
        due_date=case.due_date,
        urgency=_urgency(case, calendar, day, warn),
        version=case.version,
    )


def _checklist(
    session: Session, case: Case, subs: Sequence[Case], offers: Mapping[str, Offer]
) -> list[ChecklistLine]:
    codes = [c.implementation_code for c in ([case] if case.kind == "single" else subs)]
    lines: dict[str, ChecklistLine] = {}
    for code in codes:
        if not code:
            continue
        try:
            offer = offers.get(code) or find_offer(
                session, implementation=code, item=None, region=None
            )
        except Invalid:
            continue  # the implementation left the catalog; the attached files still show
        for m in offer.materials:
            if m.name not in lines:
                files = [x.sha256 for x in case.materials if x.name == m.name]
                lines[m.name] = ChecklistLine(
                    name=m.name,
                    required=m.required,
                    source=m.source,
                    present=bool(files),
                    files=files,
                )
    return list(lines.values())


def _actions(case: Case, subs: Sequence[Case]) -> list[str]:
    """What can be done next: a case's transitions; for a bundle, withdrawing its open parts."""
    if case.kind == "single":
        held = payout.HELD_ACTIONS if case.payout_pending else frozenset()
        return [a for a in actions_from(case.state) if a not in held]
    if any(transition(s.state, Action.WITHDRAW) is not None for s in subs):
        return [Action.WITHDRAW.value]
    return []


def read_case(session: Session, *, actor: Actor, number: str, settings: Settings) -> CaseRead:
    """Everything about one case the caller may see."""
    from tongban.cases.handling import get_case

    return describe_case(
        session, actor=actor, case=get_case(session, number=number), settings=settings
    )


def describe_case(
    session: Session,
    *,
    actor: Actor,
    case: Case,
    settings: Settings,
    timeline: Sequence[events.EventView] | None = None,
    calendar: WorkingCalendar | None = None,
    offers: Mapping[str, Offer] | None = None,
) -> CaseRead:
    """Everything about a case already in hand (e.g. just submitted) the caller may see.

    What the caller already holds is not read again: the case's whole `timeline` (a submission
    just recorded it), the `calendar` and the `offers` (by implementation code) it used.
    """
    authorize_read(session, actor=actor, case=case)
    calendar = calendar or load_calendar(session)
    day = today()
    warn = settings.deadline_warning_working_days
    subs = (
        session.scalars(select(Case).where(Case.parent_id == case.id).order_by(Case.number)).all()
        if case.kind == "bundle"
        else []
    )
    parent = session.get(Case, case.parent_id) if case.parent_id else None
    clock = current_clock(case, calendar, today=day, warn_days=warn)
    if timeline is None:
        timeline = events.for_resource(session, resource_type="case", resource_id=case.number)
    timeline_read = [
        EventRead(
            uid=e.uid,
            at=e.occurred_at,
            action=e.action,
            actor_role=e.actor_role,
            channel=e.channel,
            service_point=e.service_point,
            reason=e.reason,
            data=e.data,
            ledger_receipt=f"/api/v1/ledger/receipts/{e.uid}",
        )
        for e in timeline
    ]
    base = summary(case, calendar, day=day, warn=warn).model_dump()
    base["urgency"] = clock["urgency"]
    return CaseRead(
        **base,
        bundle_code=case.bundle_code,
        parent=parent.number if parent else None,
        case_type=case.case_type,
        applicant_id_masked=case.applicant_id_masked,
        channel=case.channel,
        service_point=case.service_point,
        filed_by_role=case.filed_by_role,
        identity_confirmed=case.identity_confirmed,
        payout_pending=bool(case.payout_pending),
        form=case.form_data,
        deadlines=DeadlinesRead(**clock),
        decision=case.decision,
        decision_text=case.decision_text,
        result_document=case.result_document,
        reason=case.reason,
        missing=list(case.missing or []),
        supplement_items=[
            SupplementItemRead(
                id=i.id,
                request_no=i.request_no,
                name=i.name,
                origin=i.origin,
                note=i.note,
                state=i.state,
                done=supplements.is_done(i),
                files=list(i.files or []),
                explanation=i.explanation,
                answered_at=i.answered_at,
            )
            for i in supplements.current_items(case)
        ],
        checklist=_checklist(session, case, subs, offers or {}),
        steps=[
            StepRead(
                authority_name=s.authority_name,
                authority_code=s.authority_code,
                region_code=s.region_code,
                done=s.done_at is not None,
                done_at=s.done_at,
                note=s.note,
            )
            for s in case.steps
        ],
        sub_cases=[summary(s, calendar, day=day, warn=warn) for s in subs],
        actions=_actions(case, subs),
        timeline=timeline_read,
        receipt_url=f"/api/v1/cases/{case.number}/receipt.pdf",
        pause=_pause(case, calendar, day),
        assignee=_assignee(session, actor, case),
    )


def _pause(case: Case, calendar: WorkingCalendar, day: date) -> PauseRead | None:
    """The open pause as the case page shows it (cases/_pause.html)."""
    pause = handling.open_pause(case)
    if pause is None:
        return None
    since = clocks.local_date(pause.started_at)
    working, _ = clocks.pause_length(calendar, start=since, end=day)
    return PauseRead(
        kind=pause.kind,
        reason=pause.reason,
        since=since,
        working_days=working,
        expected_end=pause.expected_end if pause.kind == "special" else None,
    )


def _assignee(session: Session, actor: Actor, case: Case) -> AssigneeRead | None:
    """Who works the case is the department's business: told to its own officials only."""
    if (
        case.assignee_id is None
        or actor.role is not Role.OFFICIAL
        or actor.department_id is None
        or actor.department_id != case.department_id
    ):
        return None
    card = identity.account_card(session, account_id=case.assignee_id)
    return AssigneeRead(account_id=case.assignee_id, name=card.display_name)


# The queue's filters, checked before any query runs (a bad one is a field error, never a 500).
QUEUE_VIEWS = ("handling", "co-handling")
QUEUE_DUE = ("week", "overdue")  # due within this working week; past its deadline
QUEUE_ASSIGNEE = ("me",)
QUEUE_CHANNELS = (Channel.ONLINE, Channel.ASSISTED, Channel.PROXY, Channel.API)
_NUMBER = re.compile(r"[0-9A-Za-z-]{1,40}")
_REGION = re.compile(r"[0-9]{6}(?:[0-9]{3}|[0-9]{6})?")
FILTER_MESSAGES = {
    "state": N_("Choose a status from the list."),
    "view": N_("Choose a queue from the list."),
    "number": N_("A case number has only digits, letters and dashes (at most 40)."),
    "applicant": N_("Type at most 50 characters of the applicant's name or ID number."),
    "item": N_("Type at most 80 characters of the item's code or name."),
    "due": N_("Choose a deadline filter from the list."),
    "channel": N_("Choose a channel from the list."),
    "service_point": N_("A service point is a region code of 6, 9 or 12 digits."),
    "assignee": N_("Choose whose cases to show from the list."),
}


@dataclass(frozen=True)
class QueueFilter:
    """What the official searches the queue by; empty fields do not filter."""

    view: str = "handling"
    state: str | None = None
    number: str | None = None
    applicant: str | None = None
    item: str | None = None
    due: str | None = None
    channel: str | None = None
    service_point: str | None = None
    assignee: str | None = None

    def check(self) -> None:
        """Raise Invalid naming every filter that is not one the queue knows."""
        wrong = [
            name
            for name, ok in (
                ("view", self.view in QUEUE_VIEWS),
                ("state", self.state is None or self.state in OPEN_STATES),
                ("number", self.number is None or _NUMBER.fullmatch(self.number) is not None),
                ("applicant", self.applicant is None or len(self.applicant) <= 50),
                ("item", self.item is None or len(self.item) <= 80),
                ("due", self.due is None or self.due in QUEUE_DUE),
                ("channel", self.channel is None or self.channel in QUEUE_CHANNELS),
                ("service_point", self.service_point is None or _is_region(self.service_point)),
                ("assignee", self.assignee is None or self.assignee in QUEUE_ASSIGNEE),
            )
            if not ok
        ]
        if wrong:
            raise Invalid(
                "Some filters are not valid: " + ", ".join(wrong) + ".",
                errors=[FieldError(name, FILTER_MESSAGES[name]) for name in wrong],
            )


def _is_region(code: str) -> bool:
    if _REGION.fullmatch(code) is None:
        return False
    try:
        regions.significant_prefix(code)
    except Invalid:
        return False
    return True


def week_end(day: date) -> date:
    """The last day (Sunday) of the week `day` lies in: "due this week" runs to it."""
    return day + timedelta(days=6 - day.weekday())


def _search(
    session: Session, stmt: Any, query: QueueFilter, *, actor: Actor, day: date, settings: Settings
) -> Any:
    """The queue statement narrowed by the filters (each a plain SQL condition, both databases)."""
    if query.state:
        stmt = stmt.where(Case.state == query.state)
    if query.number:
        # Exact, or the start of a number (the region and date part people read off a receipt).
        number = query.number.upper()
        stmt = stmt.where(
            or_(Case.number == number, Case.number.startswith(number, autoescape=True))
        )
    if query.item:
        stmt = stmt.where(
            or_(
                Case.item_code == query.item,
                Case.implementation_code == query.item,
                Case.item_name.contains(query.item, autoescape=True),
            )
        )
    if query.applicant:
        stmt = stmt.where(_applicant_matches(session, query.applicant, settings=settings))
    if query.due == "overdue":
        stmt = stmt.where(Case.due_date < day, Case.state.not_in(tuple(PAUSED_STATES)))
    elif query.due == "week":
        stmt = stmt.where(
            Case.due_date >= day,
            Case.due_date <= week_end(day),
            Case.state.not_in(tuple(PAUSED_STATES)),
        )
    if query.channel:
        stmt = stmt.where(Case.channel == query.channel)
    if query.service_point:
        prefix = regions.significant_prefix(query.service_point)
        stmt = stmt.where(Case.service_point.startswith(prefix, autoescape=True))
    if query.assignee == "me":
        stmt = stmt.where(Case.assignee_id == actor.account_id)
    return stmt


def _applicant_matches(session: Session, text: str, *, settings: Settings) -> ColumnElement[bool]:
    """An applicant by (part of) their name, or by their full resident ID: matched through its
    keyed hash (walk-in cases) and the account it is bound to, never stored or shown in clear."""
    text = text.strip()
    try:
        number = identity.validate_resident_id(text)
    except Invalid:
        return Case.applicant_name.contains(text, autoescape=True)
    by_id: list[ColumnElement[bool]] = [
        Case.applicant_resident_id_hash
        == identity.resident_id_lookup_hash(number, settings=settings)
    ]
    account = identity.find_account_by_resident_id(session, resident_id=number, settings=settings)
    if account is not None:
        by_id.append(Case.applicant_id == account.id)
    return or_(*by_id)


def queue(
    session: Session,
    *,
    actor: Actor,
    settings: Settings,
    state: str | None = None,
    item: str | None = None,
    view: str = "handling",
    limit: int = 50,
    offset: int = 0,
    query: QueueFilter | None = None,
) -> QueuePage:
    """The official's work: open cases of their department in their jurisdiction, nearest
    deadline first (or, with view=co-handling, cases waiting for their department's step),
    searched by number, applicant, item, state, deadline, channel, service point or assignee."""
    identity.authorize(actor, "case.queue")
    query = query or QueueFilter(view=view, state=state, item=item)
    query.check()
    if actor.department_id is None or not actor.jurisdiction:
        return QueuePage(items=[], limit=limit, offset=offset, has_more=False)
    prefix = regions.significant_prefix(actor.jurisdiction)
    if query.view == "co-handling":
        stmt = (
            select(*_QUEUE_COLUMNS)
            .join(CaseStep, CaseStep.case_id == Case.id)
            .where(
                CaseStep.department_id == actor.department_id,
                CaseStep.done_at.is_(None),
                CaseStep.region_code.like(prefix + "%"),
                Case.state == "accepted",
            )
        )
    else:
        stmt = select(*_QUEUE_COLUMNS).where(
            Case.department_id == actor.department_id,
            Case.due_date.is_not(None),
            Case.authority_region.like(prefix + "%"),
        )
    day = today()
    stmt = _search(session, stmt, query, actor=actor, day=day, settings=settings)
    stmt = stmt.order_by(Case.due_date, Case.id).limit(limit + 1).offset(offset)
    rows = session.execute(stmt).all()
    calendar = load_calendar(session)
    warn = settings.deadline_warning_working_days
    places = _place_names(session, {r.service_point for r in rows[:limit] if r.service_point})
    return QueuePage(
        items=[
            QueueRow(
                **summary(r, calendar, day=day, warn=warn).model_dump(),
                item_code=r.item_code,
                applicant_id_masked=r.applicant_id_masked,
                channel=r.channel,
                service_point=r.service_point,
                service_point_name=places.get(r.service_point or ""),
                assignee_id=r.assignee_id,
            )
            for r in rows[:limit]
        ],
        limit=limit,
        offset=offset,
        has_more=len(rows) > limit,
    )


def _place_names(session: Session, codes: set[str]) -> dict[str, str]:
    """Each service point's place name (广东省 深圳市 南山区), read once per code."""
    return {code: regions.full_name(session, code=code) for code in codes}


def service_points_in_queue(session: Session, *, actor: Actor) -> list[tuple[str, str]]:
    """(code, place name) of the service points the department's open cases came through:
    the choices of the queue's service-point filter."""
    identity.authorize(actor, "case.queue")
    if actor.department_id is None or not actor.jurisdiction:
        return []
    prefix = regions.significant_prefix(actor.jurisdiction)
    codes = session.scalars(
        select(Case.service_point)
        .where(
            Case.department_id == actor.department_id,
            Case.due_date.is_not(None),
            Case.authority_region.like(prefix + "%"),
            Case.service_point.is_not(None),
        )
        .distinct()
        .limit(200)
    ).all()
    names = _place_names(session, {c for c in codes if c})
    return sorted(names.items())


def my_cases(
    session: Session,
    *,
    actor: Actor,
    settings: Settings,
    state: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> CasePage:
    """Cases the caller applied for or filed (top level: a bundle lists its sub-cases itself).

    An agent sees the cases they filed for someone only while the authorisation holds.
    """
    identity.authorize(actor, "case.read")
    stmt = select(Case).where(
        or_(Case.applicant_id == actor.account_id, _filed_by_me(session, actor)),
        Case.parent_id.is_(None),
    )
    if state:
        stmt = stmt.where(Case.state == state)
    rows = session.scalars(stmt.order_by(Case.id.desc()).limit(limit + 1).offset(offset)).all()
    calendar = load_calendar(session)
    day = today()
    warn = settings.deadline_warning_working_days
    return CasePage(
        items=[summary(c, calendar, day=day, warn=warn) for c in rows[:limit]],
        limit=limit,
        offset=offset,
        has_more=len(rows) > limit,
    )


def _filed_by_me(session: Session, actor: Actor) -> ColumnElement[bool]:
    """Cases the caller filed that they may still read: a clerk's (service point), or an
    agent's for a principal under an authorisation that holds now (see authorize_read)."""
    filed = Case.filed_by_id == actor.account_id
    if actor.role is not Role.CITIZEN:
        return filed
    held: list[ColumnElement[bool]] = []
    for proxy in identity.list_proxies(session, agent_id=actor.account_id, include_inactive=False):
        if identity.proxy_status(proxy) != "active":
            continue
        principal = Case.applicant_id == proxy.principal_id
        if proxy.all_items:
            held.append(principal)
            continue
        codes = list(proxy.item_codes)
        sub = aliased(Case)
        outside = (
            select(sub.id)
            .where(
                sub.parent_id == Case.id,
                or_(sub.item_code.is_(None), sub.item_code.not_in(codes)),
            )
            .exists()
        )
        covered = or_(
            and_(Case.kind != "bundle", Case.item_code.in_(codes)),
            and_(Case.kind == "bundle", ~outside),
        )
        held.append(and_(principal, covered))
    if not held:
        return false()  # a citizen files for others only under an authorisation
    return and_(filed, or_(*held))


def case_for_receipt(session: Session, *, actor: Actor | None, number: str) -> Case:
    """The case for its receipt: its parties and officials, like reading it."""
    from tongban.cases.handling import get_case

    case = get_case(session, number=number)
    if actor is None:
        # The QR code on a paper receipt is a tracking link: without login it reveals nothing.
        raise NotFound(f"No case {number}.")
    authorize_read(session, actor=actor, case=case)
    return case


def bundle_parts(session: Session, *, case: Case, warn: int = 0) -> list[CaseSummary]:
    """The sub-cases of a bundle (一件事) in order, as list rows; [] for any other case."""
    if case.kind != "bundle":
        return []
    rows = session.scalars(select(Case).where(Case.parent_id == case.id).order_by(Case.number))
    calendar = load_calendar(session)
    day = today()
    return [summary(s, calendar, day=day, warn=warn) for s in rows]


def receipt_facts(session: Session, case: Case) -> dict[str, Any]:
    """The fields printed on a receipt (受理回执); the service point by its place's name."""
    point = case.service_point
    return {
        "number": case.number,
        "item": case.item_name,
        "authority": case.authority_name,
        "applicant": case.applicant_name,
        "applicant_id": case.applicant_id_masked or "",
        "received": clocks.local_date(case.received_at).isoformat(),
        "state": case.state,
        # 接件回执 until the case is accepted, 受理回执 after (receipts.receipt_title).
        "accepted": case.accepted_at is not None,
        "acceptance_due": case.acceptance_due.isoformat(),
        "promised_due": case.promised_due.isoformat() if case.promised_due else "",
        "statutory_due": case.statutory_due.isoformat() if case.statutory_due else "",
        "service_point": f"{regions.full_name(session, code=point)} ({point})" if point else "",
        "materials": [m.name for m in case.materials],
    }


def open_material(
    session: Session, *, actor: Actor, number: str, sha256: str, settings: Settings
) -> tuple[CaseMaterial, bytes]:
    """One attached file of a case, for whoever may read the case; the access is recorded."""
    case = get_case(session, number=number)
    authorize_read(session, actor=actor, case=case)
    material = next((m for m in case.materials if m.sha256 == sha256.lower()), None)
    if material is None:
        raise NotFound(f"Case {number} has no such material.")
    data = blob_store(settings).get(material.sha256)
    # Reading someone's documents is a data access: it goes to the ledger like any step.
    events.record(
        session,
        action="case.material_viewed",
        resource_type="case",
        resource_id=case.number,
        channel=Channel.API,
        actor_id=actor.account_id,
        actor_role=str(actor.role),
        # Which paper and file were read stay beside the event (committed to): a document's
        # digest in public would let anyone holding a copy find the case it was filed with.
        private={"material": material.name, "sha256": material.sha256},
        # The data subject, committed to (never in the leaf): their receipt's opening proves
        # the step is about them (the tracker, consent/tracker.py).
        personal=subject_part(case),
    )
    return material, data


def may_reveal_applicant_id(actor: Actor, case: Case) -> bool:
    """Whether this caller may ask for the case's applicant's full resident ID."""
    if case.kind == "bundle":
        return False
    resource = {"department_id": case.department_id, "region_code": case.authority_region}
    return identity.allowed(actor, "case.reveal_applicant_id", resource)


def reveal_applicant_id(
    session: Session, *, actor: Actor, number: str, purpose: str, settings: Settings
) -> tuple[str, str]:
    """The applicant's full resident ID and name, for the deciding officials; recorded.

    Cases show resident IDs masked. An official who must check the number (against a register
    the platform does not share yet, say) asks for it with a purpose; the look is an event on
    the case's timeline, so the applicant sees who looked and why.
    """
    case = get_case(session, number=number)
    authorize_read(session, actor=actor, case=case)  # a case one may not read is NotFound
    if case.kind == "bundle":
        raise Forbidden("Officials see the sub-cases of a bundle, not the bundle.")
    identity.authorize(actor, "case.reveal_applicant_id")
    identity.authorize(
        actor,
        "case.reveal_applicant_id",
        {"department_id": case.department_id, "region_code": case.authority_region},
    )
    purpose = purpose.strip()
    if not 2 <= len(purpose) <= 200:
        raise Invalid(
            "Say why you need the full number (2 to 200 characters).",
            errors=[FieldError("purpose", "2 to 200 characters")],
        )
    number_in_full: str | None = None
    if case.applicant_id is not None:
        number_in_full = identity.reveal_resident_id(
            session, account_id=case.applicant_id, settings=settings
        )
    if number_in_full is None:
        # Filed at a counter for someone with no account: the number came with the application.
        personal = events.personal_of_first(
            session, resource_type="case", resource_id=case.number, action="case.submitted"
        )
        number_in_full = (personal or {}).get("resident_id")
    if not number_in_full:
        raise NotFound("No resident ID is on record for this applicant.")
    events.record(
        session,
        action="case.applicant_id_viewed",
        resource_type="case",
        resource_id=case.number,
        channel=Channel.API if actor.token_id else Channel.ONLINE,
        actor_id=actor.account_id,
        actor_role=str(actor.role),
        reason=purpose,
        data={"department": actor.department_code},
        personal=subject_part(case),
    )
    return number_in_full, case.applicant_name
