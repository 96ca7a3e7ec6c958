"""The national basic catalog (基本目录) flowing from the national node to every node and station.

The national node publishes its basic items as numbered versions: when its catalog changes
(an import, a withdrawal), the next version is made — the items, their digest, the version and
the issuer, signed with the national node's key (the key the directory publishes) — and kept
(`federation_catalog_versions`). It is served at `GET /api/v1/federation/catalog` (ETag,
`If-None-Match` and `?since=` answer 304) and published on a JetStream stream that keeps the
last version (`TONGBAN_CATALOG`, subject `tongban.catalog.national`), so a station behind a leaf
node finds it whenever its link returns.

A node applies a version it has not applied, newer than the one it holds, from the national
node of its directory (its entry has a national region code), with a key the directory lists
for it and a signature that holds: the items go into its catalog (catalog.apply_national_items:
its own implementations untouched, a withdrawn item marked, never deleted), the version is
remembered (`federation_catalog_applied`) in the same transaction, exactly once. Anything else
is refused whole: logged, counted (tongban_federation_catalog_refused_total{reason}) and
recorded as a `federation.catalog_refused` event. With the national node away the node serves
from the catalog it has.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gzip
import hashlib
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import nats
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from nats.aio.client import Client
from nats.js.api import RetentionPolicy, StorageType, StreamConfig
from nats.js.client import JetStreamContext
from nats.js.errors import BadRequestError, NotFoundError
from prometheus_client import Counter
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tongban.catalog import service as catalog
from tongban.events import service as events
from tongban.events.service import Channel
from tongban.exchange import service as exchange
from tongban.federation import threads
from tongban.federation.catalog_models import AppliedCatalog, PublishedCatalog
from tongban.federation.config import FederationSettings
from tongban.federation.messages import Refused, canonical
from tongban.federation.routing import NATIONAL_CODES
from tongban.platform.config import Settings
from tongban.platform.db import Database, utcnow
from tongban.platform.errors import Invalid

log = logging.getLogger(__name__)

FORMAT = "tongban-national-catalog/1"
VERSION_HEADER = "Tongban-Catalog-Version"
HTTP_SECONDS = 10.0

REFUSED = Counter(
    "tongban_federation_catalog_refused_total",
    "National catalog documents refused (bad signature, not the national node, malformed…).",
    ["reason"],
)
APPLIED = Counter(
    "tongban_federation_catalog_applied_total", "National catalog versions applied here."
)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One published version of the national catalog."""

    version: int
    digest: str
    item_count: int
    document: bytes
    published_at: datetime

    @property
    def etag(self) -> str:
        """The HTTP entity tag of this version."""
        return f'"catalog-v{self.version}"'


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of a document: applied, duplicate (this version is here) or stale (an
    older version than the one applied)."""

    version: int
    outcome: str
    counts: dict[str, int]


# --- the national node ---------------------------------------------------------------------


def _snapshot(row: PublishedCatalog) -> Snapshot:
    return Snapshot(
        version=row.version,
        digest=row.digest,
        item_count=row.item_count,
        document=row.document.encode(),
        published_at=row.published_at,
    )


def _latest_row(session: Session) -> PublishedCatalog | None:
    return session.scalar(
        select(PublishedCatalog).order_by(PublishedCatalog.version.desc()).limit(1)
    )


def latest(session: Session) -> Snapshot | None:
    """The last version published here, or None."""
    row = _latest_row(session)
    return _snapshot(row) if row is not None else None


def sign(*, key: exchange.NodeKey, version: int, items: list[dict[str, Any]]) -> bytes:
    """A signed national catalog document (canonical JSON bytes)."""
    body = {
        "format": FORMAT,
        "issuer": key.node_id,
        "version": version,
        "digest": catalog.items_digest(items),
        "issued_at": utcnow().isoformat(timespec="seconds"),
        "items": items,
    }
    signature = key.private.sign(canonical(body))
    return canonical(
        {"catalog": body, "key_id": key.key_id, "signature": base64.b64encode(signature).decode()}
    )


def publish_if_changed(session: Session, *, settings: Settings) -> Snapshot:
    """The current version of this (national) node's catalog: the last one, or a new one
    when the catalog changed since (made once: a concurrent maker's version wins)."""
    fingerprint = catalog.catalog_fingerprint(session)
    last = _latest_row(session)
    if last is not None and last.fingerprint == fingerprint:
        return _snapshot(last)
    items = catalog.national_items(session)
    digest = catalog.items_digest(items)
    if last is not None and last.digest == digest:
        last.fingerprint = fingerprint  # rows rewritten, content the same: no new version
        return _snapshot(last)
    version = (last.version if last is not None else 0) + 1
    document = sign(key=exchange.node_key(settings), version=version, items=items)
    row = PublishedCatalog(
        version=version,
        digest=digest,
        fingerprint=fingerprint,
        item_count=len(items),
        document=document.decode(),
        published_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        made = _latest_row(session)
        assert made is not None
        return _snapshot(made)
    events.record(
        session,
        action="federation.catalog_published",
        resource_type="federation_catalog",
        resource_id=str(version),
        channel=Channel.SYSTEM,
        data={"version": version, "item_count": len(items), "digest": digest},
    )
    return _snapshot(row)


# --- every other node ----------------------------------------------------------------------


def applied_version(session: Session) -> int | None:
    """The version of the national catalog this node holds, or None (never applied one)."""
    value: int | None = session.scalar(
        select(AppliedCatalog.version).order_by(AppliedCatalog.version.desc()).limit(1)
    )
    return value


def verify(data: bytes, *, entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The catalog of a document signed by the national node of the directory (Refused else)."""
    try:
        document = json.loads(data)
        body = document["catalog"]
        key_id = str(document["key_id"])
        signature = base64.b64decode(str(document["signature"]), validate=True)
    except (ValueError, KeyError, TypeError):
        raise Refused("malformed", "not a national catalog document") from None
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise Refused("malformed", "unknown format")
    issuer = str(body.get("issuer", ""))
    entry = next((e for e in entries if e["node_id"] == issuer), None)
    if entry is None:
        raise Refused("unknown_node", f"{issuer} is not in the directory")
    if str(entry["region_code"]) not in NATIONAL_CODES:
        raise Refused("not_national", f"{issuer} is not the national node")
    encoded = dict(entry.get("public_keys") or {}).get(key_id)
    if key_id.split("#", 1)[0] != issuer or encoded is None:
        raise Refused("unknown_key", f"{key_id} is not (or no longer) a key of {issuer}")
    try:
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(encoded))
        public.verify(signature, canonical(body))
    except (InvalidSignature, ValueError):
        raise Refused("bad_signature", f"from {issuer}") from None
    version = body.get("version")
    items = body.get("items")
    if not isinstance(version, int) or version < 1 or not isinstance(items, list):
        raise Refused("malformed", "no version or no items")
    if catalog.items_digest(items) != body.get("digest"):
        raise Refused("malformed", "the items do not match their digest")
    return body


def apply_document(session: Session, *, data: bytes, via: str) -> Outcome:
    """Verify a national catalog document and apply it exactly once (Refused for the caller
    to record; nothing is written then)."""
    body = verify(data, entries=exchange.directory_entries(session))
    version = int(body["version"])
    if session.get(AppliedCatalog, version) is not None:
        return Outcome(version, "duplicate", {})
    held = applied_version(session)
    if held is not None and version < held:
        return Outcome(version, "stale", {})
    issuer = str(body["issuer"])
    try:
        counts = catalog.apply_national_items(
            session, items=body["items"], source=f"national catalog v{version} ({issuer})"
        )
    except Invalid as exc:
        detail = "; ".join(f"{e.field}: {e.message}" for e in exc.errors[:3])
        raise Refused("malformed", detail or str(exc)) from None
    session.add(
        AppliedCatalog(
            version=version,
            digest=str(body["digest"]),
            issuer=issuer,
            via=via[:8],
            counts=counts,
            applied_at=utcnow(),
        )
    )
    events.record(
        session,
        action="federation.catalog_applied",
        resource_type="federation_catalog",
        resource_id=str(version),
        channel=Channel.SYSTEM,
        data={"version": version, "from_node": issuer, "via": via[:8], **counts},
    )
    session.flush()
    APPLIED.inc()
    return Outcome(version, "applied", counts)


def refuse(session: Session, *, data: bytes, refused: Refused, via: str) -> None:
    """Record a refused document (log, counter, event) in its own unit of work."""
    REFUSED.labels(refused.reason).inc()
    log.warning("federation: refused a national catalog document: %s", refused)
    issuer = "unknown"
    with contextlib.suppress(ValueError, KeyError, TypeError, AttributeError):
        issuer = str(json.loads(data)["catalog"]["issuer"])[:64] or "unknown"
    events.record(
        session,
        action="federation.catalog_refused",
        resource_type="federation_catalog",
        resource_id=issuer,
        channel=Channel.SYSTEM,
        data={"refusal": refused.reason, "size": len(data), "via": via[:8]},
        private={"detail": refused.detail[:500]},
    )


def take(database: Database, *, data: bytes, via: str) -> Outcome | None:
    """Apply a document in one unit of work; a refusal is recorded in another (None)."""
    try:
        with database.session_scope() as session:
            return apply_document(session, data=data, via=via)
    except Refused as refused:
        with database.session_scope() as session:
            refuse(session, data=data, refused=refused, via=via)
        return None
    except IntegrityError:
        # Another process (the HTTP poll, another server of this node) applied this version
        # at the same moment and committed first: the version's row refused the second.
        with database.session_scope() as session:
            version = int(verify(data, entries=exchange.directory_entries(session))["version"])
            if session.get(AppliedCatalog, version) is None:
                raise
        return Outcome(version, "duplicate", {})


def etag_of(version: int | None) -> str | None:
    """The entity tag a node sends to ask for anything newer than its version."""
    return f'"catalog-v{version}"' if version is not None else None


def pull(database: Database, *, url: str) -> Outcome | None:
    """Fetch the national catalog over HTTP (conditional on the version held) and apply it;
    None when there is nothing new or it was refused. Raises httpx.HTTPError when unreachable."""
    with database.session_scope() as session:
        held = applied_version(session)
    headers = {"If-None-Match": etag} if (etag := etag_of(held)) else {}
    response = httpx.get(url, headers=headers, timeout=HTTP_SECONDS)
    if response.status_code == 304:
        return None
    response.raise_for_status()
    return take(database, data=response.content, via="http")


# --- the feed: JetStream (and HTTP) in a thread of `serve` ---------------------------------


class CatalogFeed:
    """The national node publishes each version on JetStream; every other node takes the last
    one when it is newer than its own (and polls `catalog_url` over HTTP when set)."""

    def __init__(self, database: Database, settings: Settings, fed: FederationSettings) -> None:
        self.database = database
        self.settings = settings
        self.fed = fed
        self.national = fed.role == "national"
        self.nc: Client | None = None
        self.js: JetStreamContext | None = None
        self.published: int | None = None  # the version known to be on the stream
        self.published_seq: int | None = None  # … at this stream sequence
        self.seen: set[str] = set()  # documents already taken or refused by this process

    async def connect(self) -> None:
        """Connect to NATS; on the national node, make sure of the stream."""
        self.nc = await nats.connect(
            self.fed.nats_url,
            name=f"{exchange.node_key(self.settings).node_id} catalog",
            connect_timeout=2,
            reconnect_time_wait=0.5,
            # A few attempts, not for ever (nats-py's first connect would never return and the
            # thread never stop): the loop connects again at its next round.
            max_reconnect_attempts=3,
            allow_reconnect=True,
        )
        self.js = self.nc.jetstream(timeout=5, domain=self.fed.js_domain or None)
        self.published = None
        if self.national:
            config = StreamConfig(
                name=self.fed.catalog_stream,
                subjects=[self.fed.catalog_subject],
                retention=RetentionPolicy.LIMITS,
                storage=StorageType.FILE,
                max_msgs_per_subject=1,  # the last version is all a node needs
                duplicate_window=600.0,
            )
            try:
                await self.js.add_stream(config)
            except BadRequestError:
                await self.js.stream_info(self.fed.catalog_stream)

    async def close(self) -> None:
        """Close the connection."""
        if self.nc is not None and not self.nc.is_closed:
            try:
                await self.nc.close()
            except Exception:  # closing a connection that already broke
                log.debug("federation: closing the catalog connection failed", exc_info=True)
        self.nc = None

    def _mint(self) -> Snapshot:
        with self.database.session_scope() as session:
            return publish_if_changed(session, settings=self.settings)

    async def publish(self) -> int | None:
        """National node: publish the current version if the stream's last message is not it
        (a new version, or someone else's message on the subject: published again)."""
        assert self.js is not None
        snapshot = await asyncio.to_thread(self._mint)
        message_id = f"catalog:v{snapshot.version}"
        if snapshot.version == self.published:
            info = await self.js.stream_info(self.fed.catalog_stream)
            if info.state.last_seq == self.published_seq:
                return None
            log.warning(
                "federation: the catalog stream's last message is not the national node's; "
                "publishing v%d again",
                snapshot.version,
            )
            message_id = f"{message_id}:{info.state.last_seq}"
        ack = await self.js.publish(
            self.fed.catalog_subject,
            gzip.compress(snapshot.document),
            headers={"Nats-Msg-Id": message_id, VERSION_HEADER: str(snapshot.version)},
        )
        self.published, self.published_seq = snapshot.version, ack.seq
        return snapshot.version

    def _held(self) -> int | None:
        with self.database.session_scope() as session:
            return applied_version(session)

    def _take(self, data: bytes, via: str) -> Outcome | None:
        fingerprint = hashlib.sha256(data).hexdigest()
        if fingerprint in self.seen:
            return None  # the same bytes again: taken or refused (and recorded) already
        outcome = take(self.database, data=data, via=via)
        self.seen.add(fingerprint)
        return outcome

    async def receive(self) -> Outcome | None:
        """Other nodes: take the stream's last version when it is newer than the one held."""
        assert self.js is not None
        try:
            msg = await self.js.get_last_msg(self.fed.catalog_stream, self.fed.catalog_subject)
        except NotFoundError:
            return None  # nothing published yet
        held = await asyncio.to_thread(self._held)
        try:
            announced = int((msg.headers or {}).get(VERSION_HEADER, "0"))
        except ValueError:
            announced = 0
        if held is not None and 0 < announced <= held:
            return None
        try:
            data = gzip.decompress(msg.data or b"")
        except (OSError, EOFError):
            data = msg.data or b""
        return await asyncio.to_thread(self._take, data, "nats")

    def _pull(self) -> Outcome | None:
        try:
            return pull(self.database, url=self.fed.catalog_url)
        except httpx.HTTPError as exc:
            log.info("federation: the national catalog is unreachable (%s); serving the copy", exc)
            return None

    async def run(self, stop: threading.Event) -> None:
        """Publish or take versions until `stop` is set; reconnects when NATS goes away."""
        while not stop.is_set():
            if self.fed.nats_url:
                try:
                    if self.nc is None:
                        await self.connect()
                    await (self.publish() if self.national else self.receive())
                except Exception:
                    log.warning("federation: catalog feed unavailable; retrying", exc_info=True)
                    await self.close()
            if self.fed.catalog_url and not self.national:
                await asyncio.to_thread(self._pull)
            await _sleep(stop, self.fed.catalog_poll_seconds)
        await self.close()


async def _sleep(stop: threading.Event, seconds: float) -> None:
    step = 0.1
    waited = 0.0
    while waited < seconds and not stop.is_set():
        await asyncio.sleep(step)
        waited += step


def starter(fed: FederationSettings) -> Callable[[Any], Callable[[], None]]:
    """A create_app background starter: the catalog feed in a thread with its own event loop."""
    return threads.in_thread(
        "federation-catalog", lambda app: CatalogFeed(app.state.database, app.state.settings, fed)
    )
