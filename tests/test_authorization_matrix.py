"""Every role against every API route: who must reach it and who must be turned away.

The table below lists every route of the OpenAPI document; a route added without a row here
fails `test_every_route_is_in_the_matrix`. For each role (and anonymous callers) a request with a
well-formed body is sent: a role that may use the route must never get 401/403, a role that may
not must get 401 (anonymous) or 403 — or 404 where the route addresses one resource by id and
hides resources the caller may not see. Resource-level rules (someone else's case, another
department) are tested in each domain's own tests.
"""

from __future__ import annotations

import base64
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tongban.catalog import service as catalog
from tongban.identity import service as identity
from tongban.identity.resident_id import make_resident_id
from tongban.regions import service as regions

ANON = "anonymous"
ROLES = (ANON, "citizen", "clerk", "official", "steward", "admin")
EVERYONE = frozenset(ROLES)
SIGNED_IN = frozenset(ROLES) - {ANON}

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
_sequence = itertools.count(100)


@dataclass(frozen=True)
class Route:
    """One API route, who may use it, and how to call it."""

    method: str
    path: str
    allowed: frozenset[str]
    body: Callable[[dict[str, Any]], Any] | None = None
    files: bool = False
    # The route addresses one resource by id; a 404 to a caller who may not see it is a denial.
    hides_resources: bool = False
    params: dict[str, str] = field(default_factory=dict)


def _roles(*names: str) -> frozenset[str]:
    return frozenset(names)


def _new_citizen(_: dict[str, Any]) -> dict[str, Any]:
    n = next(_sequence)
    return {
        "resident_id": make_resident_id(region_code="440305", birth=date(1990, 1, 1), sequence=n),
        "phone": f"139{n:08d}",
        "password": "a-long-password",
        "display_name": "测试",
    }


def _new_account(_: dict[str, Any]) -> dict[str, Any]:
    return {
        "username": f"matrix{next(_sequence)}",
        "password": "a-long-password",
        "role": "steward",
        "region_code": "511600",
    }


RATING = {"overall": 5, "efficiency": 5, "guide_accuracy": 5, "convenience": 5, "usability": 5}

MATRIX: tuple[Route, ...] = (
    # regions
    Route("GET", "/api/v1/regions", EVERYONE),
    Route(
        "POST",
        "/api/v1/regions",
        _roles("admin"),
        lambda ctx: {"code": f"511602{next(_sequence):03d}000", "name": "测试街道"},
    ),
    Route("GET", "/api/v1/regions/{code}", EVERYONE, params={"code": "511602"}),
    Route(
        "PATCH",
        "/api/v1/regions/{code}",
        _roles("admin"),
        lambda ctx: {"urban_rural": "urban"},
        params={"code": "511602"},
    ),
    Route("GET", "/api/v1/regions/{code}/ancestors", EVERYONE, params={"code": "511602"}),
    # identity
    Route(
        "POST",
        "/api/v1/auth/token",
        EVERYONE,
        lambda ctx: {"username": "steward", "password": "tongban-demo"},
    ),
    Route(
        "POST",
        "/api/v1/auth/login",
        EVERYONE,
        lambda ctx: {"username": "steward", "password": "tongban-demo"},
    ),
    Route("POST", "/api/v1/auth/register", EVERYONE, _new_citizen),
    Route("GET", "/api/v1/me", SIGNED_IN),
    Route("PATCH", "/api/v1/me", SIGNED_IN, lambda ctx: {"elderly_mode": True}),
    Route("GET", "/api/v1/accounts", _roles("admin")),
    Route("POST", "/api/v1/accounts", _roles("admin"), _new_account),
    Route("GET", "/api/v1/accounts/{account_id}", _roles("admin"), hides_resources=True),
    Route(
        "PATCH",
        "/api/v1/accounts/{account_id}",
        _roles("admin"),
        lambda ctx: {"display_name": "改名"},
        hides_resources=True,
    ),
    Route("GET", "/api/v1/departments", EVERYONE),
    Route(
        "POST",
        "/api/v1/departments",
        _roles("admin"),
        lambda ctx: {"code": "11511602MB0000009X", "name": "测试局", "region_code": "511602"},
    ),
    # Agents (relatives, clerks) see the authorisations granted to them.
    Route("GET", "/api/v1/me/proxies", SIGNED_IN),
    Route(
        "POST",
        "/api/v1/me/proxies",
        _roles("citizen"),
        lambda ctx: {"agent": "relative", "relation": "子女", "scope": "all"},
    ),
    Route(
        "DELETE",
        "/api/v1/me/proxies/{proxy_id}",
        _roles("citizen"),
        hides_resources=True,
        params={"proxy_id": "999999"},
    ),
    Route("GET", "/api/v1/me/tokens", SIGNED_IN),
    Route("POST", "/api/v1/me/tokens", SIGNED_IN, lambda ctx: {"name": "matrix"}),
    Route(
        "DELETE",
        "/api/v1/me/tokens/{token_id}",
        SIGNED_IN,
        hides_resources=True,
        params={"token_id": "999999"},
    ),
    # catalog
    Route("GET", "/api/v1/catalog/items", EVERYONE, params={"q": "社保卡"}),
    Route("GET", "/api/v1/catalog/items/{code}", EVERYONE),
    Route("GET", "/api/v1/catalog/implementations/{code}", EVERYONE),
    Route("GET", "/api/v1/catalog/bundles", EVERYONE),
    Route("GET", "/api/v1/catalog/bundles/{code}", EVERYONE),
    Route(
        "POST", "/api/v1/catalog/import", _roles("admin"), lambda ctx: {"version": 1, "items": []}
    ),
    Route("GET", "/api/v1/catalog/export", _roles("admin", "steward"), params={"format": "json"}),
    # ledger: public by design (auditors are anyone)
    Route("GET", "/api/v1/ledger/checkpoint", EVERYONE),
    Route("GET", "/api/v1/ledger/key", EVERYONE),
    Route("GET", "/api/v1/ledger/entries/{index}", EVERYONE, params={"index": "0"}),
    Route("GET", "/api/v1/ledger/proof/inclusion", EVERYONE),
    Route("GET", "/api/v1/ledger/proof/consistency", EVERYONE),
    Route("GET", "/api/v1/ledger/receipts/{event_uid}", EVERYONE),
    # cases
    Route("POST", "/api/v1/uploads", _roles("citizen", "clerk"), files=True),
    Route(
        "POST",
        "/api/v1/cases",
        _roles("citizen", "clerk"),
        lambda ctx: {"implementation": "no-such-implementation", "form": {}, "materials": []},
    ),
    Route(
        "GET",
        "/api/v1/cases/{number}",
        _roles("citizen", "clerk", "official"),
        hides_resources=True,
    ),
    Route(
        "POST",
        "/api/v1/cases/{number}/actions/{action}",
        _roles("official"),
        lambda ctx: {"version": ctx["case_version"], "reason": "矩阵测试"},
        hides_resources=True,
        params={"action": "accept"},
    ),
    Route(
        "POST",
        "/api/v1/cases/{number}/materials",
        _roles("citizen", "clerk"),
        lambda ctx: {"version": ctx["case_version"], "materials": []},
        hides_resources=True,
    ),
    Route(
        "GET",
        "/api/v1/cases/{number}/materials/{sha256}",
        _roles("citizen", "clerk", "official"),
        hides_resources=True,
        params={"sha256": "0" * 64},
    ),
    Route(
        "POST",
        "/api/v1/cases/{number}/applicant-id",
        _roles("official"),
        lambda ctx: {"purpose": "矩阵测试"},
        hides_resources=True,
    ),
    Route(
        "GET",
        "/api/v1/cases/{number}/receipt.pdf",
        _roles("citizen", "clerk", "official"),
        hides_resources=True,
    ),
    Route("GET", "/api/v1/queue", _roles("official")),
    Route("GET", "/api/v1/my/cases", _roles("citizen", "clerk", "official")),
    Route("GET", "/api/v1/my/messages", SIGNED_IN),
    Route("POST", "/api/v1/my/messages/read", SIGNED_IN, lambda ctx: {"ids": []}),
    # reviews
    Route(
        "POST",
        "/api/v1/reviews",
        _roles("citizen", "clerk"),
        lambda ctx: {**RATING, "case_number": ctx["case_number"], "channel": "online"},
        hides_resources=True,
    ),
    Route(
        "GET",
        "/api/v1/reviews",
        _roles("citizen", "clerk", "official", "admin"),
        hides_resources=True,
        params={"case": "440300-20260101-NOSUCHCASE"},
    ),
    Route("GET", "/api/v1/reviews/stats", EVERYONE),
    Route(
        "GET",
        "/api/v1/reviews/{review_id}",
        _roles("citizen", "clerk", "official", "admin"),
        hides_resources=True,
        params={"review_id": "999999"},
    ),
    Route("GET", "/api/v1/rectifications", _roles("official", "admin")),
    Route(
        "GET",
        "/api/v1/rectifications/{rectification_id}",
        _roles("official", "admin"),
        hides_resources=True,
        params={"rectification_id": "999999"},
    ),
    Route(
        "POST",
        "/api/v1/rectifications/{rectification_id}/follow-up",
        _roles("official"),
        lambda ctx: {"note": "已回访"},
        hides_resources=True,
        params={"rectification_id": "999999"},
    ),
    Route(
        "POST",
        "/api/v1/rectifications/{rectification_id}/fix",
        _roles("official"),
        lambda ctx: {"description": "已整改"},
        hides_resources=True,
        params={"rectification_id": "999999"},
    ),
    Route(
        "POST",
        "/api/v1/rectifications/{rectification_id}/rerate",
        _roles("citizen", "clerk"),
        lambda ctx: dict(RATING),
        hides_resources=True,
        params={"rectification_id": "999999"},
    ),
    Route(
        "POST",
        "/api/v1/rectifications/{rectification_id}/appeal",
        _roles("official"),
        lambda ctx: {"ground": "mistaken", "reason": "误评"},
        hides_resources=True,
        params={"rectification_id": "999999"},
    ),
    Route(
        "POST",
        "/api/v1/rectifications/{rectification_id}/appeal/decision",
        _roles("admin"),
        lambda ctx: {"decision": "upheld", "note": "核实"},
        hides_resources=True,
        params={"rectification_id": "999999"},
    ),
    # insight
    Route("GET", "/api/v1/insight/indicators", _roles("admin", "official")),
    Route(
        "GET",
        "/api/v1/insight/groups/{group}",
        _roles("admin", "official"),
        params={"group": "zone"},
    ),
    Route("GET", "/api/v1/insight/equalization", _roles("admin", "official")),
    Route("GET", "/api/v1/insight/standardization", _roles("admin", "official")),
    Route("GET", "/api/v1/insight/trend", _roles("admin", "official")),
    # operations
    Route("GET", "/healthz", EVERYONE),
    # Last: these end the caller's sign-in.
    Route(
        "POST",
        "/api/v1/me/password",
        SIGNED_IN,
        lambda ctx: {"current_password": "tongban-demo", "new_password": "tongban-demo"},
    ),
    Route("POST", "/api/v1/auth/logout", EVERYONE),
)


def _openapi_routes(app: FastAPI) -> set[tuple[str, str]]:
    spec = app.openapi()
    return {
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        for method in operations
        if path.startswith("/api/") or path == "/healthz"
    }


def test_every_route_is_in_the_matrix(app: FastAPI) -> None:
    listed = {(route.method, route.path) for route in MATRIX}
    missing = _openapi_routes(app) - listed
    stale = listed - _openapi_routes(app)
    assert not missing, f"routes without an authorization expectation: {sorted(missing)}"
    assert not stale, f"matrix rows for routes that no longer exist: {sorted(stale)}"


@pytest.fixture
def world(db: Session, client: TestClient) -> dict[str, Any]:
    """Regions, the seed catalog, one account per role with an API token, and one case."""
    regions.load_builtin(db)
    catalog.load_seed(db)
    identity.create_demo_accounts(db)
    tokens: dict[str, str] = {}
    for role in ROLES[1:]:
        account = identity.find_account_by_username(db, username=role)
        assert account is not None
        tokens[role] = identity.issue_api_token(db, account_id=account.id, name="matrix").token
    db.commit()
    item = catalog.search_items(db, q="社保卡", limit=1)[0][0]
    detail = catalog.get_item(db, code=item.code)
    bundle = catalog.list_bundles(db)[0]
    citizen = identity.find_account_by_username(db, username="citizen")
    assert citizen is not None
    return {
        "tokens": tokens,
        "account_id": str(citizen.id),
        "item_code": item.code,
        "implementation_code": detail.implementations[0].code,
        "bundle_code": bundle.code,
        "case_number": "440300-20260101-NOSUCHCASE",
        "case_version": 1,
    }


def _url(route: Route, ctx: dict[str, Any]) -> str:
    values = {
        "code": ctx["item_code"],
        "account_id": ctx["account_id"],
        "number": ctx["case_number"],
        "event_uid": "00000000-0000-0000-0000-000000000000",
        **route.params,
    }
    if "/catalog/implementations/" in route.path:
        values["code"] = ctx["implementation_code"]
    if "/catalog/bundles/" in route.path:
        values["code"] = ctx["bundle_code"]
    path = route.path.format(**values)
    query = {k: v for k, v in route.params.items() if "{" + k + "}" not in route.path}
    if query:
        path += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return path


def test_every_role_against_every_route(client: TestClient, world: dict[str, Any]) -> None:
    wrong: list[str] = []
    for role in ROLES:
        headers = {} if role == ANON else {"Authorization": f"Bearer {world['tokens'][role]}"}
        for route in MATRIX:
            kwargs: dict[str, Any] = {"headers": headers}
            if route.files:
                kwargs["files"] = {"file": ("x.png", PNG, "image/png")}
            elif route.body is not None:
                kwargs["json"] = route.body(world)
            client.cookies.clear()  # the login route sets a session cookie; stay who we are
            response = client.request(route.method, _url(route, world), **kwargs)
            status = response.status_code
            may = role in route.allowed
            denied = status in (401, 403) or (route.hides_resources and status == 404)
            if may and status in (401, 403):
                wrong.append(f"{role} was refused {route.method} {route.path}: {status}")
            elif not may and not denied:
                wrong.append(f"{role} reached {route.method} {route.path}: {status}")
            elif status >= 500:
                wrong.append(f"{role} broke {route.method} {route.path}: {status}")
            if not may and role == ANON and status == 403:
                wrong.append(f"anonymous got 403 instead of 401 on {route.method} {route.path}")
    assert not wrong, "\n".join(wrong)
