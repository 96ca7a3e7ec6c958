"""The right authority by default (issue #13, item 8): implementations in the order of the
applicant's 户籍, profile region and the clerk's service point; a region picker that works
without JavaScript for items offered in many places; 在线办理 only where it is offered."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.support.databases import Seed
from tests.support.seeds import DEMO
from tongban.catalog import placement
from tongban.catalog import service as catalog
from tongban.identity.demo import DEMO_CITIZEN_ID, DEMO_PASSWORD
from tongban.platform.config import Settings

HTML = {"Accept": "text/html"}
PENSION = "101110001000"  # 16 places: the picker
UNEMPLOYMENT = "101110004000"  # 8 places
MARRIAGE_GA = "511602-110070003000-01"  # 结婚登记 in 广安区: only at the window


def _seed_catalog(session: Session, settings: Settings) -> None:
    catalog.load_seed(session)


PLACES = Seed("catalog_places", _seed_catalog, base=DEMO, keys=True)


@pytest.fixture
def seeds_by_fixture() -> dict[str, Seed]:
    """`places_world`: the demo accounts and the seed catalog, committed once."""
    return {"places_world": PLACES}


@pytest.fixture
def places_world(db: Session) -> Session:
    return db


@dataclass(frozen=True)
class At:
    code: str
    region_code: str


def test_the_applicants_places_come_first_nearest_first() -> None:
    impls = [At(c, c) for c in ("330106", "440300", "510000", "511600", "511602", "620100")]
    wanted = placement.places("511602", None, "440305", "511602")
    assert wanted == ["511602", "440305"]
    assert [i.code for i in placement.order_by_place(impls, wanted)] == [
        "511602",  # the county of the 户籍
        "511600",  # its city
        "510000",  # its province
        "440300",  # the city of the service point
        "330106",
        "620100",
    ]
    assert [i.code for i in placement.nearest(impls, ["440305"])] == ["440300"]
    assert placement.order_by_place(impls, []) == sorted(impls, key=lambda i: i.code)


def test_the_picker_counts_places_one_level_down() -> None:
    impls = [At(c, c) for c in ("440000", "440300", "440305", "440306", "441900", "511602")]
    assert placement.next_level(impls, "") == [("440000", 5), ("510000", 1)]
    assert placement.next_level(impls, "44") == [("440300", 3), ("441900", 1)]
    assert placement.next_level(impls, "4403") == [("440305", 1), ("440306", 1)]
    assert placement.pick_level("4403") == "4403" and placement.pick_level("x") == ""
    assert placement.pick_level("44030") == ""


def test_online_only_where_the_channels_say_so() -> None:
    assert placement.offers_online(["窗口办理", "网上办理"])
    assert placement.offers_online(["掌上办理"])
    assert not placement.offers_online(["窗口办理", "邮寄送达"])
    assert not placement.offers_online(None)


def _login(client: TestClient, username: str) -> None:
    page = client.get("/login", headers=HTML).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    r = client.post(
        "/login",
        data={"csrf_token": token.group(1), "username": username, "password": DEMO_PASSWORD},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def _guides(html: str) -> list[str]:
    main = html.split("<main", 1)[1]
    return re.findall(r'href="/guide/([^"]+)"', main)


def test_a_citizen_sees_the_authority_of_their_household_first(
    client: TestClient, places_world: Session
) -> None:
    anonymous = _guides(client.get(f"/services/{UNEMPLOYMENT}", headers=HTML).text)
    assert len(anonymous) == 8
    _login(client, "citizen")  # 户籍 广安区 (511602)
    mine = _guides(client.get(f"/services/{UNEMPLOYMENT}", headers=HTML).text)
    assert DEMO_CITIZEN_ID.startswith("511602")
    assert mine[0].startswith("511602-") and sorted(mine) == sorted(anonymous)


def test_many_places_get_a_region_picker_that_needs_no_javascript(
    client: TestClient, places_world: Session
) -> None:
    page = client.get(f"/services/{PENSION}", headers=HTML)
    assert page.status_code == 200
    assert _guides(page.text) == []  # no long card list for a visitor we know nothing of
    provinces = re.findall(rf'href="/services/{PENSION}\?in=(\d\d)"', page.text)
    assert "44" in provinces and "51" in provinces
    assert "<script" not in page.text.split("<main", 1)[1]
    sichuan = client.get(f"/services/{PENSION}?in=51", headers=HTML)
    guides = _guides(sichuan.text)
    assert guides and all(g.startswith("51") for g in guides)
    assert "全部省份" in sichuan.text and "四川省" in sichuan.text
    everything = client.get(f"/services/{PENSION}?in=all", headers=HTML)
    assert len(_guides(everything.text)) == 16
    junk = client.get(f"/services/{PENSION}?in=%3Cb%3E", headers=HTML)
    assert junk.status_code == 200 and "<b>" not in junk.text
    # A citizen of 广安区 gets the nearest ones above the picker.
    _login(client, "citizen")
    near = _guides(client.get(f"/services/{PENSION}", headers=HTML).text)
    assert near[:2] == ["511602-101110001000-01", "511600-101110001000-01"]
    assert "离您最近" in client.get(f"/services/{PENSION}", headers=HTML).text


def test_apply_online_only_where_offered(client: TestClient, places_world: Session) -> None:
    window_only = client.get(f"/guide/{MARRIAGE_GA}", headers=HTML).text
    assert f'href="/apply/{MARRIAGE_GA}"' not in window_only
    assert "该机关不受理网上申请" in window_only
    online = client.get("/guide/511602-101110004000-01", headers=HTML).text
    assert 'href="/apply/511602-101110004000-01"' in online
    listing = client.get("/services/110070003000", headers=HTML).text
    assert "仅限窗口或服务站点办理" in listing and "在线办理" not in listing.split("<main", 1)[1]
    _login(client, "clerk")  # a clerk applies for a citizen wherever they are
    assert f'href="/desk/apply/{MARRIAGE_GA}"' in client.get(f"/guide/{MARRIAGE_GA}").text


def test_the_desk_lists_the_applicants_household_authority_first(
    client: TestClient, places_world: Session
) -> None:
    _login(client, "clerk")  # service point 440305 (南山区)
    desk = client.get("/desk", headers=HTML).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', desk)
    assert token
    r = client.post(
        "/desk",
        data={
            "csrf_token": token.group(1),
            "resident_id": DEMO_CITIZEN_ID,
            "name": "王建国",
            "confirmed": "1",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get("/desk/service?q=失业登记", headers=HTML).text
    codes = re.findall(r'href="/desk/apply/([^"]+)"', page)
    assert codes[0].startswith("511602-")  # the applicant's 户籍
    assert codes[1].startswith("440305-")  # then the service point's
