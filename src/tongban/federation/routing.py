"""The routing table: which node serves which region code, from the node directory.

A node's region code names the subtree it serves: 510000 serves every authority whose code
starts with 51, 440300 every one under 4403; the longest match wins. An edge station (a
12-digit village or township code) serves no authority: it files cases, numbered with its
code, for whichever node serves their authority. The national node (000000 or 100000) serves
no cases. The table is read from the cached directory and kept a few seconds.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from tongban.exchange import service as exchange
from tongban.platform.config import Settings

CACHE_SECONDS = 5.0
NATIONAL_CODES = ("000000", "100000")


@dataclass(frozen=True, slots=True)
class Route:
    """One node and the region prefix it serves."""

    node_id: str
    region_code: str
    prefix: str
    name: str
    base_url: str
    public_keys: dict[str, str]


def prefix_of(region_code: str) -> str:
    """The significant digits of a region code (510000 -> 51, 440305001000 -> 440305001)."""
    code = region_code
    while len(code) > 6 and code.endswith("000"):  # village, township: three digits each
        code = code[:-3]
    if len(code) > 6:
        return code
    while len(code) >= 2 and code.endswith("00"):
        code = code[:-2]
    return code


def table(entries: list[dict[str, Any]], *, me: dict[str, Any] | None = None) -> list[Route]:
    """Routes from directory entries (and this node's own entry), longest prefix first."""
    by_id = {str(e["node_id"]): e for e in entries}
    if me is not None:
        by_id[str(me["node_id"])] = me
    routes = [
        Route(
            node_id=node_id,
            region_code=str(e["region_code"]),
            prefix=prefix_of(str(e["region_code"])),
            name=str(e.get("name") or node_id),
            base_url=str(e.get("base_url") or ""),
            public_keys=dict(e.get("public_keys") or {}),
        )
        for node_id, e in by_id.items()
    ]
    routes = [r for r in routes if r.prefix and r.region_code not in NATIONAL_CODES]
    return sorted(routes, key=lambda r: (-len(r.prefix), r.node_id))


def is_station(route: Route) -> bool:
    """An edge station (a 12-digit village or township code): it files, it decides nothing."""
    return len(route.region_code) == 12


def serving(routes: list[Route], region_code: str) -> Route | None:
    """The node that serves an authority's region code (longest prefix; no station), or None."""
    for route in routes:
        if not is_station(route) and region_code.startswith(route.prefix):
            return route
    return None


def serving_node(routes: list[Route], region_code: str) -> str | None:
    """The id of the node that serves an authority's region code (serving), or None."""
    route = serving(routes, region_code)
    return route.node_id if route else None


def issuer(routes: list[Route], number_region: str) -> Route | None:
    """The node that numbers cases with this region code: a station by its exact code, else
    the node serving the region."""
    for route in routes:
        if is_station(route) and route.region_code == number_region:
            return route
    return serving(routes, number_region)


_cache: dict[str, tuple[float, list[Route]]] = {}
_lock = threading.Lock()


def current(session: Session, *, settings: Settings) -> list[Route]:
    """This node's routing table (cached directory plus itself), kept CACHE_SECONDS."""
    # The data directory too: in-memory databases share one URL.
    key = f"{settings.resolved_database_url()}|{settings.data_dir}|{settings.node_name}"
    now = time.monotonic()
    with _lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
    entries = exchange.directory_entries(session)
    # No directory loaded: a node alone (its key is not even needed).
    routes = table(entries, me=exchange.this_node(settings)) if entries else []
    with _lock:
        _cache[key] = (now + CACHE_SECONDS, routes)
    return routes


def forget() -> None:
    """Drop the cached tables (after a directory load; tests)."""
    with _lock:
        _cache.clear()


def subject_token(node_id: str) -> str:
    """A node id as one NATS subject token."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in node_id)
