"""Two officials accept the same case at once: one wins, the other gets 409, never both."""

from __future__ import annotations

import threading
from pathlib import Path

from fastapi.testclient import TestClient

from tests.cases.conftest import build_world, submit_pension
from tongban.app import create_app
from tongban.cases import service as cases
from tongban.config import Settings
from tongban.db import Database
from tongban.events import service as events


def test_concurrent_accepts_one_wins(fresh_database: Database, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var", database_url=fresh_database.url)
    with fresh_database.session_scope() as session:
        world = build_world(session, settings)
        number = submit_pension(session, world, settings).number
    app = create_app(settings, fresh_database)
    with TestClient(app) as warm:
        # Resolve the token once, so that the race is about the case alone.
        assert warm.get("/api/v1/queue", headers=world.h("official")).status_code == 200
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def accept() -> None:
        with TestClient(app) as client:
            barrier.wait()
            r = client.post(
                f"/api/v1/cases/{number}/actions/accept",
                headers=world.h("official"),
                json={"version": 1},
            )
            statuses.append(r.status_code)

    threads = [threading.Thread(target=accept) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) in ([200, 409], [200, 412])
    with fresh_database.session_scope() as session:
        case = cases.get_case(session, number=number)
        assert case.state == "accepted" and case.version == 2
        timeline = events.for_resource(session, resource_type="case", resource_id=number)
        assert [e.action for e in timeline] == ["case.submitted", "case.accept"]
