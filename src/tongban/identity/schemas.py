"""Pydantic shapes of the identity API; resident IDs only ever leave masked."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tongban.identity import verification
from tongban.identity.api_tokens import decode_scopes
from tongban.identity.models import Account, ApiToken, Department, ProxyAuthorisation
from tongban.identity.proxies import proxy_status
from tongban.identity.resident_id import mask_phone


class Credentials(BaseModel):
    """Username and password."""

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class TokenRead(BaseModel):
    """An access token for the Authorization: Bearer header."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime


class LoginRead(BaseModel):
    """A successful login (the session token travels in the HttpOnly cookie)."""

    username: str
    role: str
    display_name: str
    expires_at: datetime


class RegisterCreate(BaseModel):
    """Citizen self-registration; checked by the service so every wrong field is named."""

    resident_id: str = Field(max_length=32)
    phone: str = Field(max_length=32)
    password: str = Field(max_length=256)
    display_name: str = Field(max_length=100)
    username: str | None = Field(default=None, max_length=64)


class AccountCreate(BaseModel):
    """An administrator creates an account."""

    username: str = Field(max_length=64)
    password: str = Field(max_length=256)
    role: str = Field(max_length=16)
    display_name: str | None = Field(default=None, max_length=100)
    department_code: str | None = Field(default=None, max_length=32)
    region_code: str | None = Field(default=None, max_length=12)
    phone: str | None = Field(default=None, max_length=32)
    resident_id: str | None = Field(default=None, max_length=32)


class AccountUpdate(BaseModel):
    """An administrator changes an account; absent fields stay as they are."""

    display_name: str | None = Field(default=None, max_length=100)
    role: str | None = Field(default=None, max_length=16)
    department_code: str | None = Field(default=None, max_length=32)
    region_code: str | None = Field(default=None, max_length=12)
    active: bool | None = None
    password: str | None = Field(default=None, max_length=256)


class PreferencesUpdate(BaseModel):
    """The owner's own settings."""

    locale: str | None = Field(default=None, max_length=16)
    elderly_mode: bool | None = None
    display_name: str | None = Field(default=None, max_length=100)


class PasswordChange(BaseModel):
    """The owner changes their password."""

    current_password: str = Field(max_length=256)
    new_password: str = Field(max_length=256)


class PasswordForgot(BaseModel):
    """Ask for a one-time code by SMS to reset a forgotten password."""

    username: str = Field(min_length=1, max_length=64, description="User name or phone number.")


class PasswordResetRequested(BaseModel):
    """The same answer whether or not an account was found (no enumeration)."""

    detail: str


class PasswordResetWithCode(BaseModel):
    """Set a new password with the code sent by SMS."""

    username: str = Field(min_length=1, max_length=64, description="User name or phone number.")
    code: str = Field(pattern=r"^[0-9]{6}$", description="The 6-digit code from the SMS.")
    new_password: str = Field(min_length=8, max_length=256)


class IdentityVerify(BaseModel):
    """A clerk's in-person check: the number on the ID card the person showed, and the clerk's
    confirmation that the card and the person match."""

    resident_id: str = Field(max_length=32)
    confirmed: bool = False


class RealNameVerify(BaseModel):
    """The owner's name as on their ID card, for the node's real-name service."""

    name: str = Field(max_length=50)


class AccountRead(BaseModel):
    """An account as others see it: resident ID and phone masked; `identity_status` says
    whether the resident ID is bound (verified) or only claimed."""

    id: int
    username: str
    role: str
    display_name: str
    department_id: int | None
    department_code: str | None
    region_code: str | None
    phone_masked: str | None
    resident_id_masked: str | None
    identity_status: Literal["none", "claimed", "verified"]
    active: bool
    created_at: datetime

    @classmethod
    def of(cls, account: Account) -> AccountRead:
        """Build from an Account row."""
        return cls(
            id=account.id,
            username=account.username,
            role=account.role,
            display_name=account.display_name,
            department_id=account.department_id,
            department_code=account.department.code if account.department else None,
            region_code=account.region_code,
            phone_masked=mask_phone(account.phone) if account.phone else None,
            resident_id_masked=account.resident_id_masked,
            identity_status=verification.status(account),
            active=account.active,
            created_at=account.created_at,
        )


class IdentityRead(BaseModel):
    """The owner's identity verification: `claimed` numbers link nothing to the account (cases
    a clerk files for that number stay out of it) until verified by one of `methods`."""

    status: Literal["none", "claimed", "verified"]
    method: str | None
    verified_at: datetime | None
    methods: list[str]


class MeRead(AccountRead):
    """The caller's own account, with their preferences, identity verification and, when
    called with an API token, that token's scopes."""

    phone: str | None
    birth_date: date | None
    locale: str
    elderly_mode: bool
    identity: IdentityRead
    via: Literal["session", "api_token"]
    token_scopes: list[str] | None = None

    @classmethod
    def of_me(
        cls,
        account: Account,
        *,
        via: Literal["session", "api_token"],
        methods: list[str],
        token_scopes: list[str] | None = None,
    ) -> MeRead:
        """Build from the caller's Account row."""
        base = AccountRead.of(account).model_dump()
        return cls(
            **base,
            phone=account.phone,
            birth_date=account.birth_date,
            locale=account.locale,
            elderly_mode=account.elderly_mode,
            identity=IdentityRead(
                status=base["identity_status"],
                method=account.identity_verification,
                verified_at=account.identity_verified_at,
                methods=methods,
            ),
            via=via,
            token_scopes=token_scopes,
        )


class AccountPage(BaseModel):
    """One page of accounts."""

    items: list[AccountRead]
    total: int
    limit: int
    offset: int


class DepartmentCreate(BaseModel):
    """A new department."""

    code: str = Field(max_length=32)
    name: str = Field(max_length=200)
    region_code: str = Field(max_length=12)
    parent_code: str | None = Field(default=None, max_length=32)


class DepartmentRead(BaseModel):
    """A department."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    region_code: str
    parent_id: int | None


class ProxyCreate(BaseModel):
    """A citizen authorises a relative or a clerk (`agent`: their username) to act for them."""

    agent: str = Field(max_length=64)
    relation: str = Field(max_length=16)
    scope: list[str] | Literal["all"] = "all"
    valid_from: datetime | None = None
    expires_at: datetime | None = None


class ProxyRead(BaseModel):
    """A proxy authorisation and its status now."""

    id: int
    principal_id: int
    agent_id: int
    relation: str
    scope: list[str] | Literal["all"]
    valid_from: datetime
    expires_at: datetime
    revoked_at: datetime | None
    confirmed_at: datetime | None = Field(
        description="When the agent accepted the grant; it gives no power before."
    )
    status: str = Field(description="active, unconfirmed, pending, expired or revoked")

    @classmethod
    def of(cls, row: ProxyAuthorisation) -> ProxyRead:
        """Build from a ProxyAuthorisation row."""
        return cls(
            id=row.id,
            principal_id=row.principal_id,
            agent_id=row.agent_id,
            relation=row.relation,
            scope="all" if row.all_items else list(row.item_codes or []),
            valid_from=row.valid_from,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            confirmed_at=row.confirmed_at,
            status=proxy_status(row),
        )


class ProxyList(BaseModel):
    """Authorisations the caller granted and those they hold."""

    granted: list[ProxyRead]
    held: list[ProxyRead]


class ApiTokenCreate(BaseModel):
    """A new API token; `scopes` (read, file, handle, configure) default to every scope the
    owner's role can use. A token never manages the account."""

    name: str = Field(max_length=100)
    scopes: list[str] | None = Field(default=None, max_length=10)
    expires_in_days: int | None = Field(default=None, ge=1, le=732)


class ApiTokenRead(BaseModel):
    """An API token's metadata (never its value)."""

    id: int
    name: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def of(cls, row: ApiToken) -> ApiTokenRead:
        """Build from an ApiToken row."""
        return cls(
            id=row.id,
            name=row.name,
            scopes=sorted(s.value for s in decode_scopes(row.scopes)),
            created_at=row.created_at,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            last_used_at=row.last_used_at,
        )


class ApiTokenIssued(ApiTokenRead):
    """A new token: the clear value is shown this once."""

    token: str


def department_read(row: Department) -> DepartmentRead:
    """Build a DepartmentRead from a row."""
    return DepartmentRead.model_validate(row)
