"""The ledger's rules for other domains, the API and the CLI: keys, integration, proofs, receipts.

Other domains import only this module (e.g. `receipt_for_event` for the case page).

Leaves of format 2 carry no personal data and no text written by people (docs/ledger.md);
leaves written before (format 1) may, and cannot change: their bodies are withheld, only their
hashes are served, so every checkpoint and proof still verifies.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.events import service as events
from tongban.ledger import (
    cosign,
    explain,
    integrator,
    merkle,
    notes,
    push,
    receipts,
    store,
    witness,
)
from tongban.ledger.client import VerifyError, VerifyResult, verify_log
from tongban.ledger.cosign import Peer
from tongban.ledger.explain import RECEIPT_MAX_BYTES, ReceiptReport, read_upload
from tongban.ledger.models import LedgerLeaf
from tongban.ledger.notes import Checkpoint, NoteError, Signer, Verifier
from tongban.ledger.receipts import (
    ReceiptError,
    VerifiedReceipt,
    verify_disclosure,
    verify_receipt,
)
from tongban.ledger.witness import WitnessError
from tongban.platform.config import Settings
from tongban.platform.db import Database, uow
from tongban.platform.errors import Conflict, NotFound

__all__ = [
    "RECEIPT_MAX_BYTES",
    "Checkpoint",
    "NoteError",
    "Peer",
    "ReceiptError",
    "ReceiptReport",
    "SignedCheckpoint",
    "Signer",
    "VerifiedReceipt",
    "Verifier",
    "VerifyError",
    "VerifyResult",
    "WitnessError",
    "check_event_receipt",
    "check_receipt",
    "consistency_proof",
    "cosign_checkpoint",
    "directory_keys",
    "entry",
    "inclusion_proof",
    "integrate_pending",
    "integrator_starter",
    "latest_checkpoint",
    "log_origin",
    "node_signer",
    "peers",
    "public_key",
    "push_checkpoints",
    "pusher_starter",
    "read_upload",
    "receipt_for_event",
    "served_checkpoint",
    "use_directory",
    "verify_disclosure",
    "verify_log",
    "verify_receipt",
    "witness_keys",
    "witness_signer",
    "witnessed_logs",
]

_signers: dict[tuple[str, str, int], Signer] = {}
_signers_lock = threading.Lock()


def log_origin(settings: Settings) -> str:
    """This node's log origin and key name, e.g. `tongban.local/ledger`."""
    return f"{settings.node_name}/ledger"


def _signer(path: Path, name: str, sig_type: int) -> Signer:
    key = (str(path.resolve()), name, sig_type)
    with _signers_lock:
        if key not in _signers:
            _signers[key] = Signer(name, notes.load_or_create_key(path), sig_type)
        return _signers[key]


def node_signer(settings: Settings) -> Signer:
    """The node's checkpoint signer; its key is created in the data directory on first use."""
    path = settings.data_dir / "ledger" / "ed25519.key"
    return _signer(path, log_origin(settings), notes.SIG_ED25519)


def witness_signer(settings: Settings) -> Signer:
    """This node's witness cosigner (a separate key, cosignature/v1)."""
    path = settings.data_dir / "ledger" / "witness-ed25519.key"
    return _signer(path, f"{settings.node_name}/witness", notes.SIG_COSIGNATURE_V1)


def public_key(settings: Settings) -> str:
    """The node's verifier key string, as auditors pass it to `tongban ledger verify`."""
    return node_signer(settings).verifier.vkey()


def integrate_pending(
    session: Session,
    *,
    settings: Settings,
    batch_size: int | None = None,
    full_scan: bool = False,
) -> int:
    """Sequence one batch of pending events and sign a checkpoint; return how many."""
    return integrator.integrate_pending(
        session,
        signer=node_signer(settings),
        batch_size=batch_size or settings.ledger_batch_size,
        checkpoint_interval_seconds=settings.ledger_checkpoint_interval_seconds,
        settle_seconds=settings.ledger_settle_seconds,
        full_scan=full_scan,
    )


def integrator_loop(settings: Settings, database: Database) -> integrator.IntegratorLoop:
    """The background integration loop for a worker or an app server."""
    return integrator.IntegratorLoop(
        database,
        signer=node_signer(settings),
        batch_size=settings.ledger_batch_size,
        interval=settings.ledger_integrate_interval_seconds,
        checkpoint_interval_seconds=settings.ledger_checkpoint_interval_seconds,
        settle_seconds=settings.ledger_settle_seconds,
    )


def integrator_starter() -> Callable[[Any], Callable[[], None]]:
    """A create_app background starter that runs the integrator in a thread of the app."""

    def start(app: Any) -> Callable[[], None]:
        return integrator_loop(app.state.settings, app.state.database).start()

    return start


@dataclass(frozen=True)
class SignedCheckpoint:
    """A signed tree head: its size, root hash, the signed note and when it was issued."""

    size: int
    root: bytes
    note: str
    issued_at: datetime


def latest_checkpoint(session: Session) -> SignedCheckpoint:
    """The latest signed checkpoint, or NotFound before the first integration."""
    cp = store.latest_checkpoint(session)
    if cp is None:
        raise NotFound("The ledger has not issued a checkpoint yet.")
    return SignedCheckpoint(
        size=int(cp.size), root=bytes(cp.root), note=cp.note, issued_at=cp.issued_at
    )


def served_checkpoint(session: Session, *, cosigned: int = 0) -> SignedCheckpoint:
    """The checkpoint as served: the latest, or the newest cosigned by at least `cosigned`
    witnesses, with the cosignatures kept for it appended to the note (NotFound if none)."""
    if cosigned:
        size = cosign.newest_cosigned_size(session, at_least=cosigned)
        cp = store.checkpoint_at(session, size=size) if size is not None else None
        if cp is None:
            raise NotFound(f"No checkpoint has been cosigned by {cosigned} witnesses yet.")
    else:
        cp = store.latest_checkpoint(session)
        if cp is None:
            raise NotFound("The ledger has not issued a checkpoint yet.")
    note = cosign.cosigned_note(session, note=cp.note, size=int(cp.size))
    return SignedCheckpoint(
        size=int(cp.size), root=bytes(cp.root), note=note, issued_at=cp.issued_at
    )


def _b64(h: bytes) -> str:
    return base64.b64encode(h).decode()


def _public(data: bytes) -> tuple[int, dict[str, Any] | None]:
    """A stored leaf's format, and its body if it may be served (format 2 and later)."""
    doc = json.loads(data)
    fmt = integrator.leaf_format(doc)
    return fmt, (doc if fmt >= integrator.LEAF_FORMAT else None)


def entry(session: Session, *, index: int) -> dict[str, Any]:
    """One log entry: its index, leaf hash and exact canonical JSON text (None, withheld, for
    a format-1 leaf, which may hold personal data: its hash alone keeps the tree checkable)."""
    row = store.leaf(session, index=index)
    data = bytes(row.data)
    fmt, doc = _public(data)
    return {
        "index": int(row.idx),
        "leaf_hash": _b64(bytes(row.leaf_hash)),
        "format": fmt,
        "withheld": doc is None,
        "data": data.decode("utf-8") if doc is not None else None,
        "entry": doc,
    }


def inclusion_proof(session: Session, *, index: int, size: int | None = None) -> dict[str, Any]:
    """The inclusion proof of an entry in the tree of `size` (default: latest checkpoint)."""
    if size is None:
        size = int(latest_checkpoint(session).size)
    proof = store.inclusion_proof(session, index=index, size=size)
    row = store.leaf(session, index=index)
    return {
        "index": index,
        "size": size,
        "leaf_hash": _b64(bytes(row.leaf_hash)),
        "proof": [_b64(h) for h in proof],
    }


def consistency_proof(session: Session, *, old: int, new: int | None = None) -> dict[str, Any]:
    """The consistency proof between two tree sizes (default new: latest checkpoint)."""
    if new is None:
        new = int(latest_checkpoint(session).size)
    proof = store.consistency_proof(session, old=old, new=new)
    return {"old": old, "new": new, "proof": [_b64(h) for h in proof]}


def receipt_for_event(session: Session, *, event_uid: str) -> dict[str, Any]:
    """A self-contained receipt for one event: entry, inclusion proof and signed checkpoint."""
    log = events.events_table().c
    event_id = session.scalar(select(log.id).where(log.uid == event_uid))
    if event_id is None:
        raise NotFound(f"No event {event_uid}.")
    leaf: LedgerLeaf | None = store.leaf_for_event(session, event_id=int(event_id))
    cp = store.latest_checkpoint(session)
    if leaf is None or cp is None or int(cp.size) <= int(leaf.idx):
        raise Conflict(
            f"Event {event_uid} is not in the ledger yet; it is integrated within seconds, "
            "try again shortly."
        )
    # The newest checkpoint that holds the leaf and that witnesses have cosigned, rather than
    # a newer one they have not cosigned yet (on a busy node the latest is seconds old).
    witnessed = cosign.newest_cosigned_size(session, above=int(leaf.idx))
    if witnessed is not None and witnessed != int(cp.size):
        cp = store.checkpoint_at(session, size=witnessed) or cp
    size, index, data = int(cp.size), int(leaf.idx), bytes(leaf.data)
    note = cosign.cosigned_note(session, note=cp.note, size=size)
    proof = store.inclusion_proof(session, index=index, size=size)
    fmt, doc = _public(data)
    # A withheld (format-1) entry leaves the receipt without its body: it proves the leaf
    # hash to whoever holds the entry (verify_receipt's `entry`).
    text = receipts.build_proof_text(
        entry=data if doc is not None else None, index=index, proof=proof, checkpoint_note=note
    )
    return {
        "format": receipts.RECEIPT_FORMAT,
        "event_uid": event_uid,
        "index": index,
        "size": size,
        "leaf_hash": _b64(merkle.leaf_hash(data)),
        "leaf_format": fmt,
        "withheld": doc is None,
        "entry": doc,
        "checkpoint": note,
        "inclusion_proof": [_b64(h) for h in proof],
        "proof": text,
    }


def _parsed(vkeys: list[str]) -> list[Verifier]:
    """Verifier keys from settings; one that does not parse is left out rather than stopping
    every receipt page (or the witness)."""
    keys: list[Verifier] = []
    for vkey in vkeys:
        try:
            keys.append(Verifier.parse(vkey))
        except NoteError:
            continue
    return keys


# How the ledger reads the node directory (it sits below exchange): set by the shell.
_directory: list[Callable[[Session], list[dict[str, Any]]]] = []


def use_directory(read: Callable[[Session], list[dict[str, Any]]]) -> None:
    """Let the ledger read the node directory's entries (the shell hands exchange's in)."""
    _directory[:] = [read]


def directory_keys(settings: Settings) -> dict[str, str]:
    """This node's ledger and witness verifier keys, as its directory entry lists them."""
    return cosign.directory_keys(node_signer(settings).verifier, witness_signer(settings).verifier)


def peers(session: Session, *, settings: Settings) -> list[Peer]:
    """The other nodes of the directory, with their log and witness keys (none without one)."""
    if not _directory:
        return []
    return cosign.peers_from_directory(_directory[0](session), me=settings.node_name)


def witness_keys(settings: Settings, session: Session | None = None) -> list[Verifier]:
    """The witnesses this node knows: the configured ones (settings.ledger_witness_keys) and,
    given a session, the directory's nodes' witness keys."""
    keys = _parsed(settings.ledger_witness_keys)
    if session is not None:
        for peer in peers(session, settings=settings):
            if peer.witness_key is not None and peer.witness_key not in keys:
                keys.append(peer.witness_key)
    return keys


def witnessed_logs(session: Session, *, settings: Settings) -> list[Verifier]:
    """The logs this node's witness cosigns: the directory's nodes' and the configured ones
    (settings.ledger_witness_logs)."""
    logs = [p.log_key for p in peers(session, settings=settings) if p.log_key is not None]
    return logs + [k for k in _parsed(settings.ledger_witness_logs) if k not in logs]


def cosign_checkpoint(session: Session, *, settings: Settings, body: bytes) -> str:
    """The witness role (C2SP tlog-witness add-checkpoint): cosign another log's checkpoint if
    it extends the last one cosigned; WitnessError (status and text body) otherwise, with
    nothing written."""
    if len(body) > witness.MAX_BODY:
        raise WitnessError(413, "request too large")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise WitnessError(400, "request must be UTF-8") from None
    with uow.attempt(session):
        return witness.add_checkpoint(
            session,
            body=text,
            logs=witnessed_logs(session, settings=settings),
            cosigner=witness_signer(settings),
        )


def push_checkpoints(
    database: Database, *, settings: Settings, http: httpx.Client | None = None
) -> list[push.Outcome]:
    """One round of pushing the newest checkpoint to the directory's witnesses (what the
    background pusher does every second): what each push did."""
    pusher = push.WitnessPusher(
        database, peers=lambda session: peers(session, settings=settings), http=http
    )
    try:
        return list(pusher.run_once())
    finally:
        if http is None:
            pusher.http.close()


def pusher_starter(*, interval: float = 1.0) -> Callable[[Any], Callable[[], None]]:
    """A create_app background starter that pushes checkpoints to the peers' witnesses."""

    def start(app: Any) -> Callable[[], None]:
        settings = app.state.settings
        return push.WitnessPusher(
            app.state.database,
            peers=lambda session: peers(session, settings=settings),
            interval=interval,
        ).start()

    return start


def check_receipt(
    session: Session, *, settings: Settings, text: str, entry: bytes | None = None
) -> ReceiptReport:
    """Check a receipt against this node's key and witnesses (verify_receipt, as the CLI
    does), then its checkpoint against this node's own log: same root at that size, and
    consistent with the latest checkpoint (else the log was forked or the key misused)."""
    report = explain.check(
        text,
        node_signer(settings).verifier,
        witness_keys=witness_keys(settings, session),
        entry=entry,
    )
    if report.size is not None and report.root is not None:
        row = store.checkpoint_of(session, size=report.size, root=bytes.fromhex(report.root))
        report.issued_at = row.issued_at if row is not None else None
    if not report.verified or report.size is None or report.root is None:
        return report
    latest = store.latest_checkpoint(session)
    if latest is None or int(latest.size) < report.size:
        return report.fail("ahead", "the checkpoint is newer than any this node has signed")
    new, new_root = int(latest.size), bytes(latest.root)
    proof = store.consistency_proof(session, old=report.size, new=new)
    try:
        merkle.verify_consistency(report.size, new, bytes.fromhex(report.root), new_root, proof)
    except merkle.ProofError as exc:
        return report.fail("inconsistent", f"not consistent with size {new}: {exc}")
    report.consistent_with = new
    return report


def check_event_receipt(session: Session, *, settings: Settings, event_uid: str) -> ReceiptReport:
    """The receipt of one event, checked as an uploaded one would be. A withheld (format-1)
    entry is checked with the bytes the node holds, and stays withheld in the report."""
    receipt = receipt_for_event(session, event_uid=event_uid)
    held: bytes | None = None
    if receipt["withheld"]:
        held = bytes(store.leaf(session, index=int(receipt["index"])).data)
    text = json.dumps(receipt, ensure_ascii=False, sort_keys=True, indent=2)
    return check_receipt(session, settings=settings, text=text, entry=held)
