"""What cases hand to federation (hooks the shell installs): a submitted case whose authority
another node serves is queued for that node, with the case's record as filed (its
implementation snapshot and materials); every change of a case handled here for another node
is queued back to it; a tracking copy takes no actions here but the applicant side's
withdrawal, which goes to the authority's node (requests.py). A bundle's parts are routed
each to its own authority's node.

Queued means a row in the outbox, in the transaction of the change: the worker publishes it
after commit. A node alone in its directory pays one cached look-up per change.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from tongban.cases import service as cases
from tongban.events import service as events
from tongban.events.service import Channel
from tongban.exchange import service as exchange
from tongban.federation import cohandling, requests, routing, words
from tongban.federation.models import Link, Outgoing
from tongban.federation.outbox import queue
from tongban.platform.config import Settings
from tongban.platform.db import utcnow
from tongban.platform.errors import Conflict, FieldError

TRANSFER = "case.transfer"
STATE = "case.state"


def _link(session: Session, number: str) -> Link | None:
    return session.get(Link, number)


def guard(session: Session, *, case_number: str, action: str) -> None:
    """Refuse actions on a tracking copy: the case is handled on its authority's node. A
    withdrawal passes: it is sent there (requests.forward). The text carries no node, so
    that pages find its translation; the node is in the problem's `errors`."""
    link = _link(session, case_number)
    if link is not None and link.role == "copy" and action not in requests.RELAYED:
        raise Conflict(words.COPY_HANDLED, errors=[FieldError("node", link.peer_node)])
    if link is not None:
        cohandling.guard(link, action)


def changed(session: Session, *, case_number: str, action: str, settings: Settings) -> None:
    """After a change of a case: queue what another node must learn of it."""
    routes = routing.current(session, settings=settings)
    if not routes:
        return  # alone, without a directory: nothing ever leaves this node
    me = exchange.node_key(settings).node_id
    if all(r.node_id == me for r in routes):
        return
    if action == "submit":
        _route_new(session, number=case_number, routes=routes, me=me)
        return
    link = _link(session, case_number)
    if link is not None and link.role == cohandling.ROLE:
        if action == "co-handle":  # 联办: the step done here goes back to the authority's node
            cohandling.done(session, link=link, case_number=case_number)
        return
    if action == "accept":  # 联办: steps of a co-handler another node serves go there
        cohandling.send(session, case_number=case_number, routes=routes, me=me)
    if link is None or link.role != "authority":
        return
    record = cases.state_record(session, number=case_number)
    record["action"] = action
    record["number"] = case_number
    queue(
        session,
        kind=STATE,
        target=link.peer_node,
        number=case_number,
        message_id=f"{case_number}:v{record['version']}",
        body={"case": record},
    )


def _route_new(session: Session, *, number: str, routes: list[routing.Route], me: str) -> None:
    record = cases.case_record(session, number=number)
    if record["kind"] != "single":
        # A bundle (一件事) stays where it was filed; each part goes to its authority's node.
        for part in cases.bundle_parts(session, number=number):
            _route_new(session, number=part, routes=routes, me=me)
        return
    target = routing.serving(routes, str(record["authority_region"]))
    if target is None or target.node_id == me:
        return
    # The outbox row, the link and the event in one go (one statement on PostgreSQL), as the
    # submission stored its case: the unit of work's flush of each was a third of routing.
    now = utcnow()
    outgoing = Outgoing(
        message_id=f"{number}:transfer",
        kind=TRANSFER,
        target_node=target.node_id,
        case_number=number,
        body={"case": record},
        created_at=now,
    )
    link = Link(
        case_number=number, role="copy", peer_node=target.node_id, remote_version=0, updated_at=now
    )
    routed: events.EventFields = {
        "action": "federation.case_routed",
        "resource_type": "case",
        "resource_id": number,
        "channel": Channel.SYSTEM,
        "data": {
            "to_node": target.node_id,
            "authority_region": record["authority_region"],
            "implementation": record["implementation_code"],
            "material_count": len(record["materials"]),
        },
    }
    events.insert_with_events(session, outgoing, events=[routed], also=[link])
