"""The dashboard on a fresh node (figures computed on demand from the live database, on SQLite
and PostgreSQL), the one staff menu around it, the readings and the group views (issue #14)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.conftest import BoundDatabase
from tests.reviews.conftest import World, build_world, make_case
from tests.support import identity_internals as identity
from tongban.insight import readings, report, service
from tongban.platform.config import Settings


@pytest.fixture
def world(db: Session, settings: Settings) -> World:
    """The reviews tests' world (regions, departments, accounts with tokens) and no case."""
    return build_world(db, settings)


@pytest.fixture(autouse=True)
def _no_cached_figures() -> None:
    service.forget_live()
    report.clear_cache()


def _page(client: TestClient, world: World, who: str, **params: str) -> str:
    page = client.get("/insight", params=params, headers={**world.h(who), "accept": "text/html"})
    assert page.status_code == 200, page.text
    return page.text


def _menu(html: str) -> list[str]:
    nav = html.split('<nav class="wrap nav"', 1)[1].split("</nav>", 1)[0]
    return re.findall(r'<a href="([^"]+)"', nav)


def test_a_fresh_node_explains_itself_then_fills_as_cases_arrive(
    client: TestClient,
    db: Session,
    world: World,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert not (settings.data_dir / "analytics").exists()  # nobody ran an export
    html = _page(client, world, "admin")
    assert "还没有办件数据：第一批办件受理后，这里会显示" in html
    assert "根据本节点的办件于" in html  # where the (empty) figures come from
    english = client.get(
        "/insight", headers={**world.h("admin"), "accept": "text/html", "cookie": "tb_lang=en"}
    )
    assert english.status_code == 200 and "There is no case data yet" in english.text

    for _ in range(3):
        make_case(db, world, service_point="440305", filed_by="clerk", channel="assisted")
    make_case(db, world)
    # Within the time-to-live the figures read a moment ago are served again...
    assert "还没有办件数据" in _page(client, world, "admin", period="2026-Q3")
    # ...and after it the live database is read again: the figures appear, no CLI step.
    monkeypatch.setattr(service, "LIVE_TTL", 0.0)
    html = _page(client, world, "admin", period="2026-Q3")
    assert "还没有办件数据" not in html and "总体情况" in html
    assert "<strong>4</strong>" in html  # cases
    assert "<strong>25.0%</strong>" in html  # one in four fully online
    # The group views: every applicant is the migrant, born 1958 (68 at receipt).
    assert "按申请人年龄" in html and "60岁及以上" in html and "城乡" in html
    assert "<svg" in html and "<script" not in html.split("</header>", 1)[1]
    # A period with no case says so and offers the year.
    quiet = _page(client, world, "admin", period="2026-Q1")
    assert "这个期间没有办件" in quiet and 'href="/insight?period=2026"' in quiet

    # The same figures for machines, with the age groups.
    r = client.get(
        "/api/v1/insight/groups/age", params={"period": "2026-Q3"}, headers=world.h("admin")
    )
    assert r.status_code == 200, r.text
    rows = {row["value"]: row for row in r.json()["rows"]}
    assert rows["60_plus"]["cases"] == 4 and "under_60" not in rows and "80_plus" not in rows
    r = client.get(
        "/api/v1/insight/equalization", params={"period": "2026-Q3"}, headers=world.h("official")
    )
    assert r.status_code == 200 and r.json()["previous"] == "2026-Q2"
    assert isinstance(r.json()["readings"], list)


def test_a_bad_period_or_region_is_explained_on_the_page(client: TestClient, world: World) -> None:
    page = client.get(
        "/insight",
        params={"period": "2026-Q9", "region": "4x"},
        headers={**world.h("admin"), "accept": "text/html"},
    )
    assert page.status_code == 422
    assert 'id="f-period-error"' in page.text and 'id="f-region-error"' in page.text
    assert 'value="2026-Q9"' in page.text  # what was typed is kept


def test_the_dashboard_is_a_page_of_the_site_with_the_staff_menu(
    client: TestClient, db: Session, world: World, settings: Settings
) -> None:
    html = _page(client, world, "admin")
    assert 'action="/settings/language"' in html and 'action="/settings/elderly"' in html
    assert 'href="/insight" aria-current="page"' in html
    staff = {"/glossary", "/ledger/check"}  # every staff role
    admin = set(_menu(html))
    assert {"/insight", "/admin/catalog/import", "/admin/appeals"} | staff <= admin
    official = set(_menu(_page(client, world, "official")))
    assert {"/work", "/insight"} | staff <= official
    assert not {"/admin/catalog/import", "/admin/appeals", "/desk"} & official
    steward = identity.create_account(
        db, username="r-steward", password="tongban-test-pw", role="steward", settings=settings
    )
    world.tokens["steward"] = identity.issue_api_token(
        db, account_id=steward.id, name="tests", settings=settings
    ).token
    stewards = set(_menu(_page(client, world, "steward")))  # national figures, like the admin
    assert {"/insight"} | staff <= stewards and not {"/work", "/desk"} & stewards
    clerk = client.get("/settings", headers={**world.h("clerk"), "accept": "text/html"})
    clerks = set(_menu(clerk.text))
    assert {"/desk", "/desk/cases", "/desk/help"} | staff <= clerks and "/insight" not in clerks
    citizen = client.get("/settings", headers={**world.h("migrant"), "accept": "text/html"})
    assert not {"/insight", "/glossary", "/work", "/desk"} & set(_menu(citizen.text))
    denied = client.get("/insight", headers={**world.h("clerk"), "accept": "text/html"})
    assert denied.status_code == 403


GROUPS = {
    "zone": [
        {"value": "east", "cases": 100, "mean_days": 3.0, "fully_online": 0.5},
        {"value": "west", "cases": 80, "mean_days": 5.0, "fully_online": 0.3},
        {"value": "central", "cases": 5, "mean_days": 9.0, "fully_online": 0.1},  # too few
    ],
    "age": [
        {"value": "under_60", "cases": 150, "fully_online": 0.45, "satisfaction": 0.9},
        {"value": "60_plus", "cases": 30, "fully_online": 0.2, "satisfaction": 0.9},
    ],
}
BEFORE = {
    "zone": [
        {"value": "east", "cases": 90, "mean_days": 3.0, "fully_online": 0.5},
        {"value": "west", "cases": 70, "mean_days": 5.5, "fully_online": 0.3},
    ],
}


def test_readings_are_generated_from_the_rules() -> None:
    found = readings.gap_readings(GROUPS, BEFORE, period_kind="quarter")
    by_id = {r["id"]: r for r in found}
    days = by_id["zone_days"]
    assert days["zh"] == (
        "西部 与 东部 的平均办理时长差距为 2.0 个工作日（5.0 对 3.0），比上季度缩小 0.5 个工作日。"
    )
    assert days["en"] == (
        "The gap in mean handling time between the West and the East is 2.0 working days "
        "(5.0 vs 3.0), 0.5 working days narrower than the previous quarter."
    )
    assert by_id["zone_online"]["zh"].endswith("，与上季度持平。")
    # No figures for the period before: no comparison, and no reading from too few cases.
    age = by_id["age60_online"]
    assert age["zh"] == (
        "60岁及以上的申请人 与 60岁以下的申请人 的全程网办占比差距为 25.0 个百分点"
        "（20.0% 对 45.0%）。"
    )
    assert "age80_online" not in by_id and "rural_days" not in by_id
    assert "中部" not in " ".join(r["zh"] for r in found)
    indices = {"county": [{"metric": "mean_days", "n": 40, "gini": 0.12}], "province": []}
    before = {"county": [{"metric": "mean_days", "n": 38, "gini": 0.15}]}
    decompositions = [
        {"metric": "mean_days", "group": "zone", "total": 0.02, "between_share": 0.35}
    ]
    (gini, split) = readings.index_readings(indices, before, decompositions, period_kind="month")
    assert gini["zh"] == "各县平均办理时长的基尼系数为 0.120，差距很小，比上月下降 0.030。"
    assert gini["en"].startswith("The Gini coefficient of the mean handling time across counties")
    assert split["zh"] == "各县平均办理时长的差距中，35% 来自四大区域之间，其余来自区域内部。"


def test_the_worker_reads_the_live_figures_before_they_go_stale(
    bound_database: BoundDatabase, db: Session, world: World, settings: Settings
) -> None:
    make_case(db, world)
    source = service.refresh(bound_database, settings)
    assert source.kind == "live"
    assert int(source.snap.con.execute(source.snap.cases.count())) == 1
    assert service.refresh(bound_database, settings) is source  # still fresh: kept
    make_case(db, world)
    later = service.refresh(bound_database, settings, max_age=0)  # the worker's own interval
    assert later is not source and int(later.snap.con.execute(later.snap.cases.count())) == 2
    # An export younger than the time-to-live is used as it is; a simulated one always.
    service.export(bound_database, settings)
    assert service.refresh(bound_database, settings).kind == "export"
