"""The house: health, metrics, OpenAPI and problem+json errors."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_healthz_reports_database_up(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "up"


def test_metrics_are_prometheus_text(client: TestClient) -> None:
    client.get("/healthz")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert "tongban_http_requests_total" in response.text
    assert 'route="/healthz"' in response.text


def test_openapi_served_under_api(client: TestClient) -> None:
    assert client.get("/api/docs").status_code == 200
    spec = client.get("/api/openapi.json").json()
    assert spec["info"]["title"].startswith("Tongban")


def test_unknown_api_route_is_problem_json(client: TestClient) -> None:
    response = client.get("/api/v1/does-not-exist")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == 404
    assert body["type"].endswith("not-found")
    assert body["instance"] == "/api/v1/does-not-exist"


def test_what_startup_built_is_out_of_the_collectors_reach(client: TestClient) -> None:
    import gc

    assert client.get("/healthz").status_code == 200
    # An app has started in this process: its routes and models are frozen, so a full
    # collection walks only what requests left behind (tongban.platform.heap).
    assert gc.get_freeze_count() > 10_000
