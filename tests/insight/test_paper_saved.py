"""Paper saved by e-licences (免证办, issue #17): a case filed with a held 社会保障卡 instead of an
upload counts one paper certificate for its region, in the API, the dashboard and the report;
the same application with the paper uploaded counts none. Live database, SQLite and PostgreSQL."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.credentials.conftest import WORLD, World, _build
from tests.support.databases import Seed, hashing_once, seeded_with
from tongban.credentials import service as credentials
from tongban.credentials.models import Credential
from tongban.insight import report, service
from tongban.platform.config import Settings

IMPLEMENTATION = "511600-104110001000-01"  # 正常退休提取住房公积金, 广安市 (四川)
LINE = "本人银行卡或社会保障卡（金融账户）"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63fccf00000301010018dd8db40000000049454e44ae426082"
)


@pytest.fixture
def seeds_by_fixture() -> dict[str, Seed]:
    """`world` is the credentials tests' world (demo accounts, the seed catalog)."""
    return {"world": WORLD}


@pytest.fixture
def world(db: Session, settings: Settings) -> World:
    """The credentials world under the test's rolled-back transaction."""
    recorded = seeded_with(db, WORLD)
    if recorded is not None:
        return World.reload(db, recorded)
    with hashing_once():
        return _build(db, settings)


@pytest.fixture(autouse=True)
def _fresh_figures(monkeypatch: pytest.MonkeyPatch) -> None:
    service.forget_live()
    report.clear_cache()
    monkeypatch.setattr(service, "LIVE_TTL", 0.0)  # every request reads the live database


def _upload(client: TestClient, world: World) -> str:
    answer = client.post(
        "/api/v1/uploads", files={"file": ("p.png", PNG, "image/png")}, headers=world.h("citizen")
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["sha256"])


def _apply(client: TestClient, world: World, *, licence: int | None) -> None:
    materials = [{"name": "居民身份证", "sha256": _upload(client, world)}]
    licences = []
    if licence is None:
        materials.append({"name": LINE, "sha256": _upload(client, world)})
    else:
        licences.append({"material": LINE, "credential": licence})
    answer = client.post(
        "/api/v1/cases",
        json={
            "implementation": IMPLEMENTATION,
            "form": {
                "account_no": "GA1234567",
                "bank_account": "6228480000000000",
                "retire_date": "2010-03-15",
            },
            "materials": materials,
            "licences": licences,
        },
        headers=world.h("citizen"),
    )
    assert answer.status_code == 201, answer.text


def _sichuan(client: TestClient, world: World) -> dict[str, Any]:
    r = client.get("/api/v1/insight/indicators", headers=world.h("admin"))
    assert r.status_code == 200, r.text
    rows = {row["code"]: row for row in r.json()["rows"]}
    return rows.get("510000", {"cases": 0, "paper_saved": 0})


def test_a_case_filed_with_an_e_licence_counts_the_paper_it_saved(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    credentials.load_demo(db, settings=settings)
    card = db.scalars(select(Credential).where(Credential.type_code == "101001")).one()
    before = _sichuan(client, world)

    _apply(client, world, licence=None)  # the paper uploaded: nothing saved
    after_upload = _sichuan(client, world)
    assert after_upload["cases"] == before["cases"] + 1
    assert after_upload["paper_saved"] == before["paper_saved"]

    _apply(client, world, licence=card.id)  # 免证办: one paper saved, in 四川
    after_licence = _sichuan(client, world)
    assert after_licence["cases"] == before["cases"] + 2
    assert after_licence["paper_saved"] == before["paper_saved"] + 1
    # The region filter and the groups carry it too; another province does not.
    r = client.get(
        "/api/v1/insight/indicators",
        params={"level": "county", "region": "510000"},
        headers=world.h("admin"),
    )
    assert sum(row["paper_saved"] for row in r.json()["rows"]) == after_licence["paper_saved"]
    r = client.get(
        "/api/v1/insight/indicators", params={"region": "440000"}, headers=world.h("admin")
    )
    assert all(row["paper_saved"] == 0 for row in r.json()["rows"])
    r = client.get("/api/v1/insight/groups/channel", headers=world.h("admin"))
    assert sum(row["paper_saved"] for row in r.json()["rows"]) >= 1

    # The dashboard's headline card and the report's figure (total over the period).
    page = client.get("/insight", headers={**world.h("admin"), "accept": "text/html"})
    assert page.status_code == 200, page.text
    card_html = re.search(r"<li>免证办节省的纸质证明<br><strong>([\d,]+)</strong></li>", page.text)
    assert card_html is not None and int(card_html.group(1).replace(",", "")) >= 1
    source = service.current(db, settings)
    data = service.report_data(source.snap, period=service.current_quarter(), key=source.key)
    assert data["totals"]["paper_saved"] == int(card_html.group(1).replace(",", ""))
    assert "免证办节省纸质证明" in report.render_html(data)
