"""Reading the stored tree: leaves, subtree hashes, proofs in O(log n) reads."""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from tongban.ledger import merkle
from tongban.ledger.models import LedgerCheckpoint, LedgerLeaf, LedgerState
from tongban.platform.errors import Conflict, Invalid, NotFound
from tongban.platform.errors import FieldError as FE

# Perfect subtrees at this level and above are stored in ledger_nodes (one row per 8 leaves);
# below it they are hashed from at most 16 consecutive leaf hashes (one range read). Any proof
# thus costs one indexed query for <= 2 log n nodes plus one or two short range reads.
STORED_LEVEL = 4


def state(session: Session) -> LedgerState:
    """The tree state row (created by the migration)."""
    row = session.get(LedgerState, 1)
    if row is None:
        raise RuntimeError("ledger_state row missing: run the migrations")
    return row


def current_size(session: Session) -> int:
    """The number of sequenced leaves."""
    return int(session.connection().execute(_SIZE).scalar() or 0)


_SIZE = text("SELECT size FROM ledger_state WHERE id = 1")


def perfect_hashes(session: Session, nodes: list[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """Hashes of the given perfect subtrees (level, index): one query for the stored ones, one
    range read of at most 2^STORED_LEVEL leaf hashes per block for the low ones."""
    found: dict[tuple[int, int], bytes] = {}
    conn = session.connection()
    upper = [n for n in nodes if n[0] >= STORED_LEVEL]
    if upper:
        # Only integers we computed are inlined; a literal OR of primary-key probes is planned
        # as index lookups on both databases and avoids building an expression tree per proof.
        cond = " OR ".join(f"(level = {int(lvl)} AND idx = {int(i)})" for lvl, i in upper)
        for lvl, i, h in conn.execute(
            text(f"SELECT level, idx, hash FROM ledger_nodes WHERE {cond}")
        ):
            found[(int(lvl), int(i))] = bytes(h)
    blocks: dict[int, tuple[int, int]] = {}
    lower = [n for n in nodes if n[0] < STORED_LEVEL]
    for lvl, i in lower:
        start, end = i << lvl, (i + 1) << lvl
        block = start >> STORED_LEVEL
        lo, hi = blocks.get(block, (start, end))
        blocks[block] = (min(lo, start), max(hi, end))
    for lo, hi in blocks.values():
        hashes = [bytes(h) for (h,) in conn.execute(_LEAF_RANGE, {"lo": lo, "hi": hi})]
        if len(hashes) != hi - lo:
            raise RuntimeError(f"ledger leaves {lo}..{hi} are missing")
        for lvl, i in lower:
            start, end = i << lvl, (i + 1) << lvl
            if lo <= start and end <= hi:
                found[(lvl, i)] = merkle.perfect_from_leaves(hashes[start - lo : end - lo])
    missing = [n for n in nodes if n not in found]
    if missing:
        raise RuntimeError(f"ledger subtree hashes missing: {missing[:3]}")
    return found


_LEAF_RANGE = text(
    "SELECT leaf_hash FROM ledger_leaves WHERE idx >= :lo AND idx < :hi ORDER BY idx"
)


def _check_size(session: Session, size: int, field: str) -> None:
    if size < 0:
        raise Invalid(f"{field} must not be negative", errors=[FE(field, "must be >= 0")])
    have = current_size(session)
    if size > have:
        raise Conflict(f"The log has {have} entries; {field}={size} is not integrated yet.")


def inclusion_proof(session: Session, *, index: int, size: int) -> list[bytes]:
    """The inclusion proof of leaf `index` in the tree of `size` leaves."""
    _check_size(session, size, "size")
    if not 0 <= index < size:
        raise Invalid("index must be below size", errors=[FE("index", "must be in [0, size)")])
    return merkle.build_proof(
        merkle.inclusion_ranges(index, size), lambda n: perfect_hashes(session, n)
    )


def consistency_proof(session: Session, *, old: int, new: int) -> list[bytes]:
    """The consistency proof from the tree of `old` leaves to the tree of `new` leaves."""
    _check_size(session, new, "new")
    if not 0 <= old <= new:
        raise Invalid("old must be in [0, new]", errors=[FE("old", "must be in [0, new]")])
    return merkle.build_proof(
        merkle.consistency_ranges(old, new), lambda n: perfect_hashes(session, n)
    )


def root_at(session: Session, *, size: int) -> bytes:
    """The root hash of the tree at a past or current size."""
    _check_size(session, size, "size")
    plan = merkle.perfect_subtrees(0, size)
    known = perfect_hashes(session, plan)
    return merkle.fold([known[n] for n in plan])


def leaf(session: Session, *, index: int) -> LedgerLeaf:
    """The leaf at `index`, or NotFound."""
    row = session.get(LedgerLeaf, index)
    if row is None:
        raise NotFound(f"No ledger entry at index {index}.")
    return row


def leaf_for_event(session: Session, *, event_id: int) -> LedgerLeaf | None:
    """The leaf sequenced for an event, if it has been integrated."""
    return session.scalar(select(LedgerLeaf).where(LedgerLeaf.event_id == event_id))


def latest_checkpoint(session: Session) -> LedgerCheckpoint | None:
    """The most recently issued checkpoint."""
    return session.scalar(select(LedgerCheckpoint).order_by(LedgerCheckpoint.id.desc()).limit(1))


def checkpoint_of(session: Session, *, size: int, root: bytes) -> LedgerCheckpoint | None:
    """The first checkpoint this node issued for this tree head (size and root), if any."""
    return session.scalar(
        select(LedgerCheckpoint)
        .where(LedgerCheckpoint.size == size, LedgerCheckpoint.root == root)
        .order_by(LedgerCheckpoint.id)
        .limit(1)
    )


def checkpoint_at(session: Session, *, size: int) -> LedgerCheckpoint | None:
    """The latest checkpoint this node issued for the tree of `size` leaves, if any."""
    return session.scalar(
        select(LedgerCheckpoint)
        .where(LedgerCheckpoint.size == size)
        .order_by(LedgerCheckpoint.id.desc())
        .limit(1)
    )
