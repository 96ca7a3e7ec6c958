"""Pydantic shapes of the regions API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tongban.regions.service import RegionView

UrbanRuralValue = Literal["urban", "rural"]


class RegionBase(BaseModel):
    """Fields shared by every region shape."""

    code: str = Field(description="Canonical code: 6 digits, or 12 for townships and villages.")
    name: str


class RegionCreate(BaseModel):
    """A township (9-digit prefix, 12-digit code) or village (12 digits) to add."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(examples=["110101001000"])
    name: str = Field(examples=["东华门街道"])
    urban_rural: UrbanRuralValue | None = Field(
        default=None,
        description="Default: from the name (街道 urban, 乡 rural), else the parent's.",
    )


class RegionUpdate(BaseModel):
    """An operator's override of the urban/rural class."""

    model_config = ConfigDict(extra="forbid")

    urban_rural: UrbanRuralValue


class RegionRead(RegionBase):
    """A division as the API shows it; `parent` is the parent's code."""

    level: str
    zone: str
    urban_rural: str
    parent: str | None
    population: int | None

    @classmethod
    def of(cls, region: RegionView) -> RegionRead:
        """The API shape of a division."""
        return cls(
            code=region.code,
            name=region.name,
            level=region.level,
            zone=region.zone,
            urban_rural=region.urban_rural,
            parent=region.parent_code,
            population=region.population,
        )


class RegionList(BaseModel):
    """A list of divisions with its length."""

    items: list[RegionRead]
    total: int

    @classmethod
    def of(cls, regions: list[RegionView]) -> RegionList:
        """The API shape of a list of divisions."""
        return cls(items=[RegionRead.of(r) for r in regions], total=len(regions))
