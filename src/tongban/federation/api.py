"""Federation's public routes: who this node is (every node) and, on the national node, the
signed node directory and the routing table nodes load and cache. These are public facts
(ids, region codes, addresses, public keys), served without an account, like the ledger's key.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from tongban.exchange import service as exchange
from tongban.federation import routing
from tongban.federation.config import get_federation_settings
from tongban.federation.schemas import NodeRead, RouteRead
from tongban.platform.errors import NotFound
from tongban.platform.web.deps import AppSettings, DbSession

router = APIRouter(tags=["federation"])


@router.get("/node", response_model=NodeRead)
def get_node(settings: AppSettings) -> NodeRead:
    """This node: id, name, region, role (national, provincial, edge) and public key."""
    key = exchange.node_key(settings)
    entry = exchange.this_node(settings)
    return NodeRead(
        node_id=key.node_id,
        name=str(entry["name"]),
        region_code=str(entry["region_code"]),
        role=get_federation_settings().role,
        key_id=key.key_id,
        public_key=key.public_b64,
        base_url=str(entry["base_url"]),
    )


def _national() -> None:
    if get_federation_settings().role != "national":
        raise NotFound("This node does not publish the node directory; the national node does.")


@router.get("/federation/nodes")
def get_directory(session: DbSession, settings: AppSettings) -> dict[str, Any]:
    """The signed node directory (as `tongban exchange directory export` writes it)."""
    _national()
    return exchange.export_directory(session, settings=settings)


@router.get("/federation/routes", response_model=list[RouteRead])
def get_routes(session: DbSession, settings: AppSettings) -> list[RouteRead]:
    """The routing table: which node serves which region code (longest prefix first)."""
    _national()
    return [
        RouteRead(
            prefix=r.prefix,
            region_code=r.region_code,
            node_id=r.node_id,
            name=r.name,
            base_url=r.base_url,
        )
        for r in routing.current(session, settings=settings)
    ]
