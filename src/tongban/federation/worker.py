"""The federation worker: publishes the outbox to JetStream and applies what other nodes sent.

One durable stream (`TONGBAN_FED`, subjects `tongban.fed.<node>`, work-queue retention, file
storage) carries every node's messages; each node pulls its own subject through a durable
consumer and acknowledges a message only after the transaction that applied it committed, so
a node killed mid-way gets it again and the inbox makes the second delivery change nothing.
Publishing sets `Nats-Msg-Id`, so a publish retried after a lost acknowledgement is stored
once; the outbox row is marked sent only after JetStream acknowledged it.

`serve` runs the worker in a thread (`starter`); tests drive `Worker` directly.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import threading
from collections.abc import Callable
from typing import Any

import nats
from nats.aio.client import Client
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, RetentionPolicy, StorageType, StreamConfig
from nats.js.client import JetStreamContext
from nats.js.errors import BadRequestError
from sqlalchemy import select, update

from tongban.cases import service as cases
from tongban.exchange import service as exchange
from tongban.federation import batch as applying
from tongban.federation import inbound, messages, routing, threads
from tongban.federation.config import FederationSettings
from tongban.federation.models import Outgoing
from tongban.platform.config import Settings
from tongban.platform.db import Database, utcnow

log = logging.getLogger(__name__)

DUPLICATE_WINDOW_SECONDS = 600.0
# How long the publisher rests when the outbox is empty (the latency it adds to a new case).
OUTBOX_IDLE_SECONDS = 0.05


class Worker:
    """One node's connection to the federation's stream."""

    def __init__(self, database: Database, settings: Settings, fed: FederationSettings) -> None:
        self.database = database
        self.settings = settings
        self.fed = fed
        self.me = exchange.node_key(settings).node_id
        self.nc: Client | None = None
        self.js: JetStreamContext | None = None
        self.sub: Any = None

    def subject(self, node_id: str) -> str:
        """The subject a node's messages go to."""
        return f"{self.fed.subject_prefix}.{routing.subject_token(node_id)}"

    async def connect(self) -> None:
        """Connect (reconnecting for ever), make sure of the stream and this node's consumer."""
        self.nc = await nats.connect(
            self.fed.nats_url,
            name=self.me,
            connect_timeout=2,
            reconnect_time_wait=0.5,
            max_reconnect_attempts=-1,
            allow_reconnect=True,
        )
        self.js = self.nc.jetstream(timeout=5, domain=self.fed.js_domain or None)
        config = StreamConfig(
            name=self.fed.stream,
            subjects=[f"{self.fed.subject_prefix}.>"],
            retention=RetentionPolicy.WORK_QUEUE,
            storage=StorageType.FILE,
            duplicate_window=DUPLICATE_WINDOW_SECONDS,
        )
        try:
            await self.js.add_stream(config)
        except BadRequestError:
            await self.js.stream_info(self.fed.stream)  # there already, as another node made it
        durable = f"node_{routing.subject_token(self.me)}"
        self.sub = await self.js.pull_subscribe(
            self.subject(self.me),
            durable=durable,
            stream=self.fed.stream,
            config=ConsumerConfig(
                ack_policy=AckPolicy.EXPLICIT, ack_wait=30, max_ack_pending=10_000
            ),
        )

    async def close(self) -> None:
        """Drain and close the connection."""
        if self.nc is not None and not self.nc.is_closed:
            try:
                await self.nc.close()
            except Exception:  # closing a connection that already broke
                log.debug("federation: closing NATS failed", exc_info=True)
        self.nc = None

    def _pending(self) -> list[tuple[int, str, str, bytes]]:
        """The next outbox messages, sealed: (row id, subject, message id, bytes)."""
        key = exchange.node_key(self.settings)
        out = []
        with self.database.session_scope() as session:
            rows = session.scalars(
                select(Outgoing)
                .where(Outgoing.sent_at.is_(None))
                .order_by(Outgoing.id)
                .limit(self.fed.batch)
            ).all()
            encoded: dict[str, str] = {}  # each material read once per batch

            def blob(sha: str) -> str:
                if sha not in encoded:
                    data = cases.read_blob(self.settings, sha256=sha)
                    encoded[sha] = base64.b64encode(data).decode()
                return encoded[sha]

            for row in rows:
                body = dict(row.body)
                if row.kind == "case.transfer":
                    body["blobs"] = {
                        m["sha256"]: blob(m["sha256"]) for m in body["case"].get("materials", [])
                    }
                data = messages.seal(
                    key=key,
                    message_id=row.message_id,
                    kind=row.kind,
                    receiver=row.target_node,
                    body=body,
                )
                out.append((row.id, self.subject(row.target_node), row.message_id, data))
        return out

    async def publish_pending(self) -> int:
        """Publish the outbox (each acknowledged by JetStream), mark it sent; how many."""
        assert self.js is not None
        pending = await asyncio.to_thread(self._pending)
        if not pending:
            return 0
        acks = [
            self.js.publish(subject, data, headers={"Nats-Msg-Id": message_id})
            for _, subject, message_id, data in pending
        ]
        results = await asyncio.gather(*acks, return_exceptions=True)
        sent = [
            row_id
            for (row_id, *_), r in zip(pending, results, strict=True)
            if not isinstance(r, BaseException)
        ]
        failed = len(pending) - len(sent)
        if failed:
            log.warning("federation: %d messages not acknowledged; will retry", failed)
        if sent:
            await asyncio.to_thread(self._mark_sent, sent)
        return len(sent)

    def _mark_sent(self, ids: list[int]) -> None:
        with self.database.session_scope() as session:
            session.execute(update(Outgoing).where(Outgoing.id.in_(ids)).values(sent_at=utcnow()))

    def apply_one(self, data: bytes) -> inbound.Outcome | None:
        """Apply one message in its own unit of work (a refusal is recorded in another)."""
        return self.apply_batch([data])[0]

    def apply_batch(self, batch: list[bytes]) -> list[inbound.Outcome | None]:
        """Apply messages in one unit of work (batch.py: transfers stored together, a refused
        message recorded in its place, None); one commit for the batch."""
        with self.database.session_scope() as session:
            return applying.apply_batch(session, batch=batch, settings=self.settings, me=self.me)

    async def _fetch(self, timeout: float) -> list[Any]:
        """What waits for this node, up to a batch: at once when something is there, else
        what comes within `timeout`."""
        assert self.sub is not None
        try:
            return list(await self.sub.fetch(self.fed.batch, timeout=timeout))
        except (TimeoutError, NatsTimeout):
            return []

    async def receive(self, timeout: float | None = None) -> int:
        """Fetch and apply what is waiting for this node; ack after commit. How many."""
        batch = await self._fetch(timeout or self.fed.poll_seconds)
        if not batch:
            return 0
        try:
            await asyncio.to_thread(self.apply_batch, [msg.data for msg in batch])
        except Exception:
            # The database is away or the node stops: not acknowledged, they come again.
            log.exception("federation: applying messages failed; they will be redelivered")
            for msg in batch:
                await msg.nak(delay=1.0)
            return 0
        for msg in batch:
            await msg.ack()
        return len(batch)

    async def _publishing(self, stop: threading.Event) -> None:
        while not stop.is_set():
            if await self.publish_pending() < self.fed.batch:
                await asyncio.sleep(OUTBOX_IDLE_SECONDS)  # the outbox is empty for now

    async def _receiving(self, stop: threading.Event) -> None:
        while not stop.is_set():
            await self.receive()

    async def run(self, stop: threading.Event) -> None:
        """Publish and receive, side by side, until `stop` is set; reconnects when NATS
        goes away. Each goes on at once while it has work: a full outbox batch is followed
        by the next, and a fetch returns at once with what is waiting."""
        while not stop.is_set():
            try:
                if self.nc is None:
                    await self.connect()
                async with asyncio.TaskGroup() as both:
                    both.create_task(self._publishing(stop))
                    both.create_task(self._receiving(stop))
            except Exception:
                log.warning("federation: NATS or database unavailable; retrying", exc_info=True)
                await self.close()
                await asyncio.sleep(1.0)
        await self.close()


def starter(fed: FederationSettings) -> Callable[[Any], Callable[[], None]]:
    """A create_app background starter: the worker in a thread with its own event loop."""
    return threads.in_thread(
        "federation-worker", lambda app: Worker(app.state.database, app.state.settings, fed)
    )
