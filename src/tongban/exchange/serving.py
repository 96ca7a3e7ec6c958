"""The provider side between nodes (`POST /exchange/v1/query`): check the signature against the
node directory, the time window and the message id (replay), then this node's own agreements
(Cedar, by the consumer department's code), answer from the local table, sign the answer with
the hash of the request, and log both by their hashes (an event: into the ledger).

Every refusal is an event too (`exchange.message_refused`, with its code) and changes nothing
else. The person's resident ID arrives in the body (TLS between nodes); it is hashed with this
node's keys to find the record and never logged.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any, NoReturn

from http_message_signatures import HTTPMessageSignaturesException
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from tongban.events import service as events
from tongban.events.service import Channel
from tongban.exchange import nodes, policy, signing
from tongban.exchange.errors import RefusedConflict, RefusedForbidden, RefusedInvalid
from tongban.exchange.fetch import policies_for, resource_and_agreements
from tongban.exchange.models import Message, Node
from tongban.exchange.providers import Query, local_answer
from tongban.exchange.remote import WINDOW
from tongban.platform.config import Settings
from tongban.platform.db import utcnow
from tongban.platform.db.fastpath.direct_sql import fetch_one
from tongban.platform.db.fastpath.rows import insert_now, new_row
from tongban.platform.errors import FieldError, NotFound, Unauthorized

_MESSAGE_ID = re.compile(r"^[0-9A-Za-z-]{8,64}$")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,79}$")


class RefusedUnsigned(Unauthorized):
    """A request without a valid signature of a known node: refused and recorded."""

    keeps_writes = True


class RefusedUnknown(NotFound):
    """A service this node does not provide: refused and recorded."""

    keeps_writes = True


class QueryBody(BaseModel):
    """What a consumer node asks."""

    model_config = ConfigDict(extra="forbid")

    resource: str = Field(max_length=40)
    fields: list[str] = Field(min_length=1, max_length=60)
    resident_id: str = Field(min_length=18, max_length=18)
    item: str = Field(default="", max_length=40)


@dataclass
class Served:
    """A signed answer: status, headers and body."""

    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    status_code: int = 200


@dataclass
class IncomingRequest:
    """The request as the signature library reads it."""

    method: str
    url: str
    headers: Any


def _refuse(
    session: Session, *, code: str, error: type[Exception], detail: str, node: str | None = None
) -> NoReturn:
    events.record(
        session,
        action="exchange.message_refused",
        resource_type="exchange_message",
        resource_id="incoming",
        channel=Channel.API,
        data={
            "refusal": code,
            "client_node": node if node and _CODE.match(node) else None,
        },
    )
    if error is RefusedInvalid:
        raise RefusedInvalid(detail, errors=[FieldError("body", detail)])
    if error is RefusedUnsigned:
        raise RefusedUnsigned(
            detail, headers={"WWW-Authenticate": 'Signature tag="tongban-exchange"'}
        )
    raise error(detail)


def _created(signature_input: str) -> int | None:
    found = re.search(r";created=(\d+)", signature_input)
    return int(found.group(1)) if found else None


# Built once (read on every query served), every value a parameter so that it runs directly.
_NODE_AND_SEEN = select(
    Node.base_url,
    Node.public_keys,
    select(Message.id)
    .where(
        Message.direction == bindparam("inbound"),
        Message.client == bindparam("node_id"),
        Message.message_id == bindparam("message_id"),
    )
    .exists()
    .label("seen"),
).where(Node.node_id == bindparam("node_id"))


def _node_and_seen(
    session: Session, *, node_id: str, message_id: str
) -> tuple[nodes.Listed | None, bool]:
    """The signing node's directory entry (nodes.listed) and whether this message id of it was
    already received (the replay guard), in one statement: both are read on every query, and
    each is looked at only where the checks come to it."""
    if not node_id:
        return None, False
    found = fetch_one(
        session, _NODE_AND_SEEN, {"node_id": node_id, "message_id": message_id, "inbound": "in"}
    )
    if found is None:
        return None, False
    listed = nodes.Listed(
        node_id=node_id, base_url=found.base_url, public_keys=dict(found.public_keys)
    )
    return listed, bool(found.seen)


def serve_query(
    session: Session, *, request: IncomingRequest, body: bytes, settings: Settings
) -> Served:
    """Check, answer, sign and log one query from another node."""
    headers = request.headers
    signature_input = headers.get("signature-input")
    if not signature_input or not headers.get("signature"):
        _refuse(
            session,
            code="unsigned",
            error=RefusedUnsigned,
            detail="The request is not signed (RFC 9421).",
        )
    key_id = signing.key_id_of(signature_input) or ""
    node_id = key_id.split("#", 1)[0]
    node, seen = _node_and_seen(session, node_id=node_id, message_id=headers.get("x-road-id", ""))
    if node is None:
        _refuse(
            session,
            code="unknown-node",
            error=RefusedUnsigned,
            detail="The signing node is not in the node directory.",
            node=node_id,
        )
    keys = nodes.public_keys(node)
    if key_id not in keys:
        _refuse(
            session,
            code="unknown-key",
            error=RefusedUnsigned,
            detail="The signing key is not the node's key in the directory.",
            node=node_id,
        )
    created = _created(signature_input)
    if created is None or abs(time.time() - created) > WINDOW.total_seconds():
        _refuse(
            session,
            code="outside-window",
            error=RefusedUnsigned,
            detail="The signature's time lies outside the accepted window.",
            node=node_id,
        )
    try:
        signing.verify(
            request, keys=keys, body=body, components=signing.REQUEST_COMPONENTS, window=WINDOW
        )
    except HTTPMessageSignaturesException:
        _refuse(
            session,
            code="bad-signature",
            error=RefusedUnsigned,
            detail="The signature does not verify (tampered or wrongly signed).",
            node=node_id,
        )
    client = headers.get("x-road-client", "")
    if not client.startswith(f"{node_id}/"):
        _refuse(
            session,
            code="bad-client",
            error=RefusedForbidden,
            detail="The client header names another node than the signature.",
            node=node_id,
        )
    message_id = headers.get("x-road-id", "")
    if not _MESSAGE_ID.match(message_id):
        _refuse(
            session,
            code="bad-message-id",
            error=RefusedInvalid,
            detail="The message id is missing or malformed.",
            node=node_id,
        )
    if seen:
        _refuse(
            session,
            code="replay",
            error=RefusedConflict,
            detail=f"Message {message_id} was already received (replay).",
            node=node_id,
        )
    try:
        asked = QueryBody.model_validate(json.loads(body))
    except (ValueError, ValidationError):
        _refuse(
            session,
            code="bad-body",
            error=RefusedInvalid,
            detail="The query body is not a valid query.",
            node=node_id,
        )
    service = headers.get("x-road-service", "")
    consumer = client.split("/", 1)[1]
    resource, agreements = resource_and_agreements(
        session, code=asked.resource, consumer_code=consumer
    )
    if (
        service != f"{signing.node_key(settings).node_id}/{asked.resource}"
        or resource is None
        or resource.endpoint != "local"
        or not resource.active
    ):
        _refuse(
            session,
            code="unknown-service",
            error=RefusedUnknown,
            detail="This node provides no such service.",
            node=node_id,
        )
    texts, _ = policies_for(resource, agreements)
    decision = policy.decide(
        policies=texts,
        consumer=consumer,
        resource=resource.code,
        item=asked.item,
        fields=asked.fields,
        now=utcnow(),
    )
    if not decision.allowed:
        _refuse(
            session,
            code="not-agreed",
            error=RefusedForbidden,
            detail="No agreement of this node allows this query.",
            node=node_id,
        )
    answer = local_answer(
        session,
        query=Query(
            resource=resource.code,
            fields=tuple(asked.fields),
            resident_id=asked.resident_id,
            case_number=headers.get("x-road-issue", ""),
            purpose="",
            client=consumer,
            item=asked.item,
        ),
        settings=settings,
    )
    out = json.dumps(
        {"found": answer.found, "data": answer.data}, ensure_ascii=False, sort_keys=True
    ).encode("utf-8")
    request_hash = signing.sha256(body)
    served = Served(
        body=out,
        headers={
            "content-type": "application/json",
            "x-road-id": message_id,
            "x-road-request-hash": request_hash,
            "x-road-service": service,
        },
    )
    signing.sign(
        served, key=signing.node_key(settings), body=out, components=signing.RESPONSE_COMPONENTS
    )
    row = new_row(
        Message,
        direction="in",
        client=node_id,
        service=service,
        message_id=message_id,
        issue=headers.get("x-road-issue") or None,
        request_sha256=request_hash,
        response_sha256=signing.sha256(out),
        status=200,
        logged_at=utcnow(),
    )
    insert_now(session, row)  # at once, no unit-of-work flush (as remote._log)
    issue = row.issue if row.issue and _CODE.match(row.issue) else None
    events.record(
        session,
        action="exchange.message_served",
        resource_type="exchange_message",
        resource_id=message_id,
        channel=Channel.API,
        data={
            "client_node": node_id,
            "consumer": consumer if _CODE.match(consumer) else None,
            "service": resource.code,
            "case": issue,
            "fields": list(asked.fields),
            "outcome": "found" if answer.found else "not-found",
            "request_sha256": request_hash,
            "response_sha256": row.response_sha256,
        },
    )
    return served
