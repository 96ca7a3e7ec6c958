"""The regions JSON routes under /api/v1."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.support import identity_internals as identity
from tongban.events.models import Event
from tongban.platform.config import Settings
from tongban.regions.models import Region

KEYS = {"code", "name", "level", "zone", "urban_rural", "parent", "population"}


def test_get_region(loaded: Session, client: TestClient) -> None:
    response = client.get("/api/v1/regions/511602")
    assert response.status_code == 200
    assert response.json() == {
        "code": "511602",
        "name": "广安区",
        "level": "county",
        "zone": "west",
        "urban_rural": "urban",
        "parent": "511600",
        "population": None,
    }
    province = client.get("/api/v1/regions/440000").json()
    assert (province["parent"], province["population"]) == (None, 126_012_510)


def test_list_provinces_and_children(loaded: Session, client: TestClient) -> None:
    body = client.get("/api/v1/regions").json()
    assert body["total"] == 31 == len(body["items"])
    assert set(body["items"][0]) == KEYS
    assert all(item["level"] == "province" and item["parent"] is None for item in body["items"])
    sichuan = client.get("/api/v1/regions", params={"parent": "510000"}).json()
    assert sichuan["total"] == 21
    assert {i["parent"] for i in sichuan["items"]} == {"510000"}
    assert "511600" in {i["code"] for i in sichuan["items"]}


def test_ancestors(loaded: Session, client: TestClient) -> None:
    body = client.get("/api/v1/regions/511602/ancestors").json()
    assert [i["code"] for i in body["items"]] == ["510000", "511600"]
    assert body["total"] == 2


def test_unknown_code_is_404_problem(loaded: Session, client: TestClient) -> None:
    for path in ("/api/v1/regions/511699", "/api/v1/regions/511699/ancestors"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "511699" in response.json()["detail"]
    response = client.get("/api/v1/regions", params={"parent": "990000"})
    assert response.status_code == 404


def test_malformed_code_is_422_problem(loaded: Session, client: TestClient) -> None:
    response = client.get("/api/v1/regions/51160x")
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == 422 and body["errors"][0]["field"] == "code"
    bad_parent = client.get("/api/v1/regions", params={"parent": "x"}).json()
    assert bad_parent["errors"][0]["field"] == "parent"


def test_writes_need_credentials(loaded: Session, client: TestClient) -> None:
    before = loaded.scalar(select(func.count()).select_from(Region))
    response = client.post("/api/v1/regions", json={"code": "511602001000", "name": "测试街道"})
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["www-authenticate"] == "Bearer"
    response = client.patch("/api/v1/regions/511602", json={"urban_rural": "rural"})
    assert response.status_code == 401
    assert loaded.scalar(select(func.count()).select_from(Region)) == before
    assert loaded.get(Region, "511602001000") is None


def _bearer(session: Session, role: str, settings: Settings) -> dict[str, str]:
    account = identity.create_account(
        session,
        username=f"regions-{role}",
        password="Correct-Horse-Battery-9",
        role=role,
        region_code="511602",
    )
    issued = identity.issue_api_token(
        session, account_id=account.id, name="regions test", settings=settings
    )
    session.flush()
    return {"Authorization": f"Bearer {issued.token}"}


def test_admin_adds_a_township_and_overrides_urban_rural(
    loaded: Session, client: TestClient, settings: Settings
) -> None:
    headers = _bearer(loaded, "admin", settings)
    response = client.post(
        "/api/v1/regions",
        json={"code": "511602001000", "name": "测试街道"},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    assert response.json() == {
        "code": "511602001000",
        "name": "测试街道",
        "level": "township",
        "zone": "west",
        "urban_rural": "urban",
        "parent": "511602",
        "population": None,
    }
    again = client.post(
        "/api/v1/regions", json={"code": "511602001000", "name": "x"}, headers=headers
    )
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    bad = client.post("/api/v1/regions", json={"code": "5116", "name": "x"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "code"

    patched = client.patch("/api/v1/regions/511602", json={"urban_rural": "rural"}, headers=headers)
    assert patched.status_code == 200 and patched.json()["urban_rural"] == "rural"
    assert client.get("/api/v1/regions/511602").json()["urban_rural"] == "rural"
    event = loaded.scalars(
        select(Event).where(Event.action == "region.added", Event.resource_id == "511602001000")
    ).one()
    assert (event.channel, event.actor_role) == ("api", "admin")
    assert event.actor_id is not None


def test_non_admin_may_not_manage_regions(
    loaded: Session, client: TestClient, settings: Settings
) -> None:
    headers = _bearer(loaded, "clerk", settings)
    response = client.post(
        "/api/v1/regions", json={"code": "511602001000", "name": "测试街道"}, headers=headers
    )
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")
    response = client.patch(
        "/api/v1/regions/511602", json={"urban_rural": "rural"}, headers=headers
    )
    assert response.status_code == 403
    assert loaded.get(Region, "511602001000") is None
