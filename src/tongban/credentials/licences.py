"""Licence types (data/licences.yaml), the 证照标识 with its check character, and the claims of
an e-licence after GB/T 36901–36905.

The 证照标识 is `1.2.156.3005.2.<证照类型代码>.<颁发机构代码>.<流水号>.<版本号>.<校验位>`.
Its check character is ISO/IEC 7064 MOD 37,36 (hybrid system, adopted in China as GB/T 17710)
over every character after the fixed prefix, dots left out. We chose it because the 颁发机构代码
is an 18-character unified social credit code with letters: a pure-digit scheme (Luhn, MOD 11)
would have to map letters first, MOD 37,36 reads 0-9A-Z as they are, gives a check character
in the same alphabet, and detects every single substitution and every transposition of two
adjacent characters — the errors of reading a number aloud or typing it from a card.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources as package_files
from typing import Any

import yaml

from tongban.platform.errors import Invalid

PREFIX = "1.2.156.3005.2"
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_M = 36

# The claim names of an e-licence and their GB/T 36903 field names (the pages label them).
CLAIM_LABELS: dict[str, tuple[str, str]] = {
    "licence_id": ("证照标识", "Licence identifier"),
    "licence_type_name": ("证照类型名称", "Licence type"),
    "licence_type_code": ("证照类型代码", "Licence type code"),
    "holder_name": ("持证主体", "Holder"),
    "holder_code": ("持证主体代码", "Holder's ID number"),
    "holder_code_type": ("持证主体代码类型", "Type of the holder's ID"),
    "issuer_name": ("颁发机构", "Issued by"),
    "issuer_code": ("颁发机构代码", "Issuer's code"),
    "issue_date": ("颁发日期", "Issued on"),
    "valid_from": ("有效期起始日期", "Valid from"),
    "valid_until": ("有效期截止日期", "Valid until"),
    "long_term": ("长期有效", "Valid without time limit"),
    "birth_date": ("出生日期", "Date of birth"),
    "sex": ("性别", "Sex"),
    "age_over_60": ("年满60周岁", "Aged 60 or over"),
    "age_over_65": ("年满65周岁", "Aged 65 or over"),
    "age_over_70": ("年满70周岁", "Aged 70 or over"),
    "portrait": ("照片", "Photo"),
    # Surface items from the application forms (the seed catalog's field labels).
    "bank": ("合作银行", "Bank"),
    "apply_kind": ("申领类型", "Kind of application"),
    "card_kind": ("证件形式", "Form of the card"),
    "residence_address": ("居住地址", "Address of residence"),
    "since": ("居住起始日期", "Living there since"),
    "baby_name": ("新生儿姓名", "Name of the newborn"),
    "birth_place": ("出生地点", "Place of birth"),
    "disability_kind": ("残疾类别", "Kind of disability"),
    "partner_name": ("另一方姓名", "Spouse"),
    "appointment_date": ("登记日期", "Date of registration"),
    "trade_name": ("个体工商户名称", "Trade name"),
    "business_scope": ("经营范围", "Business scope"),
    "premises": ("经营场所", "Premises"),
    "employment_status": ("就业状态", "Employment status"),
}
# Claims that are about the holder as a person: selectively disclosable.
PERSONAL = frozenset({"holder_name", "holder_code", "holder_code_type"})
# 持证主体代码类型 (GB/T 36903 code list): 居民身份证 / 统一社会信用代码.
HOLDER_CODE_TYPES = {"person": "111", "organisation": "001"}


def _value(char: str) -> int:
    index = _ALPHABET.find(char.upper())
    if index < 0:
        raise Invalid(f"{char!r} cannot be part of a licence identifier (0-9, A-Z only).")
    return index


def check_character(body: str) -> str:
    """ISO/IEC 7064 MOD 37,36 (GB/T 17710) check character of `body` (dots ignored)."""
    p = _M
    for char in body.replace(".", ""):
        s = (p + _value(char)) % _M or _M
        p = (s * 2) % (_M + 1)
    return _ALPHABET[(_M + 1 - p) % _M]


def check_ok(body_with_check: str) -> bool:
    """Whether the last character is the MOD 37,36 check character of what precedes it."""
    text = body_with_check.replace(".", "")
    try:
        return bool(text) and check_character(text[:-1]) == text[-1].upper()
    except Invalid:
        return False


def licence_id(*, type_code: str, issuer_code: str, serial: int, version: int = 1) -> str:
    """The 证照标识 of one licence."""
    body = f"{type_code}.{issuer_code.upper()}.{serial:09d}.{version:03d}"
    return f"{PREFIX}.{body}.{check_character(body)}"


def licence_id_ok(value: str) -> bool:
    """Whether a 证照标识 has the national prefix and a right check character."""
    if not value.startswith(PREFIX + "."):
        return False
    return check_ok(value[len(PREFIX) + 1 :])


@dataclass(frozen=True)
class LicenceType:
    """One licence type: which item yields it and what it carries."""

    item: str
    type_code: str
    name: str
    name_en: str
    vct: str
    validity_years: int | None
    holder: str
    surface: tuple[str, ...]
    materials: tuple[str, ...]


@lru_cache(maxsize=1)
def licence_types() -> tuple[LicenceType, ...]:
    """Every licence type of data/licences.yaml."""
    text = (
        package_files.files("tongban.credentials")
        .joinpath("data/licences.yaml")
        .read_text(encoding="utf-8")
    )
    rows: list[dict[str, Any]] = yaml.safe_load(text)["licences"]
    return tuple(
        LicenceType(
            item=str(row["item"]),
            type_code=str(row["type_code"]),
            name=row["name"],
            name_en=row["name_en"],
            vct=row["vct"],
            validity_years=row.get("validity_years"),
            holder=row.get("holder", "person"),
            surface=tuple(row.get("surface") or ()),
            materials=tuple(row.get("materials") or ()),
        )
        for row in rows
    )


def for_item(item_code: str | None) -> LicenceType | None:
    """The licence an item yields, or None."""
    return next((t for t in licence_types() if t.item == item_code), None)


def by_type_code(type_code: str) -> LicenceType | None:
    """The licence type with this code, or None."""
    return next((t for t in licence_types() if t.type_code == type_code), None)


def by_vct(vct: str) -> LicenceType | None:
    """The licence type with this vct, or None."""
    return next((t for t in licence_types() if t.vct == vct), None)


def for_material(material: str) -> list[LicenceType]:
    """The licence types that stand in for a checklist line (免证办)."""
    return [t for t in licence_types() if material in t.materials]


def add_years(day: date, years: int) -> date:
    """The same day `years` later (28 February for 29 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def age_on(birth: date, day: date) -> int:
    """Age in whole years on a day."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def surface_items(
    kind: LicenceType,
    *,
    birth_date: date | None,
    sex: str | None,
    form: dict[str, Any],
    today: date,
) -> dict[str, Any]:
    """The licence's 照面信息, from the holder's facts and the case's form."""
    items: dict[str, Any] = {}
    for name in kind.surface:
        if name.startswith("form:"):
            field_name = name.removeprefix("form:")
            value = form.get(field_name)
            if value not in (None, ""):
                items[field_name] = value
        elif name == "birth_date" and birth_date is not None:
            items["birth_date"] = birth_date.isoformat()
        elif name == "sex" and sex:
            items["sex"] = sex
        elif name.startswith("age_over_") and birth_date is not None:
            items[name] = age_on(birth_date, today) >= int(name.removeprefix("age_over_"))
    return items
