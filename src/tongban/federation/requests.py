"""Requests from the filing node to a case's authority node (issue #18): the applicant's side
acting on a case this node keeps a tracking copy of.

The applicant, their agent or the filing clerk withdraws on the node where they are. The copy
does not change: the action goes, as a signed `case.request`, to the node that handles the
case, and waits there (`federation_requests`, pending; the case page says so). That node checks
the sender (the node that numbered the case, the one it received it from), applies the action
once (its inbox, by message id) through the cases service — the same transition table, so a
withdrawal after the decision is refused there — and answers with a `case.answer` (applied, or
refused with a code); the new state itself flows back as every change does (`case.state`).

Only the applicant side's actions are relayed: the withdrawal, and the supplement (补正), its
answers item by item with their files (cases/remote_supplement.py).
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.cases import service as cases
from tongban.events import service as events
from tongban.events.service import Channel
from tongban.federation import messages, routing, words
from tongban.federation.models import Link
from tongban.federation.outbox import queue
from tongban.federation.request_models import Request
from tongban.platform.config import Settings
from tongban.platform.db import utcnow
from tongban.platform.errors import AppError, Conflict, Forbidden, Invalid, NotFound

REQUEST = "case.request"
ANSWER = "case.answer"
KINDS = (REQUEST, ANSWER)
# The applicant side's actions (cases.APPLICANT_ACTIONS) a copy sends on.
RELAYED = frozenset({"withdraw", "supplement"})
# What a refusal on the authority's node is called on the copy (no free text travels back).
_CODES: tuple[tuple[type[AppError], str], ...] = (
    (Conflict, "not_allowed"),
    (Forbidden, "forbidden"),
    (Invalid, "invalid"),
    (NotFound, "unknown_case"),
)


# --- the filing node ----------------------------------------------------------------------


def forward(
    session: Session, *, case_number: str, action: str, body: dict[str, Any], settings: Settings
) -> bool:
    """Send an action on a tracking copy to the authority's node (True), or leave it (False:
    the case is handled here). A second request while one waits is a Conflict."""
    link = session.get(Link, case_number)
    if link is None or link.role != "copy" or action not in RELAYED:
        return False
    waiting = session.scalar(
        select(Request.message_id).where(
            Request.case_number == case_number, Request.state == "pending"
        )
    )
    if waiting is not None:
        raise Conflict(words.REQUEST_WAITING)
    # Random, not counted: two clerks withdrawing at once must not collide on the key.
    message_id = f"{case_number}:r{secrets.token_hex(6)}"
    request = {k: body[k] for k in ("reason", "note") if body.get(k)}
    if action == "supplement":
        # Item by item, with the files' bytes: the outbox row is the message as it goes (a
        # supplement is rare and its files few; the worker adds bytes only to transfers).
        request = cases.supplement_payload(
            session, number=case_number, body=body, settings=settings
        )
    queue(
        session,
        kind=REQUEST,
        target=link.peer_node,
        number=case_number,
        message_id=message_id,
        body={
            "case": {"number": case_number, "version": link.remote_version},
            "request": {"action": action, **request},
        },
    )
    session.add(
        Request(
            message_id=message_id,
            case_number=case_number,
            action=action,
            peer_node=link.peer_node,
            state="pending",
            created_at=utcnow(),
        )
    )
    events.record(
        session,
        action="federation.request_sent",
        resource_type="case",
        resource_id=case_number,
        channel=Channel.SYSTEM,
        reason=body.get("reason"),
        data={"action": action, "to_node": link.peer_node},
    )
    session.flush()
    return True


def view(session: Session, *, number: str) -> cases.RemoteView | None:
    """For the case page: the node handling a copy and the requests sent to it."""
    link = session.get(Link, number)
    if link is None or link.role != "copy":
        return None
    rows = session.scalars(
        select(Request).where(Request.case_number == number).order_by(Request.created_at)
    ).all()
    return cases.RemoteView(
        node=link.peer_node,
        actions=RELAYED,
        requests=[
            cases.RemoteRequest(
                action=r.action, state=r.state, sent_at=r.created_at, answer=r.answer
            )
            for r in rows
        ],
    )


# --- receiving (inbound.apply dispatches by kind) ------------------------------------------


def receive(
    session: Session,
    *,
    kind: str,
    message_id: str,
    body: dict[str, Any],
    sender: str,
    routes: list[routing.Route],
    settings: Settings,
) -> None:
    """Apply a request (on the authority's node) or an answer (on the filing node); raises
    messages.Refused for a message this node must not apply."""
    number = str(body["case"]["number"])[:40]
    if kind == REQUEST:
        _request(
            session,
            message_id=message_id,
            number=number,
            body=body,
            sender=sender,
            routes=routes,
            settings=settings,
        )
    else:
        _answer(session, number=number, body=body, sender=sender)


def _request(
    session: Session,
    *,
    message_id: str,
    number: str,
    body: dict[str, Any],
    sender: str,
    routes: list[routing.Route],
    settings: Settings,
) -> None:
    link = session.get(Link, number)
    if link is None or link.role != "authority":
        raise messages.Refused("unknown_case", f"{number} is not handled here")
    origin = number.split("-", 1)[0]
    issuer = routing.issuer(routes, origin)
    if issuer is None or issuer.node_id != sender or link.peer_node != sender:
        raise messages.Refused("forged_region", f"{sender} did not file {number}")
    request = body.get("request")
    if not isinstance(request, dict):
        raise messages.Refused("malformed", "no request in the message")
    action = str(request.get("action", ""))
    if action not in cases.APPLICANT_ACTIONS:
        raise messages.Refused("not_applicant", f"{action[:32]!r} is not the applicant's")
    fields = {k: v for k, v in request.items() if k != "action"}
    answer: dict[str, Any]
    try:
        with session.begin_nested():  # a refusal leaves the case as it was
            state = cases.relayed_action(
                session,
                number=number,
                action=action,
                body=fields,
                from_node=sender,
                settings=settings,
            )
        answer = {"outcome": "applied", "state": state}
    except AppError as exc:
        code = next((c for kind, c in _CODES if isinstance(exc, kind)), "refused")
        answer = {
            "outcome": "refused",
            "code": code,
            "state": cases.get_case(session, number=number).state,
        }
    events.record(
        session,
        action="federation.request_received",
        resource_type="case",
        resource_id=number,
        channel=Channel.SYSTEM,
        data={"from_node": sender, "action": action, **answer},
    )
    queue(
        session,
        kind=ANSWER,
        target=sender,
        number=number,
        message_id=f"{message_id}:answer",
        body={"case": {"number": number}, "request": message_id, **answer},
    )


def _answer(session: Session, *, number: str, body: dict[str, Any], sender: str) -> None:
    link = session.get(Link, number)
    if link is None or link.role != "copy":
        raise messages.Refused("unknown_case", f"{number} is not followed here")
    if link.peer_node != sender:
        raise messages.Refused("forged_region", f"{sender} does not handle {number}")
    row = session.get(Request, str(body.get("request", ""))[:80])
    if row is None or row.case_number != number:
        raise messages.Refused("unknown_request", f"no request of {number} answered")
    outcome = str(body.get("outcome", ""))
    if outcome not in ("applied", "refused"):
        raise messages.Refused("malformed", f"outcome {outcome[:16]!r}")
    if row.state != "pending":
        return  # answered before (a second answer under another id changes nothing)
    state = str(body.get("state", ""))[:24]
    code = str(body.get("code", ""))[:24]
    row.state = outcome
    row.answer = f"{code}:{state}" if outcome == "refused" else state
    row.answered_at = utcnow()
    events.record(
        session,
        action="federation.request_answered",
        resource_type="case",
        resource_id=number,
        channel=Channel.SYSTEM,
        data={
            "from_node": sender,
            "action": row.action,
            "outcome": outcome,
            "state": state,
            **({"code": code} if outcome == "refused" else {}),
        },
    )
