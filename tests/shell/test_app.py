"""The house: health, metrics, OpenAPI and problem+json errors."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tongban.platform.config import Settings
from tongban.platform.db import Database
from tongban.shell.app import create_app


def test_healthz_reports_database_up(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "up"


def test_metrics_are_prometheus_text(app: FastAPI) -> None:
    with TestClient(app, client=("127.0.0.1", 50000)) as client:  # a scraper on this machine
        client.get("/healthz")
        response = client.get("/metrics")
    assert response.status_code == 200
    assert "tongban_http_requests_total" in response.text
    assert 'route="/healthz"' in response.text


def test_metrics_are_not_public(app: FastAPI) -> None:
    # Issue #12: /metrics answered anyone. Now: this machine only, unless a token is set.
    with TestClient(app, client=("203.0.113.9", 50000)) as remote:
        refused = remote.get("/metrics")
        assert refused.status_code == 403
        assert refused.headers["content-type"].startswith("application/problem+json")
    with TestClient(app, client=("::1", 50000)) as proxied:
        # Through a reverse proxy on this machine: not this machine's own scraper.
        assert (
            proxied.get("/metrics", headers={"x-forwarded-for": "203.0.113.9"}).status_code == 403
        )
        assert proxied.get("/metrics").status_code == 200


def test_metrics_token_lets_a_remote_scraper_in(tmp_path: Path, database: Database) -> None:
    settings = Settings(data_dir=tmp_path, metrics_token="s3cret-metrics-token")
    app = create_app(settings, database)
    with TestClient(app, client=("203.0.113.9", 50000)) as remote:
        missing = remote.get("/metrics")
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == "Bearer"
        wrong = remote.get("/metrics", headers={"authorization": "Bearer nope"})
        assert wrong.status_code == 401
        ok = remote.get("/metrics", headers={"authorization": "Bearer s3cret-metrics-token"})
        assert ok.status_code == 200 and "tongban_http_requests_total" in ok.text


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
