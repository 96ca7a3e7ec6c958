"""This node's signing key and RFC 9421 HTTP Message Signatures (Ed25519) over X-Road-style
headers: one module for exchange now and case transfer between nodes next.

A request covers its method, target URI, body digest (RFC 9530 Content-Digest) and every
X-Road header (client, service, message id, the case as `issue`, purpose, protocol version);
a response covers its status, body digest, the message id and the hash of the request it
answers. The key id is `<node id>#<key>`: the verifier finds the node in the directory and its
public key there, so an unknown node or key is refused before any cryptography.

Signing and verifying go through a direct path when a message is in the one form this
protocol uses (fixed components, printable ASCII values, one field line each, a plain URL, a
SHA-256 Content-Digest): the signature base is built as a string, which is what
http_message_signatures builds too (tests/exchange/test_signing_fast.py proves the headers
byte-identical and the verdicts equal), at a fifth of its cost. Any other form goes to the
library.
"""

from __future__ import annotations

import base64
import datetime
import functools
import hashlib
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature as BadEd25519
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from http_message_signatures import (
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    InvalidSignature,
    algorithms,
)

from tongban.platform.config import Settings

PROTOCOL_VERSION = "4.0"
HEADERS = (
    "x-road-client",
    "x-road-service",
    "x-road-id",
    "x-road-issue",
    "x-road-purpose",
    "x-road-protocol-version",
)
REQUEST_COMPONENTS = ("@method", "@target-uri", "content-digest", *HEADERS)
RESPONSE_COMPONENTS = ("@status", "content-digest", "x-road-id", "x-road-request-hash")
TAG = "tongban-exchange"
KEY_NAME = "k1"


@dataclass(frozen=True)
class NodeKey:
    """This node's identity: node id, key id, private key and the public key (base64)."""

    node_id: str
    key_id: str
    private: Ed25519PrivateKey
    public_b64: str


_keys: dict[Path, NodeKey] = {}
_keys_lock = threading.Lock()


def public_b64(key: Ed25519PublicKey) -> str:
    """The raw public key, base64 (how the directory publishes it)."""
    return base64.b64encode(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


@functools.lru_cache(maxsize=1024)
def public_key(encoded: str) -> Ed25519PublicKey:
    """A directory entry's public key (decoded once per process: the key object is immutable
    and a function of the encoded text alone, so a changed directory entry is a new key)."""
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(encoded))


def node_key(settings: Settings) -> NodeKey:
    """This node's signing key, made on first use in <data_dir>/exchange (mode 0600)."""
    path = settings.data_dir / "exchange" / f"{KEY_NAME}.ed25519"
    with _keys_lock:
        known = _keys.get(path)
        if known is not None and known.node_id == settings.node_name:
            return known
        if path.exists():
            private = Ed25519PrivateKey.from_private_bytes(path.read_bytes())
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            private = Ed25519PrivateKey.generate()
            raw = private.private_bytes_raw()
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(raw)
        made = NodeKey(
            node_id=settings.node_name,
            key_id=f"{settings.node_name}#{KEY_NAME}",
            private=private,
            public_b64=public_b64(private.public_key()),
        )
        _keys[path] = made
        return made


class _Keys(HTTPSignatureKeyResolver):
    def __init__(
        self, *, private: Mapping[str, Ed25519PrivateKey], public: Mapping[str, Ed25519PublicKey]
    ) -> None:
        self.private = private
        self.public = public

    def resolve_public_key(self, key_id: str) -> Ed25519PublicKey | None:
        return self.public.get(key_id)

    def resolve_private_key(self, key_id: str) -> Ed25519PrivateKey:
        return self.private[key_id]


def sha256(data: bytes) -> str:
    """Hex SHA-256 (the message log keeps hashes, never bodies)."""
    return hashlib.sha256(data).hexdigest()


def sign(
    message: Any,
    *,
    key: NodeKey,
    body: bytes,
    components: tuple[str, ...],
    created: datetime.datetime | None = None,
) -> None:
    """Sign a request or response in place (adds Content-Digest, Signature-Input, Signature)."""
    when = int((created or datetime.datetime.now(datetime.UTC)).timestamp())
    if _fast_sign(message, key=key, body=body, components=components, created=when):
        return
    library_sign(message, key=key, body=body, components=components, created=created)


def library_sign(
    message: Any,
    *,
    key: NodeKey,
    body: bytes,
    components: tuple[str, ...],
    created: datetime.datetime | None = None,
) -> None:
    """Sign through http_message_signatures (any message form)."""
    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.ED25519,
        key_resolver=_Keys(private={key.key_id: key.private}, public={}),
    )
    signer.sign(
        message,
        key_id=key.key_id,
        label="tb",
        tag=TAG,
        covered_component_ids=components,
        body=body,
        created=created or datetime.datetime.now(datetime.UTC),
    )


def verify(
    message: Any,
    *,
    keys: Mapping[str, Ed25519PublicKey],
    body: bytes,
    components: tuple[str, ...],
    window: datetime.timedelta,
) -> str:
    """Verify the message's signature over the components and body; the key id that signed.

    Raises http_message_signatures' InvalidSignature (bad, missing, too old, unknown key)."""
    key_id = _fast_verify(message, keys=keys, body=body, components=components, window=window)
    if key_id is None:
        key_id = library_verify(message, keys=keys, body=body, components=components, window=window)
    return key_id


def library_verify(
    message: Any,
    *,
    keys: Mapping[str, Ed25519PublicKey],
    body: bytes,
    components: tuple[str, ...],
    window: datetime.timedelta,
) -> str:
    """Verify through http_message_signatures (any message form)."""
    verifier = HTTPMessageVerifier(
        signature_algorithm=algorithms.ED25519, key_resolver=_Keys(private={}, public=keys)
    )
    results = verifier.verify(
        message, max_age=window, expect_tag=TAG, require_components=components, body=body
    )
    params = results[0].parameters
    created = params.get("created")
    if isinstance(created, int):
        _check_skew(created, window)
    return str(params.get("keyid", ""))


def _check_skew(created: int, window: datetime.timedelta) -> None:
    skew = abs(datetime.datetime.now(datetime.UTC).timestamp() - created)
    if skew > window.total_seconds():
        raise InvalidSignature("The signature's time lies outside the window.")


# --- the direct path: the one form this protocol signs ---------------------------------------

LABEL = "tb"
# A value the library would sign as it is: printable ASCII, no surrounding blanks.
_PLAIN = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?")
# A target URI the library would not normalise: lower-case host, a path, no query.
_TARGET = re.compile(r"https?://[a-z0-9.-]+(?::[0-9]{1,5})?/[A-Za-z0-9/_.-]*")
_KEY_ID = re.compile(r"[A-Za-z0-9._#:-]{1,128}")
_INPUT = re.compile(
    LABEL + r'=\(((?:"[a-z@-]+" )*"[a-z@-]+")\);created=([0-9]{1,12});'
    r'keyid="([A-Za-z0-9._#:-]{1,128})";alg="ed25519";tag="' + TAG + '"'
)
_SIGNATURE = re.compile(LABEL + r"=:([A-Za-z0-9+/]{86}==):")
# The library's tolerance for a `created` in the future (HTTPMessageVerifier.max_clock_skew).
_CLOCK_SKEW = 5


def content_digest(body: bytes) -> str:
    """The Content-Digest field of a body (RFC 9530, SHA-256), as the library writes it."""
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"


def _lines(headers: Any, name: str) -> list[str]:
    if hasattr(headers, "get_list"):  # httpx
        return list(headers.get_list(name))
    if hasattr(headers, "getlist"):  # starlette
        return list(headers.getlist(name))
    return [v for k, v in headers.items() if k.lower() == name]


def _value(message: Any, component: str) -> str | None:
    """A component's value when it is in the plain form; None sends the message to the
    library."""
    if component == "@method":
        method = getattr(message, "method", None)
        return method if method in ("GET", "POST") and not hasattr(message, "status_code") else None
    if component == "@target-uri":
        if hasattr(message, "status_code"):
            return None
        url = str(message.url)
        return url if _TARGET.fullmatch(url) else None
    if component == "@status":
        status = getattr(message, "status_code", None)
        return str(status) if isinstance(status, int) and 100 <= status <= 999 else None
    if component.startswith("@"):
        return None
    lines = _lines(message.headers, component)
    if len(lines) != 1 or not _PLAIN.fullmatch(lines[0]):
        return None
    return lines[0]


def _params(components: tuple[str, ...], *, created: int, key_id: str) -> str:
    listed = " ".join(f'"{name}"' for name in components)
    return f'({listed});created={created};keyid="{key_id}";alg="ed25519";tag="{TAG}"'


def _base(message: Any, components: tuple[str, ...], params: str) -> bytes | None:
    parts = []
    for component in components:
        value = _value(message, component)
        if value is None:
            return None
        parts.append(f'"{component}": {value}\n')
    parts.append(f'"@signature-params": {params}')
    return "".join(parts).encode("ascii")


def _fast_sign(
    message: Any, *, key: NodeKey, body: bytes, components: tuple[str, ...], created: int
) -> bool:
    if (
        "content-digest" not in components
        or len(set(components)) != len(components)
        or not _KEY_ID.fullmatch(key.key_id)
        or _lines(message.headers, "content-digest")
        or _lines(message.headers, "signature-input")
        or _lines(message.headers, "signature")
    ):
        return False
    # Named as the library names them (a plain dict of a response keeps the case).
    message.headers["Content-Digest"] = content_digest(body)
    params = _params(components, created=created, key_id=key.key_id)
    base = _base(message, components, params)
    if base is None:
        del message.headers["Content-Digest"]
        return False
    signature = base64.b64encode(key.private.sign(base)).decode()
    message.headers["Signature-Input"] = f"{LABEL}={params}"
    message.headers["Signature"] = f"{LABEL}=:{signature}:"
    return True


def _fast_verify(
    message: Any,
    *,
    keys: Mapping[str, Ed25519PublicKey],
    body: bytes,
    components: tuple[str, ...],
    window: datetime.timedelta,
) -> str | None:
    """The signing key id, InvalidSignature, or None when the message is not in the plain
    form (the library decides then)."""
    inputs = _lines(message.headers, "signature-input")
    signatures = _lines(message.headers, "signature")
    if len(inputs) != 1 or len(signatures) != 1:
        return None
    found = _INPUT.fullmatch(inputs[0])
    signed = _SIGNATURE.fullmatch(signatures[0])
    if found is None or signed is None:
        return None
    listed = tuple(name.strip('"') for name in found.group(1).split(" "))
    if listed != components:
        return None
    digests = _lines(message.headers, "content-digest")
    if len(digests) != 1 or not digests[0].startswith("sha-256=:"):
        return None
    created, key_id = int(found.group(2)), found.group(3)
    base = _base(message, components, _params(components, created=created, key_id=key_id))
    if base is None:
        return None
    now = datetime.datetime.now(datetime.UTC).timestamp()
    if created > now + _CLOCK_SKEW:
        raise InvalidSignature('Signature "created" parameter is set to a time in the future')
    if created + window.total_seconds() < now - _CLOCK_SKEW:
        raise InvalidSignature(f"Signature age exceeds maximum allowable age {window}")
    public = keys.get(key_id)
    if public is None:
        raise InvalidSignature("Unable to resolve verification key")
    try:
        public.verify(base64.b64decode(signed.group(1)), base)
    except BadEd25519:
        raise InvalidSignature("Signature verification failed") from None
    if digests[0] != content_digest(body):
        raise InvalidSignature("The content digest does not match the body")
    _check_skew(created, window)
    return key_id


def key_id_of(signature_input: str) -> str | None:
    """The keyid a Signature-Input header names (to find the node before verifying)."""
    marker = 'keyid="'
    start = signature_input.find(marker)
    if start < 0:
        return None
    end = signature_input.find('"', start + len(marker))
    return signature_input[start + len(marker) : end] if end > 0 else None
