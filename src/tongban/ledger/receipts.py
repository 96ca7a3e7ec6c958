"""Receipts: an entry, its inclusion proof and a signed checkpoint in one offline-checkable text.

The text is a C2SP tlog-proof (c2sp.org/tlog-proof@v1) whose `extra` line carries the entry
bytes (base64 of the RFC 8785 JSON), so the receipt alone is enough to recompute the leaf hash.
A format-1 entry (which may hold personal data) is withheld: its receipt has no `extra` line
and verifies with the entry bytes given by whoever holds them.

A disclosure (the salt and the committed part of an event, docs/ledger.md) opens an entry's
commitment: `verify_disclosure` checks it against the entry, so a receipt plus a disclosure
prove a refusal reason, a purpose or a note that the public entry only commits to.
Pure functions; verification needs only the log's public key.
"""

from __future__ import annotations

import base64
import hmac
import json
import re
from dataclasses import dataclass
from typing import Any

from tongban.events import service as events
from tongban.ledger import merkle, notes

TLOG_PROOF_HEADER = "c2sp.org/tlog-proof@v1"
RECEIPT_FORMAT = "tongban-receipt/v1"


class ReceiptError(ValueError):
    """The receipt is malformed or does not verify.

    `code` names the failure for people (the receipt pages explain each one): `malformed`,
    `no_entry`, `entry_mismatch`, `signature`, `unknown_key`, `other_log`, `inclusion`,
    `entry` (the entry is not a JSON object) or `copy_mismatch` (the receipt's readable copy
    of a field differs from what its proof carries).
    """

    def __init__(self, message: str, *, code: str = "malformed") -> None:
        super().__init__(message)
        self.code = code


def build_proof_text(
    *, entry: bytes | None, index: int, proof: list[bytes], checkpoint_note: str
) -> str:
    """The tlog-proof text for one entry (without its `extra` line when `entry` is None)."""
    lines = [TLOG_PROOF_HEADER]
    if entry is not None:
        lines.append(f"extra {base64.b64encode(entry).decode()}")
    lines.append(f"index {index}")
    lines += [base64.b64encode(h).decode() for h in proof]
    return "\n".join(lines) + "\n\n" + checkpoint_note


@dataclass(frozen=True)
class ParsedProof:
    """The parts of a tlog-proof text."""

    extra: bytes | None
    index: int
    proof: list[bytes]
    checkpoint_note: str


def parse_proof_text(text: str) -> ParsedProof:
    """Split a tlog-proof text into its parts; raise ReceiptError when malformed."""
    head, sep, note = text.partition("\n\n")
    if not sep:
        raise ReceiptError("receipt has no checkpoint")
    lines = head.split("\n")
    if not lines or lines[0] != TLOG_PROOF_HEADER:
        raise ReceiptError(f"receipt must start with {TLOG_PROOF_HEADER}")
    pos = 1
    extra: bytes | None = None
    try:
        if pos < len(lines) and lines[pos].startswith("extra "):
            extra = base64.b64decode(lines[pos][6:], validate=True)
            pos += 1
        if pos >= len(lines) or not lines[pos].startswith("index "):
            raise ReceiptError("receipt has no index line")
        idx_s = lines[pos][6:]
        if not idx_s.isascii() or not idx_s.isdigit() or (idx_s != "0" and idx_s[0] == "0"):
            raise ReceiptError("receipt index must be a decimal without leading zeros")
        proof = [base64.b64decode(ln, validate=True) for ln in lines[pos + 1 :]]
    except ValueError as exc:
        if isinstance(exc, ReceiptError):
            raise
        raise ReceiptError("receipt has invalid base64") from exc
    return ParsedProof(extra, int(idx_s), proof, note)


@dataclass(frozen=True)
class VerifiedReceipt:
    """What a verified receipt proves: this entry is leaf `index` of the signed tree head."""

    entry: dict[str, Any]
    index: int
    checkpoint: notes.Checkpoint


def verify_receipt(
    receipt: str, log_key: notes.Verifier, *, entry: bytes | None = None
) -> VerifiedReceipt:
    """Verify a receipt (tlog-proof text, or the JSON document around it) offline; `entry`
    supplies the entry bytes of a receipt that withholds them (a format-1 entry)."""
    text = receipt
    doc: dict[str, Any] | None = None
    stripped = receipt.lstrip()
    if stripped.startswith("{"):
        try:
            doc = json.loads(stripped)
            if not isinstance(doc, dict):
                raise TypeError("not an object")
            text = doc["proof"]
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            raise ReceiptError("receipt JSON must hold the tlog-proof in 'proof'") from exc
        if not isinstance(text, str):
            raise ReceiptError("receipt 'proof' must be text")
    parsed = parse_proof_text(text)
    extra = parsed.extra
    if extra is None:
        if entry is None:
            raise ReceiptError(
                "receipt carries no entry (extra line); give the entry bytes", code="no_entry"
            )
        extra = entry
    elif entry is not None and entry != extra:
        raise ReceiptError(
            "the entry given is not the one the receipt carries", code="entry_mismatch"
        )
    try:
        checkpoint = notes.open_checkpoint(parsed.checkpoint_note, log_key)
    except notes.NoteError as exc:
        raise ReceiptError(f"checkpoint: {exc}", code=exc.code) from exc
    try:
        merkle.verify_inclusion(
            merkle.leaf_hash(extra),
            parsed.index,
            checkpoint.size,
            parsed.proof,
            checkpoint.root,
        )
    except merkle.ProofError as exc:
        raise ReceiptError(f"inclusion proof: {exc}", code="inclusion") from exc
    try:
        opened = json.loads(extra.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise ReceiptError("entry is not JSON", code="entry") from exc
    if not isinstance(opened, dict):
        raise ReceiptError("entry is not a JSON object", code="entry")
    if doc is not None:
        _check_copies(doc, parsed, opened, extra, checkpoint)
    return VerifiedReceipt(opened, parsed.index, checkpoint)


def _check_copies(
    doc: dict[str, Any],
    parsed: ParsedProof,
    opened: dict[str, Any],
    extra: bytes,
    checkpoint: notes.Checkpoint,
) -> None:
    """The JSON receipt repeats its proof's parts in readable fields; a person reads those,
    so a receipt whose copy says something else than what is proven (an edited `entry`) is
    refused rather than verified beside a misleading text."""
    b64 = base64.b64encode
    proven: dict[str, Any] = {
        "index": parsed.index,
        "size": checkpoint.size,
        "checkpoint": parsed.checkpoint_note,
        "leaf_hash": b64(merkle.leaf_hash(extra)).decode(),
        "inclusion_proof": [b64(h).decode() for h in parsed.proof],
        "event_uid": opened.get("uid"),
    }
    if doc.get("entry") is not None:
        proven["entry"] = opened
    for field, value in proven.items():
        if field in doc and value is not None and doc[field] != value:
            raise ReceiptError(
                f"the receipt's '{field}' is not what its proof carries", code="copy_mismatch"
            )


_SALT = re.compile(r"^[0-9a-f]{32,64}$")


def verify_disclosure(entry: dict[str, Any], *, salt: str, committed: Any) -> None:
    """Check that `committed` opened with `salt` is what the entry commits to; raise
    ReceiptError when it is not (the text was changed, or belongs to another event)."""
    if not isinstance(salt, str) or not _SALT.match(salt):
        raise ReceiptError("the salt must be 32 to 64 lowercase hex digits")
    # Format 2 commits in `commitment`; a format-1 entry committed to its personal part only.
    field = "commitment" if "v" in entry else "personal_commitment"
    expected = entry.get(field)
    if not isinstance(expected, str):
        raise ReceiptError("the entry commits to nothing")
    if not hmac.compare_digest(events.commitment(committed, salt), expected):
        raise ReceiptError("the disclosure does not match the entry's commitment")
