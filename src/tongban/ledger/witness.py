"""A C2SP tlog-witness: cosigns a log's checkpoint only if it extends the last one it cosigned.

`add_checkpoint` is the protocol rule (c2sp.org/tlog-witness add-checkpoint); `create_witness_app`
serves it over HTTP for `tongban witness`. Cosignatures are Ed25519 cosignature/v1 (type 0x04,
c2sp.org/tlog-cosignature), timestamped.
"""

from __future__ import annotations

import base64
import binascii
import time

from fastapi import FastAPI, Request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.responses import PlainTextResponse

from tongban.ledger import merkle, notes
from tongban.ledger.models import WitnessState
from tongban.platform.db import Database, utcnow

_MAX_PROOF_LINES = 63
MAX_BODY = 64 * 1024


class WitnessError(Exception):
    """A refused submission, with the HTTP status and body the protocol prescribes."""

    def __init__(self, status: int, message: str, *, body: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.body = body if body is not None else message + "\n"
        self.content_type = "text/x.tlog.size" if status == 409 and body else "text/plain"


def _parse_request(body: str) -> tuple[int, list[bytes], str]:
    head, sep, note = body.partition("\n\n")
    if not sep:
        raise WitnessError(400, "request must be old size, proof lines, blank line, checkpoint")
    lines = head.split("\n")
    first = lines[0]
    size_s = first[4:] if first.startswith("old ") else ""
    if not size_s.isascii() or not size_s.isdigit() or (size_s != "0" and size_s[0] == "0"):
        raise WitnessError(400, "first line must be 'old <size>'")
    if len(lines) - 1 > _MAX_PROOF_LINES:
        raise WitnessError(400, "too many consistency proof lines")
    try:
        proof = [base64.b64decode(ln, validate=True) for ln in lines[1:]]
    except (binascii.Error, ValueError) as exc:
        raise WitnessError(400, "proof lines must be base64") from exc
    return int(size_s), proof, note


def add_checkpoint(
    session: Session,
    *,
    body: str,
    logs: list[notes.Verifier],
    cosigner: notes.Signer,
    timestamp: int | None = None,
) -> str:
    """Check one add-checkpoint request; persist and return the cosignature line(s)."""
    old_size, proof, note = _parse_request(body)
    try:
        parsed = notes.parse_note(note)
        checkpoint = notes.parse_checkpoint(parsed.text)
    except notes.NoteError as exc:
        raise WitnessError(400, f"malformed checkpoint: {exc}") from exc
    trusted = [v for v in logs if v.name == checkpoint.origin]
    if not trusted:
        raise WitnessError(404, f"unknown log origin {checkpoint.origin}")
    try:
        notes.open_note(note, trusted)
    except notes.NoteError as exc:
        raise WitnessError(403, f"checkpoint signature: {exc}") from exc
    if old_size > checkpoint.size:
        raise WitnessError(400, "old size is larger than the checkpoint size")
    # Lock this origin's row so check-then-update is atomic against concurrent submissions.
    row = session.scalar(
        select(WitnessState).where(WitnessState.origin == checkpoint.origin).with_for_update()
    )
    known_size = int(row.size) if row else 0
    if old_size != known_size:
        raise WitnessError(409, "old size is not the latest cosigned size", body=f"{known_size}\n")
    if row is not None and old_size == checkpoint.size:
        if bytes(row.root) != checkpoint.root:
            raise WitnessError(
                409,
                "checkpoint has the cosigned size but another root: the log forked",
                body=f"{known_size}\n",
            )
    elif row is not None:
        try:
            merkle.verify_consistency(
                old_size, checkpoint.size, bytes(row.root), checkpoint.root, proof
            )
        except merkle.ProofError as exc:
            raise WitnessError(422, f"consistency proof does not verify: {exc}") from exc
    elif proof:
        raise WitnessError(422, "proof must be empty when the old size is zero")
    now = utcnow()
    if row is None:
        session.add(
            WitnessState(
                origin=checkpoint.origin,
                size=checkpoint.size,
                root=checkpoint.root,
                note=note,
                updated_at=now,
            )
        )
    else:
        row.size, row.root, row.note, row.updated_at = (
            checkpoint.size,
            checkpoint.root,
            note,
            now,
        )
    try:
        session.flush()
    except IntegrityError as exc:
        raise WitnessError(409, "concurrent first submission for this origin") from exc
    ts = int(time.time()) if timestamp is None else timestamp
    return cosigner.sign_line(parsed.text, timestamp=ts)


def create_witness_app(
    database: Database, *, logs: list[notes.Verifier], cosigner: notes.Signer
) -> FastAPI:
    """An HTTP witness serving `POST /add-checkpoint` for the given trusted log keys."""
    app = FastAPI(title="Tongban witness", docs_url=None, redoc_url=None, openapi_url=None)

    @app.post("/add-checkpoint")
    async def add(request: Request) -> PlainTextResponse:
        raw = await request.body()
        if len(raw) > MAX_BODY:
            return PlainTextResponse("request too large\n", status_code=413)
        try:
            body = raw.decode("utf-8")
            with database.session_scope() as session:
                line = add_checkpoint(session, body=body, logs=logs, cosigner=cosigner)
        except UnicodeDecodeError:
            return PlainTextResponse("request must be UTF-8\n", status_code=400)
        except WitnessError as exc:
            return PlainTextResponse(exc.body, status_code=exc.status, media_type=exc.content_type)
        return PlainTextResponse(line)

    @app.get("/key")
    def key() -> PlainTextResponse:
        return PlainTextResponse(cosigner.verifier.vkey() + "\n")

    return app


def add_checkpoint_request(old_size: int, proof: list[bytes], checkpoint_note: str) -> str:
    """The body a log sends to a witness's add-checkpoint endpoint."""
    lines = [f"old {old_size}", *(base64.b64encode(h).decode() for h in proof)]
    return "\n".join(lines) + "\n\n" + checkpoint_note
