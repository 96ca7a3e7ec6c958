"""The integrator: sequences pending events into the log in batches and signs checkpoints.

Events are written by business transactions only; integration runs in its own transaction and
never holds up theirs (beyond SQLite's single short write lock per batch).

Sequencing is exactly-once: the single `ledger_state` row is locked by an UPDATE first (a row
lock on PostgreSQL, the write lock on SQLite), so only one integrator works at a time, and
`ledger_leaves.event_id` is unique. Pending events are found by an anti-join (no leaf yet),
ordered by id. On PostgreSQL ids can commit out of order, so no "highest id done" mark is
trusted as such: the scan starts at `scan_from`, a watermark that only moves to an id that
was already sequenced at least `settle_seconds` ago (any transaction that had allocated a
smaller id has committed or rolled back by then), and a periodic full scan (`full_scan=True`,
done by the worker at start and every few minutes) picks up any longer straggler.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import rfc8785
from sqlalchemy import Table, exists, func, insert, select, update
from sqlalchemy.orm import Session

from tongban.events import service as events
from tongban.ledger import merkle, notes
from tongban.ledger.models import LedgerCheckpoint, LedgerLeaf, LedgerNode, LedgerState
from tongban.ledger.store import STORED_LEVEL, latest_checkpoint
from tongban.platform.db import Database, utcnow

log = logging.getLogger(__name__)

_MAX_SAFE_INT = 2**53 - 1
# The leaf of a format-2 event (docs/ledger.md): `v`, these fields, and `commitment` (the
# salted commitment to the event's actor, principal, reason, personal and private parts).
# No account id, no text written by people: `data` holds only codes, ids, dates and counts,
# and a resource that is a person (events.PERSON_RESOURCES) shows no id.
LEAF_FIELDS = (
    "uid",
    "occurred_at",
    "action",
    "resource_type",
    "resource_id",
    "actor_role",
    "channel",
    "service_point",
    "data",
)
LEAF_FORMAT = events.EVENT_FORMAT
# The leaf of an event written before formats were numbered (format 1): everything but the
# personal part. Such leaves are served as hashes only (service.entry).
LEGACY_LEAF_FIELDS = (
    "uid",
    "occurred_at",
    "actor_id",
    "actor_role",
    "on_behalf_of_id",
    "action",
    "resource_type",
    "resource_id",
    "channel",
    "service_point",
    "reason",
    "data",
    "personal_commitment",
)
# The event columns a leaf of either format is built from.
SOURCE_FIELDS = (*dict.fromkeys((*LEGACY_LEAF_FIELDS, *LEAF_FIELDS)), "format")


_NON_BMP = re.compile("[\U00010000-\U0010ffff]")


def _jcs_safe(value: Any, flags: list[bool]) -> Any:
    # RFC 8785 has no encoding for integers beyond 2^53 or non-finite floats; an event that
    # carried one must still be sequenced, so such values become strings. flags[0] is set
    # when the fast encoder below would not be exact (a float, or a key outside the BMP).
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value if -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT else str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        flags[0] = True
        return value
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            k = str(k)
            if not k.isascii() and _NON_BMP.search(k):
                flags[0] = True
            out[k] = _jcs_safe(v, flags)
        return out
    if isinstance(value, list | tuple):
        return [_jcs_safe(v, flags) for v in value]
    return str(value)


def canonical_json(value: Any) -> bytes:
    """RFC 8785 (JCS) bytes of a JSON value.

    Without floats and with BMP-only keys, JCS output equals Python's compact sorted-key
    UTF-8 encoding (same string escapes, code-point order = UTF-16 order in the BMP, integers
    as digits); that path runs in C, several times faster than the pure-Python rfc8785
    package, which handles the rest (ECMAScript float formatting). tests/ledger checks both
    agree on random documents.
    """
    flags = [False]
    return _encode(_jcs_safe(value, flags), flags[0])


def _encode(value: Any, needs_full: bool) -> bytes:
    if not needs_full:
        try:
            return json.dumps(
                value, ensure_ascii=False, sort_keys=True, separators=(",", ":")
            ).encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: let rfc8785 decide
            pass
    return rfc8785.dumps(value)


def rfc3339(moment: datetime) -> str:
    """A UTC timestamp as RFC 3339 with microseconds and a Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_PERSON_RESOURCES = events.PERSON_RESOURCES


def leaf_data(event: Any) -> bytes:
    """The leaf bytes of one event: RFC 8785 canonical JSON of its public side and the salted
    commitment to the rest (format 2); an event of format 1 gets the leaf it always had."""
    fmt = event.format
    if fmt is None:
        return _legacy_leaf_data(event)
    if fmt != LEAF_FORMAT:
        raise ValueError(f"event {event.uid} has format {fmt}; this node writes {LEAF_FORMAT}")
    flags = [False]
    resource_type = event.resource_type
    doc = {
        "v": LEAF_FORMAT,
        "uid": event.uid,
        "occurred_at": rfc3339(event.occurred_at),
        "action": event.action,
        "resource_type": resource_type,
        "resource_id": None if resource_type in _PERSON_RESOURCES else event.resource_id,
        "actor_role": event.actor_role,
        "channel": event.channel,
        "service_point": event.service_point,
        # Only `data` is free-form; the other fields are strings or null by the schema.
        "data": _jcs_safe(event.data, flags),
        "commitment": event.personal_commitment,
    }
    return _encode(doc, flags[0])


def _legacy_leaf_data(event: Any) -> bytes:
    doc = {name: getattr(event, name) for name in LEGACY_LEAF_FIELDS}
    doc["occurred_at"] = rfc3339(event.occurred_at)
    flags = [False]
    doc["data"] = _jcs_safe(doc["data"], flags)
    for name in ("actor_id", "on_behalf_of_id"):
        if doc[name] is not None and abs(doc[name]) > _MAX_SAFE_INT:
            doc[name] = str(doc[name])
    return _encode(doc, flags[0])


def leaf_format(entry: dict[str, Any]) -> int:
    """The format of a stored leaf (its `v`; 1 for the leaves written before `v`)."""
    v = entry.get("v")
    return v if isinstance(v, int) and not isinstance(v, bool) else 1


_LEAVES = cast(Table, LedgerLeaf.__table__)
_NODES = cast(Table, LedgerNode.__table__)


def _pending(session: Session, *, after: int, limit: int) -> list[Any]:
    log = events.events_table().c
    cols = [log.id, *(log[name] for name in SOURCE_FIELDS)]
    stmt = (
        select(*cols)
        .where(log.id > after, ~exists().where(LedgerLeaf.event_id == log.id))
        .order_by(log.id)
        .limit(limit)
    )
    return list(session.connection().execute(stmt).all())


def issue_checkpoint(
    session: Session, *, signer: notes.Signer, size: int, root: bytes, now: datetime
) -> LedgerCheckpoint:
    """Sign a checkpoint for the tree head and store it."""
    note = signer.sign(notes.Checkpoint(signer.name, size, root).text())
    row = LedgerCheckpoint(size=size, root=root, note=note, issued_at=now)
    session.add(row)
    session.flush()
    return row


def integrate_pending(
    session: Session,
    *,
    signer: notes.Signer,
    batch_size: int = 2000,
    checkpoint_interval_seconds: float = 60.0,
    settle_seconds: float = 300.0,
    full_scan: bool = False,
    now: datetime | None = None,
) -> int:
    """Sequence up to `batch_size` pending events, then sign a checkpoint; return how many."""
    now = now or utcnow()
    # Take the integrator lock before reading anything (see the module docstring).
    session.execute(update(LedgerState).where(LedgerState.id == 1).values(updated_at=now))
    st = session.execute(
        select(LedgerState).where(LedgerState.id == 1).execution_options(populate_existing=True)
    ).scalar_one()
    after = 0 if full_scan else int(st.scan_from)
    rows = _pending(session, after=after, limit=batch_size)
    frontier = merkle.Frontier.from_bytes(int(st.size), bytes(st.frontier))
    leaves: list[dict[str, Any]] = []
    nodes: list[dict[str, Any]] = []
    for row in rows:
        data = leaf_data(row)
        h = merkle.leaf_hash(data)
        leaves.append({"idx": frontier.size, "event_id": row.id, "leaf_hash": h, "data": data})
        for level, index, node in frontier.append(h):
            if level >= STORED_LEVEL:
                nodes.append({"level": level, "idx": index, "hash": node})
    # Core inserts (executemany): the ORM's per-row bookkeeping is not needed here.
    conn = session.connection()
    if leaves:
        conn.execute(insert(_LEAVES), leaves)
    if nodes:
        conn.execute(insert(_NODES), nodes)
    root = frontier.root()
    st.size = frontier.size
    st.root = root
    st.frontier = frontier.to_bytes()
    _advance_watermark(session, st, now=now, settle_seconds=settle_seconds)
    session.flush()
    last = latest_checkpoint(session)
    stale = last is None or (now - last.issued_at).total_seconds() >= checkpoint_interval_seconds
    if last is None or last.size != frontier.size or stale:
        issue_checkpoint(session, signer=signer, size=frontier.size, root=root, now=now)
    return len(leaves)


def _advance_watermark(
    session: Session, st: LedgerState, *, now: datetime, settle_seconds: float
) -> None:
    settled = st.scan_candidate_at is None or now - st.scan_candidate_at >= timedelta(
        seconds=settle_seconds
    )
    if settled:
        # The old candidate was sequenced >= settle_seconds ago, so every smaller id had been
        # allocated before then; the new candidate is stamped now and waits its turn.
        st.scan_from = max(int(st.scan_from), int(st.scan_candidate))
        top = session.scalar(select(func.max(LedgerLeaf.event_id)))
        st.scan_candidate = max(int(st.scan_candidate), int(top or 0))
        st.scan_candidate_at = now


def integrate_all(
    database: Database,
    *,
    signer: notes.Signer,
    batch_size: int = 2000,
    checkpoint_interval_seconds: float = 60.0,
    settle_seconds: float = 300.0,
    full_scan: bool = False,
) -> int:
    """Integrate batches, one transaction each, until nothing is pending; return the total."""
    total = 0
    while True:
        with database.session_scope() as session:
            n = integrate_pending(
                session,
                signer=signer,
                batch_size=batch_size,
                checkpoint_interval_seconds=checkpoint_interval_seconds,
                settle_seconds=settle_seconds,
                full_scan=full_scan,
            )
        total += n
        if n < batch_size:
            return total


class IntegratorLoop:
    """Runs integration every `interval` seconds in a thread until stopped."""

    def __init__(
        self,
        database: Database,
        *,
        signer: notes.Signer,
        batch_size: int,
        interval: float,
        checkpoint_interval_seconds: float,
        settle_seconds: float,
        full_scan_every: float = 600.0,
    ) -> None:
        self.database = database
        self.signer = signer
        self.batch_size = batch_size
        self.interval = interval
        self.checkpoint_interval_seconds = checkpoint_interval_seconds
        self.settle_seconds = settle_seconds
        self.full_scan_every = full_scan_every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self, *, full_scan: bool = False) -> int:
        """One pass: integrate until nothing is pending."""
        return integrate_all(
            self.database,
            signer=self.signer,
            batch_size=self.batch_size,
            checkpoint_interval_seconds=self.checkpoint_interval_seconds,
            settle_seconds=self.settle_seconds,
            full_scan=full_scan,
        )

    def run(self) -> None:
        """Loop until stopped; a failed pass is logged and retried."""
        last_full = 0.0
        clock = time.monotonic
        while not self._stop.is_set():
            full = clock() - last_full >= self.full_scan_every
            try:
                n = self.run_once(full_scan=full)
                if full:
                    last_full = clock()
                if n:
                    log.info("ledger: integrated %d events", n)
            except Exception:  # keep the loop alive; the next pass retries
                log.exception("ledger integration failed")
            self._stop.wait(self.interval)

    def start(self) -> Callable[[], None]:
        """Start the thread; return the function that stops and joins it."""
        self._thread = threading.Thread(target=self.run, name="ledger-integrator", daemon=True)
        self._thread.start()
        return self.stop

    def stop(self) -> None:
        """Ask the loop to stop and wait for the current pass to finish."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
