"""The node's identity keys, kept as files in the data directory.

Two keys protect resident ID numbers at rest:

- `keys/identity-hmac.key` (32 random bytes): HMAC-SHA256 of the normalized number, stored as
  `accounts.resident_id_hash`, so the platform can find a person and refuse duplicates without
  keeping a searchable clear value; a bare SHA-256 would fall to enumeration (the space of
  valid IDs is small).
- `keys/identity-fernet.key` (a Fernet key, AES-128-CBC + HMAC): encrypts the number in
  `accounts.resident_id_encrypted`, because officials handling a case need the full number.

Both are created on first use with mode 0600. Every app server of one node must see the same
files (a shared data directory, or copy them when adding a server); losing them makes the
stored numbers unreadable and unmatchable, so back them up with the database.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from tongban.platform.config import Settings


@dataclass(frozen=True)
class IdentityKeys:
    """The HMAC secret and the Fernet cipher of one node."""

    hmac_secret: bytes
    fernet: Fernet

    def lookup_hash(self, value: str) -> str:
        """The keyed hash used to find and deduplicate a resident ID."""
        return hmac.new(self.hmac_secret, value.encode("ascii"), hashlib.sha256).hexdigest()

    def encrypt(self, value: str) -> str:
        """Encrypt a value for storage."""
        return self.fernet.encrypt(value.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """Decrypt a stored value."""
        return self.fernet.decrypt(token.encode("ascii")).decode("utf-8")


def _read_or_create(path: Path, make: bytes) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: when two processes start together exactly one writes, the other reads.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        data = path.read_bytes().strip()
        if data:
            return data
        raise RuntimeError(f"identity key file {path} is empty") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(make)
        handle.flush()
        os.fsync(handle.fileno())
    return make


@lru_cache(maxsize=8)
def _load(key_dir: Path) -> IdentityKeys:
    secret_hex = _read_or_create(key_dir / "identity-hmac.key", secrets.token_hex(32).encode())
    fernet_key = _read_or_create(key_dir / "identity-fernet.key", Fernet.generate_key())
    return IdentityKeys(hmac_secret=bytes.fromhex(secret_hex.decode()), fernet=Fernet(fernet_key))


def seal(value: str, *, settings: Settings) -> str:
    """Encrypt and authenticate a value that must travel through the browser (e.g. a cookie)."""
    return identity_keys(settings).encrypt(value)


def unseal(token: str, *, max_age_seconds: int, settings: Settings) -> str | None:
    """The sealed value, or None when it was tampered with, is foreign or older than max_age."""
    try:
        raw = identity_keys(settings).fernet.decrypt(token.encode("ascii"), ttl=max_age_seconds)
    except (InvalidToken, ValueError):
        return None
    return raw.decode("utf-8")


def purpose_key(purpose: str, *, settings: Settings) -> bytes:
    """A key for one purpose (e.g. signed tracking links), derived from the node's identity
    HMAC key, never that key itself."""
    secret = identity_keys(settings).hmac_secret
    return hmac.new(secret, f"tongban/{purpose}".encode(), hashlib.sha256).digest()


@lru_cache(maxsize=64)
def _resolved(key_dir: Path) -> Path:
    return key_dir.resolve()


def identity_keys(settings: Settings) -> IdentityKeys:
    """The keys in the data directory of the given settings."""
    key_dir = settings.data_dir / "keys"
    # An absolute folder is resolved once per process: resolving walks the file system, and
    # the keys are asked for on every lookup hash and decryption (each exchange, twice).
    return _load(_resolved(key_dir) if key_dir.is_absolute() else key_dir.resolve())
