"""Accounts and departments: creation, self-registration, changes, lookups."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tongban.events import service as events
from tongban.identity import api_tokens, authentication, login_sessions, passwords, verification
from tongban.identity.departments import check_region
from tongban.identity.fields import FieldErrors, field_invalid
from tongban.identity.keys import identity_keys
from tongban.identity.models import Account, Department
from tongban.identity.policy import Actor, Role, within
from tongban.identity.resident_id import (
    validate_phone,
    validate_resident_id,
    validate_uscc,
)
from tongban.platform.config import Settings
from tongban.platform.db import utcnow
from tongban.platform.db.fastpath.direct_sql import read_one
from tongban.platform.errors import Conflict, FieldError, NotFound

USERNAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._@-]{2,63}")
SUPPORTED_LOCALES = ("zh-CN", "en")


def validate_username(value: str, *, field_name: str = "username") -> str:
    """Return the normalized username (3–64 of a-z 0-9 . _ @ -), or raise Invalid."""
    name = authentication.normalize_username(value or "")
    if not USERNAME_PATTERN.fullmatch(name):
        raise field_invalid(
            field_name, "A username has 3 to 64 letters, digits or . _ @ - and no spaces."
        )
    return name


def _display_name(value: str | None, default: str) -> str:
    name = (value or "").strip() or default
    if len(name) > 100:
        raise field_invalid("display_name", "A display name has at most 100 characters.")
    return name


def _role(value: str | Role) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise field_invalid(
            "role", "The role is one of: " + ", ".join(r.value for r in Role) + "."
        ) from None


# --- accounts ------------------------------------------------------------------------------


def get_account(session: Session, *, account_id: int) -> Account:
    """The account with this id, or NotFound."""
    row = session.get(Account, account_id)
    if row is None:
        raise NotFound(f"No account {account_id}.")
    return row


def find_account_by_username(session: Session, *, username: str) -> Account | None:
    """The account with this username, if any."""
    name = authentication.normalize_username(username)
    return session.scalar(select(Account).where(Account.username == name))


def find_account_by_resident_id(
    session: Session, *, resident_id: str, settings: Settings
) -> Account | None:
    """The account this resident ID is bound to (matched by its keyed hash), if any: only a
    verified binding counts, never a number an account merely claimed at registration."""
    number = validate_resident_id(resident_id)
    digest = identity_keys(settings).lookup_hash(number)
    return session.scalar(select(Account).where(Account.resident_id_hash == digest))


_RESIDENT_ID = select(Account.resident_id_encrypted).where(Account.id == bindparam("account_id"))


def reveal_resident_id(session: Session, *, account_id: int, settings: Settings) -> str | None:
    """The full resident ID of an account; the caller authorizes and records the access."""
    # One column, not the account object, by a statement built once: read on every exchange
    # fetch (docs/benchmarks.md, Exchange).
    found = read_one(session, _RESIDENT_ID, {"account_id": account_id})
    if found is None:
        raise NotFound(f"No account {account_id}.")
    if found.resident_id_encrypted is None:
        return None
    return identity_keys(settings).decrypt(found.resident_id_encrypted)


def list_accounts(
    session: Session,
    *,
    role: str | None = None,
    q: str | None = None,
    active: bool | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[Sequence[Account], int]:
    """Accounts filtered by role, activity and a username/name fragment; and the total."""
    stmt = select(Account)
    if role:
        stmt = stmt.where(Account.role == _role(role).value)
    if active is not None:
        stmt = stmt.where(Account.active.is_(active))
    if q:
        pattern = f"%{q.strip().lower()}%"
        stmt = stmt.where(
            or_(func.lower(Account.username).like(pattern), Account.display_name.like(f"%{q}%"))
        )
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(Account.id).limit(limit).offset(offset)).all()
    return rows, int(total)


def _personal(account: Account) -> dict[str, str]:
    # The username is personal too: a citizen's is their phone number unless they chose one.
    data = {"username": account.username, "display_name": account.display_name}
    if account.phone:
        data["phone"] = account.phone
    if account.resident_id_masked:
        data["resident_id_masked"] = account.resident_id_masked
    return data


def _insert(session: Session, account: Account) -> None:
    """Insert, turning a race on a unique column into Conflict rather than a 500."""
    try:
        with session.begin_nested():
            session.add(account)
            session.flush()
    except IntegrityError:
        raise Conflict(
            "An account with this username or bound resident ID already exists.",
            errors=[FieldError("username", "already taken, or the resident ID is bound")],
        ) from None


def create_account(
    session: Session,
    *,
    username: str,
    password: str,
    role: str | Role,
    department_code: str | None = None,
    region_code: str | None = None,
    display_name: str | None = None,
    phone: str | None = None,
    resident_id: str | None = None,
    settings: Settings | None = None,
    actor: Actor | None = None,
    channel: str = "cli",
    event_action: str = "account.created",
    claim_only: bool = False,
) -> Account:
    """Create an account after checking every field; all wrong fields are named at once.

    An operator (CLI, administrator, demo data) who gives a resident ID vouches for it: it is
    bound (verified, method `operator`; Conflict when another account has it bound). With
    `claim_only` (self-registration) it is only claimed until verified (verification.py)."""
    errors = FieldErrors()
    name = errors.check(validate_username, username)
    the_role = errors.check(_role, role)
    errors.check(passwords.check_password_policy, password)
    label = errors.check(_display_name, display_name, name or str(username))
    mobile = errors.check(validate_phone, phone) if phone else None
    number = errors.check(validate_resident_id, resident_id) if resident_id else None
    department = None
    if department_code:
        code = errors.check(validate_uscc, department_code, field="department_code")
        if code:
            department = session.scalar(select(Department).where(Department.code == code))
            if department is None:
                errors.add("department_code", f"No department with code {code!r}.")
    region = errors.check(check_region, session, code=region_code) if region_code else None
    if the_role is Role.CLERK and not region_code:
        errors.add("region_code", "A clerk needs the region code of their service point.")
    if the_role is Role.OFFICIAL:
        if not department_code:
            errors.add("department_code", "An official belongs to a department.")
        elif department is not None and region is None and not region_code:
            region = department.region_code
        if (
            department is not None
            and region
            and not within(root=department.region_code, code=region)
        ):
            errors.add("region_code", "An official's jurisdiction lies within their department's.")
    errors.raise_if_any()
    assert name is not None and the_role is not None and label is not None

    if find_account_by_username(session, username=name) is not None:
        raise Conflict(
            f"The username {name!r} is taken.", errors=[FieldError("username", "already taken")]
        )
    account = Account(
        username=name,
        role=the_role.value,
        display_name=label,
        password_hash=passwords.hash_password(password),
        phone=mobile,
        department_id=department.id if department is not None else None,
        region_code=region,
        locale="zh-CN",
        elderly_mode=False,
        active=True,
        created_at=utcnow(),
        password_changed_at=utcnow(),
    )
    if number:
        if settings is None:
            raise TypeError("create_account needs the node's settings to keep a resident ID")
        keys = identity_keys(settings)
        if claim_only:
            verification.hold(account, number, keys)
        else:
            if verification.bound_elsewhere(
                session, digest=keys.lookup_hash(number), account_id=None
            ):
                raise Conflict(
                    "An account with this resident ID already exists.",
                    errors=[FieldError("resident_id", "already registered")],
                )
            verification.bind(account, number, keys, method=verification.OPERATOR, at=utcnow())
    _insert(session, account)
    verification.announce_bound(session, account)
    events.record(
        session,
        action=event_action,
        resource_type="account",
        resource_id=str(account.id),
        channel=channel,
        actor_id=actor.account_id if actor else account.id,
        actor_role=actor.role if actor else account.role,
        data={
            "role": account.role,
            "department_id": account.department_id,
            "region_code": account.region_code,
            "identity": verification.status(account),
        },
        personal=_personal(account),
    )
    return account


def register_citizen(
    session: Session,
    *,
    resident_id: str,
    phone: str,
    password: str,
    display_name: str,
    username: str | None = None,
    settings: Settings | None = None,
    channel: str = "online",
) -> Account:
    """Self-registration of a citizen; the username is the phone number unless one is chosen.

    The resident ID is only claimed: nobody is refused for claiming a number another account
    claims (or has bound), and nothing is linked to the account by it until the identity is
    verified (verification.py). Until then the account sees what it filed itself."""
    errors = FieldErrors()
    errors.check(validate_resident_id, resident_id)
    mobile = errors.check(validate_phone, phone)
    errors.check(passwords.check_password_policy, password)
    if not (display_name or "").strip():
        errors.add("display_name", "Please give your name.")
    errors.raise_if_any()
    return create_account(
        session,
        username=username or str(mobile),
        password=password,
        role=Role.CITIZEN,
        display_name=display_name,
        phone=mobile,
        resident_id=resident_id,
        settings=settings,
        channel=channel,
        event_action="account.registered",
        claim_only=True,
    )


def _record_change(
    session: Session,
    account: Account,
    action: str,
    actor: Actor | None,
    channel: str,
    data: dict[str, object] | None = None,
) -> None:
    events.record(
        session,
        action=action,
        resource_type="account",
        resource_id=str(account.id),
        channel=channel,
        actor_id=actor.account_id if actor else None,
        actor_role=actor.role if actor else None,
        data=data or {},
    )


def deactivate_account(
    session: Session, *, account_id: int, actor: Actor | None = None, channel: str = "system"
) -> Account:
    """Deactivate an account and revoke all its sessions and API tokens."""
    account = get_account(session, account_id=account_id)
    if account.active:
        account.active = False
        actor_id = actor.account_id if actor else None
        actor_role = actor.role if actor else None
        sessions = login_sessions.revoke_all_sessions(
            session,
            account_id=account.id,
            reason="account_deactivated",
            actor_id=actor_id,
            actor_role=actor_role,
            channel=channel,
        )
        tokens = api_tokens.revoke_all_api_tokens(
            session,
            account_id=account.id,
            reason="account_deactivated",
            actor_id=actor_id,
            actor_role=actor_role,
            channel=channel,
        )
        session.flush()
        _record_change(
            session,
            account,
            "account.deactivated",
            actor,
            channel,
            {"sessions_revoked": sessions, "tokens_revoked": tokens},
        )
    return account


def update_account(
    session: Session,
    *,
    account_id: int,
    actor: Actor | None = None,
    channel: str = "system",
    display_name: str | None = None,
    role: str | None = None,
    department_code: str | None = None,
    region_code: str | None = None,
    active: bool | None = None,
    password: str | None = None,
) -> Account:
    """Administrative change of an account; None leaves a field as it is."""
    account = get_account(session, account_id=account_id)
    errors = FieldErrors()
    label = (
        errors.check(_display_name, display_name, account.display_name) if display_name else None
    )
    new_role = errors.check(_role, role) if role else None
    if password is not None:
        errors.check(passwords.check_password_policy, password)
    department = None
    if department_code:
        code = errors.check(validate_uscc, department_code, field="department_code")
        if code:
            department = session.scalar(select(Department).where(Department.code == code))
            if department is None:
                errors.add("department_code", f"No department with code {code!r}.")
    region = errors.check(check_region, session, code=region_code) if region_code else None
    errors.raise_if_any()
    changed: dict[str, object] = {}
    if label and label != account.display_name:
        account.display_name = label
        changed["display_name"] = True  # the name itself is personal data
    if new_role and new_role.value != account.role:
        account.role = changed["role"] = new_role.value
    if department is not None and department.id != account.department_id:
        account.department_id = changed["department_id"] = department.id
    if region and region != account.region_code:
        account.region_code = changed["region_code"] = region
    if changed:
        session.flush()
        _record_change(session, account, "account.updated", actor, channel, changed)
    if password is not None:
        account.password_hash = passwords.hash_password(password)
        account.password_changed_at = utcnow()
        session.flush()
        _record_change(session, account, "account.password_changed", actor, channel)
        for revoke in (login_sessions.revoke_all_sessions, api_tokens.revoke_all_api_tokens):
            revoke(
                session,
                account_id=account.id,
                reason="password_reset",
                actor_id=actor.account_id if actor else None,
                actor_role=actor.role if actor else None,
                channel=channel,
            )
    if active is False:
        deactivate_account(session, account_id=account.id, actor=actor, channel=channel)
    elif active is True and not account.active:
        account.active = True
        session.flush()
        _record_change(session, account, "account.reactivated", actor, channel)
    return account


def change_password(
    session: Session,
    *,
    account_id: int,
    current_password: str,
    new_password: str,
    keep_session_id: int | None = None,
    channel: str = "online",
) -> Account:
    """The owner changes their password; every other session of theirs and every API token
    is revoked (`auth.session_revoked`, `token.revoked`, reason password_changed)."""
    account = get_account(session, account_id=account_id)
    if not passwords.verify_password(account, current_password):
        raise field_invalid("current_password", "The current password is wrong.")
    passwords.check_password_policy(new_password, field="new_password")
    account.password_hash = passwords.hash_password(new_password)
    account.password_changed_at = utcnow()
    session.flush()
    events.record(
        session,
        action="account.password_changed",
        resource_type="account",
        resource_id=str(account.id),
        channel=channel,
        actor_id=account.id,
        actor_role=account.role,
    )
    login_sessions.revoke_all_sessions(
        session,
        account_id=account.id,
        reason="password_changed",
        except_session_id=keep_session_id,
        actor_id=account.id,
        actor_role=account.role,
        channel=channel,
    )
    api_tokens.revoke_all_api_tokens(
        session,
        account_id=account.id,
        reason="password_changed",
        actor_id=account.id,
        actor_role=account.role,
        channel=channel,
    )
    return account


def update_preferences(
    session: Session,
    *,
    account_id: int,
    locale: str | None = None,
    elderly_mode: bool | None = None,
    display_name: str | None = None,
    channel: str = "online",
) -> Account:
    """The owner changes their language, elderly mode (长辈版) or display name."""
    account = get_account(session, account_id=account_id)
    errors = FieldErrors()
    if locale is not None and locale not in SUPPORTED_LOCALES:
        errors.add("locale", "The language is one of: " + ", ".join(SUPPORTED_LOCALES) + ".")
    label = (
        errors.check(_display_name, display_name, account.display_name) if display_name else None
    )
    errors.raise_if_any()
    changed: dict[str, object] = {}
    if locale is not None and locale != account.locale:
        account.locale = changed["locale"] = locale
    if elderly_mode is not None and elderly_mode != account.elderly_mode:
        account.elderly_mode = changed["elderly_mode"] = elderly_mode
    if label and label != account.display_name:
        account.display_name = label
        changed["display_name"] = True  # the name itself is personal data
    if changed:
        session.flush()
        events.record(
            session,
            action="account.preferences_changed",
            resource_type="account",
            resource_id=str(account.id),
            channel=channel,
            actor_id=account.id,
            actor_role=account.role,
            data=changed,
        )
    return account


def service_points(session: Session) -> list[str]:
    """The region codes where a service point works: those of active clerks' accounts."""
    rows = session.scalars(
        select(Account.region_code)
        .where(Account.role == Role.CLERK.value, Account.active.is_(True))
        .where(Account.region_code.is_not(None))
        .distinct()
    ).all()
    return sorted(str(code) for code in rows if code)


def officials_of(session: Session, *, department_id: int, region_code: str) -> list[Account]:
    """Active officials of a department whose jurisdiction covers `region_code`: who may work
    a case decided there (a case is handed only to someone who may decide it)."""
    rows = session.scalars(
        select(Account)
        .where(
            Account.role == Role.OFFICIAL.value,
            Account.active.is_(True),
            Account.department_id == department_id,
        )
        .order_by(Account.display_name, Account.id)
    ).all()
    return [a for a in rows if within(root=a.region_code, code=region_code)]
