"""This node's signing key and RFC 9421 HTTP Message Signatures (Ed25519) over X-Road-style
headers: one module for exchange now and case transfer between nodes next.

A request covers its method, target URI, body digest (RFC 9530 Content-Digest) and every
X-Road header (client, service, message id, the case as `issue`, purpose, protocol version);
a response covers its status, body digest, the message id and the hash of the request it
answers. The key id is `<node id>#<key>`: the verifier finds the node in the directory and its
public key there, so an unknown node or key is refused before any cryptography.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from http_message_signatures import (
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
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


def public_key(encoded: str) -> Ed25519PublicKey:
    """A directory entry's public key."""
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
        created=created,
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
    verifier = HTTPMessageVerifier(
        signature_algorithm=algorithms.ED25519, key_resolver=_Keys(private={}, public=keys)
    )
    results = verifier.verify(
        message, max_age=window, expect_tag=TAG, require_components=components, body=body
    )
    params = results[0].parameters
    created = params.get("created")
    if isinstance(created, int):
        skew = abs(datetime.datetime.now(datetime.UTC).timestamp() - created)
        if skew > window.total_seconds():
            from http_message_signatures import InvalidSignature

            raise InvalidSignature("The signature's time lies outside the window.")
    return str(params.get("keyid", ""))


def key_id_of(signature_input: str) -> str | None:
    """The keyid a Signature-Input header names (to find the node before verifying)."""
    marker = 'keyid="'
    start = signature_input.find(marker)
    if start < 0:
        return None
    end = signature_input.find('"', start + len(marker))
    return signature_input[start + len(marker) : end] if end > 0 else None
