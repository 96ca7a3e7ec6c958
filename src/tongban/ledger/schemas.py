"""Pydantic documents of the ledger API (hashes are standard base64, as in C2SP formats)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class EntryRead(BaseModel):
    """One log entry; `data` is the exact RFC 8785 text whose leaf hash is `leaf_hash`.

    A format-1 entry (written before leaves carried no personal data) is `withheld`: `data`
    and `entry` are null, and its `leaf_hash` alone keeps every proof checkable.
    """

    index: int
    leaf_hash: str
    format: int
    withheld: bool
    data: str | None
    entry: dict[str, Any] | None


class InclusionProofRead(BaseModel):
    """An RFC 9162 inclusion proof of leaf `index` in the tree of `size` leaves."""

    index: int
    size: int
    leaf_hash: str
    proof: list[str]


class ConsistencyProofRead(BaseModel):
    """An RFC 9162 consistency proof from the tree of `old` leaves to that of `new` leaves."""

    old: int
    new: int
    proof: list[str]


class ReceiptRead(BaseModel):
    """A self-contained receipt; `proof` is the C2SP tlog-proof text to verify offline."""

    format: str
    event_uid: str
    index: int
    size: int
    leaf_hash: str
    # The entry's leaf format; a withheld (format-1) entry is null here and not in `proof`.
    leaf_format: int
    withheld: bool
    entry: dict[str, Any] | None
    checkpoint: str
    inclusion_proof: list[str]
    proof: str


class KeyRead(BaseModel):
    """The node's public key as a C2SP verifier key, the log origin, and the verifier key of
    the node's witness (cosignature/v1), which cosigns other nodes' checkpoints."""

    origin: str
    verifier_key: str
    witness_key: str
