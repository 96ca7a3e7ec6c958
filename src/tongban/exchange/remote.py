"""The consumer side of a remote provider: one signed request to the node the directory names,
its signed response verified (the provider's key, the message id, the hash of our request), and
both logged by their hashes, which go into the ledger with the exchange's event.

A provider that is down, slow (TIMEOUT) or answers wrongly is ProviderUnavailable: the fetch
leaves the case unchanged and may be retried; the failure is recorded.
"""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Any, NoReturn
from urllib.parse import quote

from http_message_signatures import HTTPMessageSignaturesException
from sqlalchemy.orm import Session

from tongban.events import service as events
from tongban.events.service import Channel
from tongban.exchange import nodes, signing, wire
from tongban.exchange.errors import ProviderUnavailable
from tongban.exchange.models import Message
from tongban.exchange.providers import Answer, Query, only, register_remote
from tongban.platform.config import Settings
from tongban.platform.db import utcnow
from tongban.platform.db.fastpath.rows import insert_now, new_row

# Seconds a provider may take; the time window of signatures (both sides).
TIMEOUT = 5.0
WINDOW = datetime.timedelta(seconds=300)
QUERY_PATH = "/exchange/v1/query"


# The transport (exchange/wire.py), looked up here at each request: the benchmark's A/B
# comparison sends through httpx instead (bench/exchange_fetch.py).
send = wire.send
Unreachable = wire.Unreachable


def request_body(query: Query) -> bytes:
    """The request's JSON body (canonical: sorted keys, UTF-8)."""
    payload = {
        "resource": query.resource,
        "fields": list(query.fields),
        "resident_id": query.resident_id,
        "item": query.item,
    }
    return json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8")


def signed_request(
    *,
    url: str,
    query: Query,
    provider: str,
    settings: Settings,
    message_id: str | None = None,
    created: datetime.datetime | None = None,
) -> wire.Request:
    """A signed query request to the provider node (X-Road-style headers)."""
    key = signing.node_key(settings)
    body = request_body(query)
    request = wire.Request(
        method="POST",
        url=url,
        content=body,
        headers={
            "content-type": "application/json",
            "x-road-client": f"{key.node_id}/{query.client}",
            "x-road-service": f"{provider}/{query.resource}",
            "x-road-id": message_id or uuid.uuid4().hex,
            "x-road-issue": query.case_number,
            "x-road-purpose": quote(query.purpose, safe=""),
            "x-road-protocol-version": signing.PROTOCOL_VERSION,
        },
    )
    signing.sign(
        request, key=key, body=body, components=signing.REQUEST_COMPONENTS, created=created
    )
    return request


def _log(
    session: Session,
    *,
    request: wire.Request,
    provider: str,
    status: int | None,
    response_hash: str | None,
) -> Message:
    """The message in the log, by its hashes (its event is the caller's: see query_remote)."""
    # Stored at once by a cached INSERT (no unit-of-work flush): the message log is written
    # on every exchange (docs/benchmarks.md, Exchange; tests/exchange/test_fast_rows.py).
    row = new_row(
        Message,
        direction="out",
        client=request.headers["x-road-client"],
        service=request.headers["x-road-service"],
        message_id=request.headers["x-road-id"],
        issue=request.headers["x-road-issue"],
        request_sha256=signing.sha256(request.content),
        response_sha256=response_hash,
        status=status,
        logged_at=utcnow(),
    )
    insert_now(session, row)
    return row


def _failed(session: Session, row: Message, *, provider: str, problem: str) -> NoReturn:
    """A message that brought no answer: its own event (with its hashes), then the error."""
    events.record(
        session,
        action="exchange.message_sent",
        resource_type="exchange_message",
        resource_id=row.message_id,
        channel=Channel.SYSTEM,
        data={
            "provider_node": provider,
            "service": row.service.split("/", 1)[-1],
            "case": row.issue,
            "request_sha256": row.request_sha256,
            "response_sha256": row.response_sha256,
            "status": row.status,
        },
    )
    raise ProviderUnavailable(problem)


def query_remote(session: Session, node_id: str, query: Query, settings: Settings) -> Answer:
    """Ask another node's provider over signed HTTP; its verified answer.

    Every message is logged by its hashes. One that brought no answer goes into the ledger
    with its own event (exchange.message_sent); an answered one with the fetch's event, which
    carries its hashes: one event a fetch instead of two (docs/benchmarks.md, Exchange)."""
    node = nodes.listed(session, node_id=node_id)
    if node is None:
        raise ProviderUnavailable(f"Node {node_id} is not in the node directory.")
    request = signed_request(
        url=f"{node.base_url}{QUERY_PATH}", query=query, provider=node_id, settings=settings
    )
    try:
        # The time limit is read at each request (operators and tests may change TIMEOUT).
        response = send(request, timeout=TIMEOUT)
    except wire.Unreachable as exc:
        row = _log(session, request=request, provider=node_id, status=None, response_hash=None)
        if exc.timed_out:
            _failed(
                session,
                row,
                provider=node_id,
                problem=(
                    f"Node {node_id} did not answer within {TIMEOUT:g} s; "
                    "nothing changed, try again."
                ),
            )
        _failed(
            session,
            row,
            provider=node_id,
            problem=f"Node {node_id} cannot be reached; nothing changed, try again later.",
        )
    row = _log(
        session,
        request=request,
        provider=node_id,
        status=response.status_code,
        response_hash=signing.sha256(response.content),
    )
    if response.status_code != 200:
        detail = _detail(response)
        _failed(
            session,
            row,
            provider=node_id,
            problem=f"Node {node_id} refused the query ({response.status_code}): {detail}",
        )
    try:
        signing.verify(
            response,
            keys=nodes.public_keys(node),
            body=response.content,
            components=signing.RESPONSE_COMPONENTS,
            window=WINDOW,
        )
    except HTTPMessageSignaturesException:
        problem = f"Node {node_id}'s answer is not validly signed."
        _failed(session, row, provider=node_id, problem=problem)
    if (
        response.headers.get("x-road-id") != row.message_id
        or response.headers.get("x-road-request-hash") != row.request_sha256
    ):
        _failed(
            session,
            row,
            provider=node_id,
            problem=f"Node {node_id}'s answer does not answer this request.",
        )
    payload: dict[str, Any] = response.json()
    return Answer(
        found=bool(payload.get("found")),
        data=only(query.fields, dict(payload.get("data") or {})),
        source=node_id,
        message_id=row.message_id,
        message_hashes=(row.request_sha256, row.response_sha256 or ""),
    )


def _detail(response: wire.Response) -> str:
    try:
        return str(response.json().get("detail", ""))[:200]
    except ValueError:
        return ""


register_remote(query_remote)
