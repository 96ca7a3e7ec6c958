"""Pydantic shapes of the cases API: submissions, actions and reads."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from tongban.platform.db import MAX_ROW_ID

Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{64}$")]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LicenceRef(_In):
    """免证办: an e-licence of the applicant presented for one checklist line instead of a paper."""

    material: ShortText
    credential: int | None = Field(default=None, ge=1, le=MAX_ROW_ID)
    # At the service desk: what the citizen's 卡包 shows (the SD-JWT text or its short link).
    presented: str | None = Field(default=None, min_length=1, max_length=8000)

    @model_validator(mode="after")
    def _one_source(self) -> LicenceRef:
        if (self.credential is None) == (self.presented is None):
            raise ValueError("Give either credential or presented.")
        return self


class MaterialRef(_In):
    """A previously uploaded file (POST /api/v1/uploads) attached as one checklist line."""

    name: ShortText
    sha256: Sha256


class ApplicantIn(_In):
    """The citizen at the counter, when a clerk applies on their behalf (代收代办)."""

    resident_id: Annotated[str, StringConstraints(strip_whitespace=True, max_length=18)]
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    phone: Annotated[str, StringConstraints(pattern=r"^1[3-9]\d{9}$")] | None = None
    identity_confirmed: bool = False


class CaseCreate(_In):
    """A submission: one implementation (or item + region), or one bundle (一件事)."""

    implementation: Annotated[str, StringConstraints(max_length=80)] | None = None
    item: Annotated[str, StringConstraints(max_length=40)] | None = None
    region: Annotated[str, StringConstraints(pattern=r"^(\d{6}|\d{12})$")] | None = None
    bundle: Annotated[str, StringConstraints(max_length=40)] | None = None
    form: dict[str, Any] = Field(default_factory=dict)
    materials: list[MaterialRef] = Field(default_factory=list, max_length=100)
    licences: list[LicenceRef] = Field(default_factory=list, max_length=20)
    applicant: ApplicantIn | None = None
    on_behalf_of: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ROW_ID,
        description="The principal's account id, when a relative acts by proxy.",
    )

    @field_validator("form")
    @classmethod
    def _small_form(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(value) > 200 or len(str(value)) > 50_000:
            raise ValueError("the form is too large")
        return value


class SupplementItemIn(_In):
    """One line of a 补正 request: a material of the checklist, or a named extra item."""

    name: ShortText
    origin: Literal["checklist", "extra"] = "checklist"
    note: LongText | None = Field(default=None, description="Why, or what exactly is needed.")


class SupplementAnswerIn(_In):
    """The applicant's answer to one requested item (by its id): files, an explanation, or both."""

    item: int = Field(ge=1, le=MAX_ROW_ID)
    files: list[Sha256] = Field(default_factory=list, max_length=20)
    explanation: LongText | None = None


class SupplementReviewIn(_In):
    """The official's word on one answered item: accept it, or ask for it again."""

    item: int = Field(ge=1, le=MAX_ROW_ID)
    decision: Literal["accept", "again"]
    note: LongText | None = None


class ActionIn(_In):
    """The body of POST /cases/{number}/actions/{action}; `version` is the one you read."""

    version: int = Field(ge=1, le=MAX_ROW_ID)
    reason: LongText | None = None
    decision_text: LongText | None = None
    result_document: Sha256 | None = None
    missing: list[ShortText] | None = Field(default=None, max_length=100)
    expected_end: date | None = None
    materials: list[MaterialRef] = Field(default_factory=list, max_length=100)
    note: LongText | None = None
    # 补正 (一次性告知): the request's lines, the applicant's answers, the official's review.
    items: list[SupplementItemIn] | None = Field(default=None, max_length=100)
    answers: list[SupplementAnswerIn] = Field(default_factory=list, max_length=100)
    reviews: list[SupplementReviewIn] = Field(default_factory=list, max_length=100)


class UploadRead(BaseModel):
    """A stored upload: reference it by sha256 when submitting."""

    sha256: str
    media_type: str
    size: int
    pages: int | None


class ChecklistLine(BaseModel):
    """One material of the implementation and whether it is present."""

    name: str
    required: str
    source: str
    present: bool
    files: list[str]


class SupplementItemRead(BaseModel):
    """One line of the case's latest 补正 request and where it stands."""

    id: int
    request_no: int
    name: str
    origin: str
    note: str | None
    state: str
    done: bool
    files: list[str]
    explanation: str | None
    answered_at: datetime | None


class DeadlinesRead(BaseModel):
    """Deadlines (Asia/Shanghai dates) and where the clock stands."""

    acceptance: date
    promised: date | None
    statutory: date | None
    current: date | None
    paused: bool
    paused_working_days: int
    urgency: str
    provisional: bool


class StepRead(BaseModel):
    """A co-handling step."""

    authority_name: str
    authority_code: str
    region_code: str
    done: bool
    done_at: datetime | None
    note: str | None


class EventRead(BaseModel):
    """One step of the timeline, with where to fetch its ledger receipt (proof it happened)."""

    uid: str
    at: datetime
    action: str
    actor_role: str | None
    channel: str
    service_point: str | None
    reason: str | None
    data: dict[str, Any]
    ledger_receipt: str


class CaseSummary(BaseModel):
    """A case in a list."""

    number: str
    kind: str
    item_name: str
    implementation_code: str | None
    authority_name: str
    authority_region: str
    applicant_name: str
    state: str
    received_at: datetime
    due_date: date | None
    urgency: str
    version: int


class PauseRead(BaseModel):
    """Why the case's clock is stopped now, as the case page says it."""

    kind: str = Field(description="supplement (补正) or special (特别程序)")
    reason: str | None = Field(default=None, description="As the department wrote it (Chinese).")
    since: date = Field(description="The day the clock stopped (Beijing time).")
    working_days: int = Field(description="Working days stopped so far.")
    expected_end: date | None = Field(
        default=None, description="A special procedure's expected end, when given."
    )


class AssigneeRead(BaseModel):
    """The official of the department the case is handed to."""

    account_id: int
    name: str


class CaseRead(CaseSummary):
    """A case with its checklist, deadlines, steps, sub-cases and timeline."""

    bundle_code: str | None
    parent: str | None
    case_type: str
    applicant_id_masked: str | None
    channel: str
    service_point: str | None
    filed_by_role: str
    identity_confirmed: bool
    payout_pending: bool = Field(
        default=False,
        description="An agent gave a payout account: waiting for the applicant to confirm it.",
    )
    form: dict[str, Any]
    deadlines: DeadlinesRead
    decision: str | None
    decision_text: str | None
    result_document: str | None
    reason: str | None
    missing: list[str]
    supplement_items: list[SupplementItemRead]
    checklist: list[ChecklistLine]
    steps: list[StepRead]
    sub_cases: list[CaseSummary]
    actions: list[str]
    timeline: list[EventRead]
    receipt_url: str
    pause: PauseRead | None = Field(
        default=None, description="Set while the clock is stopped (补正 or 特别程序)."
    )
    assignee: AssigneeRead | None = Field(
        default=None,
        description="Who works the case: for officials of the case's department only.",
    )


class CasePage(BaseModel):
    """A page of cases."""

    items: list[CaseSummary]
    limit: int
    offset: int
    has_more: bool


class QueueRow(CaseSummary):
    """A case in the official's queue: how and where it came in, and who works it. The
    applicant's resident ID only ever masked."""

    item_code: str | None = None
    applicant_id_masked: str | None = None
    channel: str = ""
    service_point: str | None = None
    service_point_name: str | None = None
    assignee_id: int | None = None


class QueuePage(BaseModel):
    """A page of the official's queue."""

    items: list[QueueRow]
    limit: int
    offset: int
    has_more: bool


class MessageRead(BaseModel):
    """An in-app message."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    case_number: str | None
    kind: str
    text: str = Field(description="As stored and sent (by SMS too): Chinese.")
    created_at: datetime
    read_at: datetime | None
    display_text: str | None = Field(
        default=None,
        description="The message in the caller's language (Accept-Language, else the "
        "account's); what a person wrote, and names without an English form, stay Chinese.",
    )
    display_lang: str | None = Field(
        default=None, description="The language of display_text (BCP 47: zh-CN or en)."
    )


class MessagePage(BaseModel):
    """An account's messages and the unread count."""

    items: list[MessageRead]
    unread: int


class MarkReadIn(_In):
    """Which messages to mark read (all when omitted)."""

    ids: list[Annotated[int, Field(ge=1, le=MAX_ROW_ID)]] | None = Field(
        default=None, max_length=500
    )


class RevealIn(_In):
    """Why the official needs the applicant's full resident ID (recorded, shown to them)."""

    purpose: str = Field(min_length=2, max_length=200, examples=["核对社保缴费记录"])


class ApplicantIdentity(BaseModel):
    """The applicant's full resident ID and name (never cached; each look is recorded)."""

    resident_id: str
    name: str
