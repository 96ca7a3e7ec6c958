"""Tables of the regions domain: one row per administrative division (GB/T 2260 code)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from tongban.platform.db import Base, UTCDateTime, utcnow


class Level(StrEnum):
    """The five levels of administration, from the code's structure."""

    PROVINCE = "province"
    PREFECTURE = "prefecture"
    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"


class Zone(StrEnum):
    """The four economic zones of the National Bureau of Statistics."""

    EAST = "east"
    CENTRAL = "central"
    WEST = "west"
    NORTHEAST = "northeast"


class UrbanRural(StrEnum):
    """Whether a division counts as urban or rural in equalization statistics."""

    URBAN = "urban"
    RURAL = "rural"


class Source(StrEnum):
    """Where a row came from: the shipped NBS list or an operator."""

    BUILTIN = "builtin"
    OPERATOR = "operator"


def _in(column: str, values: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class Region(Base):
    """An administrative division: province, prefecture, county, township or village."""

    __tablename__ = "regions"

    # 6 digits for province/prefecture/county (110000, 110100, 110101), 12 digits for
    # township/village (110101001000, 110101001001); see service.validate_code.
    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(16))
    parent_code: Mapped[str | None] = mapped_column(
        String(12), ForeignKey("regions.code"), index=True
    )
    zone: Mapped[str] = mapped_column(String(16))
    urban_rural: Mapped[str] = mapped_column(String(8))
    # Set when an operator chose urban_rural by hand, so that a reload keeps the choice.
    urban_rural_overridden: Mapped[bool] = mapped_column(Boolean, default=False)
    population: Mapped[int | None] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(16), default=Source.BUILTIN.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    __table_args__ = (
        CheckConstraint(_in("level", Level), name="level"),
        CheckConstraint(_in("zone", Zone), name="zone"),
        CheckConstraint(_in("urban_rural", UrbanRural), name="urban_rural"),
        CheckConstraint(_in("source", Source), name="source"),
    )

    def __repr__(self) -> str:
        return f"Region({self.code!r}, {self.name!r}, {self.level!r})"
