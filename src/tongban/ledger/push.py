"""The pusher: this node's newest checkpoint goes to every peer's witness, and the cosignatures
they return are kept (ledger/cosign.py).

One push is the C2SP tlog-witness add-checkpoint exchange: `old <size the witness last
cosigned>`, the consistency proof from that size, the checkpoint note. Which size a witness
last cosigned is known from the cosignatures kept here; a witness that knows better (it
cosigned for another pusher of this node, or lost its state) answers 409 with its size, and the
push is made again once from there. A witness that is down is tried again later, waiting longer
each time (up to `backoff_max` seconds); it catches up with the newest checkpoint at once, since
a consistency proof spans any number of checkpoints.

Nothing here holds a transaction during HTTP: the checkpoint and its proof are read in one,
the cosignature stored in another.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from sqlalchemy.orm import Session

from tongban.ledger import cosign, notes, store
from tongban.ledger.witness import add_checkpoint_request
from tongban.platform.db import Database

log = logging.getLogger(__name__)

SIZE_MEDIA_TYPE = "text/x.tlog.size"


@dataclass(frozen=True)
class Head:
    """The checkpoint being pushed."""

    size: int
    root: bytes
    note: str
    text: str


@dataclass(frozen=True)
class Outcome:
    """What one push to one witness did: `cosigned`, `refused` (the witness said no: a fork,
    an unknown log…), `down` (no answer), `bad_cosignature` (an answer that is not its valid
    cosignature), `behind` (the witness has cosigned a larger tree than this log has: this
    log lost entries) or `failed` (this node could not make the request)."""

    witness: str
    status: str
    size: int
    detail: str = ""


def latest_head(session: Session) -> Head | None:
    """The newest checkpoint this node signed (the note as signed: no cosignatures)."""
    row = store.latest_checkpoint(session)
    if row is None:
        return None
    text = notes.parse_note(row.note).text
    return Head(int(row.size), bytes(row.root), row.note, text)


def build_request(session: Session, *, head: Head, old: int) -> str:
    """The add-checkpoint body for a witness that last cosigned size `old`."""
    proof = store.consistency_proof(session, old=old, new=head.size) if old else []
    return add_checkpoint_request(old, proof, head.note)


def _known_size(response: httpx.Response) -> int | None:
    if not response.headers.get("content-type", "").startswith(SIZE_MEDIA_TYPE):
        return None
    text = response.text.strip()
    return int(text) if text.isascii() and text.isdigit() else None


def push_to_witness(
    database: Database,
    *,
    peer: cosign.Peer,
    head: Head,
    old: int,
    http: httpx.Client,
) -> Outcome:
    """Push `head` to one peer's witness, starting from size `old`; keep its cosignature."""
    witness = peer.witness_key
    if witness is None:
        return Outcome(peer.node_id, "refused", head.size, "no witness key in the directory")
    for _ in range(2):
        if old > head.size:
            return Outcome(
                witness.name,
                "behind",
                head.size,
                f"the witness cosigned size {old}; this log is at {head.size}",
            )
        with database.session_scope() as session:
            body = build_request(session, head=head, old=old)
        try:
            response = http.post(
                peer.add_checkpoint_url,
                content=body.encode(),
                headers={"Content-Type": "text/plain; charset=utf-8"},
            )
        except httpx.HTTPError as exc:
            return Outcome(witness.name, "down", head.size, type(exc).__name__)
        if response.status_code == 409:
            known = _known_size(response)
            if known is not None and known != old:
                old = known
                continue
        if response.status_code != 200:
            detail = f"{response.status_code} {response.text.strip()[:200]}"
            return Outcome(witness.name, "refused", head.size, detail)
        accepted = cosign.accept(response.text, witness=witness, checkpoint_text=head.text)
        if not accepted:
            return Outcome(witness.name, "bad_cosignature", head.size, response.text[:200])
        with database.session_scope() as session:
            cosign.store(session, size=head.size, root=head.root, cosignature=accepted[0])
        return Outcome(witness.name, "cosigned", head.size)
    return Outcome(witness.name, "refused", head.size, f"409: the witness is at size {old}")


class WitnessPusher:
    """Pushes the newest checkpoint to every peer's witness that has not cosigned it yet."""

    def __init__(
        self,
        database: Database,
        *,
        peers: Callable[[Session], list[cosign.Peer]],
        interval: float = 1.0,
        min_interval: float = 10.0,
        timeout: float = 5.0,
        backoff_max: float = 60.0,
        http: httpx.Client | None = None,
    ) -> None:
        self.database = database
        self.peers = peers
        self.interval = interval
        self.min_interval = min_interval
        self.backoff_max = backoff_max
        self.http = http or httpx.Client(timeout=timeout)
        self._failures: dict[str, int] = {}
        self._next_try: dict[str, float] = {}
        self._pushed_at: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self, *, now: float | None = None) -> list[Outcome]:
        """One round: every peer whose witness lacks the newest checkpoint gets it pushed
        (not one still waiting out its back-off, nor one cosigned less than `min_interval`
        seconds ago: a busy log signs a checkpoint a second, a witness need not see each)."""
        clock = time.monotonic() if now is None else now
        with self.database.session_scope() as session:
            head = latest_head(session)
            # A peer that lists no address (or no witness key) can be witnessed, not pushed to.
            peers = [p for p in self.peers(session) if p.witness_key is not None and p.base_url]
            done = cosign.cosigned_sizes(session)
        if head is None:
            return []
        outcomes = []
        for peer in peers:
            assert peer.witness_key is not None
            name = peer.witness_key.name
            if done.get(name, -1) >= head.size or self._next_try.get(name, 0.0) > clock:
                continue
            if name in self._pushed_at and clock - self._pushed_at[name] < self.min_interval:
                continue
            try:
                outcome = push_to_witness(
                    self.database, peer=peer, head=head, old=done.get(name, 0), http=self.http
                )
            except Exception as exc:  # a proof that cannot be built: the others still get theirs
                log.exception("pushing to witness %s failed", name)
                outcome = Outcome(name, "failed", head.size, type(exc).__name__)
            self._note(outcome, clock)
            outcomes.append(outcome)
        return outcomes

    def _note(self, outcome: Outcome, clock: float) -> None:
        name = outcome.witness
        if outcome.status == "cosigned":
            self._pushed_at[name] = clock
            self._failures.pop(name, None)
            self._next_try.pop(name, None)
            return
        failures = self._failures.get(name, 0) + 1
        self._failures[name] = failures
        self._next_try[name] = clock + min(self.backoff_max, float(2 ** min(failures, 16)))
        level = logging.INFO if outcome.status == "down" else logging.ERROR
        log.log(
            level,
            "witness %s: %s at size %d (%s)",
            name,
            outcome.status,
            outcome.size,
            outcome.detail,
        )

    def run(self) -> None:
        """Loop until stopped; a failed round is logged and the next one retries."""
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # keep the loop alive (a database blip, a directory being loaded)
                log.exception("pushing checkpoints to witnesses failed")
            self._stop.wait(self.interval)

    def start(self) -> Callable[[], None]:
        """Start the thread; return the function that stops and joins it."""
        self._thread = threading.Thread(target=self.run, name="ledger-pusher", daemon=True)
        self._thread.start()
        return self.stop

    def stop(self) -> None:
        """Ask the loop to stop, wait for the current round, close the HTTP client."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.http.close()
