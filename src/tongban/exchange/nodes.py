"""The node directory: node id, region, address and public keys of every node, as the national
node publishes it and every node caches it (`exchange_nodes`).

`load_directory` replaces the cached entries from a published document ({"nodes": [...]});
`this_node` is the entry this node publishes about itself: beside its exchange key
(`<node>#k1`), its ledger's and its witness's verifier keys, listed by their key names
(`<node>/ledger`, `<node>/witness`), so that nodes witness each other (ledger/cosign.py).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from tongban.events import service as events
from tongban.events.service import Channel
from tongban.exchange import signing
from tongban.exchange.models import Node
from tongban.ledger import service as ledger
from tongban.platform.config import Settings
from tongban.platform.db import utcnow
from tongban.platform.db.fastpath.direct_sql import read_one


def this_node(settings: Settings, *, base_url: str | None = None) -> dict[str, Any]:
    """The directory entry of this node (what it publishes about itself)."""
    key = signing.node_key(settings)
    return {
        "node_id": key.node_id,
        "region_code": settings.node_region,
        "name": settings.node_name,
        "base_url": base_url or settings.public_base_url or "",
        "public_keys": {key.key_id: key.public_b64, **ledger.directory_keys(settings)},
    }


def put_node(session: Session, *, entry: Mapping[str, Any]) -> Node:
    """Store (or replace) one directory entry; recorded with its keys' ids."""
    row = session.get(Node, str(entry["node_id"]))
    if row is None:
        row = Node(node_id=str(entry["node_id"]))
        session.add(row)
    row.region_code = str(entry["region_code"])
    row.name = str(entry.get("name") or entry["node_id"])
    row.base_url = str(entry["base_url"]).rstrip("/")
    row.public_keys = {str(k): str(v) for k, v in dict(entry["public_keys"]).items()}
    row.updated_at = utcnow()
    session.flush()
    events.record(
        session,
        action="exchange.node_listed",
        resource_type="exchange_node",
        resource_id=row.node_id,
        channel=Channel.SYSTEM,
        # The keys' fingerprints (SHA-256 of the raw public key): which keys a node had when.
        data={
            "region_code": row.region_code,
            "key_sha256": sorted(
                signing.sha256(_key_bytes(k, v)) for k, v in row.public_keys.items()
            ),
        },
    )
    return row


def _key_bytes(key_id: str, encoded: str) -> bytes:
    """What a listed key's fingerprint hashes: a node key (`<node>#k1`) raw, from base64; a
    ledger or witness verifier key (`name+id+base64`) as its text."""
    return base64.b64decode(encoded) if "#" in key_id else encoded.encode()


def load_directory(session: Session, *, entries: Iterable[Mapping[str, Any]]) -> int:
    """Cache a published directory's entries; how many were stored."""
    count = 0
    for entry in entries:
        put_node(session, entry=entry)
        count += 1
    return count


def get_node(session: Session, *, node_id: str) -> Node | None:
    """The cached entry of a node, or None when the directory does not list it."""
    return session.get(Node, node_id)


@dataclass(frozen=True, slots=True)
class Listed:
    """What an exchange needs of a directory entry: its address and its public keys."""

    node_id: str
    base_url: str
    public_keys: dict[str, str]


# Built once: read on every exchange.
_LISTED = select(Node.base_url, Node.public_keys).where(Node.node_id == bindparam("node_id"))


def listed(session: Session, *, node_id: str) -> Listed | None:
    """A node's address and keys as the directory lists them now, or None: one plain read
    (no ORM object) on every exchange, so a node removed or re-keyed is seen at once."""
    found = read_one(session, _LISTED, {"node_id": node_id})
    if found is None:
        return None
    return Listed(node_id=node_id, base_url=found.base_url, public_keys=dict(found.public_keys))


def public_keys(node: Node | Listed) -> dict[str, Ed25519PublicKey]:
    """A node's public keys by key id (only the ids that name the node itself)."""
    return {
        key_id: signing.public_key(encoded)
        for key_id, encoded in node.public_keys.items()
        if key_id.split("#", 1)[0] == node.node_id
    }
