"""Identity rules as other domains use them: accounts, departments, proxies and the one
authorize() function, handed out as views (AccountView, DepartmentView, ProxyView), never rows.

The work is split by sub-domain: policy.py (roles, Actor, authorize), resident_id.py (pure
validators), keys.py (resident-ID keys in the data directory), passwords.py (password policy
and hashing, token digests), authentication.py (login checks, rate limit, refused logins),
login_sessions.py (login, logout, revoked sessions), throttle.py (failed-login counters and
delays), api_tokens.py (tokens and their scopes), callers.py (who is calling: resolve_actor,
actor_for), accounts.py, verification.py (claimed and bound resident IDs), departments.py,
fields.py (field-error collection), proxies.py (代办), demo.py (demo accounts). Identity's own
routes (api.py, pages.py, deps.py) use those modules directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from tongban.identity import accounts, departments, login_sessions, proxies, throttle, verification
from tongban.identity.accounts import (
    SUPPORTED_LOCALES,
    reveal_resident_id,
    validate_username,
)
from tongban.identity.blocks import (
    BlockView,
    client_key,
    get_block,
    lift_block,
    list_blocks,
    place_block,
    record_refusal,
)
from tongban.identity.callers import SESSION_COOKIE, resolve_actor
from tongban.identity.cards import AccountCard, account_card
from tongban.identity.demo import DEMO_PASSWORD, create_demo_accounts
from tongban.identity.departments import check_region
from tongban.identity.keys import identity_keys, purpose_key, seal, unseal
from tongban.identity.models import Account, Department, ProxyAuthorisation
from tongban.identity.passwords import check_password_policy, hash_password
from tongban.identity.policy import (
    POLICY,
    Actor,
    Refused,
    Role,
    Rule,
    Scope,
    TokenScope,
    allowed,
    authorize,
    within,
)
from tongban.identity.proxies import ALL_ITEMS, Relation
from tongban.identity.resident_id import (
    make_resident_id,
    make_uscc,
    mask_phone,
    mask_resident_id,
    resident_facts,
    validate_phone,
    validate_resident_id,
    validate_uscc,
)
from tongban.identity.throttle import Counter, Refusal
from tongban.identity.verification import on_bound
from tongban.platform.config import Settings

__all__ = [
    "ALL_ITEMS",
    "DEMO_PASSWORD",
    "POLICY",
    "SESSION_COOKIE",
    "SUPPORTED_LOCALES",
    "AccountCard",
    "AccountView",
    "Actor",
    "BlockView",
    "Counter",
    "DepartmentView",
    "ProxyView",
    "Refusal",
    "Refused",
    "Relation",
    "Role",
    "Rule",
    "Scope",
    "TokenScope",
    "account_card",
    "allowed",
    "authorize",
    "check_password_policy",
    "check_proxy",
    "check_region",
    "client_key",
    "colleagues",
    "create_account",
    "create_demo_accounts",
    "department_name",
    "ensure_department",
    "find_account_by_resident_id",
    "find_account_by_username",
    "get_account",
    "get_block",
    "get_department",
    "get_department_by_code",
    "hash_password",
    "household_region",
    "lift_block",
    "list_blocks",
    "list_proxies",
    "make_resident_id",
    "make_uscc",
    "mask_phone",
    "mask_resident_id",
    "on_bound",
    "place_block",
    "proxy_status",
    "purpose_key",
    "record_drill_login_failure",
    "record_refusal",
    "require_reauthentication",
    "resident_facts",
    "resident_id_lookup_hash",
    "resolve_actor",
    "reveal_resident_id",
    "seal",
    "service_points",
    "tracking_counter",
    "tracking_failed",
    "tracking_refused",
    "unseal",
    "update_preferences",
    "validate_phone",
    "validate_resident_id",
    "validate_uscc",
    "validate_username",
    "verify_identity_at_counter",
    "within",
]


@dataclass(frozen=True, slots=True)
class DepartmentView:
    """A department: its unified social credit code, name and region."""

    id: int
    code: str
    name: str
    region_code: str
    parent_id: int | None

    @classmethod
    def of(cls, row: Department) -> DepartmentView:
        """The view of a row."""
        return cls(
            id=row.id,
            code=row.code,
            name=row.name,
            region_code=row.region_code,
            parent_id=row.parent_id,
        )


@dataclass(frozen=True, slots=True)
class AccountView:
    """An account as other domains see it: no password hash, no resident ID but masked.

    `identity_verified`: the resident ID is bound (verified); otherwise `resident_id_masked`
    is only what the owner claimed at registration."""

    id: int
    username: str
    role: str
    display_name: str
    phone: str | None
    resident_id_masked: str | None
    birth_date: date | None
    sex: str | None
    department_id: int | None
    department_code: str | None
    region_code: str | None
    locale: str
    elderly_mode: bool
    active: bool
    created_at: datetime
    identity_verified: bool

    @classmethod
    def of(cls, row: Account) -> AccountView:
        """The view of a row."""
        return cls(
            id=row.id,
            username=row.username,
            role=row.role,
            display_name=row.display_name,
            phone=row.phone,
            resident_id_masked=row.resident_id_masked,
            birth_date=row.birth_date,
            sex=row.sex,
            department_id=row.department_id,
            department_code=row.department.code if row.department else None,
            region_code=row.region_code,
            locale=row.locale,
            elderly_mode=bool(row.elderly_mode),
            active=bool(row.active),
            created_at=row.created_at,
            identity_verified=row.resident_id_hash is not None,
        )


@dataclass(frozen=True, slots=True)
class ProxyView:
    """An authorisation to act for someone (代办): who, for whom, for what, and when."""

    id: int
    principal_id: int
    agent_id: int
    relation: str
    all_items: bool
    item_codes: tuple[str, ...]
    valid_from: datetime
    expires_at: datetime
    revoked_at: datetime | None
    confirmed_at: datetime | None

    @classmethod
    def of(cls, row: ProxyAuthorisation) -> ProxyView:
        """The view of a row."""
        return cls(
            id=row.id,
            principal_id=row.principal_id,
            agent_id=row.agent_id,
            relation=row.relation,
            all_items=bool(row.all_items),
            item_codes=tuple(str(code) for code in row.item_codes or ()),
            valid_from=row.valid_from,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            confirmed_at=row.confirmed_at,
        )


def get_account(session: Session, *, account_id: int) -> AccountView:
    """The account with this id (NotFound when absent)."""
    return AccountView.of(accounts.get_account(session, account_id=account_id))


def find_account_by_username(session: Session, *, username: str) -> AccountView | None:
    """The account with this username (or phone number), or None."""
    row = accounts.find_account_by_username(session, username=username)
    return None if row is None else AccountView.of(row)


def find_account_by_resident_id(
    session: Session, *, resident_id: str, settings: Settings
) -> AccountView | None:
    """The account this resident ID number is bound to after a verification, or None: a number
    an account only claimed (self-registration) finds nothing, so nothing filed for that person
    reaches an account that has not proved it is theirs."""
    row = accounts.find_account_by_resident_id(session, resident_id=resident_id, settings=settings)
    return None if row is None else AccountView.of(row)


def create_account(
    session: Session,
    *,
    username: str,
    password: str,
    role: str | Role,
    settings: Settings | None = None,
    department_code: str | None = None,
    region_code: str | None = None,
    display_name: str | None = None,
    phone: str | None = None,
    resident_id: str | None = None,
) -> AccountView:
    """Create an account (operators, the CLI, tests); Invalid or Conflict explain refusals.

    `settings` are needed when a resident ID is given (its key lives in the data directory)."""
    return AccountView.of(
        accounts.create_account(
            session,
            username=username,
            password=password,
            role=role,
            settings=settings,
            department_code=department_code,
            region_code=region_code,
            display_name=display_name,
            phone=phone,
            resident_id=resident_id,
        )
    )


def verify_identity_at_counter(
    session: Session,
    *,
    account_id: int,
    resident_id: str,
    confirmed: bool,
    actor: Actor,
    settings: Settings,
    channel: str = "assisted",
) -> AccountView:
    """A clerk, having checked the ID card in person (`confirmed`), binds its number to the
    citizen's account (`account.identity_verified`); Conflict when bound elsewhere."""
    return AccountView.of(
        verification.verify_at_counter(
            session,
            account_id=account_id,
            resident_id=resident_id,
            confirmed=confirmed,
            actor=actor,
            settings=settings,
            channel=channel,
        )
    )


def update_preferences(
    session: Session,
    *,
    account_id: int,
    locale: str | None = None,
    elderly_mode: bool | None = None,
    display_name: str | None = None,
    channel: str = "online",
) -> AccountView:
    """The owner changes their language, elderly mode (长辈版) or display name."""
    return AccountView.of(
        accounts.update_preferences(
            session,
            account_id=account_id,
            locale=locale,
            elderly_mode=elderly_mode,
            display_name=display_name,
            channel=channel,
        )
    )


def get_department(session: Session, *, department_id: int) -> DepartmentView:
    """The department with this id (NotFound when absent)."""
    return DepartmentView.of(departments.get_department(session, department_id=department_id))


def department_name(session: Session, *, code: str) -> str | None:
    """The name of the department with this code, or None when there is none."""
    return departments.department_name(session, code=code)


def get_department_by_code(session: Session, *, code: str) -> DepartmentView:
    """The department with this unified social credit code (NotFound when absent)."""
    return DepartmentView.of(departments.get_department_by_code(session, code=code))


def ensure_department(
    session: Session,
    *,
    code: str,
    name: str,
    region_code: str,
    parent_code: str | None = None,
    actor: Actor | None = None,
    channel: str = "system",
) -> DepartmentView:
    """The department with this code, created (validated) when absent."""
    return DepartmentView.of(
        departments.ensure_department(
            session,
            code=code,
            name=name,
            region_code=region_code,
            parent_code=parent_code,
            actor=actor,
            channel=channel,
        )
    )


def list_proxies(
    session: Session,
    *,
    principal_id: int | None = None,
    agent_id: int | None = None,
    include_inactive: bool = True,
) -> list[ProxyView]:
    """Authorisations given by `principal_id` or to `agent_id`."""
    return [
        ProxyView.of(row)
        for row in proxies.list_proxies(
            session,
            principal_id=principal_id,
            agent_id=agent_id,
            include_inactive=include_inactive,
        )
    ]


def check_proxy(
    session: Session,
    *,
    agent_id: int,
    principal_id: int,
    item_code: str | None,
    at: datetime | None = None,
) -> ProxyView:
    """The authorisation letting the agent act for the principal on the item, else Forbidden
    (saying why: none given, revoked, expired, not yet valid, or out of scope)."""
    return ProxyView.of(
        proxies.check_proxy(
            session, agent_id=agent_id, principal_id=principal_id, item_code=item_code, at=at
        )
    )


def proxy_status(proxy: ProxyView, *, at: datetime | None = None) -> str:
    """active, revoked, expired, unconfirmed or pending (not yet valid) at the given time."""
    return proxies.proxy_status(proxy, at=at)


def resident_id_lookup_hash(resident_id: str, *, settings: Settings) -> str:
    """The keyed lookup hash of a (valid) resident ID, as a bound account holds it."""
    return identity_keys(settings).lookup_hash(validate_resident_id(resident_id))


def tracking_counter(settings: Settings, *, client_ip: str) -> Counter:
    """The counter of a client address's failed case look-ups without login."""
    return throttle.tracking_counter(settings, client_ip=client_ip)


def tracking_refused(
    session: Session, *, counter: Counter, now: datetime, settings: Settings
) -> Refusal | None:
    """Whether a delay refuses the address's next look-up now (a plain read)."""
    return throttle.refused_now(session, (counter,), now=now, settings=settings)


def tracking_failed(
    session: Session, *, counter: Counter, now: datetime, settings: Settings
) -> Refusal | None:
    """Count a failed look-up (under the counter's row lock), or the refusal that began."""
    return throttle.note_failure(session, (counter,), now=now, settings=settings)


def household_region(session: Session, *, account_id: int, settings: Settings) -> str | None:
    """The county code of the account's 户籍 (the first six digits of the resident ID it holds,
    claimed or bound), or None without one: where its cases usually belong."""
    number = verification.claimed_number(
        accounts.get_account(session, account_id=account_id), identity_keys(settings)
    )
    return number[:6] if number else None


def service_points(session: Session) -> list[str]:
    """The region codes where a service point works: those of active clerks' accounts."""
    return accounts.service_points(session)


def colleagues(session: Session, *, department_id: int, region_code: str) -> list[AccountView]:
    """The active officials of a department who may work a case decided in `region_code`."""
    return [
        AccountView.of(a)
        for a in accounts.officials_of(
            session, department_id=department_id, region_code=region_code
        )
    ]


def require_reauthentication(
    session: Session, *, account_id: int, reason: str = "guard_reauth", channel: str = "system"
) -> int:
    """Revoke every live login session of the account (the security brain's response): the
    owner must log in again. How many were revoked."""
    return login_sessions.revoke_all_sessions(
        session, account_id=account_id, reason=reason, channel=channel
    )


def record_drill_login_failure(
    session: Session, *, username: str, client_ip: str, settings: Settings
) -> None:
    """The `auth.login_failed` event a wrong password writes, without checking one (Argon2
    costs ~0.2 s a try): the security brain's demo data and drills. The same public and
    personal parts as a real refusal, marked as a drill in its cause."""
    from tongban.identity.authentication import BAD_CREDENTIALS, _record_refusal, normalize_username

    name = normalize_username(username)
    account = accounts.find_account_by_username(session, username=name)
    _record_refusal(
        session,
        action="auth.login_failed",
        reason=BAD_CREDENTIALS,
        channel="online",
        settings=settings,
        username=name,
        client_ip=client_ip,
        details={"account_id": account.id if account else None, "cause": "drill"},
    )
