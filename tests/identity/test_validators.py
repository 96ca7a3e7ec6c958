"""Resident ID (GB 11643), credit code (GB 32100) and phone validators, with properties."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tongban.identity.resident_id import (
    USCC_CHARSET,
    make_resident_id,
    make_uscc,
    mask_phone,
    mask_resident_id,
    resident_facts,
    validate_phone,
    validate_resident_id,
    validate_uscc,
)
from tongban.platform.errors import Invalid

PREFIXES = ["110105", "440305", "511602", "650102", "820000"]
resident_ids = st.builds(
    lambda region, born, seq: make_resident_id(region_code=region, birth=born, sequence=seq),
    st.sampled_from(PREFIXES),
    st.dates(min_value=date(1900, 1, 1), max_value=date.today()),
    st.integers(min_value=0, max_value=999),
)
credit_codes = st.builds(
    lambda head, region, org: make_uscc(body=head + region + org),
    st.text(alphabet=USCC_CHARSET, min_size=2, max_size=2),
    st.text(alphabet="0123456789", min_size=6, max_size=6),
    st.text(alphabet=USCC_CHARSET, min_size=9, max_size=9),
)


def test_published_example_passes_and_normalizes_lowercase_x() -> None:
    # The example number printed in GB 11643-1999.
    assert validate_resident_id("11010519491231002x") == "11010519491231002X"


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("11010519491231002", "18 characters"),
        ("1101051949123100 X", "17 digits"),
        ("110105194912310021", "check digit"),
        ("990105194912310021", "region code"),
        ("110105194902300021", "birth date"),
        ("１１０１０５１９４９１２３１００２X", "17 digits"),
    ],
)
def test_bad_resident_ids_name_the_field(value: str, fragment: str) -> None:
    with pytest.raises(Invalid) as caught:
        validate_resident_id(value)
    assert caught.value.errors[0].field == "resident_id"
    assert fragment in caught.value.errors[0].message


def test_future_birth_date_is_refused() -> None:
    number = make_resident_id(region_code="110105", birth=date(2999, 1, 1), sequence=1)
    with pytest.raises(Invalid, match="possible birth date"):
        validate_resident_id(number)


def test_mask_keeps_first_and_last_four() -> None:
    assert mask_resident_id("11010519491231002X") == "1101**********002X"
    assert mask_phone("13800000001") == "138****0001"


def test_facts_are_derived_from_the_number() -> None:
    man = make_resident_id(region_code="511602", birth=date(1950, 3, 15), sequence=11)
    woman = make_resident_id(region_code="511602", birth=date(1950, 3, 15), sequence=12)
    assert resident_facts(man).birth_date == date(1950, 3, 15)
    assert resident_facts(man).sex == "M"
    assert resident_facts(woman).sex == "F"
    assert resident_facts(man).region_code == "511602"


@given(st.text(max_size=30))
def test_random_text_never_crashes_resident_id(value: str) -> None:
    try:
        result = validate_resident_id(value)
    except Invalid as exc:
        assert exc.errors[0].field == "resident_id"
    else:
        assert len(result) == 18


@given(resident_ids)
def test_generated_resident_ids_pass(number: str) -> None:
    assert validate_resident_id(number) == number


@given(resident_ids, st.integers(min_value=0, max_value=17), st.sampled_from("0123456789X"))
def test_any_single_changed_character_fails(number: str, position: int, new: str) -> None:
    if position < 17 and new == "X":
        new = "7"
    if new == number[position]:
        new = "0" if number[position] != "0" else "1"
    changed = number[:position] + new + number[position + 1 :]
    with pytest.raises(Invalid):
        validate_resident_id(changed)


def test_published_credit_code_passes() -> None:
    assert validate_uscc(" 91350100m000100y43 ") == "91350100M000100Y43"


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("91350100M000100Y4", "18 characters"),
        ("91350100M000100Y44", "check character"),
        ("91350100M0001O0Y43", "other than I, O, Z, S, V"),
        ("913A0100M000100Y43", "region code"),
    ],
)
def test_bad_credit_codes_name_the_field(value: str, fragment: str) -> None:
    with pytest.raises(Invalid) as caught:
        validate_uscc(value, field="department_code")
    assert caught.value.errors[0].field == "department_code"
    assert fragment in caught.value.errors[0].message


@given(st.text(max_size=30))
def test_random_text_never_crashes_uscc(value: str) -> None:
    try:
        assert len(validate_uscc(value)) == 18
    except Invalid as exc:
        assert exc.errors[0].field == "code"


@given(credit_codes)
def test_generated_credit_codes_pass(code: str) -> None:
    assert validate_uscc(code) == code


@given(credit_codes, st.integers(min_value=0, max_value=17), st.sampled_from(USCC_CHARSET))
def test_any_single_changed_credit_code_character_fails(code: str, position: int, new: str) -> None:
    if new == code[position]:
        new = "0" if code[position] != "0" else "1"
    with pytest.raises(Invalid):
        validate_uscc(code[:position] + new + code[position + 1 :])


@pytest.mark.parametrize("value", ["13800000001", "+86 138-0000-0001", "19912345678"])
def test_valid_phones(value: str) -> None:
    assert validate_phone(value) in ("13800000001", "19912345678")


@pytest.mark.parametrize(
    "value", ["12800000001", "1380000000", "138000000012", "010-12345678", "１３８００００００01"]
)
def test_invalid_phones(value: str) -> None:
    with pytest.raises(Invalid) as caught:
        validate_phone(value)
    assert caught.value.errors[0].field == "phone"


@given(st.text(max_size=20))
def test_random_text_never_crashes_phone(value: str) -> None:
    try:
        result = validate_phone(value)
    except Invalid:
        return
    assert len(result) == 11 and result.isdigit()
