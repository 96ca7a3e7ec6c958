"""SD-JWT (RFC 9901) and SD-JWT VC: issue, present with key binding, verify.

JWS and JWK are joserfc's (a maintained JOSE library). The SD-JWT layer itself — salted
disclosures, their digests in `_sd`, presentations that drop disclosures, the key-binding JWT
(KB-JWT) with its `sd_hash` — is written here: the Python SD-JWT packages we looked at either
sign with their own JOSE stack (jwcrypto) or check key-binding JWTs as ES256 only, and the
issuer signs with Ed25519. The test suite checks our output with the OpenWallet Foundation's
`sd-jwt` package, independently of this module.

Signatures use the fully-specified algorithm `Ed25519` (RFC 9864); a key-binding JWT signed as
`EdDSA` (the older, polymorphic name) is accepted too, since wallets still send it.

Every refusal is a `Refused` with a stable `code` and a plain sentence; the codes are listed in
`REFUSALS` and in docs/credentials.md.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey

SD_ALG = "sha-256"
VC_TYP = "dc+sd-jwt"
KB_TYP = "kb+jwt"
SIGN_ALG = "Ed25519"
ACCEPTED_ALGS = ("Ed25519", "EdDSA")
# A key-binding JWT older than this (seconds) is stale; one from the future beyond the skew too.
KB_MAX_AGE = 300
CLOCK_SKEW = 60

# Every refusal's code and its plain sentence (the verifier page translates these).
REFUSALS: dict[str, str] = {
    "malformed": "This is not an SD-JWT e-licence (it cannot be read).",
    "wrong_typ": "The credential's type header is not dc+sd-jwt.",
    "wrong_alg": "The credential is not signed with Ed25519.",
    "missing_vct": "The credential names no licence type (vct).",
    "unknown_key": "The credential is signed with a key no trusted issuer holds.",
    "retired_key": "The credential was signed after its issuer retired that key.",
    "wrong_issuer": "The signing key belongs to another issuer than the one the licence names.",
    "bad_signature": "The issuer's signature does not match: a claim was altered.",
    "disclosure_malformed": "A disclosure cannot be read: it was altered.",
    "disclosure_unreferenced": (
        "A disclosure is not referenced by the credential: altered or from another credential."
    ),
    "disclosure_repeated": "A disclosure is given twice.",
    "not_yet_valid": "The licence is not valid yet.",
    "expired": "The licence has expired.",
    "revoked": "The issuer has revoked the licence.",
    "suspended": "The issuer has suspended the licence.",
    "status_unknown": "The licence's status cannot be checked.",
    "status_bad_signature": "The status list's signature does not match its issuer.",
    "kb_missing": "The holder's key-binding proof is missing.",
    "kb_unexpected": "A key-binding proof came with a licence bound to no holder key.",
    "kb_typ": "The key-binding proof's type header is not kb+jwt.",
    "kb_signature": "The key-binding proof is not signed by the holder's key.",
    "kb_nonce": "The key-binding proof answers another challenge (wrong nonce).",
    "kb_aud": "The key-binding proof was made for another verifier (wrong audience).",
    "kb_sd_hash": "The key-binding proof covers another presentation (wrong sd_hash).",
    "kb_stale": "The key-binding proof is too old or dated in the future.",
}


class Refused(Exception):
    """A credential that does not verify: `code` (REFUSALS) and a plain sentence."""

    def __init__(self, code: str, detail: str | None = None) -> None:
        self.code = code
        self.detail = detail
        super().__init__(REFUSALS.get(code, code) + (f" ({detail})" if detail else ""))


def b64u(data: bytes) -> str:
    """Base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(text: str) -> bytes:
    """Base64url without padding, decoded (ValueError when it is not)."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def digest(disclosure: str) -> str:
    """The digest of a disclosure as it appears in `_sd` (SHA-256 over its ASCII form)."""
    return b64u(hashlib.sha256(disclosure.encode("ascii")).digest())


def make_disclosure(name: str, value: Any, *, salt: str | None = None) -> str:
    """One object-property disclosure: base64url of the JSON array [salt, name, value]."""
    return b64u(_json([salt or b64u(secrets.token_bytes(16)), name, value]))


def sign_jwt(header: dict[str, Any], payload: dict[str, Any], key: OKPKey) -> str:
    """A compact JWS over the payload's JSON, signed Ed25519 by joserfc."""
    return jws.serialize_compact({**header, "alg": SIGN_ALG}, _json(payload), key, [SIGN_ALG])


def issue(
    *,
    key: OKPKey,
    kid: str,
    claims: dict[str, Any],
    disclosable: dict[str, Any],
    holder_jwk: dict[str, Any] | None = None,
    decoys: int = 2,
) -> str:
    """An SD-JWT VC: `claims` in the clear, `disclosable` as salted disclosures (all attached)."""
    disclosures = [make_disclosure(name, value) for name, value in disclosable.items()]
    digests = [digest(d) for d in disclosures]
    # Decoy digests hide how many claims are disclosable (RFC 9901 §4.2.5).
    digests += [b64u(hashlib.sha256(secrets.token_bytes(16)).digest()) for _ in range(decoys)]
    payload: dict[str, Any] = {**claims, "_sd": sorted(digests), "_sd_alg": SD_ALG}
    if holder_jwk is not None:
        payload["cnf"] = {"jwk": holder_jwk}
    token = sign_jwt({"typ": VC_TYP, "kid": kid}, payload, key)
    return token + "~" + "".join(d + "~" for d in disclosures)


@dataclass(frozen=True)
class Parsed:
    """A compact SD-JWT split in its parts (nothing checked yet)."""

    jwt: str
    disclosures: list[str]
    kb_jwt: str | None
    header: dict[str, Any]
    payload: dict[str, Any]


def _unverified_part(text: str, index: int) -> dict[str, Any]:
    value = json.loads(b64u_decode(text.split(".")[index]))
    if not isinstance(value, dict):
        raise ValueError("not an object")
    return value


def parse(text: str) -> Parsed:
    """Split `<jwt>~<disclosure>~…~[<kb-jwt>]` (Refused "malformed" when it is not that)."""
    compact = "".join(text.split())  # line breaks and spaces from a paste
    parts = compact.split("~")
    if len(parts) < 2 or compact.count(".") < 2:
        raise Refused("malformed", "expected <issuer-signed JWT>~<disclosures>~")
    jwt, *middle, last = parts
    try:
        header = _unverified_part(jwt, 0)
        payload = _unverified_part(jwt, 1)
    except ValueError as exc:
        raise Refused("malformed", "the issuer-signed JWT cannot be decoded") from exc
    if len(jwt.split(".")) != 3:
        raise Refused("malformed", "the issuer-signed JWT has not three parts")
    return Parsed(jwt=jwt, disclosures=middle, kb_jwt=last or None, header=header, payload=payload)


def holder_view(text: str) -> list[tuple[str, Any, str]]:
    """(name, value, disclosure) of each attached disclosure, unverified (the holder's list)."""
    parsed = parse(text)
    shown = []
    for d in parsed.disclosures:
        salt_name_value = json.loads(b64u_decode(d))
        if isinstance(salt_name_value, list) and len(salt_name_value) == 3:
            shown.append((str(salt_name_value[1]), salt_name_value[2], d))
    return shown


def sd_hash(presentation_without_kb: str) -> str:
    """The KB-JWT's `sd_hash`: SHA-256 over `<jwt>~<disclosures>~`, base64url."""
    return b64u(hashlib.sha256(presentation_without_kb.encode("ascii")).digest())


def present(
    text: str,
    *,
    keep: Iterable[str],
    holder_key: OKPKey | None = None,
    aud: str | None = None,
    nonce: str | None = None,
    now: int | None = None,
) -> str:
    """A presentation keeping only the disclosures of the claims in `keep`; with a holder key,
    a KB-JWT for this audience and nonce is appended."""
    wanted = set(keep)
    parsed = parse(text)
    kept = [d for name, _, d in holder_view(text) if name in wanted]
    body = parsed.jwt + "~" + "".join(d + "~" for d in kept)
    if holder_key is None:
        return body
    kb = sign_jwt(
        {"typ": KB_TYP},
        {
            "iat": int(now if now is not None else time.time()),
            "aud": aud or "",
            "nonce": nonce or "",
            "sd_hash": sd_hash(body),
        },
        holder_key,
    )
    return body + kb


@dataclass(frozen=True)
class KeyInfo:
    """A trusted issuer key: the JWK and whose it is, and until when it signed."""

    kid: str
    key: OKPKey
    department_code: str
    retired_at: int | None = None  # seconds since the epoch; signatures after it are refused


@dataclass
class Verified:
    """What verified: the headers, the signed payload, and the claims with disclosures applied."""

    header: dict[str, Any]
    payload: dict[str, Any]
    claims: dict[str, Any]
    disclosed: list[str] = field(default_factory=list)
    key: KeyInfo | None = None
    key_bound: bool = False


def _verify_jws(token: str, key: OKPKey, code: str) -> tuple[dict[str, Any], bytes]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # joserfc warns about EdDSA (RFC 9864)
            obj = jws.deserialize_compact(token, key, list(ACCEPTED_ALGS))
    except (JoseError, ValueError) as exc:
        raise Refused(code) from exc
    return obj.headers(), obj.payload


def _apply(
    node: Any, by_digest: dict[str, tuple[str | None, Any]], used: set[str], shown: list[str]
) -> Any:
    """Replace `_sd` digests (objects) and `...` entries (arrays) with their disclosures."""
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for name, value in node.items():
            if name in ("_sd", "_sd_alg"):
                continue
            out[name] = _apply(value, by_digest, used, shown)
        for d in node.get("_sd", []):
            if d in by_digest:
                if d in used:
                    raise Refused("disclosure_repeated")
                used.add(d)
                name, value = by_digest[d]
                if name is None or name in out or name in ("_sd", "...", "_sd_alg"):
                    raise Refused("disclosure_malformed", "a claim name collides")
                out[name] = _apply(value, by_digest, used, shown)
                shown.append(name)
        return out
    if isinstance(node, list):
        items = []
        for item in node:
            if isinstance(item, dict) and set(item) == {"..."}:
                d = item["..."]
                if d in by_digest:
                    if d in used:
                        raise Refused("disclosure_repeated")
                    used.add(d)
                    items.append(_apply(by_digest[d][1], by_digest, used, shown))
                continue
            items.append(_apply(item, by_digest, used, shown))
        return items
    return node


def verify(
    text: str,
    *,
    resolve: Callable[[str, dict[str, Any]], KeyInfo],
    now: int | None = None,
    expected_aud: str | None = None,
    expected_nonce: str | None = None,
    require_key_binding: bool = False,
) -> Verified:
    """Check an SD-JWT VC: header, issuer signature, disclosures, validity dates and, when
    present or required, the key binding. Status is the caller's (it needs the status list)."""
    moment = int(now if now is not None else time.time())
    parsed = parse(text)
    if parsed.header.get("typ") != VC_TYP:
        raise Refused("wrong_typ", f"typ is {parsed.header.get('typ')!r}")
    if parsed.header.get("alg") not in ACCEPTED_ALGS:
        raise Refused("wrong_alg", f"alg is {parsed.header.get('alg')!r}")
    kid = str(parsed.header.get("kid") or "")
    info = resolve(kid, parsed.payload)  # raises Refused unknown_key / wrong_issuer
    header, raw = _verify_jws(parsed.jwt, info.key, "bad_signature")
    payload = json.loads(raw)
    if not isinstance(payload, dict):
        raise Refused("malformed", "the payload is not an object")
    if not payload.get("vct"):
        raise Refused("missing_vct")
    if payload.get("_sd_alg", SD_ALG) != SD_ALG:
        raise Refused("malformed", f"digest algorithm {payload.get('_sd_alg')!r}")
    iat = payload.get("iat")
    if info.retired_at is not None and isinstance(iat, int) and iat > info.retired_at:
        raise Refused("retired_key")
    by_digest: dict[str, tuple[str | None, Any]] = {}
    for d in parsed.disclosures:
        try:
            decoded = json.loads(b64u_decode(d))
        except ValueError as exc:
            raise Refused("disclosure_malformed") from exc
        if not isinstance(decoded, list) or len(decoded) not in (2, 3):
            raise Refused("disclosure_malformed")
        h = digest(d)
        if h in by_digest:
            raise Refused("disclosure_repeated")
        by_digest[h] = (str(decoded[1]), decoded[2]) if len(decoded) == 3 else (None, decoded[1])
    used: set[str] = set()
    shown: list[str] = []
    claims = _apply(payload, by_digest, used, shown)
    if len(used) != len(by_digest):
        raise Refused("disclosure_unreferenced")
    nbf = payload.get("nbf")
    if isinstance(nbf, int) and nbf > moment + CLOCK_SKEW:
        raise Refused("not_yet_valid")
    exp = payload.get("exp")
    if isinstance(exp, int) and exp <= moment:
        raise Refused("expired")
    result = Verified(header=header, payload=payload, claims=claims, disclosed=shown, key=info)
    cnf = payload.get("cnf")
    if parsed.kb_jwt is None:
        if require_key_binding:
            raise Refused("kb_missing")
        return result
    if not isinstance(cnf, dict) or not isinstance(cnf.get("jwk"), dict):
        raise Refused("kb_unexpected")
    try:
        holder = OKPKey.import_key(cnf["jwk"])
    except (JoseError, ValueError, KeyError, TypeError) as exc:
        raise Refused("kb_signature", "the holder key cannot be read") from exc
    try:
        if _unverified_part(parsed.kb_jwt, 0).get("typ") != KB_TYP:
            raise Refused("kb_typ")
    except ValueError as exc:
        raise Refused("malformed", "the key-binding JWT cannot be decoded") from exc
    _, kb_raw = _verify_jws(parsed.kb_jwt, holder, "kb_signature")
    kb = json.loads(kb_raw)
    if not isinstance(kb, dict):
        raise Refused("malformed", "the key-binding payload is not an object")
    body = parsed.jwt + "~" + "".join(d + "~" for d in parsed.disclosures)
    if kb.get("sd_hash") != sd_hash(body):
        raise Refused("kb_sd_hash")
    if expected_nonce is not None and kb.get("nonce") != expected_nonce:
        raise Refused("kb_nonce")
    if expected_aud is not None and kb.get("aud") != expected_aud:
        raise Refused("kb_aud")
    kb_iat = kb.get("iat")
    if not isinstance(kb_iat, int) or not (moment - KB_MAX_AGE <= kb_iat <= moment + CLOCK_SKEW):
        raise Refused("kb_stale")
    result.key_bound = True
    return result
