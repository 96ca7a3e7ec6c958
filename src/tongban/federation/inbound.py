"""Applying a message from another node, exactly once: a case transferred here for its
authority, or a state change for a tracking copy kept here.

Checks, in order: the signature (a node and key of the directory, messages.open_envelope),
that the message was not applied before (the inbox, by message id), that the sender serves
the region it speaks for (a transfer comes from the node serving the region the case number
carries, a state change from the node serving the case's authority), and that this node knows
the implementation. A refusal is logged, counted (tongban_federation_refused_total, to alert
on) and recorded as an event; the message is not applied.
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter
from sqlalchemy.orm import Session

from tongban.cases import service as cases
from tongban.events import service as events
from tongban.events.service import Channel
from tongban.federation import cohandling, messages, requests, routing
from tongban.federation.models import Incoming, Link
from tongban.platform.config import Settings
from tongban.platform.db import utcnow
from tongban.platform.errors import AppError

log = logging.getLogger(__name__)

REFUSED = Counter(
    "tongban_federation_refused_total",
    "Messages from other nodes refused (unknown key, forged region, unknown implementation…).",
    ["reason"],
)
APPLIED = Counter(
    "tongban_federation_applied_total", "Messages from other nodes applied.", ["kind"]
)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one message."""

    message_id: str
    kind: str
    case_number: str
    outcome: str  # applied | duplicate | refused:<reason>


def opened(
    data: bytes, *, routes: list[routing.Route], me: str
) -> tuple[str, str, str, dict[str, Any], dict[str, Any], str]:
    """A verified message's id, kind, sender, body, case record and case number (or
    messages.Refused)."""
    envelope = messages.open_envelope(data, routes=routes, me=me)
    body: dict[str, Any] = envelope["body"]
    record = body.get("case")
    if not isinstance(record, dict) or not isinstance(record.get("number"), str):
        raise messages.Refused("malformed", "no case in the message")
    number = str(record["number"])[:40]
    return (
        str(envelope["id"])[:80],
        str(envelope["kind"]),
        str(envelope["sender"]),
        body,
        record,
        number,
    )


def apply(
    session: Session,
    *,
    data: bytes,
    settings: Settings,
    me: str,
    offers: dict[str, Any] | None = None,
) -> Outcome:
    """Verify and apply one message (raises messages.Refused for the caller to record);
    `offers` keeps the implementations looked up across one batch."""
    routes = routing.current(session, settings=settings)
    message_id, kind, sender, body, record, number = opened(data, routes=routes, me=me)
    if session.get(Incoming, message_id) is not None:
        return Outcome(message_id, kind, number, "duplicate")
    if kind == "case.transfer":
        _transfer(
            session,
            record=record,
            body=body,
            sender=sender,
            routes=routes,
            me=me,
            settings=settings,
            offers={} if offers is None else offers,
        )
    elif kind in requests.KINDS:  # a withdrawal sent from a copy, or its answer
        requests.receive(
            session,
            kind=kind,
            message_id=message_id,
            body=body,
            sender=sender,
            routes=routes,
            settings=settings,
        )
    elif kind in cohandling.KINDS:  # a co-handling step sent here, or its result
        cohandling.receive(
            session,
            kind=kind,
            body=body,
            record=record,
            sender=sender,
            routes=routes,
            me=me,
            settings=settings,
        )
    else:
        _follow(session, record=record, sender=sender, routes=routes)
    session.add(
        Incoming(
            message_id=message_id,
            sender_node=sender,
            kind=kind,
            case_number=number,
            outcome="applied",
            received_at=utcnow(),
        )
    )
    session.flush()
    APPLIED.labels(kind).inc()
    return Outcome(message_id, kind, number, "applied")


def _transfer(
    session: Session,
    *,
    record: dict[str, Any],
    body: dict[str, Any],
    sender: str,
    routes: list[routing.Route],
    me: str,
    settings: Settings,
    offers: dict[str, Any],
) -> None:
    number = str(record["number"])
    check_transfer(record=record, sender=sender, routes=routes, me=me)
    if cases.has_case(session, number=number):
        return  # applied before under another message id: the case stands as it is
    offer = offer_for(session, record=record, offers=offers)
    try:
        blobs = decoded_blobs(body)
        cases.receive_case(session, record=record, offer=offer, blobs=blobs, settings=settings)
    except (AppError, ValueError, KeyError, TypeError) as exc:
        raise messages.Refused("malformed", str(exc)[:200]) from None
    session.add(Link(case_number=number, role="authority", peer_node=sender, remote_version=0))
    events.record(session, **received_event(record=record, sender=sender, offer=offer))


def check_transfer(
    *, record: dict[str, Any], sender: str, routes: list[routing.Route], me: str
) -> None:
    """Refuse a transfer the sender may not send (forged_region) or this node does not
    handle (not_ours)."""
    number = str(record["number"])
    origin = number.split("-", 1)[0]
    issuer = routing.issuer(routes, origin)
    if issuer is None or issuer.node_id != sender:
        raise messages.Refused("forged_region", f"{sender} does not serve {origin} ({number})")
    authority = str(record.get("authority_region", ""))
    if routing.serving_node(routes, authority) != me:
        raise messages.Refused("not_ours", f"authority region {authority} is not served here")


def offer_for(session: Session, *, record: dict[str, Any], offers: dict[str, Any]) -> Any:
    """This node's offer of the transfer's implementation, looked up once per batch (or
    messages.Refused: unknown_implementation)."""
    code = str(record.get("implementation_code") or "")
    offer = offers.get(code)
    if offer is None:
        try:
            offer = cases.find_offer(session, implementation=code, item=None, region=None)
        except AppError:
            raise messages.Refused(
                "unknown_implementation", f"{code} is not in the catalog"
            ) from None
        offers[code] = offer
    return offer


def decoded_blobs(body: dict[str, Any]) -> dict[str, bytes]:
    """The materials' bytes a transfer carries, by SHA-256 (ValueError when not base64)."""
    return {
        sha: base64.b64decode(encoded, validate=True)
        for sha, encoded in dict(body.get("blobs") or {}).items()
    }


def received_event(*, record: dict[str, Any], sender: str, offer: Any) -> events.EventFields:
    """The event of a case received for an authority here."""
    return {
        "action": "federation.case_received",
        "resource_type": "case",
        "resource_id": str(record["number"]),
        "channel": Channel.SYSTEM,
        "data": {
            "from_node": sender,
            "implementation": offer.code,
            "authority_region": str(record.get("authority_region", "")),
            "material_count": len(record.get("materials") or []),
        },
    }


def _follow(
    session: Session, *, record: dict[str, Any], sender: str, routes: list[routing.Route]
) -> None:
    number = str(record["number"])
    link = session.get(Link, number)
    if link is None or link.role != "copy":
        raise messages.Refused("unknown_case", f"{number} is not followed here")
    if link.peer_node != sender:
        raise messages.Refused("forged_region", f"{sender} does not handle {number}")
    version = int(record.get("version") or 0)
    if version <= link.remote_version:
        return  # an older change arriving late: the copy already shows a newer one
    before = cases.follow_case(session, number=number, record=record)
    link.remote_version = version
    link.updated_at = utcnow()
    events.record(
        session,
        action="federation.case_followed",
        resource_type="case",
        resource_id=number,
        channel=Channel.SYSTEM,
        data={
            "from_node": sender,
            "action": str(record.get("action", ""))[:32],
            "before": before,
            "state": str(record.get("state", "")),
            "version": version,
        },
    )


def refuse(session: Session, *, data: bytes, refused: messages.Refused) -> None:
    """Record a refused message (log, counter, event) in its own unit of work."""
    REFUSED.labels(refused.reason).inc()
    log.warning("federation: refused a message: %s", refused)
    sender, region = "unknown", None
    try:
        envelope = json.loads(data)["envelope"]
        sender = str(envelope["sender"])[:64]
        # The region the message spoke for: a case number starts with it (a code, no person).
        claimed = str(envelope["body"]["case"]["number"]).split("-", 1)[0]
        region = claimed if claimed.isdigit() and len(claimed) in (6, 9, 12) else None
    except (ValueError, KeyError, TypeError, AttributeError):
        pass
    events.record(
        session,
        action="federation.message_refused",
        resource_type="federation_message",
        resource_id=sender,
        channel=Channel.SYSTEM,
        data={
            "refusal": refused.reason,
            "size": len(data),
            **({"region": region} if region else {}),
        },
        private={"detail": refused.detail[:500]},
    )
