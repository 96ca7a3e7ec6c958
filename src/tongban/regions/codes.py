"""Pure rules on the structure of division codes (GB/T 2260 and the NBS 12-digit extension).

A code has five segments: province (2 digits), prefecture (2), county (2), township (3) and
village (3). A division's *significant prefix* is the code up to its last non-zero segment;
one division lies inside another exactly when the other's significant prefix starts it.

Canonical forms: provinces, prefectures and counties are 6 digits (110000, 110100, 110101);
townships and villages are 12 digits (110101001000, 110101001001). A 12-digit code whose last
six digits are zero is the same division as its 6-digit form.

Two real irregularities are kept: the pseudo-prefectures (1101 "市辖区", 4290 "省直辖县级行政区划")
are ordinary prefecture codes, and a few prefecture-level cities have no counties (东莞 441900,
中山 442000, 儋州 460400), so their townships carry a zero county segment (441900003000) and hang
directly below the prefecture.
"""

from __future__ import annotations

from tongban.platform.errors import FieldError, Invalid
from tongban.regions.models import Level

# (start, end) of each segment in the 12-digit form, and the level it stands for.
_SEGMENTS: tuple[tuple[int, int, Level], ...] = (
    (0, 2, Level.PROVINCE),
    (2, 4, Level.PREFECTURE),
    (4, 6, Level.COUNTY),
    (6, 9, Level.TOWNSHIP),
    (9, 12, Level.VILLAGE),
)
_ACCEPTED_LENGTHS = (2, 4, 6, 9, 12)
_FORMAT_HINT = (
    "must be 6 digits (province 110000, prefecture 110100, county 110101) "
    "or 12 digits (township 110101001000, village 110101001001)"
)


def _malformed(code: object, field: str, why: str) -> Invalid:
    return Invalid(f"Region code {code!r} is malformed: {why}.", errors=[FieldError(field, why)])


def _canonical(full: str) -> str:
    return full[:6] if full[6:] == "000000" else full


def validate_code(code: str, *, field: str = "code") -> str:
    """Check a division code's structure and return its canonical 6- or 12-digit form."""
    if not isinstance(code, str):
        raise _malformed(code, field, _FORMAT_HINT)
    raw = code.strip()
    # isdigit() alone would accept full-width and other Unicode digits.
    if not (raw.isascii() and raw.isdigit() and len(raw) in _ACCEPTED_LENGTHS):
        raise _malformed(code, field, _FORMAT_HINT)
    full = raw.ljust(12, "0")
    province, prefecture, _county, township, village = (full[a:b] for a, b, _ in _SEGMENTS)
    if province == "00":
        raise _malformed(code, field, "the province part (first 2 digits) must not be 00")
    if prefecture == "00" and full[4:] != "00000000":
        raise _malformed(
            code, field, "a code below a province needs a prefecture part (digits 3-4)"
        )
    if township == "000" and village != "000":
        raise _malformed(code, field, "a village code needs a township part (digits 7-9)")
    return _canonical(full)


def _significant_end(full: str) -> int:
    end = 0
    for start, stop, _ in _SEGMENTS:
        if full[start:stop].strip("0"):
            end = stop
    return end


def level_of(code: str) -> Level:
    """The level a code stands for, from its structure alone."""
    full = validate_code(code).ljust(12, "0")
    end = _significant_end(full)
    return next(level for _, stop, level in _SEGMENTS if stop == end)


def significant_prefix(code: str) -> str:
    """The code up to its last non-zero segment (11, 1101, 110101, 110101001, …)."""
    full = validate_code(code).ljust(12, "0")
    return full[: _significant_end(full)]


def ancestor_codes(code: str) -> list[str]:
    """Canonical codes of every division above `code`, province first, from structure alone."""
    full = validate_code(code).ljust(12, "0")
    end = _significant_end(full)
    result: list[str] = []
    for start, stop, _ in _SEGMENTS:
        if stop >= end:
            break
        # A zero segment is no division (东莞's townships have no county).
        if full[start:stop].strip("0"):
            result.append(_canonical(full[:stop].ljust(12, "0")))
    return result


def parent_code_of(code: str) -> str | None:
    """The canonical code of the division directly above `code` (None for a province)."""
    ancestors = ancestor_codes(code)
    return ancestors[-1] if ancestors else None


def contains(*, ancestor: str, code: str) -> bool:
    """Whether `code` lies in the subtree of `ancestor` (a division contains itself)."""
    prefix = significant_prefix(ancestor)
    return validate_code(code).ljust(12, "0").startswith(prefix)


def province_of(code: str) -> str:
    """The canonical 6-digit code of the province `code` belongs to."""
    return validate_code(code)[:2] + "0000"
