"""Indicators, equalization and same-item-same-standard on a hand-made dataset, on DuckDB and
PostgreSQL: the same Ibis expressions must give the same known answers on both."""

from __future__ import annotations

import math

import pytest

from tongban.insight import indicators as ind
from tongban.insight import indices, standardization
from tongban.insight.engine import Snapshot
from tongban.insight.periods import parse_period
from tongban.platform.errors import Invalid

Q3 = parse_period("2026-Q3")


def _row(df, code):  # type: ignore[no-untyped-def]
    return df.set_index("code").loc[code]


def test_county_indicators_have_the_known_values(snap: Snapshot) -> None:
    df = ind.by_region(snap, period=Q3, level="county")
    assert list(df["code"]) == ["110101", "511602", "511621"]
    a = _row(df, "110101")
    assert a["cases"] == 2 and a["mean_days"] == pytest.approx(3.0)
    assert a["on_time"] == pytest.approx(1.0) and a["fully_online"] == pytest.approx(0.5)
    assert a["away"] == pytest.approx(0.0) and a["visits"] == pytest.approx(0.5)
    assert a["materials"] == pytest.approx(3.0)
    assert a["satisfaction"] == pytest.approx(0.5) and a["rectification"] == pytest.approx(1.0)
    assert a["items"] == 1
    b = _row(df, "511602")
    assert b["away"] == pytest.approx(1.0) and b["on_time"] == pytest.approx(0.0)
    assert b["satisfaction"] == pytest.approx(0.0) and b["rectification"] == pytest.approx(0.0)
    assert b["items"] == 2  # its own A and the province's B
    c = _row(df, "511621")
    assert c["cases"] == 2 and c["completed"] == 1 and c["mean_days"] == pytest.approx(8.0)
    # The uncounted (appealed) rating is left out; no bad review, so no rectification rate.
    assert c["ratings"] == 1 and c["satisfaction"] == pytest.approx(1.0)
    assert math.isnan(c["rectification"])


def test_province_indicators_and_totals(snap: Snapshot) -> None:
    df = ind.by_region(snap, period=Q3, level="province")
    sc = _row(df, "510000")
    assert sc["cases"] == 3 and sc["mean_days"] == pytest.approx(7.0)
    assert sc["away"] == pytest.approx(1 / 3) and sc["items"] == pytest.approx(2.0)
    assert sc["population"] == 300 and sc["name"] == "四川省"
    totals = ind.totals(snap, period=Q3)
    assert totals["cases"] == 5 and totals["completed"] == 4
    assert totals["mean_days"] == pytest.approx(5.0)
    assert totals["p90_days"] == pytest.approx(7.4)  # continuous percentile of 2, 4, 6, 8
    assert totals["on_time"] == pytest.approx(0.5)
    assert totals["satisfaction"] == pytest.approx(0.5)
    assert totals["rectification"] == pytest.approx(0.5)
    sp = ind.by_region(snap, period=Q3, level="service_point")
    assert sorted(sp["code"]) == ["110101", "511602"]
    assert int(_row(sp, "511602")["cases"]) == 1


def test_groups_and_months(snap: Snapshot) -> None:
    ages = ind.by_group(snap, period=Q3, group="age_band").set_index("value")
    assert ages.loc["60+", "cases"] == 2 and ages.loc["60+", "mean_days"] == pytest.approx(5.0)
    assert ages.loc["18-29", "cases"] == 1
    channels = ind.by_group(snap, period=Q3, group="channel").set_index("value")
    assert dict(channels["cases"]) == {"assisted": 2, "online": 1, "proxy": 2}
    zones = ind.by_group(snap, period=Q3, group="zone").set_index("value")
    assert zones.loc["west", "satisfaction"] == pytest.approx(0.5)
    months = ind.monthly(snap, period=Q3)
    assert list(months["month"]) == ["2026-07", "2026-08", "2026-09"]
    assert list(months["cases"]) == [2, 1, 2]
    with pytest.raises(Invalid):
        ind.by_group(snap, period=Q3, group="colour")


def test_age_groups_overlap_and_carry_ratings(snap: Snapshot) -> None:
    ages = ind.by_group(snap, period=Q3, group="age").set_index("value")
    # Ages 30, 50, 20 under 60; 65 and 70 over; nobody 80 or over, so no such row.
    assert list(ages.index) == ["under_60", "60_plus"]
    assert ages.loc["under_60", "cases"] == 3 and ages.loc["60_plus", "cases"] == 2
    assert ages.loc["60_plus", "mean_days"] == pytest.approx(5.0)
    # Ratings get the applicant's age from the case: the two over 60 were both unhappy.
    assert ages.loc["60_plus", "ratings"] == 2 and ages.loc["60_plus", "satisfaction"] == 0.0
    assert ages.loc["under_60", "satisfaction"] == pytest.approx(1.0)
    urban = ind.by_group(snap, period=Q3, group="urban_rural").set_index("value")
    assert urban.loc["rural", "cases"] == 3 and urban.loc["urban", "cases"] == 2


def test_previous_periods() -> None:
    assert parse_period("2026-Q1").previous().label == "2025-Q4"
    assert parse_period("2026-03").previous().label == "2026-02"
    assert parse_period("2026").previous().label == "2025"
    days = parse_period("2026-07-01..2026-07-10").previous()
    assert (days.start.isoformat(), days.end.isoformat()) == ("2026-06-21", "2026-06-30")


def test_equalization_uses_the_indices(snap: Snapshot) -> None:
    df = ind.by_region(snap, period=Q3, level="province")
    result = {e["metric"]: e for e in ind.equalization(df, weight="population")}
    days = result["mean_days"]
    assert days["gini"] == pytest.approx(indices.gini([3.0, 7.0], [100, 300]))
    assert days["theil_t"] == pytest.approx(indices.theil_t([3.0, 7.0], [100, 300]))
    # on_time of 1.0 and 0.0: Theil needs positive values, Gini does not.
    assert result["on_time"]["theil_l"] is None and result["on_time"]["gini"] is not None
    counties = ind.by_region(snap, period=Q3, level="county")
    d = ind.decomposition(counties, metric="mean_days", group="zone", weight="cases")
    assert d is not None
    assert d["total"] == pytest.approx(d["between"] + d["within"])


def test_same_item_same_standard(snap: Snapshot) -> None:
    norms = standardization.item_norms(snap).set_index("item_code")
    assert norms.loc["A", "norm_materials"] == pytest.approx(3.0)
    assert norms.loc["A", "best_materials"] == 2
    assert norms.loc["A", "norm_online_depth"] == pytest.approx(5.0)
    assert norms.loc["A", "best_online_depth"] == 6
    scores = standardization.region_scores(snap, level="county").set_index("code")
    # Counties only: the province's own implementation (510000) is no county (issue #14).
    assert sorted(scores.index) == ["110101", "511602", "511621"]
    assert scores.loc["110101", "score"] == pytest.approx(100.0)
    # 4 > 3 materials (0.75), 10 > 5 days (0.5), fee ok, 1 > 0 visits (0), depth 4 < 5 (0.8)
    assert scores.loc["511602", "score"] == pytest.approx(61.0)
    assert scores.loc["511621", "score"] == pytest.approx(80.0)  # only the fee deviates
    devs = standardization.deviations(snap)
    assert list(devs["region_code"]) == ["511602", "511621"]
    first = devs.iloc[0]
    assert bool(first["dev_materials"]) and not bool(first["dev_fee"])
    assert int(first["deviations"]) == 4
    prov = standardization.region_scores(snap, level="province").set_index("code")
    assert prov.loc["510000", "score"] == pytest.approx((61 + 80 + 100) / 3)


def test_periods_and_levels() -> None:
    assert parse_period("2026-Q3").end.isoformat() == "2026-09-30"
    assert parse_period("2024-02").end.isoformat() == "2024-02-29"
    assert parse_period("2026").months()[-1] == "2026-12"
    for bad in ("2026-Q5", "2026-13", "2026-09-30..2026-07-01", "last year"):
        with pytest.raises(Invalid) as info:
            parse_period(bad)
        assert info.value.errors[0].field == "period"
    with pytest.raises(Invalid):
        ind.check_level("planet")
