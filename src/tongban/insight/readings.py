"""One-line readings of the figures, in Chinese and English ("西部 与 东部 的平均办理时长差距为 …").

An index alone (Gini 0.08, Theil 0.012) tells an operator little; a sentence that names the
groups, the gap, its unit and how it moved since the period before tells them what to act on.
The rules are data: which groups to compare on which measure (GAPS), which indices to read
(INDICES), and the words for each (MEASURES, GROUP_NAMES, GINI_BANDS, PREVIOUS). Both languages
sit side by side in the tables because the readings go to the report and the API as well as to
the page, where no request language exists; the dashboard shows the one of its page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# A group with fewer cases in the period gives no reading: a gap between 3 and 4 cases is noise.
MIN_GROUP_CASES = 20
# Below this a change is "the same" (days; shares use percentage points, Gini its own unit).
STEADY = {"days": 0.05, "share": 0.005, "index": 0.002}


@dataclass(frozen=True)
class Measure:
    """A metric as a reading names it: its words, its unit and which way is better."""

    zh: str
    en: str
    unit: str  # days | share
    lower_is_better: bool


MEASURES: dict[str, Measure] = {
    "mean_days": Measure("平均办理时长", "mean handling time", "days", True),
    "fully_online": Measure("全程网办占比", "share handled fully online", "share", False),
    "on_time": Measure("按时办结率", "on-time rate", "share", False),
    "satisfaction": Measure("满意率", "satisfaction rate", "share", False),
}

GROUP_NAMES: dict[tuple[str, str], tuple[str, str]] = {
    ("zone", "east"): ("东部", "the East"),
    ("zone", "central"): ("中部", "the Centre"),
    ("zone", "west"): ("西部", "the West"),
    ("zone", "northeast"): ("东北", "the Northeast"),
    ("urban_rural", "urban"): ("城市", "urban areas"),
    ("urban_rural", "rural"): ("农村", "rural areas"),
    ("age", "under_60"): ("60岁以下的申请人", "applicants under 60"),
    ("age", "60_plus"): ("60岁及以上的申请人", "applicants aged 60 and over"),
    ("age", "80_plus"): ("80岁及以上的申请人", "applicants aged 80 and over"),
}

# (reading id, group, measure, first, second): "worst"/"best" pick the groups by the measure.
GAPS: tuple[tuple[str, str, str, str, str], ...] = (
    ("zone_days", "zone", "mean_days", "worst", "best"),
    ("zone_online", "zone", "fully_online", "worst", "best"),
    ("rural_days", "urban_rural", "mean_days", "rural", "urban"),
    ("rural_online", "urban_rural", "fully_online", "rural", "urban"),
    ("age60_online", "age", "fully_online", "60_plus", "under_60"),
    ("age80_online", "age", "fully_online", "80_plus", "under_60"),
    ("age60_satisfaction", "age", "satisfaction", "60_plus", "under_60"),
)

GAP_GROUPS = tuple(dict.fromkeys(group for _, group, *_ in GAPS))

# (reading id, level, measure): the Gini of the measure across the divisions of the level
# (counties with enough cases, provinces weighted by population), read against GINI_BANDS.
INDICES: tuple[tuple[str, str, str], ...] = (
    ("gini_days", "county", "mean_days"),
    ("gini_online", "county", "fully_online"),
    ("gini_days_provinces", "province", "mean_days"),
    ("gini_online_provinces", "province", "fully_online"),
)
LEVELS: dict[str, tuple[str, str]] = {
    "county": ("各县", "counties"),
    "province": ("各省", "provinces"),
}
# The usual reading of a Gini coefficient (below 0.2 very even … 0.4 and above large gaps).
GINI_BANDS: tuple[tuple[float, str, str], ...] = (
    (0.2, "差距很小", "very even"),
    (0.3, "差距较小", "fairly even"),
    (0.4, "差距中等", "moderate gaps"),
    (float("inf"), "差距较大", "large gaps"),
)
# (reading id, measure, group): the between-group share of the county Theil T.
SPLITS: tuple[tuple[str, str, str], ...] = (("split_days_zone", "mean_days", "zone"),)

PREVIOUS: dict[str, tuple[str, str]] = {
    "quarter": ("上季度", "the previous quarter"),
    "month": ("上月", "the previous month"),
    "year": ("上年", "the previous year"),
    "range": ("前一期", "the previous period"),
}

TEXTS: dict[str, tuple[str, str]] = {
    "gap": (
        "{a} 与 {b} 的{measure}差距为 {gap}（{va} 对 {vb}）{change}。",
        "The gap in {measure} between {a} and {b} is {gap} ({va} vs {vb}){change}.",
    ),
    "gini": (
        "{where}{measure}的基尼系数为 {value}，{band}{change}。",
        "The Gini coefficient of the {measure} across {where} is {value}: {band}{change}.",
    ),
    "split": (
        "各县{measure}的差距中，{share} 来自四大区域之间，其余来自区域内部。",
        "Of the differences in {measure} between counties, {share} lie between the four zones "
        "and the rest within them.",
    ),
    "narrower": ("，比{previous}缩小 {delta}", ", {delta} narrower than {previous}"),
    "wider": ("，比{previous}扩大 {delta}", ", {delta} wider than {previous}"),
    "steady": ("，与{previous}持平", ", the same as {previous}"),
    "more_even": ("，比{previous}下降 {delta}", ", {delta} lower than {previous}"),
    "less_even": ("，比{previous}上升 {delta}", ", {delta} higher than {previous}"),
}


def _amount(value: float, unit: str, lang: int) -> str:
    if unit == "days":
        return f"{value:.1f} 个工作日" if lang == 0 else f"{value:.1f} working days"
    if unit == "points":
        return f"{value * 100:.1f} 个百分点" if lang == 0 else f"{value * 100:.1f} points"
    if unit == "share":
        return f"{value * 100:.1f}%"
    return f"{value:.3f}"


def _figure(value: float, unit: str) -> str:
    return f"{value * 100:.1f}%" if unit == "share" else f"{value:.1f}"


def _change(
    now: float, before: float | None, *, unit: str, words: tuple[str, str], kind: str
) -> tuple[str, str]:
    """The clause saying how a gap (or an index) moved since the period before."""
    if before is None:
        return "", ""
    delta = now - before
    gap_unit = "points" if unit == "share" else unit
    if abs(delta) < STEADY["index" if unit == "index" else unit]:
        key = "steady"
    elif kind == "gap":
        key = "narrower" if delta < 0 else "wider"
    else:
        key = "more_even" if delta < 0 else "less_even"
    zh, en = TEXTS[key]
    return (
        zh.format(previous=words[0], delta=_amount(abs(delta), gap_unit, 0)),
        en.format(previous=words[1], delta=_amount(abs(delta), gap_unit, 1)),
    )


def _rows(groups: Mapping[str, Sequence[Mapping[str, Any]]], group: str, metric: str) -> dict:
    return {
        str(r["value"]): float(r[metric])
        for r in groups.get(group, [])
        if r.get(metric) is not None and (r.get("cases") or 0) >= MIN_GROUP_CASES
    }


def _pair(values: dict[str, float], first: str, second: str, measure: Measure) -> tuple[str, str]:
    if first != "worst":
        return first, second
    ranked = sorted(values, key=lambda v: values[v], reverse=not measure.lower_is_better)
    return ranked[-1], ranked[0]  # the worst, then the best


def _gap(
    values: dict[str, float], first: str, second: str, measure: Measure
) -> tuple[str, str, float] | None:
    if len(values) < 2:
        return None
    a, b = _pair(values, first, second, measure)
    if a not in values or b not in values or a == b:
        return None
    return a, b, abs(values[a] - values[b])


def gap_readings(
    groups: Mapping[str, Sequence[Mapping[str, Any]]],
    previous: Mapping[str, Sequence[Mapping[str, Any]]] | None,
    *,
    period_kind: str,
) -> list[dict[str, str]]:
    """The GAPS rules on the group figures (and those of the period before, if known)."""
    words = PREVIOUS.get(period_kind, PREVIOUS["range"])
    out = []
    for rid, group, metric, first, second in GAPS:
        measure = MEASURES[metric]
        values = _rows(groups, group, metric)
        found = _gap(values, first, second, measure)
        if found is None:
            continue
        a, b, gap = found
        before = None
        if previous is not None:
            old = _rows(previous, group, metric)
            if a in old and b in old:
                before = abs(old[a] - old[b])
        gap_unit = "points" if measure.unit == "share" else measure.unit
        change = _change(gap, before, unit=measure.unit, words=words, kind="gap")
        texts = [
            TEXTS["gap"][lang].format(
                a=GROUP_NAMES.get((group, a), (a, a))[lang],
                b=GROUP_NAMES.get((group, b), (b, b))[lang],
                measure=(measure.zh, measure.en)[lang],
                gap=_amount(gap, gap_unit, lang),
                va=_figure(values[a], measure.unit),
                vb=_figure(values[b], measure.unit),
                change=change[lang],
            )
            for lang in (0, 1)
        ]
        out.append({"id": rid, "group": group, "zh": texts[0], "en": texts[1]})
    return out


def _gini(indices: Sequence[Mapping[str, Any]] | None) -> dict[str, float]:
    return {
        r["metric"]: float(r["gini"])
        for r in indices or []
        if (r.get("n") or 0) >= 2 and r.get("gini") is not None
    }


def index_readings(
    indices: Mapping[str, Sequence[Mapping[str, Any]]],
    previous: Mapping[str, Sequence[Mapping[str, Any]] | None],
    decompositions: Sequence[Mapping[str, Any]],
    *,
    period_kind: str,
) -> list[dict[str, str]]:
    """The INDICES and SPLITS rules on the indices (by level) and Theil decompositions."""
    words = PREVIOUS.get(period_kind, PREVIOUS["range"])
    out = []
    for rid, level, metric in INDICES:
        value = _gini(indices.get(level)).get(metric)
        if value is None:
            continue
        band = next(b for b in GINI_BANDS if value < b[0])
        before = _gini(previous.get(level)).get(metric)
        change = _change(value, before, unit="index", words=words, kind="index")
        measure = MEASURES[metric]
        texts = [
            TEXTS["gini"][lang].format(
                where=LEVELS[level][lang],
                measure=(measure.zh, measure.en)[lang],
                value=f"{value:.3f}",
                band=band[1 + lang],
                change=change[lang],
            )
            for lang in (0, 1)
        ]
        out.append({"id": rid, "group": "county", "zh": texts[0], "en": texts[1]})
    for rid, metric, group in SPLITS:
        split = next(
            (d for d in decompositions if d["metric"] == metric and d["group"] == group), None
        )
        if split is None or not split.get("total"):
            continue
        measure = MEASURES[metric]
        share = f"{split['between_share'] * 100:.0f}%"
        texts = [
            TEXTS["split"][lang].format(measure=(measure.zh, measure.en)[lang], share=share)
            for lang in (0, 1)
        ]
        out.append({"id": rid, "group": group, "zh": texts[0], "en": texts[1]})
    return out
