"""Federation's public routes: who this node is (every node) and, on the national node, the
signed node directory, the routing table and the national basic catalog nodes load and cache.
These are public facts (ids, region codes, addresses, public keys, the basic items), served
without an account, like the ledger's key.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response

from tongban.exchange import service as exchange
from tongban.federation import catalog_feed, routing
from tongban.federation.config import get_federation_settings
from tongban.federation.schemas import NodeRead, RouteRead
from tongban.platform.errors import NotFound
from tongban.platform.web.deps import AppSettings, DbSession

router = APIRouter(tags=["federation"])


@router.get("/node", response_model=NodeRead)
def get_node(session: DbSession, settings: AppSettings) -> NodeRead:
    """This node: id, name, region, role (national, provincial, edge), public key, and the
    version of the national basic catalog it holds."""
    key = exchange.node_key(settings)
    entry = exchange.this_node(settings)
    role = get_federation_settings().role
    if role == "national":
        published = catalog_feed.latest(session)
        catalog_version = published.version if published else None
    else:
        catalog_version = catalog_feed.applied_version(session)
    return NodeRead(
        node_id=key.node_id,
        name=str(entry["name"]),
        region_code=str(entry["region_code"]),
        role=role,
        key_id=key.key_id,
        public_key=key.public_b64,
        base_url=str(entry["base_url"]),
        catalog_version=catalog_version,
    )


def _national() -> None:
    if get_federation_settings().role != "national":
        raise NotFound(
            "This node does not publish the directory, routes or basic catalog; "
            "the national node does."
        )


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


_CATALOG_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The signed national catalog: `catalog` (format, issuer, version, "
        "digest, issued_at, items), `key_id`, `signature` (docs/federation.md).",
        "content": {"application/json": {"schema": {"type": "object"}}},
        "headers": {"ETag": {"schema": {"type": "string"}, "description": '`"catalog-vN"`'}},
    },
    304: {"description": "The caller holds this version already (`If-None-Match`, `since`)."},
}


@router.get("/federation/catalog", response_class=Response, responses=_CATALOG_RESPONSES)
def get_catalog(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    since: int | None = Query(
        default=None, ge=0, le=2_147_483_647, description="The version the caller holds."
    ),
) -> Response:
    """The national basic catalog's current version, signed by the national node (a new
    version is made when the catalog changed); 304 when the caller holds it already."""
    _national()
    snapshot = catalog_feed.publish_if_changed(session, settings=settings)
    headers = {"ETag": snapshot.etag, "Cache-Control": "no-cache"}
    asked = [t.strip() for t in request.headers.get("if-none-match", "").split(",")]
    if snapshot.etag in asked or "*" in asked or (since is not None and since >= snapshot.version):
        return Response(status_code=304, headers=headers)
    return Response(content=snapshot.document, media_type="application/json", headers=headers)
