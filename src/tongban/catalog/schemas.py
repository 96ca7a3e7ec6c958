"""Pydantic shapes of the catalog: the exchange format (docs/catalog-format.md) and API reads."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from tongban.catalog.models import ItemType, LimitUnit, TongbanRange

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _no_control_chars(value: str) -> str:
    # PostgreSQL refuses NUL in text; other control characters are never meant in a catalog.
    if _CONTROL.search(value):
        raise ValueError("contains control characters")
    return value


def _region_to_str(value: Any) -> Any:
    # An unquoted region code in YAML is an int; region codes never start with 0, so the
    # conversion is lossless (unlike item codes, which must be quoted).
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=20000),
    AfterValidator(_no_control_chars),
]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_no_control_chars),
]
Short = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=128),
    AfterValidator(_no_control_chars),
]
Code = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9A-Za-z-]{4,40}$")]
ImplCode = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9A-Za-z._-]{4,80}$")
]
RegionCode = Annotated[
    str, BeforeValidator(_region_to_str), StringConstraints(pattern=r"^(\d{6}|\d{12})$")
]
Uscc = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=18)]

ServiceObject = Literal[
    "自然人", "企业法人", "事业法人", "社会组织法人", "非法人企业", "行政机关", "其他组织"
]
BodyNature = Literal["法定机关", "授权组织", "受委托组织"]
ExerciseLevel = Literal["国家", "省", "市", "县", "乡", "村"]
BusinessType = Literal["新办", "变更", "延续", "注销"]
CaseType = Literal["即办件", "承诺件", "联办件"]
MaterialFormat = Literal["original", "copy", "electronic"]

_REQUIRED = {
    True: "yes",
    False: "no",
    "true": "yes",
    "yes": "yes",
    "是": "yes",
    "false": "no",
    "no": "no",
    "否": "no",
    "conditional": "conditional",
    "容缺": "conditional",
    "条件": "conditional",
}


def _required(value: Any) -> Any:
    key = value.strip().lower() if isinstance(value, str) else value
    if isinstance(key, (bool, str)) and key in _REQUIRED:
        return _REQUIRED[key]
    raise ValueError("must be true, false or conditional")


class _Doc(BaseModel):
    # Unknown keys are errors: a misspelt field silently ignored would import wrong data.
    model_config = ConfigDict(extra="forbid")


class LimitIn(_Doc):
    """A time limit: value and unit, with an explanation."""

    value: int = Field(ge=0, le=3650)
    unit: LimitUnit
    note: Text = ""


class AuthorityIn(_Doc):
    """The implementing authority (实施机关)."""

    name: Short
    code: Uscc


def _cents(value: Decimal) -> Decimal:
    # 20, 20.0 and "20.00" are one amount: keep one form so re-imports compare equal.
    return value.quantize(Decimal("0.01"))


class FeeIn(_Doc):
    """A fee in yuan."""

    name: Short
    amount: Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2), AfterValidator(_cents)]
    basis: Text | None = None
    reduction: Text | None = None


class CoHandlerIn(_Doc):
    """A co-handling authority."""

    name: Short
    code: Uscc
    region: RegionCode


class FormFieldIn(_Doc):
    """A field the applicant fills in."""

    name: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
    label: Short
    type: Literal["text", "number", "date", "choice"] = "text"
    required: bool = False
    choices: list[Short] | None = None


class MaterialIn(_Doc):
    """A material the implementation asks for."""

    name: Name
    required: Annotated[Literal["yes", "no", "conditional"], BeforeValidator(_required)] = "yes"
    condition: Text | None = None
    format: list[MaterialFormat] = Field(default_factory=list)
    source: Literal["applicant", "government"] = "applicant"
    pages: int | None = Field(default=None, ge=0, le=10000)
    basis: Text | None = None


class ResultIn(_Doc):
    """The result of handling: its type and name."""

    type: Short | None = None
    name: Short | None = None


class ImplementationIn(_Doc):
    """An implementation (实施清单) in the exchange format."""

    code: ImplCode
    region: RegionCode
    authority: AuthorityIn
    body_nature: BodyNature = "法定机关"
    entrusted_department: Short | None = None
    power_source: int = Field(ge=1, le=6)
    exercise_level: ExerciseLevel
    business_type: BusinessType | None = None
    case_type: CaseType
    statutory_limit: LimitIn
    promised_limit: LimitIn
    fees: list[FeeIn] = Field(default_factory=list)
    visits: int = Field(ge=0, le=20)
    online_depth: int = Field(ge=1, le=7)
    tongban_range: TongbanRange
    handling_forms: list[Short] = Field(default_factory=list)
    acceptance_conditions: Text | None = None
    handling_flow: Text | None = None
    address: Text | None = None
    hours: Text | None = None
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = None
    complaint_phone: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None
    ) = None
    result: ResultIn | None = None
    co_handlers: list[CoHandlerIn] = Field(default_factory=list)
    form_fields: list[FormFieldIn] = Field(default_factory=list)
    materials: list[MaterialIn] = Field(default_factory=list)


class ItemIn(_Doc):
    """A basic item (基本目录) in the exchange format."""

    code: Code
    name: Name
    name_en: Name | None = None
    type: ItemType
    department: Short
    legal_basis: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    service_objects: list[ServiceObject] = Field(min_length=1)
    keywords: list[Short] = Field(default_factory=list)
    cross_province: bool = False
    description: Text | None = None
    implementations: list[ImplementationIn] = Field(default_factory=list)


class BundleIn(_Doc):
    """A one-thing bundle (一件事) in the exchange format."""

    code: Code
    name: Name
    name_en: Name | None = None
    region: RegionCode
    promised_limit: LimitIn | None = None
    description: Text | None = None
    components: list[ImplCode] = Field(min_length=1)


class DocumentIn(_Doc):
    """A whole catalog file."""

    version: Literal[1] = 1
    items: list[ItemIn] = Field(default_factory=list)
    bundles: list[BundleIn] = Field(default_factory=list)


# --- API reads ---------------------------------------------------------------------------


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class LimitRead(BaseModel):
    """A time limit."""

    value: int | None
    unit: str | None
    note: str = ""


class ItemSummaryRead(_Read):
    """One search hit."""

    code: str
    name: str
    name_en: str | None = None
    type: str
    department: str
    cross_province: bool
    keywords: list[str]
    implementation_count: int


class ItemListRead(BaseModel):
    """A page of search hits and the total."""

    items: list[ItemSummaryRead]
    total: int


class MaterialRead(_Read):
    """A material."""

    position: int
    name: str
    required: str
    condition: str | None
    formats: list[str]
    source: str
    pages: int | None
    basis: str | None


class FeeRead(_Read):
    """A fee in yuan."""

    name: str
    amount: Decimal
    basis: str | None
    reduction: str | None


class CoHandlerRead(_Read):
    """A co-handling authority."""

    authority_name: str
    authority_code: str
    region_code: str


class ImplementationRead(BaseModel):
    """An implementation with everything a citizen or clerk needs to apply."""

    code: str
    item_code: str
    item_name: str
    item_name_en: str | None = None
    region_code: str
    authority_name: str
    authority_code: str
    department_id: int | None
    body_nature: str
    entrusted_department: str | None
    power_source: int
    exercise_level: str
    business_type: str | None
    case_type: str
    statutory_limit: LimitRead
    promised_limit: LimitRead
    visits: int
    online_depth: int
    tongban_range: str
    handling_forms: list[str]
    acceptance_conditions: str | None
    handling_flow: str | None
    address: str | None
    hours: str | None
    phone: str | None
    complaint_phone: str | None
    result_type: str | None
    result_name: str | None
    form_fields: list[dict[str, Any]]
    materials: list[MaterialRead]
    fees: list[FeeRead]
    co_handlers: list[CoHandlerRead]
    version: int
    updated_at: datetime


class ItemRead(_Read):
    """A basic item with its standard elements and its implementations."""

    code: str
    name: str
    name_en: str | None = None
    type: str
    department: str
    legal_basis: str
    service_objects: list[str]
    keywords: list[str]
    cross_province: bool
    description: str | None
    version: int
    updated_at: datetime
    # When the national catalog withdrew the item (None: listed); search no longer offers it.
    withdrawn_at: datetime | None = None
    implementations: list[ImplementationRead]


class BundleComponentRead(BaseModel):
    """One step of a bundle."""

    position: int
    implementation_code: str
    item_code: str
    item_name: str
    item_name_en: str | None = None
    authority_name: str
    region_code: str


class BundleRead(BaseModel):
    """A one-thing bundle."""

    code: str
    name: str
    name_en: str | None = None
    region_code: str
    promised_limit: LimitRead | None
    description: str | None
    components: list[BundleComponentRead]
