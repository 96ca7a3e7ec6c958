"""Pydantic shapes of the exchange API (in and out)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# A field code: ASCII, so that events (ledger leaves) may name it.
FieldCode = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")


class Sharing(StrEnum):
    """The three sharing attributes of 《政务数据共享条例》."""

    UNCONDITIONAL = "unconditional"  # 无条件共享
    CONDITIONAL = "conditional"  # 有条件共享
    NONE = "none"  # 不予共享


class Frequency(StrEnum):
    """How often the provider updates the resource."""

    REALTIME = "realtime"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    YEARLY = "yearly"


class ResourceField(BaseModel):
    """One field of a resource: its code, label, type and whether it is about a person."""

    model_config = ConfigDict(extra="forbid")

    name: str = FieldCode
    label: str = Field(min_length=1, max_length=60)
    type: Literal["string", "date", "number", "boolean"] = "string"
    personal: bool = False


class ResourceIn(BaseModel):
    """A resource to publish in the catalogue (政务数据资源目录)."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[A-Z0-9][A-Z0-9-]{2,39}$")
    name: str = Field(min_length=2, max_length=200)
    provider: str = Field(min_length=18, max_length=18, description="The provider's USCC code.")
    sharing: Sharing
    conditions: str | None = Field(default=None, max_length=2000)
    fields: list[ResourceField] = Field(min_length=1, max_length=60)
    update_frequency: Frequency = Frequency.DAILY
    endpoint: str = Field(default="local", pattern=r"^[a-z0-9][a-z0-9.-]{1,39}$")
    materials: list[str] = Field(default_factory=list, max_length=10)


class ResourceRead(BaseModel):
    """A resource of the catalogue, as anyone may read it."""

    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    provider_code: str
    provider_name: str
    region_code: str
    sharing: Sharing
    conditions: str | None
    fields: list[ResourceField]
    update_frequency: str
    endpoint: str
    materials: list[str]
    version: int
    updated_at: datetime


class RequestIn(BaseModel):
    """A consumer department's sharing request (供需对接)."""

    model_config = ConfigDict(extra="forbid")

    resource: str = Field(max_length=40)
    consumer: str | None = Field(
        default=None, min_length=18, max_length=18, description="Defaults to your department."
    )
    fields: list[str] = Field(min_length=1, max_length=60)
    purpose: str = Field(min_length=2, max_length=500)
    legal_basis: str = Field(min_length=2, max_length=500)
    items: list[str] = Field(min_length=1, max_length=50, description="Catalog item codes.")
    duration_days: int = Field(ge=1, le=1830)


class RequestRead(BaseModel):
    """A sharing request and its answer."""

    id: int
    resource: str
    resource_name: str
    consumer_code: str
    fields: list[str]
    purpose: str
    legal_basis: str
    items: list[str]
    duration_days: int
    requested_at: datetime
    due_date: date
    status: Literal["pending", "approved", "refused"]
    overdue: bool
    decided_at: datetime | None
    reason: str | None
    agreement_id: int | None


class DecisionIn(BaseModel):
    """The provider's answer to a request."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "refuse"]
    reason: str | None = Field(default=None, max_length=1000)


class AgreementRead(BaseModel):
    """A sharing agreement: its Cedar policy, hash and validity."""

    id: int
    request_id: int | None
    resource: str
    consumer_code: str
    fields: list[str]
    items: list[str]
    valid_from: datetime
    valid_until: datetime
    policy: str
    policy_sha256: str
    revoked_at: datetime | None
    status: Literal["active", "expired", "revoked", "pending"]


class RevokeIn(BaseModel):
    """Why an agreement is revoked (kept beside the event, never public)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=2, max_length=500)


class FetchIn(BaseModel):
    """A fetch for a case: the resource, the fields (default: all allowed), the purpose."""

    model_config = ConfigDict(extra="forbid")

    resource: str = Field(max_length=40)
    fields: list[str] | None = Field(default=None, max_length=60)
    purpose: str = Field(min_length=2, max_length=200)


class FetchRead(BaseModel):
    """One fetch for a case: what came from where and when (已通过共享获取)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    case_number: str
    resource_code: str
    resource_name: str
    provider_name: str
    fields: list[str]
    purpose: str
    agreement_id: int | None
    data: dict[str, Any]
    found: bool
    source: str
    message_id: str | None
    fetched_at: datetime
