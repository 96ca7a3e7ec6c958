"""The auditor's side: fetch a log's checkpoint, check its key, the witnesses' cosignatures on it
(at least `min_cosignatures` distinct known witnesses, when asked) and its consistency with the
last checkpoint this verifier saw (kept in a local file). No database."""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from pathlib import Path

import httpx

from tongban.ledger import cosign, merkle, notes


class VerifyError(ValueError):
    """The log could not be verified (bad signature, fork, rollback or unreachable)."""


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of one online verification."""

    checkpoint: notes.Checkpoint
    previous: notes.Checkpoint | None
    # The known witnesses whose cosignature verified (given witness keys only).
    cosigned_by: tuple[notes.Verifier, ...] = ()


def _api(url: str) -> str:
    url = url.rstrip("/")
    return url if url.endswith("/api/v1") else url + "/api/v1"


def _load_state(path: Path) -> dict[str, dict[str, object]]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except ValueError as exc:
        raise VerifyError(f"verifier state {path} is not JSON") from exc
    return data if isinstance(data, dict) else {}


def _save_state(path: Path, data: dict[str, dict[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
    os.replace(tmp, path)


def _witnessed(
    note: str, log_key: notes.Verifier, witnesses: list[notes.Verifier], needed: int
) -> tuple[notes.Verifier, ...]:
    """The known witnesses that validly cosigned; VerifyError when fewer than `needed`."""
    found = cosign.count(note, log_key=log_key, witnesses=witnesses)
    if len(found.valid) < needed:
        names = ", ".join(w.name for w in found.valid) or "none"
        bad = (
            f"; {len(found.invalid)} invalid ({', '.join(found.invalid)})" if found.invalid else ""
        )
        raise VerifyError(
            f"{len(found.valid)} valid cosignature(s) by known witnesses ({names}){bad}; "
            f"{needed} required"
        )
    return tuple(found.valid)


def verify_log(
    url: str,
    log_key: notes.Verifier,
    *,
    state_path: Path,
    http: httpx.Client | None = None,
    witnesses: list[notes.Verifier] | None = None,
    min_cosignatures: int = 0,
) -> VerifyResult:
    """Check the log's latest checkpoint (the newest cosigned by `min_cosignatures` witnesses,
    when that is asked), its cosignatures and its consistency with the one last seen."""
    client = http or httpx.Client(timeout=30)
    api = _api(url)
    try:
        params = {"cosigned": min_cosignatures} if min_cosignatures else {}
        resp = client.get(f"{api}/ledger/checkpoint", params=params)
        if resp.status_code == 404 and min_cosignatures:
            # No checkpoint is cosigned that often: count what the latest one has.
            resp = client.get(f"{api}/ledger/checkpoint")
        resp.raise_for_status()
        try:
            cp = notes.open_checkpoint(resp.text, log_key)
        except notes.NoteError as exc:
            raise VerifyError(f"checkpoint: {exc}") from exc
        cosigned_by = _witnessed(resp.text, log_key, witnesses or [], min_cosignatures)
        state = _load_state(state_path)
        seen = state.get(log_key.vkey())
        previous: notes.Checkpoint | None = None
        if seen:
            previous = notes.Checkpoint(
                str(seen["origin"]), int(str(seen["size"])), base64.b64decode(str(seen["root"]))
            )
            old, new = (previous, cp) if previous.size <= cp.size else (cp, previous)
            proof: list[bytes] = []
            if old.size not in (0, new.size):
                pr = client.get(
                    f"{api}/ledger/proof/consistency", params={"old": old.size, "new": new.size}
                )
                pr.raise_for_status()
                proof = [base64.b64decode(h) for h in pr.json()["proof"]]
            try:
                merkle.verify_consistency(old.size, new.size, old.root, new.root, proof)
            except merkle.ProofError as exc:
                raise VerifyError(
                    f"log is NOT consistent between sizes {old.size} and {new.size}: {exc}"
                ) from exc
        if previous is None or cp.size >= previous.size:
            state[log_key.vkey()] = {
                "origin": cp.origin,
                "size": cp.size,
                "root": base64.b64encode(cp.root).decode(),
                "note": resp.text,
            }
            _save_state(state_path, state)
        return VerifyResult(cp, previous, cosigned_by)
    except httpx.HTTPError as exc:
        raise VerifyError(f"cannot fetch from {api}: {exc}") from exc
    finally:
        if http is None:
            client.close()
