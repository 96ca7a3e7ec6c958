"""Which implementation of an item is the applicant's (issue #13, item 8): implementations in
the order of the places a person's case usually belongs to, a region picker (province → city →
county) for items offered in many places, and whether an implementation can be applied for
online.

The places, most telling first: the applicant's 户籍 (the county in their resident ID), the
region of their profile, the clerk's service point. An implementation belongs to a place when
its region is that place or one of its ancestors (a city's authority serves its counties); the
nearer the better. Plain functions over anything with a `region_code`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol, TypeVar

from tongban.regions.service import significant_prefix

# The channels (办理形式) that mean an application can be sent online.
ONLINE_FORMS = frozenset({"网上办理", "掌上办理"})
# More implementations than this: the page shows the nearest ones and a region picker.
PICKER_THRESHOLD = 10


class Placed(Protocol):
    """Anything with a region code (an implementation, a Read of one)."""

    @property
    def region_code(self) -> str: ...


P = TypeVar("P", bound=Placed)


def offers_online(handling_forms: Iterable[str] | None) -> bool:
    """Whether an implementation's channels include applying online (网上办理 or 掌上办理)."""
    return any(form in ONLINE_FORMS for form in handling_forms or ())


def places(*codes: str | None) -> list[str]:
    """The places to order by, most telling first, without blanks or repeats."""
    return list(dict.fromkeys(c for c in codes if c))


def closeness(region_code: str, wanted: Sequence[str]) -> tuple[int, int]:
    """How near an implementation's region is to the wanted places: (which place it serves,
    first is best; minus the length of its significant prefix, nearer is better); (len, 0)
    when it serves none of them."""
    prefix = significant_prefix(region_code)
    for rank, place in enumerate(wanted):
        if place.startswith(prefix):
            return rank, -len(prefix)
    return len(wanted), 0


def order_by_place(items: Sequence[P], wanted: Sequence[str]) -> list[P]:
    """The implementations in the order of the wanted places, the others after them by code."""
    return sorted(items, key=lambda i: (closeness(i.region_code, wanted), i.region_code))


def nearest(items: Sequence[P], wanted: Sequence[str]) -> list[P]:
    """The implementations that serve one of the wanted places, best first."""
    return [
        i
        for i in order_by_place(items, wanted)
        if closeness(i.region_code, wanted)[0] < len(wanted)
    ]


def pick_level(code: str) -> str:
    """A picker's region code as a prefix: 2 digits (province), 4 (city) or 6 (county)."""
    value = "".join(ch for ch in code if ch.isdigit())[:6]
    return value if len(value) in (2, 4, 6) else ""


def within(items: Sequence[P], prefix: str) -> list[P]:
    """The implementations whose region lies in the picked province, city or county."""
    return [i for i in items if i.region_code.startswith(prefix)]


def next_level(items: Sequence[P], prefix: str) -> list[tuple[str, int]]:
    """The regions one level below `prefix` ("" for the country) that hold implementations,
    each as (its 6-digit code, how many), in code order; implementations at the level itself
    are not counted (the page lists them)."""
    width = {0: 2, 2: 4, 4: 6}.get(len(prefix))
    if width is None:
        return []
    counts: dict[str, int] = {}
    for item in items:
        code = item.region_code[:6]
        if not code.startswith(prefix) or len(significant_prefix(code)) <= len(prefix):
            continue
        key = code[:width].ljust(6, "0")
        counts[key] = counts.get(key, 0) + 1
    return sorted(counts.items())
