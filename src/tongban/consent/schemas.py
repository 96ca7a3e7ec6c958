"""Request and response shapes of consent (授权同意)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from tongban.platform.web.rendering import N_

# Purpose codes (as the Account Aggregator's purpose codes): what a consent is for; the
# department explains its own case in `purpose_text`.
PURPOSES: dict[str, str] = {
    "case-handling": N_("Handling an application the person made"),
    "benefit-eligibility": N_("Checking eligibility for a benefit or subsidy"),
    "proactive-service": N_("Offering a service without an application"),
    "verification": N_("Verifying facts the person declared"),
}
FREQUENCY_UNITS = ("HOUR", "DAY", "MONTH", "YEAR", "INF")

FieldCode = Annotated[str, Field(pattern=r"^[a-z0-9_]{1,40}$")]
ResourceCode = Annotated[str, Field(pattern=r"^[A-Z0-9-]{1,40}$")]
ItemCode = Annotated[str, Field(pattern=r"^[0-9A-Za-z-]{1,64}$")]


def _purpose(code: str) -> str:
    if code not in PURPOSES:
        raise ValueError(f"purpose_code must be one of {', '.join(PURPOSES)}")
    return code


class ConsentIn(BaseModel):
    """A consumer department's consent request: whose data, which fields, why, for which case
    (or item), from when to when, how often."""

    model_config = ConfigDict(extra="forbid")

    resource: ResourceCode
    fields: list[FieldCode] = Field(min_length=1, max_length=40)
    purpose_code: Annotated[str, AfterValidator(_purpose)] = Field(max_length=40)
    purpose_text: str = Field(min_length=4, max_length=300)
    case: str | None = Field(default=None, pattern=r"^[0-9A-Z-]{8,40}$")
    item: ItemCode | None = None
    subject_resident_id: str | None = Field(default=None, max_length=18)
    valid_from: datetime | None = None
    valid_until: datetime
    frequency_unit: Literal["HOUR", "DAY", "MONTH", "YEAR", "INF"] = "INF"
    frequency_value: int = Field(default=1, ge=1, le=1000)


class RequirementIn(BaseModel):
    """Which use of a resource needs the data subject's consent."""

    model_config = ConfigDict(extra="forbid")

    resource: ResourceCode
    consumer: str | None = Field(default=None, pattern=r"^[0-9A-Z]{18}$")
    exempt_items: list[ItemCode] = Field(default_factory=list, max_length=200)
    basis: str = Field(min_length=2, max_length=500)


class WithdrawIn(BaseModel):
    """Why a consent requirement is withdrawn."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=2, max_length=500)


class ConsentRead(BaseModel):
    """A consent request or granted artefact, with its status now."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    status: Literal["requested", "granted", "refused", "revoked", "expired"]
    subject_masked: str
    requester_code: str
    requester_name: str
    provider_code: str
    provider_name: str
    resource_code: str
    resource_name: str
    fields: list[str]
    field_labels: list[str]
    purpose_code: str
    purpose_text: str
    case_number: str | None
    item_code: str | None
    item_name: str | None
    valid_from: datetime
    valid_until: datetime
    frequency_unit: str
    frequency_value: int
    uses: int
    requested_at: datetime
    decided_at: datetime | None
    decided_via: str | None
    revoked_at: datetime | None
    artefact: str | None = Field(description="The signed artefact: canonical JSON (RFC 8785).")
    artefact_sha256: str | None
    signature: str | None = Field(description="Ed25519 over the artefact's bytes, base64.")
    key_id: str | None = Field(description="The node's ledger key (C2SP vkey) that signed it.")
