"""A receipt checked step by step, for people: what passed, what failed, and the values to redo
each step by hand.

The verdict is `receipts.verify_receipt`'s, the very function behind `tongban ledger
verify-receipt`; this module only adds what a person needs around it: which step a failure
belongs to (from the error's code), the witnesses' cosignatures on the checkpoint, and the
intermediate hashes of the inclusion proof. Whether the checkpoint is consistent with the
node's own log needs the database and is added by `service.check_receipt`.

Uploaded bytes are looked at (`read_upload`) before anything parses them: a size bound, no
binary file (a PDF receipt, a photo), UTF-8 text that starts like a receipt.
"""

from __future__ import annotations

import binascii
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tongban.ledger import merkle, notes, receipts

# A receipt is a few kilobytes (an entry, log2(size) hashes, a checkpoint); 64 KiB leaves room
# for a log of any size and many witnesses, and bounds what a visitor can make the node parse.
RECEIPT_MAX_BYTES = 64 * 1024

# The checks in the order verify_receipt makes them; a failure's code names its step, every
# step before it passed and every step after it was not reached.
STEPS: tuple[str, ...] = ("read", "signature", "inclusion", "entry", "witnesses", "consistency")
STEP_OF_FAILURE: dict[str, str] = {
    "not_receipt": "read",
    "pdf": "read",
    "too_large": "read",
    "empty": "read",
    "malformed": "read",
    "no_entry": "read",
    "entry_mismatch": "inclusion",
    "signature": "signature",
    "unknown_key": "signature",
    "other_log": "signature",
    "inclusion": "inclusion",
    "entry": "entry",
    "copy_mismatch": "entry",
    "witness_signature": "witnesses",
    "inconsistent": "consistency",
    "ahead": "consistency",
}

# Magic numbers of files people may pick by mistake; named so that the page can say what it is.
_BINARY_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "pdf"),
    (b"\x89PNG", "not_receipt"),
    (b"\xff\xd8\xff", "not_receipt"),
    (b"PK\x03\x04", "not_receipt"),
    (b"GIF8", "not_receipt"),
)


@dataclass(frozen=True)
class Witness:
    """One independent witness that cosigned the checkpoint, and when (its own clock)."""

    name: str
    at: datetime


@dataclass(frozen=True)
class WalkStep:
    """One step up the inclusion proof: the proof's hash on this side, and the result."""

    sibling: str
    side: str  # "left" or "right": where the proof's hash goes
    result: str


@dataclass
class ReceiptReport:
    """What checking one receipt found. Hashes are hex (what `sha256sum` prints)."""

    text: str
    verified: bool = False
    failure: str | None = None
    detail: str | None = None  # the technical message, in English, as the CLI prints it
    steps: dict[str, str] = field(default_factory=dict)  # step -> passed/failed/unchecked
    entry: dict[str, Any] | None = None  # only once the inclusion proof holds
    entry_text: str | None = None
    withheld: bool = False
    index: int | None = None
    leaf_hash: str | None = None
    walk: list[WalkStep] = field(default_factory=list)
    origin: str | None = None
    size: int | None = None
    root: str | None = None
    checkpoint_text: str | None = None
    issued_at: datetime | None = None
    witnesses: list[Witness] = field(default_factory=list)
    unknown_cosigners: int = 0
    consistent_with: int | None = None

    @property
    def occurred_at(self) -> datetime | None:
        """When the step happened, from the proven entry."""
        raw = (self.entry or {}).get("occurred_at")
        try:
            return datetime.fromisoformat(str(raw).replace("Z", "+00:00")) if raw else None
        except ValueError:
            return None

    def fail(self, code: str, detail: str) -> ReceiptReport:
        """Record the first failure: its step failed, the steps before it passed."""
        failed = STEP_OF_FAILURE.get(code, "read")
        self.verified, self.failure, self.detail = False, code, detail
        reached = STEPS.index(failed)
        self.steps = {
            s: ("passed" if i < reached else "failed" if i == reached else "unchecked")
            for i, s in enumerate(STEPS)
        }
        return self

    def pass_all(self) -> ReceiptReport:
        """Every step passed."""
        self.verified, self.failure, self.detail = True, None, None
        self.steps = dict.fromkeys(STEPS, "passed")
        return self


def read_upload(data: bytes) -> str:
    """The text of an uploaded or pasted receipt, judged by its bytes before any parsing;
    raise ReceiptError (code too_large, empty, pdf, not_receipt) when it cannot be one."""
    if len(data) > RECEIPT_MAX_BYTES:
        raise receipts.ReceiptError("the file is larger than a receipt can be", code="too_large")
    head = data.lstrip()[:8]
    if not head:
        raise receipts.ReceiptError("the file is empty", code="empty")
    for magic, code in _BINARY_MAGIC:
        if head.startswith(magic):
            raise receipts.ReceiptError(f"the file is binary ({code})", code=code)
    if b"\x00" in data:
        raise receipts.ReceiptError("the file is binary", code="not_receipt")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise receipts.ReceiptError("the file is not UTF-8 text", code="not_receipt") from exc
    stripped = text.strip()
    if stripped.startswith("{"):
        return stripped
    # A pasted tlog-proof comes back from a browser's text box with CRLF line ends and maybe
    # without its final newline; a signed note holds neither CR nor other control characters,
    # so restoring LF and the final newline gives back the exact text that was signed.
    normalized = stripped.replace("\r\n", "\n")
    if normalized.startswith(receipts.TLOG_PROOF_HEADER):
        return normalized + "\n"
    raise receipts.ReceiptError(
        "the text is neither a receipt JSON nor a tlog-proof", code="not_receipt"
    )


def _hex(value: bytes) -> str:
    return value.hex()


def inclusion_walk(leaf: bytes, index: int, size: int, proof: list[bytes]) -> list[WalkStep]:
    """The hashes met walking an inclusion proof from the leaf to the root (RFC 9162
    §2.1.3.2), for people redoing it by hand; the verdict is merkle.verify_inclusion's."""
    steps: list[WalkStep] = []
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            break
        if fn & 1 or fn == sn:
            r = merkle.node_hash(p, r)
            steps.append(WalkStep(_hex(p), "left", _hex(r)))
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = merkle.node_hash(r, p)
            steps.append(WalkStep(_hex(p), "right", _hex(r)))
        fn >>= 1
        sn >>= 1
    return steps


def _witnesses(
    report: ReceiptReport, note: str, log_key: notes.Verifier, trusted: list[notes.Verifier]
) -> None:
    """Count the cosignatures of known witnesses (each must verify); others are counted as
    unknown and prove nothing. Raise NoteError(code signature) for a bad known one."""
    parsed = notes.parse_note(note)
    for sig in parsed.signatures:
        if sig.name == log_key.name and sig.key_id == log_key.key_id:
            continue
        known = next((w for w in trusted if w.name == sig.name and w.key_id == sig.key_id), None)
        if known is None:
            report.unknown_cosigners += 1
            continue
        ts = notes.verify_signature(known, parsed.text, sig)
        if ts is not None:
            report.witnesses.append(Witness(known.name, datetime.fromtimestamp(ts, UTC)))


def check(
    text: str,
    log_key: notes.Verifier,
    *,
    witness_keys: list[notes.Verifier] | None = None,
    entry: bytes | None = None,
) -> ReceiptReport:
    """Check a receipt as `tongban ledger verify-receipt` does, keeping what each step saw."""
    report = ReceiptReport(text=text)
    try:
        verified = receipts.verify_receipt(text, log_key, entry=entry)
    except receipts.ReceiptError as exc:
        _describe(report, text, log_key, entry=entry, proven=False)
        return report.fail(exc.code, str(exc))
    _describe(report, text, log_key, entry=entry, proven=True)
    report.entry = None if report.withheld else verified.entry
    report.index = verified.index
    try:
        _witnesses(report, report.checkpoint_text or "", log_key, witness_keys or [])
    except notes.NoteError as exc:
        return report.fail("witness_signature", str(exc))
    return report.pass_all()


def _describe(
    report: ReceiptReport,
    text: str,
    log_key: notes.Verifier,
    *,
    entry: bytes | None,
    proven: bool,
) -> None:
    """Fill in the parts of the receipt a person can look at, as far as they can be read.
    Nothing here decides anything; the entry is shown only once it is `proven`."""
    try:
        proof_text = json.loads(text)["proof"] if text.startswith("{") else text
        parsed = receipts.parse_proof_text(proof_text)
        note = notes.parse_note(parsed.checkpoint_note)
        checkpoint = notes.parse_checkpoint(note.text)
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError, binascii.Error):
        return
    report.checkpoint_text = parsed.checkpoint_note
    report.origin, report.size = checkpoint.origin, checkpoint.size
    report.root = _hex(checkpoint.root)
    report.index = parsed.index
    extra = parsed.extra if parsed.extra is not None else entry
    report.withheld = parsed.extra is None
    if extra is None:
        return
    leaf = merkle.leaf_hash(extra)
    report.leaf_hash = _hex(leaf)
    if parsed.index < checkpoint.size:
        report.walk = inclusion_walk(leaf, parsed.index, checkpoint.size, parsed.proof)
    if proven and not report.withheld:
        report.entry_text = extra.decode("utf-8", errors="replace")


def short_hash(value: str | None) -> str:
    """The first 16 hex digits of a hash in groups of four, enough to compare by eye."""
    if not value:
        return ""
    return " ".join(value[i : i + 4] for i in range(0, 16, 4)) + " …"
