"""The node directory as a signed document: the national node exports it, every node loads it.

A document is `{"directory": {...}, "key_id": …, "signature": …}`: the directory (issuer,
issue time, nodes with their regions, addresses and public keys, and which node serves each
region) and an Ed25519 signature over its canonical JSON (sorted keys, no spaces, UTF-8) by the
issuer's node key. A node trusts one key, the national node's (`exchange_national_key`,
base64 of the raw public key): a document signed otherwise, or altered, is refused whole.

A loaded document is also kept as a file (<data_dir>/exchange/directory.json), so that a node
whose national node is away keeps working: loading from an unreachable URL falls back to the
cached file (verified again), and the cached entries in `exchange_nodes` stay as they were.

Loading a document makes `exchange_nodes` what it lists: changed entries are stored again
(`exchange.node_listed`), nodes it no longer lists are removed (`exchange.node_delisted`: the
national node withdrawing a node or its key stops exchanges with it at once), unchanged ones
are left alone. `reload` is what `tongban serve` runs every
`exchange_directory_reload_seconds` from `exchange_directory_url` (exchange/worker.py): the
same document again changes nothing, an older one than the cached is refused (no rollback to
a withdrawn key), and an unreachable national node or a refused document leaves the cache as
it was.
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass
from datetime import datetime
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
from tongban.platform.db import Database, utcnow
from tongban.platform.errors import FieldError, Invalid

log = logging.getLogger(__name__)

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
    count = _replace_nodes(session, entries=directory["nodes"])
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


def _entry(row: Node) -> dict[str, Any]:
    return {
        "node_id": row.node_id,
        "region_code": row.region_code,
        "name": row.name,
        "base_url": row.base_url,
        "public_keys": dict(row.public_keys),
    }


def _replace_nodes(session: Session, *, entries: list[Any]) -> int:
    """Make the cached nodes the listed ones; how many are listed."""
    listed: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if not isinstance(entry, dict) or not entry.get("node_id"):
            raise _refused("A directory entry has no node id.")
        listed[str(entry["node_id"])] = entry
    cached = {row.node_id: row for row in session.scalars(select(Node))}
    for node_id, entry in listed.items():
        row = cached.get(node_id)
        wanted = {
            "node_id": node_id,
            "region_code": str(entry["region_code"]),
            "name": str(entry.get("name") or node_id),
            "base_url": str(entry["base_url"]).rstrip("/"),
            "public_keys": {str(k): str(v) for k, v in dict(entry["public_keys"]).items()},
        }
        if row is None or _entry(row) != wanted:
            nodes.put_node(session, entry=wanted)
    for node_id, row in cached.items():
        if node_id not in listed:
            session.delete(row)
            session.flush()
            events.record(
                session,
                action="exchange.node_delisted",
                resource_type="exchange_node",
                resource_id=node_id,
                channel=Channel.SYSTEM,
                data={"region_code": row.region_code},
            )
    return len(listed)


@dataclass(frozen=True, slots=True)
class Reload:
    """What a scheduled reload did: loaded, unchanged, away (the national node did not
    answer: the cache stays), refused (a bad or older document: the cache stays) or off."""

    outcome: str
    detail: str = ""
    nodes: int = 0


def _cached_directory(settings: Settings) -> dict[str, Any] | None:
    path = cache_path(settings)
    if not path.exists():
        return None
    try:
        return verify(
            json.loads(path.read_text(encoding="utf-8")),
            national_key=settings.exchange_national_key,
        )
    except (OSError, ValueError, Invalid):
        return None


def _issued(directory: dict[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(directory.get("issued_at")))
    except ValueError:
        return None


def reload(database: Database, settings: Settings) -> Reload:
    """Reload the directory from `exchange_directory_url` (the scheduled reload)."""
    url = settings.exchange_directory_url
    if not url:
        return Reload("off")
    try:
        answer = httpx.get(url, timeout=FETCH_SECONDS)
        answer.raise_for_status()
        document = answer.json()
    except (httpx.HTTPError, ValueError) as exc:
        log.warning("node directory: %s cannot be reached (%s); the cached one stays", url, exc)
        return Reload("away", detail=type(exc).__name__)
    try:
        fresh = verify(document, national_key=settings.exchange_national_key)
    except Invalid as exc:
        log.error("node directory from %s refused: %s; the cached one stays", url, exc)
        return Reload("refused", detail=str(exc))
    cached = _cached_directory(settings)
    if cached is not None:
        if canonical(cached) == canonical(fresh):
            return Reload("unchanged", nodes=len(fresh["nodes"]))
        was, now = _issued(cached), _issued(fresh)
        if was is not None and (now is None or now < was):
            message = f"The directory is older than the one cached (issued {was.isoformat()})."
            log.error("node directory from %s refused: %s", url, message)
            return Reload("refused", detail=message)
    with database.session_scope() as session:
        loaded = load_document(session, document=document, settings=settings)
    return Reload("loaded", nodes=int(loaded["nodes"]))
