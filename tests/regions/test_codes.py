"""Pure rules on code structure: validation, levels, ancestors and subtree containment."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tongban.platform.errors import Invalid
from tongban.regions.codes import (
    ancestor_codes,
    contains,
    level_of,
    parent_code_of,
    province_of,
    significant_prefix,
    validate_code,
)
from tongban.regions.models import Level

LEVELS = list(Level)
seg2 = st.integers(1, 99).map(lambda n: f"{n:02d}")
seg3 = st.integers(1, 999).map(lambda n: f"{n:03d}")


@st.composite
def codes(draw: st.DrawFn, level: Level | None = None) -> str:
    """A well-formed canonical code at a (random) level."""
    level = level or draw(st.sampled_from(LEVELS))
    province, prefecture = draw(seg2), draw(seg2)
    if level is Level.PROVINCE:
        return f"{province}0000"
    if level is Level.PREFECTURE:
        return f"{province}{prefecture}00"
    if level is Level.COUNTY:
        return f"{province}{prefecture}{draw(seg2)}"
    # Townships of prefectures without counties (东莞) carry a zero county part.
    county = draw(st.one_of(seg2, st.just("00")))
    township = draw(seg3)
    village = draw(seg3) if level is Level.VILLAGE else "000"
    return f"{province}{prefecture}{county}{township}{village}"


@st.composite
def relatives(draw: st.DrawFn) -> tuple[str, str]:
    """A code and a well-formed code near it: a prefix of it, maybe with one digit changed."""
    code = draw(codes())
    full = code.ljust(12, "0")
    cut = draw(st.sampled_from([2, 4, 6, 9, 12]))
    digits = list(full[:cut])
    if draw(st.booleans()):
        position = draw(st.integers(0, cut - 1))
        digits[position] = draw(st.sampled_from("0123456789"))
    other = "".join(digits).ljust(12, "0")
    try:
        other = validate_code(other)
    except Invalid:
        assume(False)
    return other, code


@given(codes())
def test_canonical_form_is_stable(code: str) -> None:
    assert validate_code(code) == code
    assert validate_code(code.ljust(12, "0")) == code
    assert len(code) in (6, 12)


@given(st.sampled_from(LEVELS).flatmap(lambda lv: st.tuples(st.just(lv), codes(lv))))
def test_level_follows_structure(pair: tuple[Level, str]) -> None:
    level, code = pair
    assert level_of(code) is level
    assert len(code) == (6 if level in (Level.PROVINCE, Level.PREFECTURE, Level.COUNTY) else 12)


@given(codes())
def test_ancestors_are_strictly_above_and_ordered(code: str) -> None:
    chain = ancestor_codes(code)
    depth = LEVELS.index(level_of(code))
    assert len(chain) in (depth, depth - 1)  # one fewer when the county part is zero
    assert [LEVELS.index(level_of(a)) for a in chain] == sorted(
        {LEVELS.index(level_of(a)) for a in chain}
    )
    for ancestor in chain:
        assert validate_code(ancestor) == ancestor
        assert contains(ancestor=ancestor, code=code)
        assert not contains(ancestor=code, code=ancestor)
    assert contains(ancestor=code, code=code)
    assert parent_code_of(code) == (chain[-1] if chain else None)
    assert province_of(code) == (chain[0] if chain else code)


@given(relatives())
def test_contains_agrees_with_ancestor_chain(pair: tuple[str, str]) -> None:
    other, code = pair
    expected = other == code or other in ancestor_codes(code)
    assert contains(ancestor=other, code=code) is expected


@given(codes(), codes())
def test_contains_is_antisymmetric_and_transitive(a: str, b: str) -> None:
    if contains(ancestor=a, code=b) and contains(ancestor=b, code=a):
        assert a == b
    for middle in [*ancestor_codes(b), b]:
        if contains(ancestor=a, code=middle):
            assert contains(ancestor=a, code=b)


@pytest.mark.parametrize(
    ("ancestor", "code", "expected"),
    [
        ("510000", "511602", True),  # province
        ("511600", "511602", True),  # prefecture
        ("511602", "511602001001", True),  # county → village
        ("511602001000", "511602001001", True),  # township → village
        ("511602001001", "511602001001", True),  # village itself
        ("511602001000", "511602002001", False),  # sibling township
        ("511602", "511603", False),  # sibling county
        ("510000", "520000", False),
        ("511602", "511600", False),  # a child does not contain its parent
        ("110000", "1101", True),  # short forms are accepted
        ("441900", "441900003000", True),  # 东莞's towns sit under the prefecture
        ("440000", "441900003000", True),
        ("441901", "441900003000", False),
        ("511602000000", "511602001000", True),  # 12-digit county form
    ],
)
def test_contains_examples(ancestor: str, code: str, expected: bool) -> None:
    assert contains(ancestor=ancestor, code=code) is expected


def test_ancestor_codes_examples() -> None:
    assert ancestor_codes("510000") == []
    assert ancestor_codes("511602") == ["510000", "511600"]
    assert ancestor_codes("511602001001") == ["510000", "511600", "511602", "511602001000"]
    assert ancestor_codes("441900003000") == ["440000", "441900"]
    assert significant_prefix("511602001000") == "511602001"
    assert province_of("511602001001") == "510000"


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "5",
        "51160",
        "5116021",
        "51160200100",
        "5116020010011",
        "abcdef",
        "51160a",
        "５１１６０２",  # full-width digits
        "000000",
        "001602",
        "510002",  # county part without a prefecture part
        "511602000001",  # village without a township
    ],
)
def test_malformed_codes_are_invalid(bad: str) -> None:
    with pytest.raises(Invalid) as info:
        validate_code(bad)
    assert info.value.errors[0].field == "code"
    assert repr(bad) in info.value.detail


@given(st.text(max_size=14))
def test_validate_code_never_crashes(text: str) -> None:
    try:
        canonical = validate_code(text)
    except Invalid:
        return
    assert canonical.isdigit() and len(canonical) in (6, 12)
