"""The simulation, the report (HTML, PDF), the export from the platform database, the API and
the dashboard."""

from __future__ import annotations

import gzip
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.reviews.conftest import ONLINE_BAD, World, build_world, make_case
from tests.support import reviews_internals as reviews
from tongban.insight import report, service
from tongban.insight.engine import open_snapshot
from tongban.insight.facts import export_platform
from tongban.insight.periods import parse_period
from tongban.platform.config import Settings
from tongban.reviews.schemas import RatingChannel, RerateCreate
from tongban.shell.cli import app as cli


@pytest.fixture
def world(db: Session, settings: Settings) -> World:
    """The reviews tests' world: regions, departments, accounts with tokens."""
    return build_world(db, settings)


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small simulated year (20,000 cases)."""
    out = tmp_path_factory.mktemp("sim")
    service.simulate(cases=20_000, seed=5, out=out)
    return out


def test_simulation_is_deterministic_and_national(simulated: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    service.simulate(cases=20_000, seed=5, out=again)
    # The same rows (DuckDB writes them in parallel, so the order within a file may differ).
    for name, key in (
        ("case_facts", ["case_id"]),
        ("review_facts", ["case_id"]),
        ("implementations", ["item_code", "region_code"]),
    ):
        first = pq.read_table(simulated / f"{name}.parquet").sort_by(
            [(k, "ascending") for k in key]
        )
        second = pq.read_table(again / f"{name}.parquet").sort_by([(k, "ascending") for k in key])
        assert first.equals(second), name
    cases = pq.read_table(simulated / "case_facts.parquet").to_pandas()
    assert len(cases) == 20_000 and cases["region"].str[:2].nunique() == 31
    # The digital divide: rural and elderly applicants go online less.
    online = cases.assign(on=cases["channel"] == "online")
    by_ur = online.groupby("urban_rural")["on"].mean()
    assert by_ur["urban"] > by_ur["rural"]
    assert online[online["age"] >= 60]["on"].mean() < online[online["age"] < 60]["on"].mean()
    # Guangdong (most populous) has more cases than Tibet.
    assert (cases["region"].str[:2] == "44").sum() > 10 * (cases["region"].str[:2] == "54").sum()


def test_report_renders_for_a_simulated_quarter(simulated: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = CliRunner().invoke(
        cli, ["report", "--period", "2026-Q3", "--snapshot", str(simulated), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "2026-Q3" in html and "广东省" in html and "<svg" in html
    assert "泰尔指数分解" in html and "同事同标" in html
    # Self-contained: no scripts, stylesheets or images fetched from anywhere.
    for needle in ("<script", "<link", 'src="http', "url(", "@import"):
        assert needle not in html
    bad = CliRunner().invoke(
        cli, ["report", "--period", "2026-Q9", "--snapshot", str(simulated), "--out", str(out)]
    )
    assert bad.exit_code == 1 and "period" in bad.output


@pytest.mark.skipif(
    shutil.which("chromium") is None and os.environ.get("TONGBAN_REQUIRE_BROWSER") != "1",
    reason="no chromium to print PDF (make test installs it)",
)
def test_report_prints_to_pdf(simulated: Path, tmp_path: Path) -> None:
    snap = open_snapshot(simulated)
    target = service.write_report(
        snap, period=parse_period("2026-Q3"), out=tmp_path / "r.html", pdf=True
    )
    assert target.suffix == ".pdf" and target.read_bytes().startswith(b"%PDF")


def test_export_from_the_platform_database(
    db: Session, world: World, settings: Settings, tmp_path: Path
) -> None:
    done = make_case(db, world, service_point="440305", filed_by="clerk", channel="assisted")
    reviews.rate(
        db,
        actor=world.actor("migrant"),
        case_number=done.number,
        channel=RatingChannel.ONLINE,
        data=RerateCreate(**ONLINE_BAD),
        settings=settings,
        now=datetime(2026, 9, 2, 2, tzinfo=UTC),
    )
    counts = export_platform(db, out=tmp_path)
    assert counts["case_facts"] >= 1 and counts["review_facts"] >= 1
    snap = open_snapshot(tmp_path)
    facts = snap.con.execute(snap.cases).set_index("case_id").loc[done.id]
    assert facts["region"] == "440305" and facts["authority_region"] == "511602"
    assert bool(facts["away"]) and facts["channel"] == "assisted"
    assert facts["zone"] == "east" and facts["age"] == 68  # born 1958-03-01, received 2026-09
    rated = snap.con.execute(snap.reviews)
    assert list(rated["overall"]) == [2] and bool(rated["bad"].iloc[0])


def test_api_and_dashboard(
    client: TestClient, world: World, simulated: Path, settings: Settings
) -> None:
    settings.analytics_dir = simulated
    r = client.get("/api/v1/insight/indicators", params={"period": "2026-Q3"})
    assert r.status_code == 401
    r = client.get("/api/v1/insight/indicators", headers=world.h("migrant"))
    assert r.status_code == 403
    r = client.get(
        "/api/v1/insight/indicators",
        params={"period": "2026-Q3", "level": "province"},
        headers=world.h("admin"),
    )
    assert r.status_code == 200 and len(r.json()["rows"]) == 31
    # An official sees their jurisdiction by default, and not another province.
    r = client.get(
        "/api/v1/insight/indicators",
        params={"period": "2026-Q3", "level": "county"},
        headers=world.h("official"),
    )
    assert r.status_code == 200
    assert {row["code"] for row in r.json()["rows"]} <= {"511602"}
    r = client.get(
        "/api/v1/insight/indicators",
        params={"period": "2026-Q3", "region": "440000"},
        headers=world.h("official"),
    )
    assert r.status_code == 403
    r = client.get(
        "/api/v1/insight/indicators", params={"period": "2026-Q0"}, headers=world.h("admin")
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "period"
    r = client.get("/api/v1/insight/indicators", params={"region": "4x"}, headers=world.h("admin"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "region"
    for path in ("equalization", "standardization", "trend", "groups/age_band"):
        r = (
            client.get(
                f"/api/v1/insight/{path}", params={"period": "2026-Q3"}, headers=world.h("admin")
            )
            if path != "standardization"
            else client.get("/api/v1/insight/standardization", headers=world.h("admin"))
        )
        assert r.status_code == 200, (path, r.text)

    report.clear_cache()
    page = client.get(
        "/insight",
        params={"period": "2026-Q3"},
        headers={**world.h("admin"), "accept": "text/html"},
    )
    assert page.status_code == 200 and "数据洞察" in page.text
    body = page.text.split("</head>", 1)[1]  # the site's one enhancing script is in the head
    assert "<svg" in body and "<table" in body and "<script" not in body
    # The simulated workload is named as such; the least standardized are counties.
    assert "模拟办件" in body and "标准化程度最低的10个县" in body
    assert len(gzip.compress(page.content)) <= 60 * 1024
    denied = client.get("/insight", headers={**world.h("migrant"), "accept": "text/html"})
    assert denied.status_code == 403
