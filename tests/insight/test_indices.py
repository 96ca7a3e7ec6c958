"""Equalization indices against hand-computed values and their known properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tongban.insight.indices import (
    coefficient_of_variation,
    gini,
    theil_decomposition,
    theil_l,
    theil_t,
)

# Hand-computed for y = 1, 2, 3, 4 (μ = 2.5):
#   Gini = ΣΣ|yi−yj| / (2n²μ) = 20 / (2·16·2.5) = 0.25
#   CV = sqrt(1.25) / 2.5 = 0.447214
#   Theil T = ¼[0.4 ln 0.4 + 0.8 ln 0.8 + 1.2 ln 1.2 + 1.6 ln 1.6] = 0.106440
#   Theil L = ¼[ln 2.5 + ln 1.25 + ln(2.5/3) + ln(2.5/4)] = 0.121777
VALUES = [1.0, 2.0, 3.0, 4.0]


def test_hand_computed_examples() -> None:
    assert gini(VALUES) == pytest.approx(0.25)
    assert coefficient_of_variation(VALUES) == pytest.approx(0.447214, abs=1e-6)
    assert theil_t(VALUES) == pytest.approx(0.106440, abs=1e-6)
    assert theil_l(VALUES) == pytest.approx(0.121777, abs=1e-6)


def test_two_regions_one_with_everything() -> None:
    # Two equal-population regions, one with zero service: Gini = 0.5.
    assert gini([0.0, 10.0]) == pytest.approx(0.5)


@pytest.mark.parametrize("index", [gini, coefficient_of_variation, theil_t, theil_l])
def test_perfect_equality_gives_zero(index) -> None:  # type: ignore[no-untyped-def]
    assert index([7.5] * 9) == pytest.approx(0.0, abs=1e-12)
    assert index([7.5] * 3, [1.0, 5.0, 100.0]) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("index", [gini, coefficient_of_variation, theil_t, theil_l])
def test_unit_weights_give_unweighted_value(index) -> None:  # type: ignore[no-untyped-def]
    assert index(VALUES, [1.0] * 4) == pytest.approx(index(VALUES))


@pytest.mark.parametrize("index", [gini, coefficient_of_variation, theil_t, theil_l])
def test_integer_weights_equal_repeated_values(index) -> None:  # type: ignore[no-untyped-def]
    # A region of population 2 counts like two regions of population 1.
    assert index([1.0, 3.0], [2.0, 1.0]) == pytest.approx(index([1.0, 1.0, 3.0]))


def test_scale_invariance() -> None:
    for index in (gini, coefficient_of_variation, theil_t, theil_l):
        assert index([v * 1000 for v in VALUES]) == pytest.approx(index(VALUES))


def test_decomposition_adds_up() -> None:
    values = [3.0, 4.0, 5.0, 9.0, 10.0, 12.0, 2.0]
    groups = ["east", "east", "central", "west", "west", "west", "northeast"]
    weights = [10.0, 20.0, 5.0, 8.0, 3.0, 1.0, 7.0]
    parts = theil_decomposition(values, groups, weights)
    assert parts.total == pytest.approx(theil_t(values, weights))
    assert parts.between + parts.within == pytest.approx(parts.total)
    assert 0.0 <= parts.between_share <= 1.0


def test_decomposition_with_equal_group_means_is_all_within() -> None:
    parts = theil_decomposition([1.0, 3.0, 1.0, 3.0], ["a", "a", "b", "b"])
    assert parts.between == pytest.approx(0.0, abs=1e-12)
    assert parts.within == pytest.approx(parts.total)


def test_decomposition_with_equal_values_inside_groups_is_all_between() -> None:
    parts = theil_decomposition([1.0, 1.0, 3.0, 3.0], ["a", "a", "b", "b"])
    assert parts.within == pytest.approx(0.0, abs=1e-12)
    assert parts.between_share == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("values", "weights"),
    [
        ([], None),
        ([1.0, 2.0], [1.0]),
        ([1.0, -2.0], None),
        ([1.0, math.nan], None),
        ([1.0, 2.0], [0.0, 0.0]),
        ([1.0, 2.0], [-1.0, 2.0]),
    ],
)
def test_bad_input_is_refused(values: list[float], weights: list[float] | None) -> None:
    with pytest.raises(ValueError):
        gini(values, weights)


def test_theil_needs_positive_values() -> None:
    with pytest.raises(ValueError):
        theil_t([0.0, 1.0])
    with pytest.raises(ValueError):
        theil_l([0.0, 1.0])


positive = st.floats(min_value=0.01, max_value=1e6, allow_nan=False)


@given(st.lists(positive, min_size=1, max_size=40))
def test_gini_matches_the_double_sum_definition(values: list[float]) -> None:
    n = len(values)
    mean = sum(values) / n
    expected = sum(abs(a - b) for a in values for b in values) / (2 * n * n * mean)
    assert gini(values) == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert 0.0 <= gini(values) < 1.0


@given(st.lists(st.tuples(positive, st.sampled_from("abcd"), positive), min_size=1, max_size=30))
def test_decomposition_always_adds_up(rows: list[tuple[float, str, float]]) -> None:
    values = [r[0] for r in rows]
    groups = [r[1] for r in rows]
    weights = [r[2] for r in rows]
    parts = theil_decomposition(values, groups, weights)
    assert parts.between + parts.within == pytest.approx(parts.total, rel=1e-9, abs=1e-12)
    assert parts.between >= -1e-12
    assert theil_l(values, weights) >= 0.0
