"""Ledger tables: sequenced leaves, stored subtree hashes, tree state, checkpoints, the witness
role's state and the cosignatures other nodes' witnesses gave this node's checkpoints."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tongban.platform.db import Base, BigId, UTCDateTime


class LedgerLeaf(Base):
    """One sequenced event: its position in the log, its canonical bytes and leaf hash."""

    __tablename__ = "ledger_leaves"

    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    # Unique: an event is sequenced exactly once, whatever integrators race.
    event_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    # The exact leaf bytes (RFC 8785 JSON), kept so entries never depend on re-serialising.
    data: Mapped[bytes] = mapped_column(LargeBinary)


class LedgerNode(Base):
    """A completed perfect subtree hash at level >= 8 (covers 256 or more leaves)."""

    __tablename__ = "ledger_nodes"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LedgerState(Base):
    """The one row of tree state: size, root, right border, and the pending-scan watermark."""

    __tablename__ = "ledger_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    frontier: Mapped[bytes] = mapped_column(LargeBinary)
    # Events with id <= scan_from are all sequenced; see integrator.py for why it lags.
    scan_from: Mapped[int] = mapped_column(BigInteger)
    scan_candidate: Mapped[int] = mapped_column(BigInteger)
    scan_candidate_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LedgerCheckpoint(Base):
    """A signed checkpoint (C2SP tlog-checkpoint note) issued by this node."""

    __tablename__ = "ledger_checkpoints"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    size: Mapped[int] = mapped_column(BigInteger)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_ledger_checkpoints_size", "size", "id"),)


class WitnessState(Base):
    """For the witness role: the latest checkpoint cosigned for each log origin."""

    __tablename__ = "ledger_witness_state"

    origin: Mapped[str] = mapped_column(String(255), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LedgerCosignature(Base):
    """A witness's cosignature (C2SP cosignature/v1 line) of this node's checkpoint of `size`.

    A cosignature signs the checkpoint text (origin, size, root), so it holds for every note of
    that tree head; one per witness and size. Stored only after it verified with the witness's
    key (ledger/cosign.py), served appended to the checkpoint note.
    """

    __tablename__ = "ledger_cosignatures"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    size: Mapped[int] = mapped_column(BigInteger)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    # The witness key's name (`<node>/witness`) and 4-byte key ID in hex.
    witness: Mapped[str] = mapped_column(String(255))
    key_id: Mapped[str] = mapped_column(String(8))
    # The signature line as the witness returned it ("— <name> <base64>\n").
    line: Mapped[str] = mapped_column(Text)
    # The witness's own clock, from the cosignature; and when this node stored it.
    cosigned_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("size", "witness", name="uq_ledger_cosignatures_size_witness"),
        Index("ix_ledger_cosignatures_witness_size", "witness", "size"),
    )
