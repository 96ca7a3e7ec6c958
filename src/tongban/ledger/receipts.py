"""Receipts: an entry, its inclusion proof and a signed checkpoint in one offline-checkable text.

The text is a C2SP tlog-proof (c2sp.org/tlog-proof@v1) whose `extra` line carries the entry
bytes (base64 of the RFC 8785 JSON), so the receipt alone is enough to recompute the leaf hash.
Pure functions; verification needs only the log's public key.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from tongban.ledger import merkle, notes

TLOG_PROOF_HEADER = "c2sp.org/tlog-proof@v1"
RECEIPT_FORMAT = "tongban-receipt/v1"


class ReceiptError(ValueError):
    """The receipt is malformed or does not verify."""


def build_proof_text(*, entry: bytes, index: int, proof: list[bytes], checkpoint_note: str) -> str:
    """The tlog-proof text for one entry."""
    lines = [TLOG_PROOF_HEADER, f"extra {base64.b64encode(entry).decode()}", f"index {index}"]
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


def verify_receipt(receipt: str, log_key: notes.Verifier) -> VerifiedReceipt:
    """Verify a receipt (tlog-proof text, or the JSON document around it) offline."""
    text = receipt
    stripped = receipt.lstrip()
    if stripped.startswith("{"):
        try:
            doc = json.loads(stripped)
            text = doc["proof"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ReceiptError("receipt JSON must hold the tlog-proof in 'proof'") from exc
        if not isinstance(text, str):
            raise ReceiptError("receipt 'proof' must be text")
    parsed = parse_proof_text(text)
    if parsed.extra is None:
        raise ReceiptError("receipt carries no entry (extra line)")
    try:
        checkpoint = notes.open_checkpoint(parsed.checkpoint_note, log_key)
    except notes.NoteError as exc:
        raise ReceiptError(f"checkpoint: {exc}") from exc
    try:
        merkle.verify_inclusion(
            merkle.leaf_hash(parsed.extra),
            parsed.index,
            checkpoint.size,
            parsed.proof,
            checkpoint.root,
        )
    except merkle.ProofError as exc:
        raise ReceiptError(f"inclusion proof: {exc}") from exc
    try:
        entry = json.loads(parsed.extra.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ReceiptError("entry is not JSON") from exc
    if not isinstance(entry, dict):
        raise ReceiptError("entry is not a JSON object")
    return VerifiedReceipt(entry, parsed.index, checkpoint)
