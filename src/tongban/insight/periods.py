"""Reporting periods: a year, a quarter, a month or an explicit range of dates."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from tongban.platform.errors import FieldError, Invalid


@dataclass(frozen=True)
class Period:
    """A closed range of Asia/Shanghai calendar days, with the label it was asked by."""

    label: str
    start: date
    end: date

    @property
    def kind(self) -> str:
        """year, quarter, month or range: how the period was asked (the readings name it)."""
        if re.fullmatch(r"\d{4}", self.label):
            return "year"
        if re.fullmatch(r"\d{4}-Q[1-4]", self.label):
            return "quarter"
        if re.fullmatch(r"\d{4}-\d{2}", self.label):
            return "month"
        return "range"

    def previous(self) -> Period:
        """The period just before, of the same kind (the quarter before, or as many days)."""
        if self.kind == "year":
            return parse_period(str(self.start.year - 1))
        if self.kind == "quarter":
            q = (self.start.month - 1) // 3 + 1
            year, q = (self.start.year - 1, 4) if q == 1 else (self.start.year, q - 1)
            return parse_period(f"{year}-Q{q}")
        if self.kind == "month":
            first = (self.start - timedelta(days=1)).replace(day=1)
            return parse_period(first.strftime("%Y-%m"))
        days = self.end - self.start
        end = self.start - timedelta(days=1)
        start = end - days
        return Period(f"{start.isoformat()}..{end.isoformat()}", start, end)

    def months(self) -> list[str]:
        """The YYYY-MM months the period touches, in order."""
        out, day = [], self.start.replace(day=1)
        while day <= self.end:
            out.append(day.strftime("%Y-%m"))
            day = (day + timedelta(days=32)).replace(day=1)
        return out


def _month_end(year: int, month: int) -> date:
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def _bad(value: str, why: str, field: str) -> Invalid:
    return Invalid(f"Impossible period {value!r}: {why}.", errors=[FieldError(field, why)])


def parse_period(value: str, *, field: str = "period") -> Period:
    """Parse 2026, 2026-Q3, 2026-07 or 2026-07-01..2026-09-30; Invalid names the field."""
    text = value.strip()
    try:
        if m := re.fullmatch(r"(\d{4})", text):
            year = int(m[1])
            return Period(text, date(year, 1, 1), date(year, 12, 31))
        if m := re.fullmatch(r"(\d{4})-?Q([1-4])", text, flags=re.IGNORECASE):
            year, q = int(m[1]), int(m[2])
            return Period(f"{year}-Q{q}", date(year, 3 * q - 2, 1), _month_end(year, 3 * q))
        if m := re.fullmatch(r"(\d{4})-(\d{2})", text):
            year, month = int(m[1]), int(m[2])
            return Period(text, date(year, month, 1), _month_end(year, month))
        if m := re.fullmatch(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})", text):
            start, end = date.fromisoformat(m[1]), date.fromisoformat(m[2])
            if end < start:
                raise _bad(value, "the period ends before it starts", field)
            return Period(text, start, end)
    except ValueError as exc:
        raise _bad(value, str(exc), field) from None
    raise _bad(value, "use 2026, 2026-Q3, 2026-07 or 2026-07-01..2026-09-30", field)
