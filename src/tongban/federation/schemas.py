"""Federation's JSON shapes."""

from __future__ import annotations

from pydantic import BaseModel


class NodeRead(BaseModel):
    """Who this node is: what `GET /api/v1/node` answers on every node."""

    node_id: str
    name: str
    region_code: str
    role: str
    key_id: str
    public_key: str
    base_url: str
    # The national basic catalog's version this node holds (on the national node: the last
    # it published); None before the first.
    catalog_version: int | None = None


class RouteRead(BaseModel):
    """One line of the routing table: the node serving every region code under `prefix`."""

    prefix: str
    region_code: str
    node_id: str
    name: str
    base_url: str
