"""Joint handling (联办) with a co-handler another node serves (issue #18).

A joint case's co-handling steps are made on the node that handles the case, each for a
department of that node's identity. A co-handler that is no department there (in Sichuan, a
co-handling office in Guangdong) is served by the node of its region: when the case is
accepted here, the step goes there as a signed `case.cohandle` with the case's record (no
materials' bytes). That node keeps the case as a co-handling copy (link role `cohandler`):
its officials read it and may take one action on it, `co-handle`, for their step. The
result (`case.cohandled`, the steps done there with their notes) comes back and completes the
step here under the same transition (cases.co_handled_remotely), once; the decision is then
open, and the state flows to the filing node's copy as every change does.

Each side checks the other: a step is taken only from the node serving the case's authority
and only for a region served here; a result only from the node serving the step's region.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tongban.cases import service as cases
from tongban.events import service as events
from tongban.events.service import Channel
from tongban.federation import messages, routing, words
from tongban.federation.models import Link
from tongban.federation.outbox import queue
from tongban.platform.db import utcnow
from tongban.platform.errors import AppError, Conflict, FieldError

COHANDLE = "case.cohandle"
COHANDLED = "case.cohandled"
KINDS = (COHANDLE, COHANDLED)
ROLE = "cohandler"  # the link of a co-handling copy


# --- the authority's node -----------------------------------------------------------------


def send(session: Session, *, case_number: str, routes: list[routing.Route], me: str) -> None:
    """After the acceptance of a case handled here: send each step no department here can do
    to the node serving its region (a step no node serves stays, as on one node)."""
    steps = cases.remote_steps(session, number=case_number)
    if not steps:
        return
    record: dict[str, Any] | None = None
    for step in steps:
        target = routing.serving_node(routes, str(step["region_code"]))
        if target is None or target == me:
            continue
        if record is None:
            record = cases.case_record(session, number=case_number)
            record["materials"] = []  # the co-handler judges the record; files stay here
        queue(
            session,
            kind=COHANDLE,
            target=target,
            number=case_number,
            message_id=f"{case_number}:cohandle:{step['authority_code']}",
            body={"case": record, "step": step},
        )
        events.record(
            session,
            action="federation.cohandle_sent",
            resource_type="case",
            resource_id=case_number,
            channel=Channel.SYSTEM,
            data={"to_node": target, "step": step["authority_code"]},
        )


def guard(link: Any, action: str) -> None:
    """On a co-handling copy, only the co-handling step is taken (Conflict otherwise)."""
    if link.role == ROLE and action != "co-handle":
        raise Conflict(words.COHANDLING_COPY, errors=[FieldError("node", link.peer_node)])


# --- the co-handler's node ----------------------------------------------------------------


def done(session: Session, *, link: Link, case_number: str) -> None:
    """After a co-handling step on a co-handling copy: send the steps done here back."""
    steps = cases.done_steps(session, number=case_number)
    version = cases.case_version(session, number=case_number)
    queue(
        session,
        kind=COHANDLED,
        target=link.peer_node,
        number=case_number,
        message_id=f"{case_number}:cohandled:v{version}",
        body={"case": {"number": case_number}, "steps": steps},
    )


# --- receiving (inbound.apply dispatches by kind) ------------------------------------------


def receive(
    session: Session,
    *,
    kind: str,
    body: dict[str, Any],
    record: dict[str, Any],
    sender: str,
    routes: list[routing.Route],
    me: str,
    settings: Any,
) -> None:
    """Apply a step sent here or a step's result; messages.Refused for one not to apply."""
    if kind == COHANDLE:
        _step(
            session,
            body=body,
            record=record,
            sender=sender,
            routes=routes,
            me=me,
            settings=settings,
        )
    else:
        _result(session, body=body, number=str(record["number"])[:40], sender=sender, routes=routes)


def _step(
    session: Session,
    *,
    body: dict[str, Any],
    record: dict[str, Any],
    sender: str,
    routes: list[routing.Route],
    me: str,
    settings: Any,
) -> None:
    number = str(record["number"])[:40]
    authority = str(record.get("authority_region", ""))
    if routing.serving_node(routes, authority) != sender:
        raise messages.Refused("forged_region", f"{sender} does not handle {number}")
    step = body.get("step")
    if not isinstance(step, dict):
        raise messages.Refused("malformed", "no step in the message")
    region = str(step.get("region_code", ""))
    if routing.serving_node(routes, region) != me:
        raise messages.Refused("not_ours", f"co-handler region {region} is not served here")
    if cases.has_case(session, number=number):
        return  # received before under another message id (another step of the same case)
    code = str(record.get("implementation_code") or "")
    try:
        offer = cases.find_offer(session, implementation=code, item=None, region=None)
    except AppError:
        raise messages.Refused("unknown_implementation", f"{code} is not in the catalog") from None
    try:
        cases.receive_case(
            session, record={**record, "materials": []}, offer=offer, blobs={}, settings=settings
        )
    except (AppError, ValueError, KeyError, TypeError) as exc:
        raise messages.Refused("malformed", str(exc)[:200]) from None
    session.add(
        Link(
            case_number=number,
            role=ROLE,
            peer_node=sender,
            remote_version=int(record.get("version") or 0),
            updated_at=utcnow(),
        )
    )
    events.record(
        session,
        action="federation.cohandle_received",
        resource_type="case",
        resource_id=number,
        channel=Channel.SYSTEM,
        data={"from_node": sender, "step": str(step.get("authority_code", ""))[:18]},
    )


def _result(
    session: Session,
    *,
    body: dict[str, Any],
    number: str,
    sender: str,
    routes: list[routing.Route],
) -> None:
    link = session.get(Link, number)
    if (link is not None and link.role != "authority") or not cases.has_case(
        session, number=number
    ):
        raise messages.Refused("unknown_case", f"{number} is not handled here")
    steps = body.get("steps")
    if not isinstance(steps, list) or not all(isinstance(s, dict) for s in steps):
        raise messages.Refused("malformed", "no steps in the message")
    for step in steps:  # all checked before any applies
        region = str(step.get("region_code", ""))
        if routing.serving_node(routes, region) != sender:
            raise messages.Refused("forged_region", f"{sender} does not serve {region}")
    applied = []
    for step in steps:
        code = str(step.get("authority_code", ""))[:18]
        note = step.get("note")
        try:
            with session.begin_nested():
                if cases.co_handled_remotely(
                    session,
                    number=number,
                    authority_code=code,
                    note=str(note)[:2000] if note else None,
                    from_node=sender,
                ):
                    applied.append(code)
        except AppError as exc:
            raise messages.Refused("not_allowed", str(exc)[:200]) from None
    events.record(
        session,
        action="federation.cohandled_received",
        resource_type="case",
        resource_id=number,
        channel=Channel.SYSTEM,
        data={"from_node": sender, "steps": applied},
    )
