"""IETF Token Status List (draft-ietf-oauth-status-list): the bit array, the signed token.

Two bits per entry (0 valid, 1 invalid = revoked, 2 suspended), entry i in bits 2i..2i+1
counted from the least significant bit of byte 0, the array zlib-compressed (DEFLATE with
the zlib header, RFC 1950) and base64url-encoded in `status_list.lst` of a JWT whose `typ`
is `statuslist+jwt`, signed like the licences (Ed25519).
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from joserfc.jwk import OKPKey

from tongban.credentials.sdjwt import Refused, _verify_jws, b64u, b64u_decode, sign_jwt

BITS = 2
VALID, INVALID, SUSPENDED = 0, 1, 2
STATUS_TYP = "statuslist+jwt"
# What a status value means, by its number.
STATUS_NAMES = {VALID: "valid", INVALID: "revoked", SUSPENDED: "suspended"}
STATUS_VALUES = {name: value for value, name in STATUS_NAMES.items()}


def build_array(size: int, entries: Iterable[tuple[int, int]]) -> bytearray:
    """The uncompressed array of `size` entries, all VALID but the (index, value) given."""
    array = bytearray((size * BITS + 7) // 8)
    for index, value in entries:
        if not 0 <= index < size:
            raise ValueError(f"index {index} outside the list of {size}")
        put(array, index, value)
    return array


def put(array: bytearray, index: int, value: int) -> None:
    """Set the entry at `index` of an uncompressed array to `value`."""
    bit = index * BITS
    shift = bit % 8
    array[bit // 8] = (array[bit // 8] & ~(0b11 << shift) & 0xFF) | ((value & 0b11) << shift)


def compress(array: bytes) -> bytes:
    """The array as the token carries it: zlib (DEFLATE with the RFC 1950 header)."""
    return zlib.compress(array, 9)


def encode(size: int, entries: Iterable[tuple[int, int]]) -> bytes:
    """The compressed array of `size` entries, all VALID but the (index, value) given."""
    return compress(bytes(build_array(size, entries)))


def lookup(array: bytes, index: int) -> int:
    """The status value at `index` of an uncompressed array."""
    bit = index * BITS
    if bit // 8 >= len(array):
        raise Refused("status_unknown", f"index {index} is outside the list")
    return (array[bit // 8] >> (bit % 8)) & 0b11


def make_token(
    *, key: OKPKey, kid: str, uri: str, compressed: bytes, ttl: int = 300, now: int | None = None
) -> str:
    """The signed `statuslist+jwt` for the list at `uri`."""
    iat = int(now if now is not None else time.time())
    payload = {
        "sub": uri,
        "iat": iat,
        "exp": iat + 86400,
        "ttl": ttl,
        "status_list": {"bits": BITS, "lst": b64u(compressed)},
    }
    return sign_jwt({"typ": STATUS_TYP, "kid": kid}, payload, key)


@dataclass(frozen=True)
class StatusList:
    """A checked status list: its address, the uncompressed array, when it was issued."""

    uri: str
    array: bytes
    issued_at: int
    expires_at: int | None
    ttl: int | None

    def status(self, index: int) -> str:
        """valid | revoked | suspended (or "status 3" for the reserved value)."""
        value = lookup(self.array, index)
        return STATUS_NAMES.get(value, f"status {value}")


def check_token(token: str, *, key: OKPKey, uri: str, now: int | None = None) -> StatusList:
    """Verify a status list token (signature, typ, subject, expiry) and decompress it."""
    header, raw = _verify_jws(token.strip(), key, "status_bad_signature")
    if header.get("typ") != STATUS_TYP:
        raise Refused("status_unknown", f"status list typ is {header.get('typ')!r}")
    import json

    payload = json.loads(raw)
    if payload.get("sub") != uri:
        raise Refused("status_unknown", "the status list answers another address")
    moment = int(now if now is not None else time.time())
    exp = payload.get("exp")
    if isinstance(exp, int) and exp <= moment:
        raise Refused("status_unknown", "the status list has expired")
    body = payload.get("status_list") or {}
    if body.get("bits") != BITS:
        raise Refused("status_unknown", f"status list of {body.get('bits')} bits")
    try:
        array = zlib.decompress(b64u_decode(body["lst"]))
    except (zlib.error, KeyError, ValueError) as exc:
        raise Refused("status_unknown", "the status list cannot be decompressed") from exc
    return StatusList(
        uri=uri,
        array=array,
        issued_at=int(payload.get("iat") or 0),
        expires_at=exp if isinstance(exp, int) else None,
        ttl=payload.get("ttl") if isinstance(payload.get("ttl"), int) else None,
    )


def unverified_kid(token: str) -> str:
    """The `kid` a status list token names (to find its key before checking it)."""
    import json

    try:
        header = json.loads(b64u_decode(token.strip().split(".")[0]))
    except ValueError as exc:
        raise Refused("status_unknown", "the status list cannot be read") from exc
    return str(header.get("kid") or "") if isinstance(header, dict) else ""
