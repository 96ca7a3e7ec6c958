"""Handling: transitions of the state machine with their checks, clocks, events and messages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from tongban.cases import clocks, decisions, payout, results, supplements
from tongban.cases.checks import check_materials
from tongban.cases.models import Case, CaseMaterial, CasePause, CaseStep, Upload
from tongban.cases.notify import notify_case
from tongban.cases.offers import find_offer
from tongban.cases.schemas import ActionIn
from tongban.cases.states import (
    FINAL_STATES,
    RESUME,
    TRANSITIONS,
    Action,
    Clock,
    Party,
    State,
    transition,
)
from tongban.events import service as events
from tongban.events.service import Channel
from tongban.identity import service as identity
from tongban.identity.service import Actor, Role
from tongban.platform.config import Settings
from tongban.platform.errors import (
    Conflict,
    FieldError,
    Forbidden,
    Invalid,
    NotFound,
    PreconditionFailed,
)
from tongban.workdays.service import WorkingCalendar, load_calendar

# Which message the applicant gets after each action (None: nothing they need to know).
_NOTICE = {
    Action.ACCEPT: "accepted",
    Action.REFUSE: "not_accepted",
    Action.REQUEST_SUPPLEMENT: "supplement_requested",
    Action.SUPPLEMENT: "supplemented",
    Action.REVIEW_SUPPLEMENT: "supplemented",
    Action.START_SPECIAL: "special_started",
    Action.END_SPECIAL: "special_ended",
    Action.APPROVE: "approved",
    Action.REJECT: "rejected",
    Action.COMPLETE: "completed",
    Action.WITHDRAW: "withdrawn",
}

# Run after an acceptance, in its unit of work, with (session, actor=, case_number=, settings=):
# the shell registers data sharing's automatic fetch (exchange sits above cases). A hook must
# not raise: whatever it fails at, the acceptance stands.
AfterAccept = Callable[..., object]
_after_accept: list[AfterAccept] = []


def on_accepted(hook: AfterAccept) -> None:
    """Register work to do once a case is accepted (the shell hands exchange's fetch in)."""
    if hook not in _after_accept:
        _after_accept.append(hook)


# Run after a completion, in its unit of work, with (session, actor=, case_number=, item_code=,
# department_id=, applicant_id=, decision=, form_data=, settings=): the shell registers the
# issue of the e-licence an item yields (credentials sits above cases).
_after_complete: list[AfterAccept] = []


def on_completed(hook: AfterAccept) -> None:
    """Register work to do once a case is completed (the shell hands credentials' issue in)."""
    if hook not in _after_complete:
        _after_complete.append(hook)


# Federation (issue #18), set by the shell: before an action, with (session, case_number=,
# action=), a hook may refuse it (a tracking copy is handled on its authority's node); after
# every change of a case (its submission too), with (session, case_number=, action=,
# settings=), in the same unit of work, a hook may queue a message to another node.
_before_act: list[AfterAccept] = []
_after_change: list[AfterAccept] = []


def before_act(hook: AfterAccept) -> None:
    """Register a check that may refuse an action on a case (raising a domain error)."""
    if hook not in _before_act:
        _before_act.append(hook)


def on_changed(hook: AfterAccept) -> None:
    """Register work to do after every change of a case (queued in the same transaction)."""
    if hook not in _after_change:
        _after_change.append(hook)


# Federation again: an action of the applicant's side on a tracking copy is not applied to the
# copy but sent to the authority's node; with (session, case_number=, action=, body=<the
# ActionIn as JSON>, settings=), after every check passed here, a hook returns True when it
# sent it (cases/remote.py).
_forward: list[AfterAccept] = []


def on_forward(hook: AfterAccept) -> None:
    """Register the hook that sends an action on a tracking copy to the authority's node."""
    _forward[:] = [hook]


# Where `changed` keeps the case in hand while its hooks run (federated.case_record).
IN_HAND = "cases.in_hand"


def changed(
    session: Session,
    *,
    case_number: str,
    action: str,
    settings: Settings,
    case: Case | None = None,
) -> None:
    """Run the after-change hooks for one case; `case`, the row in hand (a submission's), is
    what the records the hooks ask for are made from, instead of being read back."""
    if case is not None:
        session.info[IN_HAND] = case
    try:
        for hook in _after_change:
            hook(session, case_number=case_number, action=action, settings=settings)
    finally:
        session.info.pop(IN_HAND, None)


def _invalid(field_name: str, message: str) -> Invalid:
    return Invalid(message, errors=[FieldError(field_name, message)])


def get_case(session: Session, *, number: str) -> Case:
    """The case with this number, or NotFound."""
    case = session.scalar(select(Case).where(Case.number == number))
    if case is None:
        raise NotFound(f"No case {number}.")
    return case


# --- who may act -----------------------------------------------------------------------------


def _parties(action: Action) -> frozenset[Party]:
    parties: set[Party] = set()
    for (_, a), t in TRANSITIONS.items():
        if a is action:
            parties |= t.parties
    return frozenset(parties)


def _item_codes(session: Session, case: Case) -> list[str | None]:
    """The items a case is about: its own, or for a bundle those of its sub-cases."""
    if case.kind != "bundle":
        return [case.item_code]
    codes = session.scalars(
        select(Case.item_code).where(Case.parent_id == case.id).order_by(Case.number)
    ).all()
    return list(dict.fromkeys(codes)) or [None]


def _applicant_resource(session: Session, actor: Actor, case: Case) -> dict[str, Any]:
    """The applicant side: the applicant, an agent under a valid proxy, or the filing service
    point. An agent's authority ends with the proxy, also on the cases the agent filed."""
    if actor.role is Role.CLERK:
        return {"region_code": case.service_point}
    if actor.account_id == case.applicant_id:
        return {"owner_id": actor.account_id}
    if actor.role is Role.CITIZEN and case.applicant_id is not None:
        # Raises Forbidden naming why (none, expired, revoked, out of scope).
        for code in _item_codes(session, case):
            identity.check_proxy(
                session,
                agent_id=actor.account_id,
                principal_id=case.applicant_id,
                item_code=code,
            )
        return {"owner_id": actor.account_id}
    return {"owner_id": case.applicant_id}


def _authority_resource(case: Case) -> dict[str, Any]:
    return {"department_id": case.department_id, "region_code": case.authority_region}


def _pending_step(case: Case, actor: Actor) -> CaseStep | None:
    for step in case.steps:
        if step.done_at is None and step.department_id == actor.department_id:
            return step
    return None


def _hidden(case: Case) -> NotFound:
    # Word for word what an unknown number gets (get_case): a case one may not read does not
    # exist for them.
    return NotFound(f"No case {case.number}.")


def authorize_action(session: Session, *, actor: Actor, case: Case, action: Action) -> None:
    """Role, department, jurisdiction and ownership checks for one action on one case.

    A case the caller may not read is NotFound (like an unknown number); one they may read is
    Forbidden when the action is not theirs.
    """
    authorize_read(session, actor=actor, case=case)
    _authorize_action(session, actor=actor, case=case, action=action)


def _authorize_action(session: Session, *, actor: Actor, case: Case, action: Action) -> None:
    """`authorize_action` for a caller already known to read the case."""
    name = f"case.{action.value}"
    identity.authorize(actor, name)  # role first: a clear 403 for the wrong role
    parties = _parties(action)
    if Party.AUTHORITY in parties:
        identity.authorize(actor, name, _authority_resource(case))
    elif Party.CO_HANDLER in parties:
        step = _pending_step(case, actor)
        if step is None:
            raise Forbidden("Your department has no pending co-handling step on this case.")
        identity.authorize(
            actor, name, {"department_id": step.department_id, "region_code": step.region_code}
        )
    else:
        identity.authorize(actor, name, _applicant_resource(session, actor, case))


def authorize_read(session: Session, *, actor: Actor, case: Case) -> None:
    """Who may see a case: its parties, the competent or co-handling officials. To anyone
    else the case does not exist: NotFound, word for word as for an unknown number."""
    try:
        _check_read(session, actor=actor, case=case)
    except Forbidden:
        raise _hidden(case) from None


def _check_read(session: Session, *, actor: Actor, case: Case) -> None:
    identity.authorize(actor, "case.read")
    if actor.role is Role.OFFICIAL:
        if case.kind == "bundle":
            raise Forbidden("Officials see the sub-cases of a bundle, not the bundle.")
        if any(s.department_id == actor.department_id for s in case.steps):
            step = next(s for s in case.steps if s.department_id == actor.department_id)
            identity.authorize(
                actor,
                "case.read",
                {"department_id": step.department_id, "region_code": step.region_code},
            )
            return
        identity.authorize(actor, "case.read", _authority_resource(case))
        return
    identity.authorize(actor, "case.read", _applicant_resource(session, actor, case))


# --- clocks ----------------------------------------------------------------------------------


def open_pause(case: Case) -> CasePause | None:
    """The pause (补正 or 特别程序) the case's clock is stopped by now, or None."""
    return next((p for p in reversed(case.pauses) if p.ended_at is None), None)


def recompute(case: Case, calendar: WorkingCalendar) -> None:
    """Store the deadlines and the queue's sort key from the case's dates and pauses."""
    d = clocks.deadlines(
        calendar,
        received=clocks.local_date(case.received_at),
        acceptance_limit=case.acceptance_limit,
        acceptance_paused=(case.acceptance_paused_wd, case.acceptance_paused_nd),
        accepted=clocks.local_date(case.accepted_at) if case.accepted_at else None,
        case_type=case.case_type,
        promised=(case.promised_value, case.promised_unit),
        statutory=(case.statutory_value, case.statutory_unit),
        handling_paused=(case.handling_paused_wd, case.handling_paused_nd),
    )
    case.acceptance_due = d.acceptance
    case.promised_due = d.promised
    case.statutory_due = d.statutory
    if case.state in FINAL_STATES or case.state in (State.COMPLETED, State.IN_PROGRESS):
        case.due_date = None
    elif case.accepted_at is None:
        case.due_date = d.acceptance
    else:
        case.due_date = d.promised


def current_clock(
    case: Case, calendar: WorkingCalendar, *, today: date, warn_days: int
) -> dict[str, Any]:
    """Deadlines as they stand today; during a pause they move with it, so project them."""
    pause = open_pause(case)
    acceptance, promised, statutory, current = (
        case.acceptance_due,
        case.promised_due,
        case.statutory_due,
        case.due_date,
    )
    paused_wd = case.handling_paused_wd if case.accepted_at else case.acceptance_paused_wd
    if pause is not None:
        wd, nd = clocks.pause_length(calendar, start=clocks.local_date(pause.started_at), end=today)
        paused_wd += wd
        d = clocks.deadlines(
            calendar,
            received=clocks.local_date(case.received_at),
            acceptance_limit=case.acceptance_limit,
            acceptance_paused=(
                case.acceptance_paused_wd + (0 if case.accepted_at else wd),
                case.acceptance_paused_nd + (0 if case.accepted_at else nd),
            ),
            accepted=clocks.local_date(case.accepted_at) if case.accepted_at else None,
            case_type=case.case_type,
            promised=(case.promised_value, case.promised_unit),
            statutory=(case.statutory_value, case.statutory_unit),
            handling_paused=(case.handling_paused_wd + wd, case.handling_paused_nd + nd),
        )
        acceptance, promised, statutory = d.acceptance, d.promised, d.statutory
        current = promised if case.accepted_at else acceptance
    urgency = (
        "paused"
        if pause is not None
        else clocks.urgency(calendar, today=today, due=current, warn_days=warn_days)
    )
    return {
        "acceptance": acceptance,
        "promised": promised,
        "statutory": statutory,
        "current": current,
        "paused": pause is not None,
        "paused_working_days": paused_wd,
        "urgency": urgency,
        # A deadline in a year whose holiday arrangement is not loaded may still move.
        "provisional": any(
            calendar.is_provisional(day) for day in (acceptance, promised, statutory) if day
        ),
    }


def _pause(case: Case, *, kind: str, now: datetime, reason: str | None, end: date | None) -> None:
    resume = State.ACCEPTED if case.accepted_at else State.RECEIVED
    case.pauses.append(
        CasePause(
            kind=kind, resume_state=resume.value, reason=reason, expected_end=end, started_at=now
        )
    )


def _resume(case: Case, calendar: WorkingCalendar, *, now: datetime) -> str:
    pause = open_pause(case)
    if pause is None:  # cannot happen through the table; keep the state sane
        return State.ACCEPTED.value if case.accepted_at else State.RECEIVED.value
    wd, nd = clocks.pause_length(
        calendar, start=clocks.local_date(pause.started_at), end=clocks.local_date(now)
    )
    pause.ended_at = now
    pause.working_days = wd
    pause.natural_days = nd
    if pause.resume_state == State.ACCEPTED:
        case.handling_paused_wd += wd
        case.handling_paused_nd += nd
    else:
        case.acceptance_paused_wd += wd
        case.acceptance_paused_nd += nd
    return pause.resume_state


# --- actions ---------------------------------------------------------------------------------


def _material_owners(actor: Actor, case: Case) -> set[int]:
    """Whose uploads the caller may attach: their own, and for a citizen acting for the
    applicant (an agent, whose authorisation `authorize_action` checked) the applicant's."""
    owners = {actor.account_id}
    if actor.role is Role.CITIZEN and case.applicant_id is not None:
        owners.add(case.applicant_id)
    return owners


def _validate(
    session: Session, case: Case, action: Action, body: ActionIn, *, owners: set[int] | None
) -> list[Upload]:
    """Per-action required fields, checked before anything changes."""
    uploads: list[Upload] = []
    if action in (Action.REFUSE, Action.REJECT, Action.START_SPECIAL) and not body.reason:
        raise _invalid("reason", f"A reason is required to {action.value}.")
    if action is Action.REQUEST_SUPPLEMENT and not body.missing and not body.items:
        raise _invalid("missing", "List what is missing (补正 must say what to supply).")
    if action is Action.START_SPECIAL and body.expected_end is None:
        raise _invalid("expected_end", "Give the expected end date of the special procedure.")
    if action in (Action.APPROVE, Action.REJECT) and not body.decision_text:
        raise _invalid("decision_text", "The decision needs its text.")
    if action in (Action.APPROVE, Action.REJECT):
        pending = [s.authority_name for s in case.steps if s.done_at is None]
        if pending:
            raise Conflict(
                "Co-handling steps must be done before the decision: " + ", ".join(pending) + ".",
                errors=[FieldError("steps", "pending: " + ", ".join(pending))],
            )
    if body.result_document:
        results.check_document(
            session, sha256=body.result_document, action=action, owners=owners or set()
        )
    if action is Action.SUPPLEMENT and not case.supplement_items:
        # A request made before requests had items: answered as a whole, against the checklist.
        if not body.materials and not body.note:
            raise _invalid("materials", "Attach the missing materials (or explain in a note).")
        if body.materials:
            offers = _case_offers(session, case)
            uploads = check_materials(
                session,
                offers=offers,
                refs=[(m.name, m.sha256) for m in body.materials],
                require_all=False,
                owners=owners,
            )
    return uploads


def _case_offers(session: Session, case: Case) -> list[Any]:
    if case.implementation_code is None:
        return []
    return [find_offer(session, implementation=case.implementation_code, item=None, region=None)]


def _action_data(
    case: Case, action: Action, body: ActionIn, *, before: str, extra: dict[str, Any]
) -> dict[str, Any]:
    """The public part of a case action's event: states, dates, codes and counts only."""
    decided = action in (Action.APPROVE, Action.REJECT)
    return {
        "from": before,
        "to": case.state,
        "version": case.version,
        "due_date": case.due_date.isoformat() if case.due_date else None,
        **({"missing_count": len(case.missing)} if action is Action.REQUEST_SUPPLEMENT else {}),
        **({"expected_end": body.expected_end.isoformat()} if body.expected_end else {}),
        **({"decision": case.decision} if decided else {}),
        **({"material_count": len(body.materials)} if body.materials else {}),
        **extra,
    }


def _action_private(
    case: Case, action: Action, body: ActionIn, *, extra: dict[str, Any]
) -> dict[str, Any] | None:
    """What a case action's event keeps out of the public leaf (committed to): the texts the
    official or applicant wrote, the material lines and files, the decision's text."""
    private: dict[str, Any] = dict(extra)
    if action is Action.REQUEST_SUPPLEMENT:
        private["missing"] = list(case.missing or [])
        private["items"] = [
            {
                "item": i.id,
                "name": i.name,
                "origin": i.origin,
                **({"note": i.note} if i.note else {}),
            }
            for i in supplements.current_items(case)
        ]
    if body.materials:
        private["materials"] = [[m.name, m.sha256.lower()] for m in body.materials]
    if body.note:
        private["note"] = body.note
    if action in (Action.APPROVE, Action.REJECT):
        private["decision_text"] = case.decision_text
        if case.result_document:
            private["result_document"] = case.result_document
    elif body.result_document:
        private["result_document"] = body.result_document.lower()
    return private or None


def act(
    session: Session,
    *,
    actor: Actor,
    number: str,
    action: str,
    body: ActionIn,
    settings: Settings,
    relayed_from: str | None = None,
) -> Case:
    """Take one action on a case: authorize, check version and state, apply, record, notify.

    `relayed_from`: the node that filed the case, relaying its applicant side's action
    (cases/remote.py): that node authorized the person; here the action must be the
    applicant side's, and it is recorded with no actor and the node it came from.
    """
    try:
        the_action = Action(action)
    except ValueError:
        raise NotFound(
            f"Unknown action {action!r}; one of: " + ", ".join(a.value for a in Action) + "."
        ) from None
    case = get_case(session, number=number)
    if relayed_from is None:
        authorize_read(session, actor=actor, case=case)  # before anything tells what it is
    if case.kind == "bundle":
        if the_action is Action.WITHDRAW:
            return _withdraw_bundle(session, actor=actor, bundle=case, body=body, settings=settings)
        raise Conflict("A bundle moves with its sub-cases; act on a sub-case.")
    if relayed_from is None:
        _authorize_action(session, actor=actor, case=case, action=the_action)
    elif _parties(the_action) != {Party.APPLICANT}:
        raise Forbidden(f"Only the applicant's side may {the_action.value} from another node.")
    for guard in _before_act:
        guard(session, case_number=case.number, action=the_action.value)
    if body.version != case.version:
        raise PreconditionFailed(
            f"The case changed (version {case.version}, you sent {body.version}); reload it.",
            errors=[FieldError("version", f"current version is {case.version}")],
        )
    move = transition(case.state, the_action)
    if move is None:
        raise Conflict(
            f"Cannot {the_action.value} a case that is {case.state}.",
            errors=[FieldError("action", f"not allowed in state {case.state}")],
        )
    payout.check_not_held(case, the_action)
    # Relayed: the files came with the action and were stored by digest (cases/remote.py).
    owners = _material_owners(actor, case) if relayed_from is None else None
    actor_id = actor.account_id if relayed_from is None else None
    uploads = _validate(session, case, the_action, body, owners=owners)
    # 补正 item by item: checked against the current request before anything changes.
    lines: list[supplements.Line] = []
    answers: list[supplements.Answer] = []
    reviews: list[supplements.Review] = []
    if the_action is Action.REQUEST_SUPPLEMENT:
        lines = supplements.validate_request(session, case, body)
    elif the_action is Action.SUPPLEMENT and case.supplement_items:
        answers = supplements.validate_answers(session, case, body, owners=owners)
    elif the_action is Action.REVIEW_SUPPLEMENT:
        reviews = supplements.validate_reviews(case, body)
    if relayed_from is None and _forward:
        sent = body.model_dump(mode="json", exclude_none=True)
        if _forward[0](
            session, case_number=case.number, action=the_action.value, body=sent, settings=settings
        ):
            return case  # a tracking copy: the authority's node applies it and reports back
    calendar = load_calendar(session)
    now = clocks.now()
    before = case.state
    next_state = str(move.next_state)
    extra_data: dict[str, Any] = {}
    extra_private: dict[str, Any] = {}
    if answers:
        round_no = supplements.apply_answers(case, answers, actor_id=actor_id, now=now)
        extra_data = supplements.answers_data(case, answers, round_no)
        extra_private = {"answers": supplements.answers_private(answers)}
    if reviews:
        supplements.apply_reviews(case, reviews, now=now)
        extra_data = supplements.reviews_data(case, reviews)
        extra_private = {"reviews": supplements.reviews_private(reviews)}
    resumes = move.clock is Clock.RESUME
    if the_action in (Action.SUPPLEMENT, Action.REVIEW_SUPPLEMENT) and not supplements.complete(
        case
    ):
        # Some lines are still open: the request stands and the clock stays stopped.
        resumes = False
        next_state = case.state
    if move.clock is Clock.START:
        case.accepted_at = now
    elif move.clock is Clock.PAUSE:
        kind = "supplement" if the_action is Action.REQUEST_SUPPLEMENT else "special"
        _pause(case, kind=kind, now=now, reason=body.reason, end=body.expected_end)
    elif resumes:
        resumed = _resume(case, calendar, now=now)
        if next_state == RESUME:
            next_state = resumed
    if the_action is Action.REQUEST_SUPPLEMENT:
        supplements.apply_request(case, lines, now=now)
        extra_data = {
            "checklist_count": sum(1 for line in lines if line.origin == "checklist"),
            "extra_count": sum(1 for line in lines if line.origin == "extra"),
        }
    if the_action is Action.SUPPLEMENT and not answers:
        round_no = 1 + max((m.round for m in case.materials), default=0)
        by_sha = {u.sha256: u for u in uploads}
        for m in body.materials:
            row = by_sha[m.sha256.lower()]
            case.materials.append(
                CaseMaterial(
                    name=m.name,
                    sha256=row.sha256,
                    media_type=row.media_type,
                    size=row.size,
                    pages=row.pages,
                    round=round_no,
                    added_by_id=actor_id,
                    added_at=now,
                )
            )
        case.missing = []
    if the_action is Action.CO_HANDLE:
        step = _pending_step(case, actor)
        assert step is not None  # authorize_action made sure
        step.done_at = now
        step.done_by_id = actor.account_id
        step.note = body.note
    if the_action in (Action.APPROVE, Action.REJECT):
        case.decision = "approved" if the_action is Action.APPROVE else "rejected"
        case.decision_text = body.decision_text
        case.decided_at = now
    results.attach(case, the_action, body.result_document)
    if the_action in (Action.REFUSE, Action.REJECT, Action.START_SPECIAL, Action.WITHDRAW):
        case.reason = body.reason
    case.state = next_state
    if next_state in (State.COMPLETED, State.NOT_ACCEPTED, State.WITHDRAWN):
        case.closed_at = now
    case.updated_at = now
    recompute(case, calendar)
    try:
        session.flush()
    except StaleDataError:
        raise Conflict(
            "Someone else changed this case at the same moment; reload it and try again."
        ) from None
    except OperationalError as exc:
        # SQLite refuses a writer whose snapshot went stale under a concurrent commit
        # ("database is locked"): the same lost race as a stale version.
        if "locked" not in str(exc.orig):
            raise
        raise Conflict(
            "Someone else changed this case at the same moment; reload it and try again."
        ) from None
    channel = _channel(actor, case) if relayed_from is None else case.channel
    if relayed_from is not None:
        extra_data = {**extra_data, "relayed_from": relayed_from}
    events.record(
        session,
        action=f"case.{the_action.value}",
        resource_type="case",
        resource_id=case.number,
        channel=channel,
        actor_id=actor.account_id if relayed_from is None else None,
        actor_role=actor.role.value if relayed_from is None else None,
        on_behalf_of_id=(
            case.applicant_id
            if actor.role in (Role.CITIZEN, Role.CLERK) and case.applicant_id != actor.account_id
            else None
        ),
        service_point=(
            case.service_point
            if relayed_from is not None
            else actor.service_point
            if actor.role is Role.CLERK
            else None
        ),
        reason=body.reason,
        data=_action_data(case, the_action, body, before=before, extra=extra_data),
        private=_action_private(case, the_action, body, extra=extra_private),
    )
    if the_action is Action.ACCEPT:
        for hook in _after_accept:
            hook(session, actor=actor, case_number=case.number, settings=settings)
    if the_action is Action.COMPLETE:
        for hook in _after_complete:
            hook(
                session,
                actor=actor,
                case_number=case.number,
                item_code=case.item_code,
                department_id=case.department_id,
                applicant_id=case.applicant_id,
                decision=case.decision,
                form_data=dict(case.form_data or {}),
                settings=settings,
            )
    changed(session, case_number=case.number, action=the_action.value, settings=settings)
    notice = _NOTICE.get(the_action)
    if the_action in (Action.SUPPLEMENT, Action.REVIEW_SUPPLEMENT):
        # Told when the request clears; asked again when the official wants an item again.
        again = any(r.decision == "again" for r in reviews)
        notice = "supplemented" if resumes else "supplement_requested" if again else None
    if notice:
        phones: dict[int, str | None] = {}
        if case.applicant_id:
            phones[case.applicant_id] = identity.get_account(
                session, account_id=case.applicant_id
            ).phone
        notify_case(
            session,
            case=case,
            kind=notice,
            phones=phones,
            gateway_path=settings.sms_gateway,
            settings=settings,
            extra={
                "reason": body.reason or "",
                "missing": "、".join(case.missing),
                **_decision_words(session, case, the_action),
            },
        )
    if case.parent_id is not None and case.state in (
        State.COMPLETED,
        State.NOT_ACCEPTED,
        State.WITHDRAWN,
    ):
        _settle_bundle(session, case=case, settings=settings)
    return case


def _decision_words(session: Session, case: Case, action: Action) -> dict[str, str]:
    """The message's words for a decision, by the item's type (准予许可 only for licences)."""
    if action not in (Action.APPROVE, Action.REJECT):
        return {}
    words = decisions.words_of_item(session, case.item_code)
    return {"granted": words.granted_zh, "refused": words.refused_zh}


def _channel(actor: Actor, case: Case) -> str:
    if actor.role is Role.CLERK:
        return Channel.ASSISTED
    if actor.role is Role.CITIZEN and actor.account_id != case.applicant_id:
        return Channel.PROXY
    return actor.via or (Channel.API if actor.token_id else Channel.ONLINE)


def _withdraw_bundle(
    session: Session, *, actor: Actor, bundle: Case, body: ActionIn, settings: Settings
) -> Case:
    """Withdraw a bundle (一件事): every sub-case not yet decided is withdrawn.

    Sub-cases already decided stand (a birth certificate issued is not taken back); the bundle
    then settles as usual. Nothing left to withdraw is a Conflict.
    """
    _authorize_action(session, actor=actor, case=bundle, action=Action.WITHDRAW)
    if body.version != bundle.version:
        raise PreconditionFailed(
            f"The bundle changed (version {bundle.version}, you sent {body.version}); reload it.",
            errors=[FieldError("version", f"current version is {bundle.version}")],
        )
    subs = session.scalars(
        select(Case).where(Case.parent_id == bundle.id).order_by(Case.number)
    ).all()
    open_subs = [s for s in subs if transition(s.state, Action.WITHDRAW) is not None]
    if not open_subs:
        raise Conflict(
            "Every part of this bundle has been decided; there is nothing left to withdraw.",
            errors=[FieldError("action", f"not allowed in state {bundle.state}")],
        )
    for sub in open_subs:
        act(
            session,
            actor=actor,
            number=sub.number,
            action=Action.WITHDRAW.value,
            body=body.model_copy(update={"version": sub.version}),
            settings=settings,
        )
    return bundle


def _settle_bundle(session: Session, *, case: Case, settings: Settings | None) -> None:
    """A bundle is completed when every sub-case is; partially completed when some were not.

    Sub-cases that were refused, rejected or withdrawn leave the bundle `partially_completed`
    once every sub-case has finished: the applicant sees what was granted and what was not.
    A bundle whose every sub-case was withdrawn is `withdrawn`. Parts handled on other nodes
    count as their tracking copies stand (cases/federated.py settles when one finishes).
    """
    parent = session.get(Case, case.parent_id)
    if parent is None:
        return
    subs = session.scalars(select(Case).where(Case.parent_id == parent.id)).all()
    if any(s.state not in (State.COMPLETED, State.NOT_ACCEPTED, State.WITHDRAWN) for s in subs):
        return
    all_granted = all(s.state == State.COMPLETED and s.decision == "approved" for s in subs)
    all_withdrawn = all(s.state == State.WITHDRAWN for s in subs)
    parent.state = (
        State.COMPLETED
        if all_granted
        else State.WITHDRAWN
        if all_withdrawn
        else State.PARTIALLY_COMPLETED
    ).value
    parent.closed_at = clocks.now()
    parent.updated_at = parent.closed_at
    parent.due_date = None
    try:
        session.flush()
    except StaleDataError:
        raise Conflict("The bundle changed at the same moment; try again.") from None
    events.record(
        session,
        action="case.bundle_settled",
        resource_type="case",
        resource_id=parent.number,
        channel=Channel.SYSTEM,
        data={
            "to": parent.state,
            "sub_cases": {s.number: [s.state, s.decision] for s in subs},
        },
    )
    notify_case(
        session,
        case=parent,
        kind="withdrawn" if all_withdrawn else "completed",
        phones={},
        # No phone: no SMS; a part followed from another node settles without settings.
        gateway_path=settings.sms_gateway if settings is not None else "",
    )
