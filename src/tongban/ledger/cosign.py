"""Cosignatures between nodes: who witnesses whom, and the cosignatures this node keeps.

Who is who comes from the node directory, which the ledger does not read itself (it sits below
exchange): an entry is plain data here. Beside a node's exchange keys (`<node>#k1`), its
`public_keys` list its ledger and witness verifier keys under their own names (`<node>/ledger`,
`<node>/witness`; `directory_keys` makes them), so a directory signed by the national node says
which log key each node signs checkpoints with and which witness key cosigns them.

A cosignature (c2sp.org/tlog-cosignature, cosignature/v1) signs the checkpoint text — origin,
size, root — so it holds for every note of that tree head: one is kept per witness and size,
only once it verified, and the served checkpoint carries them as extra signature lines.

Witnessing writes no event: an event becomes a leaf, the next checkpoint would be pushed and
cosigned, which would write an event on the other node, and two nodes would keep each other
busy for ever. The cosignatures themselves are the record, and they are public.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tongban.ledger import notes
from tongban.ledger.models import LedgerCosignature
from tongban.platform.db import uow, utcnow

LOG_SUFFIX = "/ledger"
WITNESS_SUFFIX = "/witness"
WITNESS_PATH = "/api/v1/ledger/witness/add-checkpoint"
# A signed note holds at most 100 signatures (notes.parse_note): the log's and 99 others.
MAX_COSIGNATURES = 99


@dataclass(frozen=True)
class Peer:
    """Another node as the ledger sees it in the directory: its address, log and witness keys."""

    node_id: str
    base_url: str
    log_key: notes.Verifier | None
    witness_key: notes.Verifier | None

    @property
    def add_checkpoint_url(self) -> str:
        """Where its witness takes add-checkpoint requests."""
        return self.base_url.rstrip("/") + WITNESS_PATH


def directory_keys(log: notes.Verifier, witness: notes.Verifier) -> dict[str, str]:
    """A node's ledger and witness keys as its directory entry lists them, by key name."""
    return {log.name: log.vkey(), witness.name: witness.vkey()}


def _listed_key(keys: Mapping[str, Any], suffix: str, sig_type: int) -> notes.Verifier | None:
    """The entry's verifier key named `…<suffix>`; one that does not parse, or whose name or
    type is not what it is listed as, is left out (it proves nothing)."""
    for key_name, text in keys.items():
        if not str(key_name).endswith(suffix):
            continue
        try:
            verifier = notes.Verifier.parse(str(text))
        except notes.NoteError:
            continue
        if verifier.name == key_name and verifier.sig_type == sig_type:
            return verifier
    return None


def peers_from_directory(entries: Iterable[Mapping[str, Any]], *, me: str) -> list[Peer]:
    """The other nodes of a directory (every entry but node `me`), with the keys they list."""
    found = []
    for entry in entries:
        node_id = str(entry.get("node_id") or "")
        if not node_id or node_id == me:
            continue
        keys = entry.get("public_keys")
        keys = keys if isinstance(keys, Mapping) else {}
        found.append(
            Peer(
                node_id=node_id,
                base_url=str(entry.get("base_url") or ""),
                log_key=_listed_key(keys, LOG_SUFFIX, notes.SIG_ED25519),
                witness_key=_listed_key(keys, WITNESS_SUFFIX, notes.SIG_COSIGNATURE_V1),
            )
        )
    return found


def lines_for(session: Session, *, size: int) -> list[str]:
    """The stored cosignature lines of the checkpoint of `size`, by witness name."""
    rows = session.scalars(
        select(LedgerCosignature.line)
        .where(LedgerCosignature.size == size)
        .order_by(LedgerCosignature.witness)
        .limit(MAX_COSIGNATURES)
    )
    return list(rows)


def cosigned_note(session: Session, *, note: str, size: int) -> str:
    """The checkpoint note with the cosignatures kept for its size appended (still one valid
    signed note: a note's signature lines may be in any order, unknown ones are ignored)."""
    return note + "".join(lines_for(session, size=size))


def newest_cosigned_size(session: Session, *, at_least: int = 1, above: int = -1) -> int | None:
    """The largest size above `above` cosigned by at least `at_least` witnesses, if any."""
    return session.scalar(
        select(LedgerCosignature.size)
        .where(LedgerCosignature.size > above)
        .group_by(LedgerCosignature.size)
        .having(func.count() >= at_least)
        .order_by(LedgerCosignature.size.desc())
        .limit(1)
    )


def cosigned_sizes(session: Session) -> dict[str, int]:
    """The largest size each witness has cosigned, by witness name."""
    rows = session.execute(
        select(LedgerCosignature.witness, func.max(LedgerCosignature.size)).group_by(
            LedgerCosignature.witness
        )
    )
    return {str(name): int(size) for name, size in rows}


def has_cosignature(session: Session, *, size: int, witness: str) -> bool:
    """Whether `witness` has cosigned the checkpoint of `size` here."""
    found = session.scalar(
        select(LedgerCosignature.id).where(
            LedgerCosignature.size == size, LedgerCosignature.witness == witness
        )
    )
    return found is not None


@dataclass(frozen=True)
class Cosignature:
    """One verified cosignature: the line, whose key, and the witness's time."""

    line: str
    witness: notes.Verifier
    at: datetime


def accept(text: str, *, witness: notes.Verifier, checkpoint_text: str) -> list[Cosignature]:
    """The cosignatures by `witness` over `checkpoint_text` among the signature lines a witness
    returned; any other line (another key, a bad signature, garbage) is left out."""
    accepted: list[Cosignature] = []
    for raw in text.split("\n"):
        if not raw:
            continue
        try:
            # parse_note checks a signature line's form; the text before it is irrelevant here.
            parsed = notes.parse_note(f"x\n\n{raw}\n")
        except notes.NoteError:
            continue
        sig = parsed.signatures[0]
        if sig.name != witness.name or sig.key_id != witness.key_id:
            continue
        try:
            ts = notes.verify_signature(witness, checkpoint_text, sig)
        except notes.NoteError:
            continue
        if ts is None:  # a plain note signature: no time, not a witness's cosignature
            continue
        accepted.append(Cosignature(sig.line(), witness, datetime.fromtimestamp(ts, UTC)))
    return accepted


def store(session: Session, *, size: int, root: bytes, cosignature: Cosignature) -> bool:
    """Keep a verified cosignature of the checkpoint of `size`; False when one by that witness
    is kept already (another pusher got there first)."""
    name = cosignature.witness.name
    if has_cosignature(session, size=size, witness=name):
        return False
    row = LedgerCosignature(
        size=size,
        root=root,
        witness=name,
        key_id=cosignature.witness.key_id.hex(),
        line=cosignature.line,
        cosigned_at=cosignature.at,
        created_at=utcnow(),
    )
    step = uow.savepoint(session)
    session.add(row)
    try:
        session.flush()
    except IntegrityError:  # the unique (size, witness): a concurrent pusher stored it first
        step.undo()
        return False
    step.keep()
    return True


@dataclass
class Count:
    """The cosignatures on a checkpoint note, as an auditor counts them."""

    valid: list[notes.Verifier] = field(default_factory=list)  # distinct known witnesses
    invalid: list[str] = field(default_factory=list)  # known keys whose line does not verify
    unknown: int = 0  # lines by keys the auditor does not know: they prove nothing


def count(note: str, *, log_key: notes.Verifier, witnesses: list[notes.Verifier]) -> Count:
    """Count the distinct known witnesses whose cosignature on `note` verifies."""
    found = Count()
    parsed = notes.parse_note(note)
    for sig in parsed.signatures:
        if sig.name == log_key.name and sig.key_id == log_key.key_id:
            continue
        known = next((w for w in witnesses if w.name == sig.name and w.key_id == sig.key_id), None)
        if known is None:
            found.unknown += 1
            continue
        try:
            notes.verify_signature(known, parsed.text, sig)
        except notes.NoteError:
            found.invalid.append(known.name)
            continue
        if known not in found.valid:
            found.valid.append(known)
    return found
