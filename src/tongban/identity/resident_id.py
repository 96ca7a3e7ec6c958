"""Pure validators: resident ID (GB 11643), unified social credit code (GB 32100), phone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from tongban.platform.errors import FieldError, Invalid

# GB 11643-1999: ISO 7064 MOD 11-2 weights for the 17 body digits (2^(17-i) mod 11).
_ID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_ID_CHECK = "10X98765432"
# Province-level prefixes of GB/T 2260 (incl. Taiwan 71, Hong Kong 81, Macao 82).
_PROVINCES = frozenset(
    {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37"}
    | {"41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63"}
    | {"64", "65", "71", "81", "82"}
)

# GB 32100-2015: 31 characters, the digits and the capitals without I, O, Z, S, V.
USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {c: i for i, c in enumerate(USCC_CHARSET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

_PHONE = re.compile(r"1[3-9][0-9]{9}")


def _invalid(field: str, message: str) -> Invalid:
    return Invalid(message, errors=[FieldError(field, message)])


def resident_id_check_char(body: str) -> str:
    """The GB 11643 check character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def validate_resident_id(value: object, *, field: str = "resident_id") -> str:
    """Return the normalized 18-character resident ID, or raise Invalid naming the field."""
    if not isinstance(value, str):
        raise _invalid(field, "The resident ID number must be text.")
    text = value.strip().upper()
    if len(text) != 18:
        raise _invalid(field, "A resident ID number has 18 characters.")
    body, check = text[:17], text[17]
    if not body.isascii() or not body.isdigit() or check not in _ID_CHECK:
        raise _invalid(field, "A resident ID number is 17 digits and a digit or X.")
    if body[:2] not in _PROVINCES:
        raise _invalid(field, "The first six digits are not a region code.")
    try:
        born = date(int(body[6:10]), int(body[10:12]), int(body[12:14]))
    except ValueError:
        raise _invalid(field, "Digits 7 to 14 are not a valid birth date.") from None
    if born.year < 1880 or born > date.today():
        raise _invalid(field, "Digits 7 to 14 are not a possible birth date.")
    if resident_id_check_char(body) != check:
        raise _invalid(field, "The check digit does not match; please re-check the number.")
    return text


@dataclass(frozen=True)
class ResidentFacts:
    """What the number itself tells: birth date, sex and the region of first registration."""

    birth_date: date
    sex: str  # "M" or "F": GB 11643 digit 17 is odd for men
    region_code: str


def resident_facts(value: str) -> ResidentFacts:
    """Derive birth date, sex and region prefix from a valid resident ID."""
    text = validate_resident_id(value)
    return ResidentFacts(
        birth_date=date(int(text[6:10]), int(text[10:12]), int(text[12:14])),
        sex="M" if int(text[16]) % 2 else "F",
        region_code=text[:6],
    )


def mask_resident_id(value: str) -> str:
    """The display form: first 4 and last 4 characters, the rest as stars."""
    text = value.strip().upper()
    if len(text) <= 8:
        return "*" * len(text)
    return text[:4] + "*" * (len(text) - 8) + text[-4:]


def make_resident_id(*, region_code: str, birth: date, sequence: int) -> str:
    """Build a valid resident ID (demo and test data); odd sequence = man, even = woman."""
    body = f"{region_code}{birth:%Y%m%d}{sequence:03d}"
    return body + resident_id_check_char(body)


def uscc_check_char(body: str) -> str:
    """The GB 32100 check character for the first 17 characters."""
    total = sum(_USCC_VALUE[c] * w for c, w in zip(body, _USCC_WEIGHTS, strict=True))
    return USCC_CHARSET[(31 - total % 31) % 31]


def validate_uscc(value: object, *, field: str = "code") -> str:
    """Return the normalized unified social credit code, or raise Invalid naming the field."""
    if not isinstance(value, str):
        raise _invalid(field, "The unified social credit code must be text.")
    text = value.strip().upper()
    if len(text) != 18:
        raise _invalid(field, "A unified social credit code has 18 characters.")
    if any(c not in _USCC_VALUE for c in text):
        raise _invalid(field, "Only digits and capitals other than I, O, Z, S, V are allowed.")
    if not text[2:8].isdigit():
        raise _invalid(field, "Characters 3 to 8 must be the region code of registration.")
    if uscc_check_char(text[:17]) != text[17]:
        raise _invalid(field, "The check character does not match; please re-check the code.")
    return text


def make_uscc(*, body: str) -> str:
    """Complete a 17-character body with its GB 32100 check character (demo and test data)."""
    return body + uscc_check_char(body)


def validate_phone(value: object, *, field: str = "phone") -> str:
    """Return a mainland mobile number (11 digits starting 13-19), or raise Invalid."""
    if not isinstance(value, str):
        raise _invalid(field, "The phone number must be text.")
    text = value.strip().replace(" ", "").replace("-", "")
    if text.startswith("+86"):
        text = text[3:]
    if not _PHONE.fullmatch(text):
        raise _invalid(field, "A mobile number has 11 digits and starts with 13 to 19.")
    return text


def mask_phone(value: str) -> str:
    """The display form of a phone number: 138****0001."""
    return value[:3] + "****" + value[-4:] if len(value) >= 8 else "*" * len(value)
