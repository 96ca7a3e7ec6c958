"""Equalization indices over regions or groups (population definitions, no small-sample correction).

Each function takes values yᵢ (e.g. mean waiting days per county) and optional weights wᵢ (e.g.
population). With weights, value i counts as a population share pᵢ = wᵢ/Σw; with no weights every
value counts 1/n. Definitions (unweighted form):

- Gini = ΣᵢΣⱼ|yᵢ−yⱼ| / (2n²μ)
- CV = population standard deviation / mean
- Theil T = (1/n) Σ (yᵢ/μ) ln(yᵢ/μ)
- Theil L = (1/n) Σ ln(μ/yᵢ)

Written by hand rather than taken from a library: the common packages (e.g. `inequality`,
`pysal`) use sample or grouped variants, drag in heavy dependencies, and do not decompose Theil
with weights; these few lines are checked against hand-computed examples in the tests.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

__all__ = [
    "TheilDecomposition",
    "coefficient_of_variation",
    "gini",
    "theil_decomposition",
    "theil_l",
    "theil_t",
]


@dataclass(frozen=True)
class TheilDecomposition:
    """Theil T split into the part between groups and the part within them."""

    total: float
    between: float
    within: float
    between_share: float


def _shares(values: Sequence[float], weights: Sequence[float] | None) -> list[float]:
    n = len(values)
    if n == 0:
        raise ValueError("at least one value is needed")
    if weights is None:
        return [1.0 / n] * n
    if len(weights) != n:
        raise ValueError("values and weights must have the same length")
    if any(w < 0 or not math.isfinite(w) for w in weights):
        raise ValueError("weights must be finite and non-negative")
    total = math.fsum(weights)
    if total <= 0:
        raise ValueError("weights must not all be zero")
    return [w / total for w in weights]


def _check_values(values: Sequence[float], *, positive: bool) -> None:
    for v in values:
        if not math.isfinite(v):
            raise ValueError("values must be finite")
        if positive and v <= 0:
            raise ValueError("Theil indices need strictly positive values")
        if v < 0:
            raise ValueError("values must be non-negative")


def _mean(values: Sequence[float], shares: Sequence[float]) -> float:
    mean = math.fsum(p * y for p, y in zip(shares, values, strict=True))
    if mean <= 0:
        raise ValueError("the mean must be positive")
    return mean


def gini(values: Sequence[float], weights: Sequence[float] | None = None) -> float:
    """Gini coefficient: ΣᵢΣⱼ pᵢpⱼ|yᵢ−yⱼ| / (2μ); 0 is perfect equality."""
    _check_values(values, positive=False)
    shares = _shares(values, weights)
    mean = _mean(values, shares)
    # Sorted cumulative form of the double sum: O(n log n) instead of O(n²).
    pairs = sorted(zip(values, shares, strict=True))
    cumulative_share = 0.0
    cumulative_mass = 0.0
    total = 0.0
    for y, p in pairs:
        # Σ over j<i of pᵢpⱼ(yᵢ−yⱼ) = pᵢ(yᵢ·P_<i − Σ_<i pⱼyⱼ)
        total += p * (y * cumulative_share - cumulative_mass)
        cumulative_share += p
        cumulative_mass += p * y
    return max(0.0, 2.0 * total / (2.0 * mean))


def coefficient_of_variation(
    values: Sequence[float], weights: Sequence[float] | None = None
) -> float:
    """Population standard deviation divided by the mean."""
    _check_values(values, positive=False)
    shares = _shares(values, weights)
    mean = _mean(values, shares)
    variance = math.fsum(p * (y - mean) ** 2 for p, y in zip(shares, values, strict=True))
    return math.sqrt(variance) / mean


def theil_t(values: Sequence[float], weights: Sequence[float] | None = None) -> float:
    """Theil T (GE(1)): Σ pᵢ (yᵢ/μ) ln(yᵢ/μ)."""
    _check_values(values, positive=True)
    shares = _shares(values, weights)
    mean = _mean(values, shares)
    return max(
        0.0,
        math.fsum(p * (y / mean) * math.log(y / mean) for p, y in zip(shares, values, strict=True)),
    )


def theil_l(values: Sequence[float], weights: Sequence[float] | None = None) -> float:
    """Theil L (mean log deviation, GE(0)): Σ pᵢ ln(μ/yᵢ)."""
    _check_values(values, positive=True)
    shares = _shares(values, weights)
    mean = _mean(values, shares)
    return max(0.0, math.fsum(p * math.log(mean / y) for p, y in zip(shares, values, strict=True)))


def theil_decomposition(
    values: Sequence[float],
    groups: Sequence[Hashable],
    weights: Sequence[float] | None = None,
) -> TheilDecomposition:
    """Theil T = between-group part + within-group part (e.g. east/central/west/northeast).

    between = Σ_g P_g (μ_g/μ) ln(μ_g/μ); within = Σ_g P_g (μ_g/μ) T_g, with P_g the group's
    population share, μ_g its mean and T_g its own Theil T.
    """
    if len(groups) != len(values):
        raise ValueError("values and groups must have the same length")
    _check_values(values, positive=True)
    shares = _shares(values, weights)
    mean = _mean(values, shares)
    members: dict[Hashable, list[int]] = {}
    for i, group in enumerate(groups):
        members.setdefault(group, []).append(i)
    between = 0.0
    within = 0.0
    for indexes in members.values():
        group_share = math.fsum(shares[i] for i in indexes)
        if group_share == 0:
            continue
        group_values = [values[i] for i in indexes]
        group_weights = [shares[i] for i in indexes]
        group_mean = math.fsum(shares[i] * values[i] for i in indexes) / group_share
        ratio = group_mean / mean
        between += group_share * ratio * math.log(ratio)
        within += group_share * ratio * theil_t(group_values, group_weights)
    total = theil_t(values, weights)
    return TheilDecomposition(
        total=total,
        between=between,
        within=within,
        between_share=between / total if total > 0 else 0.0,
    )
