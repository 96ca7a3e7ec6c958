"""The node directory as a signed document: the national node exports it, every node loads it.

A document is `{"directory": {...}, "key_id": …, "signature": …}`: the directory (issuer,
issue time, nodes with their regions, addresses and public keys, and which node serves each
region) and an Ed25519 signature over its canonical JSON (sorted keys, no spaces, UTF-8) by the
issuer's node key. A node trusts one key, the national node's (`exchange_national_key`,
base64 of the raw public key): a document signed otherwise, or altered, is refused whole.

A loaded document is also kept as a file (<data_dir>/exchange/directory.json), so that a node
whose national node is away keeps working: loading from an unreachable URL falls back to the
cached file (verified again), and the cached entries in `exchange_nodes` stay as they were.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx
from cryptography.exceptions import InvalidSignature
from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.events import service as events
from tongban.events.service import Channel
from tongban.exchange import nodes, signing
from tongban.exchange.errors import ProviderUnavailable
from tongban.exchange.models import Node
from tongban.platform.config import Settings
from tongban.platform.db import utcnow
from tongban.platform.errors import FieldError, Invalid

FORMAT = "tongban-node-directory/1"
FETCH_SECONDS = 10.0


def canonical(directory: dict[str, Any]) -> bytes:
    """The bytes a directory's signature covers."""
    return json.dumps(directory, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def export_directory(session: Session, *, settings: Settings) -> dict[str, Any]:
    """This node's signed directory: itself plus every node it lists (the national node's)."""
    key = signing.node_key(settings)
    entries = {
        row.node_id: {
            "node_id": row.node_id,
            "region_code": row.region_code,
            "name": row.name,
            "base_url": row.base_url,
            "public_keys": dict(row.public_keys),
        }
        for row in session.scalars(select(Node).order_by(Node.node_id))
    }
    entries[key.node_id] = nodes.this_node(settings)
    listed = [entries[node_id] for node_id in sorted(entries)]
    directory = {
        "format": FORMAT,
        "issuer": key.node_id,
        "issued_at": utcnow().isoformat(timespec="seconds"),
        "nodes": listed,
        "regions": {entry["region_code"]: entry["node_id"] for entry in listed},
    }
    signature = key.private.sign(canonical(directory))
    return {
        "directory": directory,
        "key_id": key.key_id,
        "signature": base64.b64encode(signature).decode(),
    }


def _refused(message: str) -> Invalid:
    return Invalid(message, errors=[FieldError("directory", message)])


def verify(document: Any, *, national_key: str) -> dict[str, Any]:
    """The directory of a document signed by the national key; Invalid otherwise."""
    if not national_key:
        raise _refused("No national key is configured (TONGBAN_EXCHANGE_NATIONAL_KEY).")
    if not isinstance(document, dict) or not isinstance(document.get("directory"), dict):
        raise _refused("Not a node directory document.")
    directory: dict[str, Any] = document["directory"]
    try:
        signature = base64.b64decode(str(document.get("signature", "")), validate=True)
        signing.public_key(national_key).verify(signature, canonical(directory))
    except (InvalidSignature, ValueError):
        raise _refused("The directory's signature is not the national node's.") from None
    if directory.get("format") != FORMAT or not isinstance(directory.get("nodes"), list):
        raise _refused("Not a node directory document.")
    return directory


def cache_path(settings: Settings) -> Path:
    """Where the last loaded document is kept."""
    return settings.data_dir / "exchange" / "directory.json"


def read_source(source: str, *, settings: Settings) -> tuple[Any, bool]:
    """A document from a file or URL; from the cache when the URL cannot be reached (True)."""
    if source.startswith(("http://", "https://")):
        try:
            answer = httpx.get(source, timeout=FETCH_SECONDS)
            answer.raise_for_status()
            return answer.json(), False
        except (httpx.HTTPError, ValueError):
            cached = cache_path(settings)
            if not cached.exists():
                raise ProviderUnavailable(
                    f"The national node at {source} cannot be reached and no directory is cached."
                ) from None
            return json.loads(cached.read_text(encoding="utf-8")), True
    try:
        return json.loads(Path(source).read_text(encoding="utf-8")), False
    except (OSError, ValueError) as exc:
        raise _refused(f"Cannot read {source}: {exc}") from None


def load_document(session: Session, *, document: Any, settings: Settings) -> dict[str, Any]:
    """Verify a document, cache its nodes (and the file); recorded with the document's hash."""
    directory = verify(document, national_key=settings.exchange_national_key)
    count = nodes.load_directory(session, entries=directory["nodes"])
    text = json.dumps(document, ensure_ascii=False, indent=1)
    path = cache_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    digest = signing.sha256(canonical(directory))
    events.record(
        session,
        action="exchange.directory_loaded",
        resource_type="exchange_directory",
        resource_id=str(directory.get("issuer", "none"))[:64],
        channel=Channel.SYSTEM,
        data={"sha256": digest, "nodes": count, "issued_at": str(directory.get("issued_at"))},
    )
    return {"nodes": count, "sha256": digest, "issued_at": directory.get("issued_at")}
