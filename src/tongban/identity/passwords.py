"""Secrets at rest: the password policy, Argon2id hashing and verification of passwords, and
the digest under which session and API tokens are stored."""

from __future__ import annotations

import contextlib
import hashlib

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from tongban.identity.models import Account
from tongban.platform.errors import FieldError, Invalid

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 256

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified against when the username is unknown, so both failures cost the same time.
_DUMMY_HASH = _hasher.hash("tongban-no-such-user")


def check_password_policy(password: object, *, field: str = "password") -> str:
    """Return the password if it meets the policy, or raise Invalid naming the field."""
    if not isinstance(password, str) or len(password) < PASSWORD_MIN_LENGTH:
        message = f"A password has at least {PASSWORD_MIN_LENGTH} characters."
        raise Invalid(message, errors=[FieldError(field, message)])
    if len(password) > PASSWORD_MAX_LENGTH:
        message = f"A password has at most {PASSWORD_MAX_LENGTH} characters."
        raise Invalid(message, errors=[FieldError(field, message)])
    return password


def hash_password(password: str) -> str:
    """An Argon2id hash of the password."""
    return _hasher.hash(password)


def verify_password(account: Account, password: str) -> bool:
    """Check the password; re-hash it in place when the Argon2 parameters have changed."""
    try:
        _hasher.verify(account.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = _hasher.hash(password)
    return True


def verify_no_password(password: str) -> None:
    """Spend the time of a failed verification, for a username that matches no account: an
    unknown username must cost as long as a wrong password."""
    with contextlib.suppress(VerificationError):
        _hasher.verify(_DUMMY_HASH, password)


def token_digest(token: str) -> str:
    """The SHA-256 (hex) under which a session or API token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
