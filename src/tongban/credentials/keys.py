"""Issuer keys: one active Ed25519 key per department, made on first issue, rotated and
retired by the operator. Each change is an event in the ledger carrying the public key and its
RFC 7638 thumbprint, so a verifier can prove which keys a department had on a date.

Private keys are stored sealed with a node key file (keys/credentials-fernet.key in the data
directory, mode 0600, made on first use; back it up with the database), the way identity seals
resident IDs: the database alone cannot sign.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.fernet import Fernet
from joserfc.jwk import OKPKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.credentials.models import IssuerKey
from tongban.credentials.sdjwt import KeyInfo, b64u_decode
from tongban.events import service as events
from tongban.events.service import Channel
from tongban.identity.service import Actor, DepartmentView
from tongban.platform.config import Settings
from tongban.platform.db import utcnow
from tongban.platform.errors import Conflict, NotFound

_ciphers: dict[Path, Fernet] = {}
_lock = threading.Lock()
# Private keys unsealed once per process (sealed text -> key): sealing costs more than signing.
_unsealed: dict[str, OKPKey] = {}


def _cipher(settings: Settings) -> Fernet:
    path = (settings.data_dir / "keys" / "credentials-fernet.key").resolve()
    with _lock:
        known = _ciphers.get(path)
        if known is not None:
            return known
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            secret = path.read_bytes().strip()
        else:
            secret = Fernet.generate_key()
            with os.fdopen(fd, "wb") as handle:
                handle.write(secret)
                handle.flush()
                os.fsync(handle.fileno())
        cipher = Fernet(secret)
        _ciphers[path] = cipher
        return cipher


@dataclass(frozen=True)
class IssuerKeyView:
    """A department's key as the trust list shows it (no private part)."""

    kid: str
    department_code: str
    department_name: str
    jwk: dict[str, object]
    thumbprint: str
    state: str
    created_at: datetime
    rotated_at: datetime | None
    retired_at: datetime | None

    @classmethod
    def of(cls, row: IssuerKey) -> IssuerKeyView:
        """The view of a row."""
        return cls(
            kid=row.kid,
            department_code=row.department_code,
            department_name=row.department_name,
            jwk={**row.public_jwk, "kid": row.kid, "alg": "Ed25519", "use": "sig"},
            thumbprint=row.thumbprint,
            state=row.state,
            created_at=row.created_at,
            rotated_at=row.rotated_at,
            retired_at=row.retired_at,
        )

    def info(self) -> KeyInfo:
        """The key as the SD-JWT verifier takes it."""
        return KeyInfo(
            kid=self.kid,
            key=OKPKey.import_key(dict(self.jwk)),  # type: ignore[arg-type]
            department_code=self.department_code,
            retired_at=int(self.retired_at.timestamp()) if self.retired_at else None,
        )


def _record(session: Session, row: IssuerKey, action: str, actor: Actor | None) -> None:
    events.record(
        session,
        action=f"credentials.key_{action}",
        resource_type="issuer_key",
        resource_id=row.kid,
        channel=Channel.SYSTEM if actor is None else Channel.ONLINE,
        actor_id=actor.account_id if actor else None,
        actor_role=actor.role.value if actor else None,
        data={
            "v": 1,
            "kid": row.kid,
            "department_code": row.department_code,
            "kty": "OKP",
            "crv": "Ed25519",
            # Hex, as the ledger carries keys and hashes: the raw public key and the RFC 7638
            # thumbprint (SHA-256) of its JWK.
            "public_key_hex": b64u_decode(row.public_jwk["x"]).hex(),
            "thumbprint_hex": b64u_decode(row.thumbprint).hex(),
            "state": row.state,
        },
    )


def _new_key(
    session: Session, *, department: DepartmentView, settings: Settings, actor: Actor | None
) -> IssuerKey:
    key = OKPKey.generate_key("Ed25519")
    count = len(
        session.scalars(select(IssuerKey.id).where(IssuerKey.department_id == department.id)).all()
    )
    public = key.as_dict(private=False)
    row = IssuerKey(
        kid=f"{department.code}:k{count + 1}",
        department_id=department.id,
        department_code=department.code,
        department_name=department.name,
        public_jwk={"kty": "OKP", "crv": "Ed25519", "x": public["x"]},
        thumbprint=key.thumbprint(),
        private_sealed=_cipher(settings).encrypt(key.as_pem(private=True)).decode("ascii"),
        state="active",
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    _record(session, row, "added", actor)
    return row


def active_key(
    session: Session, *, department: DepartmentView, settings: Settings
) -> tuple[str, OKPKey]:
    """The department's signing key (kid, key): made, as an event, on first use."""
    row = session.scalar(
        select(IssuerKey).where(
            IssuerKey.department_id == department.id, IssuerKey.state == "active"
        )
    )
    if row is None:
        row = _new_key(session, department=department, settings=settings, actor=None)
    key = _unsealed.get(row.private_sealed)
    if key is None:
        pem = _cipher(settings).decrypt(row.private_sealed.encode("ascii"))
        key = OKPKey.import_key(pem)
        _unsealed[row.private_sealed] = key
    return row.kid, key


def rotate(
    session: Session, *, department: DepartmentView, settings: Settings, actor: Actor | None
) -> IssuerKeyView:
    """A new active key; the old one keeps verifying what it signed (state rotated)."""
    for row in session.scalars(
        select(IssuerKey).where(
            IssuerKey.department_id == department.id, IssuerKey.state == "active"
        )
    ):
        row.state = "rotated"
        row.rotated_at = utcnow()
        _record(session, row, "rotated", actor)
    return IssuerKeyView.of(
        _new_key(session, department=department, settings=settings, actor=actor)
    )


def retire(session: Session, *, kid: str, actor: Actor | None) -> IssuerKeyView:
    """Retire a key: what it signs from now on is refused; what it signed before verifies."""
    row = session.scalar(select(IssuerKey).where(IssuerKey.kid == kid))
    if row is None:
        raise NotFound(f"No issuer key {kid}.")
    if row.state == "retired":
        raise Conflict(f"Key {kid} is already retired.")
    row.state = "retired"
    row.retired_at = utcnow()
    _unsealed.pop(row.private_sealed, None)
    session.flush()
    _record(session, row, "retired", actor)
    return IssuerKeyView.of(row)


def all_keys(session: Session) -> list[IssuerKeyView]:
    """Every issuer key of this node, oldest first."""
    return [IssuerKeyView.of(r) for r in session.scalars(select(IssuerKey).order_by(IssuerKey.id))]


def find(session: Session, kid: str) -> IssuerKeyView | None:
    """The key with this kid, or None."""
    row = session.scalar(select(IssuerKey).where(IssuerKey.kid == kid))
    return IssuerKeyView.of(row) if row else None
