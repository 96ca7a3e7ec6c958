"""Signed messages between nodes: an envelope (format, id, kind, sender, receiver, time, body)
and an Ed25519 signature over its canonical JSON by the sender's node key (the key exchange
uses, published in the node directory).

`verify` accepts an envelope only when its key id names the sender, the key is one the
directory lists for that node, and the signature holds; anything else is a `Refused` with a
short reason code (logged, counted, recorded as an event by the worker).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tongban.exchange.service import NodeKey
from tongban.federation.routing import Route
from tongban.platform.db import utcnow

FORMAT = "tongban-federation/1"
KINDS = (
    "case.transfer",
    "case.state",
    "case.request",
    "case.answer",
    "case.cohandle",
    "case.cohandled",
)


class Refused(Exception):
    """A message this node does not apply; `reason` is a short code (unknown_key …)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def canonical(value: Any) -> bytes:
    """The bytes a signature covers (sorted keys, no spaces, UTF-8)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def seal(*, key: NodeKey, message_id: str, kind: str, receiver: str, body: dict[str, Any]) -> bytes:
    """A signed envelope, as the bytes published on NATS."""
    envelope = {
        "format": FORMAT,
        "id": message_id,
        "kind": kind,
        "sender": key.node_id,
        "receiver": receiver,
        "sent_at": utcnow().isoformat(timespec="milliseconds"),
        "body": body,
    }
    signature = key.private.sign(canonical(envelope))
    return canonical(
        {
            "envelope": envelope,
            "key_id": key.key_id,
            "signature": base64.b64encode(signature).decode(),
        }
    )


def open_envelope(data: bytes, *, routes: list[Route], me: str) -> dict[str, Any]:
    """The envelope of a message signed by a node of the directory and meant for this node."""
    try:
        document = json.loads(data)
        envelope = document["envelope"]
        key_id = str(document["key_id"])
        signature = base64.b64decode(str(document["signature"]), validate=True)
    except (ValueError, KeyError, TypeError):
        raise Refused("malformed", "not a federation message") from None
    if not isinstance(envelope, dict) or envelope.get("format") != FORMAT:
        raise Refused("malformed", "unknown format")
    sender = str(envelope.get("sender", ""))
    if key_id.split("#", 1)[0] != sender:
        raise Refused("unknown_key", f"key {key_id} does not name the sender {sender}")
    node = next((r for r in routes if r.node_id == sender), None)
    if node is None:
        raise Refused("unknown_node", f"{sender} is not in the directory")
    encoded = node.public_keys.get(key_id)
    if encoded is None:
        raise Refused("unknown_key", f"{key_id} is not (or no longer) a key of {sender}")
    try:
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(encoded))
        public.verify(signature, canonical(envelope))
    except (InvalidSignature, ValueError):
        raise Refused("bad_signature", f"from {sender}") from None
    if envelope.get("receiver") != me:
        raise Refused("wrong_receiver", f"meant for {envelope.get('receiver')}")
    if envelope.get("kind") not in KINDS or not isinstance(envelope.get("body"), dict):
        raise Refused("malformed", f"kind {envelope.get('kind')!r}")
    return envelope
