"""The built-in division list and the service rules, on a real database."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from tongban.events.models import Event
from tongban.platform.errors import Conflict, Invalid, NotFound
from tongban.regions import service
from tongban.regions.models import Region

EAST = {
    "北京市",
    "天津市",
    "河北省",
    "上海市",
    "江苏省",
    "浙江省",
    "福建省",
    "山东省",
    "广东省",
    "海南省",
}
CENTRAL = {"山西省", "安徽省", "江西省", "河南省", "湖北省", "湖南省"}
WEST = {
    "内蒙古自治区",
    "广西壮族自治区",
    "重庆市",
    "四川省",
    "贵州省",
    "云南省",
    "西藏自治区",
    "陕西省",
    "甘肃省",
    "青海省",
    "宁夏回族自治区",
    "新疆维吾尔自治区",
}
NORTHEAST = {"辽宁省", "吉林省", "黑龙江省"}


def _count(session: Session, *where: ColumnElement[bool]) -> int:
    return int(session.scalar(select(func.count()).select_from(Region).where(*where)) or 0)


def _events(session: Session, action: str | None = None) -> int:
    stmt = select(func.count()).select_from(Event)
    if action:
        stmt = stmt.where(Event.action == action)
    return int(session.scalar(stmt) or 0)


def test_load_builtin_is_fast_complete_and_idempotent(db: Session) -> None:
    started = time.perf_counter()
    assert service.load_builtin(db) == 3348
    assert time.perf_counter() - started < 2.0
    assert _count(db, Region.level == "province") == 31
    assert _count(db, Region.level == "prefecture") == 342
    # 2,978 county rows less 东莞, 中山 and 儋州, which are the prefecture itself.
    assert _count(db, Region.level == "county") == 2975
    assert service.load_builtin(db) == 3348
    assert _count(db) == 3348
    assert _events(db, "regions.loaded") == 1


def test_every_row_hangs_from_an_existing_parent_one_level_up(loaded: Session) -> None:
    rows = {r.code: r for r in loaded.scalars(select(Region))}
    expected_parent_level = {"prefecture": "province", "county": "prefecture"}
    for region in rows.values():
        if region.level == "province":
            assert region.parent_code is None
            continue
        parent = rows[region.parent_code or ""]
        assert parent.level == expected_parent_level[region.level]
        assert parent.zone == region.zone
        assert service.parent_code_of(region.code) == parent.code
        assert service.contains(ancestor=parent.code, code=region.code)
        assert service.level_of(region.code) == region.level


def test_zones_of_all_31_provinces(loaded: Session) -> None:
    provinces = service.children(loaded, parent_code=None)
    by_zone: dict[str, set[str]] = {}
    for province in provinces:
        by_zone.setdefault(province.zone, set()).add(province.name)
    assert by_zone == {"east": EAST, "central": CENTRAL, "west": WEST, "northeast": NORTHEAST}


def test_province_populations_are_the_2020_census(loaded: Session) -> None:
    provinces = service.children(loaded, parent_code=None)
    assert all(p.population for p in provinces)
    # The published 1,411,778,724 includes 2,000,000 servicemen counted in no province.
    assert sum(p.population or 0 for p in provinces) == 1_409_778_724
    assert service.get(loaded, code="440000").population == 126_012_510
    assert service.get(loaded, code="510000").population == 83_674_866
    assert service.get(loaded, code="511600").population is None


def test_guang_an_district_chain(loaded: Session) -> None:
    district = service.get(loaded, code="511602")
    assert (district.name, district.level, district.zone) == ("广安区", "county", "west")
    assert district.parent_code == "511600"
    assert [(r.code, r.name) for r in service.ancestors(loaded, code="511602")] == [
        ("510000", "四川省"),
        ("511600", "广安市"),
    ]
    assert service.ancestors(loaded, code="510000") == []
    assert service.province_of("511602") == "510000"


@pytest.mark.parametrize(
    ("code", "name", "urban_rural"),
    [
        ("440305", "南山区", "urban"),
        ("511621", "岳池县", "rural"),
        ("320583", "昆山市", "rural"),  # county-level city
        ("152527", "太仆寺旗", "rural"),
        ("610103", "碑林区", "urban"),  # ends in 林区 but is a city district
        ("429021", "神农架林区", "rural"),
        ("520203", "六枝特区", "rural"),
        ("110100", "市辖区", "urban"),  # pseudo-prefecture of Beijing
        ("440300", "深圳市", "urban"),
        ("513200", "阿坝藏族羌族自治州", "rural"),
        ("429000", "省直辖县级行政区划", "rural"),
        ("110000", "北京市", "urban"),
        ("510000", "四川省", "rural"),
    ],
)
def test_default_urban_rural(loaded: Session, code: str, name: str, urban_rural: str) -> None:
    region = service.get(loaded, code=code)
    assert (region.name, region.urban_rural) == (name, urban_rural)
    assert region.urban_rural_overridden is False


def test_prefectures_without_counties_are_one_row(loaded: Session) -> None:
    dongguan = service.get(loaded, code="441900")
    assert (dongguan.name, dongguan.level, dongguan.parent_code) == (
        "东莞市",
        "prefecture",
        "440000",
    )
    assert service.children(loaded, parent_code="441900") == []


def test_children(loaded: Session) -> None:
    assert [r.code for r in service.children(loaded, parent_code="110000")] == ["110100"]
    sichuan = service.children(loaded, parent_code="510000")
    assert len(sichuan) == 21 and all(r.level == "prefecture" for r in sichuan)
    assert "511602" in {r.code for r in service.children(loaded, parent_code="5116")}
    with pytest.raises(NotFound, match="990000"):
        service.children(loaded, parent_code="990000")
    with pytest.raises(Invalid) as info:
        service.children(loaded, parent_code="abc")
    assert info.value.errors[0].field == "parent"


def test_get_and_find(loaded: Session) -> None:
    assert service.find(loaded, code="511602000000") == service.get(loaded, code="511602")
    assert service.find(loaded, code="511699") is None
    with pytest.raises(NotFound, match="No region with code 511699"):
        service.get(loaded, code="511699")
    with pytest.raises(Invalid):
        service.get(loaded, code="51160")


def test_add_township_and_village(loaded: Session) -> None:
    events_before = _events(loaded)
    township = service.add_region(loaded, code="511602001000", name=" 测试街道 ")
    assert (township.name, township.level, township.parent_code) == (
        "测试街道",
        "township",
        "511602",
    )
    assert (township.zone, township.urban_rural, township.source) == ("west", "urban", "operator")
    village = service.add_region(
        loaded, code="511602001001", name="测试村委会", urban_rural="urban"
    )
    assert (village.level, village.parent_code) == ("village", "511602001000")
    assert village.urban_rural == "urban" and village.urban_rural_overridden is True
    town = service.add_region(loaded, code="511621101000", name="测试镇")
    assert town.urban_rural == "rural"  # a 镇 takes its county's class
    assert [r.code for r in service.ancestors(loaded, code="511602001001")] == [
        "510000",
        "511600",
        "511602",
        "511602001000",
    ]
    assert service.children(loaded, parent_code="511602001000") == [village]
    # 东莞's towns hang directly from the prefecture.
    assert service.add_region(loaded, code="441900003000", name="测试镇").parent_code == "441900"
    added = loaded.scalars(select(Event).where(Event.action == "region.added")).all()
    assert _events(loaded) == events_before + 4
    assert added[0].resource_id == "511602001000" and added[0].channel == "cli"
    assert added[0].data["parent"] == "511602"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"code": "51160200100x", "name": "x"}, "code"),
        ({"code": "511602", "name": "x"}, "code"),  # a county cannot be added
        ({"code": "511699001000", "name": "x"}, "code"),  # unknown county
        ({"code": "511602009001", "name": "x"}, "code"),  # unknown township
        ({"code": "511600001000", "name": "x"}, "code"),  # prefecture with counties
        ({"code": "511602001000", "name": "  "}, "name"),
        ({"code": "511602001000", "name": "长" * 65}, "name"),
        ({"code": "511602001000", "name": "x", "urban_rural": "suburban"}, "urban_rural"),
    ],
)
def test_add_region_rejects_bad_input_without_writing(
    loaded: Session, kwargs: dict[str, Any], field: str
) -> None:
    regions, events = _count(loaded), _events(loaded)
    with pytest.raises(Invalid) as info:
        service.add_region(loaded, **kwargs)
    assert field in {e.field for e in info.value.errors}
    assert (_count(loaded), _events(loaded)) == (regions, events)


def test_add_region_reports_every_wrong_field(loaded: Session) -> None:
    with pytest.raises(Invalid) as info:
        service.add_region(loaded, code="nope", name="", urban_rural="x")
    assert {e.field for e in info.value.errors} == {"code", "name", "urban_rural"}


def test_add_region_duplicate_is_conflict(loaded: Session) -> None:
    service.add_region(loaded, code="511602001000", name="测试街道")
    regions, events = _count(loaded), _events(loaded)
    with pytest.raises(Conflict, match="511602001000"):
        service.add_region(loaded, code="511602001", name="另一个")
    assert (_count(loaded), _events(loaded)) == (regions, events)


def test_override_survives_reload_and_reload_repairs_the_rest(loaded: Session) -> None:
    region = service.set_urban_rural(loaded, code="511621", urban_rural="urban", actor_id=7)
    assert (region.urban_rural, region.urban_rural_overridden) == ("urban", True)
    event = loaded.scalars(select(Event).where(Event.action == "region.urban_rural_set")).one()
    assert (event.resource_id, event.actor_id, event.data) == (
        "511621",
        7,
        {"from": "rural", "to": "urban"},
    )
    # Someone damaged a built-in row by hand; the reload puts it back and keeps the override.
    loaded.execute(
        update(Region).where(Region.code == "511602").values(name="x", urban_rural="rural")
    )
    assert service.load_builtin(loaded) == 3348
    loaded.expire_all()
    assert service.get(loaded, code="511621").urban_rural == "urban"
    repaired = service.get(loaded, code="511602")
    assert (repaired.name, repaired.urban_rural) == ("广安区", "urban")
    last = loaded.scalars(select(Event).order_by(Event.id.desc()).limit(1)).one()
    assert (last.action, last.data["inserted"], last.data["updated"]) == ("regions.loaded", 0, 1)


def test_set_urban_rural_rejects_bad_values(loaded: Session) -> None:
    events = _events(loaded)
    with pytest.raises(Invalid) as info:
        service.set_urban_rural(loaded, code="511621", urban_rural="city")
    assert info.value.errors[0].field == "urban_rural"
    with pytest.raises(NotFound):
        service.set_urban_rural(loaded, code="511699", urban_rural="urban")
    assert _events(loaded) == events
    assert service.get(loaded, code="511621").urban_rural_overridden is False
