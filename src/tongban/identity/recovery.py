"""Forgotten passwords: a one-time code by SMS to the phone on file, or a clerk at a service
point who checks the ID card and gives a temporary password.

Online (`request_code`, then `reset_with_code`):

- Anyone may ask for a code for a username or phone number; the answer is the same whether an
  account exists or not (no enumeration), and so is the public part of the event it writes
  (`auth.password_reset_requested`, whose resource is the request itself under a random id;
  which account, and keyed pseudonyms of what was typed and of the address, are personal).
- The code has 6 digits; only its keyed hash is stored (`password_resets`), it expires after
  10 minutes, allows 5 checks, and a newer code supersedes it. The SMS goes after the commit.
- Requests are throttled (throttle.py counters, counting requests): per identifier typed (at
  every address: a refusal says nothing about the account), per client address, and per
  account (silently: no SMS, the same answer).
- A good code sets the new password (the password policy), ends every session and API token
  of the account (`password_reset`) and writes `account.password_reset` (method sms).

In person (`reset_at_counter`): a clerk who has checked the ID card against the person resets
the password of a citizen whose resident ID is bound to the account and equal to the card's;
the temporary password is shown once, the account must change it at the next login through
the web front (`password_must_change`), and the owner gets an SMS.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tongban.adapters.sms import load_gateway, mask_phone
from tongban.events import service as events
from tongban.identity import api_tokens, authentication, login_sessions, passwords, throttle
from tongban.identity.keys import identity_keys
from tongban.identity.models import Account, PasswordReset
from tongban.identity.policy import Actor, Role, authorize
from tongban.identity.resident_id import validate_phone, validate_resident_id
from tongban.platform.config import Settings
from tongban.platform.db import utcnow
from tongban.platform.db.uow import after_commit
from tongban.platform.errors import Conflict, FieldError, Invalid, NotFound, TooManyRequests

log = logging.getLogger(__name__)

CODE_DIGITS = 6
CODE_TTL = timedelta(minutes=10)
CODE_MAX_ATTEMPTS = 5
TEMPORARY_PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i

# Methods of `account.password_reset`, and outcomes of a code (password_resets.outcome).
SMS = "sms"
COUNTER = "counter"
USED = "used"
SUPERSEDED = "superseded"
SPENT = "spent"

# Limit codes of the request throttles (personal part of a refusal's event).
IDENTIFIER_LIMIT = "reset_identifier"
ADDRESS_LIMIT = "reset_address"
ACCOUNT_LIMIT = "reset_account"
WRONG_CODE = "wrong_code"

_CODE_CONTEXT = b"tongban/identity/password-reset-code/v1"


class ResetCodeRejected(Invalid):
    """The code is wrong, spent or expired (one message for all). The check it cost is kept
    although the error unwinds the request (`keeps_writes`)."""

    keeps_writes = True


class ResetRefused(TooManyRequests):
    """Too many requests for codes from this address or for this username: wait."""

    keeps_writes = True


@dataclass(frozen=True)
class TemporaryPassword:
    """A password a clerk hands over at the counter: shown once, changed at the next login."""

    account_id: int
    username: str
    display_name: str
    phone_masked: str | None
    password: str


# --- finding the account -----------------------------------------------------------------------


def find_account(session: Session, *, identifier: str) -> Account | None:
    """The account a person means by what they typed: their username, else the one active
    account with that mobile number on file (None when there is none or more than one)."""
    name = authentication.normalize_username(identifier or "")
    if not name or len(name) > 64:
        return None
    account = session.scalar(select(Account).where(Account.username == name))
    if account is not None:
        return account
    try:
        phone = validate_phone(name)
    except Invalid:
        return None
    found = session.scalars(
        select(Account).where(Account.phone == phone, Account.active.is_(True)).limit(2)
    ).all()
    return found[0] if len(found) == 1 else None


# --- throttles -----------------------------------------------------------------------------


def _counters(
    settings: Settings, *, identifier: str, client_ip: str
) -> tuple[throttle.Counter, ...]:
    """Requests for codes: 3 free per identifier (every address), 10 per address, then waits
    from a minute doubling up to an hour; forgotten after an hour of quiet."""
    minute, hour = timedelta(minutes=1), timedelta(hours=1)
    return (
        throttle.Counter(
            IDENTIFIER_LIMIT,
            "fi:" + throttle.pseudonym(settings, IDENTIFIER_LIMIT, identifier),
            3,
            minute,
            hour,
            hour,
        ),
        throttle.Counter(
            ADDRESS_LIMIT,
            "fa:" + throttle.pseudonym(settings, ADDRESS_LIMIT, client_ip),
            10,
            minute,
            hour,
            hour,
        ),
    )


def _account_counter(account_id: int) -> throttle.Counter:
    minute, hour = timedelta(minutes=1), timedelta(hours=1)
    return throttle.Counter(ACCOUNT_LIMIT, f"fu:{account_id}", 3, minute, hour, hour)


def _guess_counter(settings: Settings, client_ip: str) -> throttle.Counter:
    """Wrong codes from one address (every account): 20 free, then waits."""
    minute, hour = timedelta(minutes=1), timedelta(hours=1)
    key = "fg:" + throttle.pseudonym(settings, WRONG_CODE, client_ip)
    return throttle.Counter(WRONG_CODE, key, 20, minute, hour, hour)


def _refused(refusal: throttle.Refusal) -> ResetRefused:
    return ResetRefused(
        f"Too many requests; try again in {refusal.retry_after} seconds, or ask at a service "
        "point.",
        headers={"Retry-After": str(refusal.retry_after)},
    )


# --- codes ---------------------------------------------------------------------------------


def _code_hash(settings: Settings, reset_key: str, code: str) -> str:
    key = hmac.new(identity_keys(settings).hmac_secret, _CODE_CONTEXT, hashlib.sha256).digest()
    return hmac.new(key, f"{reset_key}\0{code}".encode(), hashlib.sha256).hexdigest()


def _new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def _close_open_codes(session: Session, *, account_id: int, outcome: str, at: datetime) -> None:
    session.execute(
        update(PasswordReset)
        .where(PasswordReset.account_id == account_id, PasswordReset.closed_at.is_(None))
        .values(closed_at=at, outcome=outcome)
        .execution_options(synchronize_session=False)
    )


def _record_request(
    session: Session,
    *,
    settings: Settings,
    identifier: str,
    client_ip: str,
    channel: str,
    details: dict[str, object],
    action: str = "auth.password_reset_requested",
    reason: str | None = None,
) -> None:
    # The public part is the same whether an account was found or not (see the module doc).
    events.record(
        session,
        action=action,
        resource_type="password_reset",
        resource_id=uuid.uuid4().hex,
        channel=channel,
        reason=reason,
        personal={
            **details,
            "identifier_key": throttle.pseudonym(settings, "username", identifier),
            "client_key": throttle.pseudonym(settings, "client", client_ip),
        },
    )


def request_code(
    session: Session,
    *,
    identifier: str,
    client_ip: str,
    settings: Settings,
    channel: str = "online",
    now: datetime | None = None,
) -> None:
    """Send a one-time code to the phone on file of the account meant by `identifier`, if
    there is one; the same outcome (None) either way. ResetRefused (429) while a throttle of the
    identifier or of the address runs; Invalid when nothing was typed."""
    name = authentication.normalize_username(identifier or "")
    if not name:
        raise Invalid(
            "Enter your user name or phone number.",
            errors=[FieldError("username", "enter your user name or phone number")],
        )
    name = name[:64]
    at = now or utcnow()
    counters = _counters(settings, identifier=name, client_ip=client_ip)
    refusal = throttle.note_failure(session, counters, now=at, settings=settings)
    if refusal is not None:
        _record_request(
            session,
            settings=settings,
            identifier=name,
            client_ip=client_ip,
            channel=channel,
            action="auth.password_reset_refused",
            reason=authentication.RATE_LIMITED,
            details={"limit": refusal.limit, "retry_after": refusal.retry_after},
        )
        raise _refused(refusal)
    account = find_account(session, identifier=name)
    sent = False
    if account is not None and account.active and account.phone:
        quiet = throttle.note_failure(
            session, (_account_counter(account.id),), now=at, settings=settings
        )
        if quiet is None:
            _close_open_codes(session, account_id=account.id, outcome=SUPERSEDED, at=at)
            code = _new_code()
            row = PasswordReset(
                account_id=account.id,
                code_hash="",
                created_at=at,
                expires_at=at + CODE_TTL,
                attempts=0,
            )
            session.add(row)
            session.flush()
            row.code_hash = _code_hash(settings, str(row.id), code)
            session.flush()
            _text_code(session, account.phone, code, settings)
            sent = True
    _record_request(
        session,
        settings=settings,
        identifier=name,
        client_ip=client_ip,
        channel=channel,
        details={"account_id": account.id if account is not None else None, "sent": sent},
    )


def _text_code(session: Session, phone: str, code: str, settings: Settings) -> None:
    minutes = int(CODE_TTL.total_seconds() // 60)
    text = (
        f"【通办】您正在重设密码，验证码 {code}，{minutes}分钟内有效。"
        "请勿告诉任何人，工作人员不会向您索要验证码。"
    )
    gateway_path = settings.sms_gateway

    def send() -> None:
        try:
            load_gateway(gateway_path).send(phone, text)
        except Exception:
            log.exception("sms to %s with a password reset code failed", mask_phone(phone))

    after_commit(session, send)


def _wrong_code() -> ResetCodeRejected:
    return ResetCodeRejected(
        "The code is wrong or has expired. Ask for a new code.",
        errors=[FieldError("code", "wrong or expired")],
    )


def _check_code(
    session: Session, *, account: Account, code: str, settings: Settings, at: datetime
) -> PasswordReset | None:
    """The open code row the code matches, or None. Each check is counted atomically (parallel
    checks cannot pass the limit); the last allowed wrong check spends the code."""
    row = session.scalar(
        select(PasswordReset)
        .where(
            PasswordReset.account_id == account.id,
            PasswordReset.closed_at.is_(None),
            PasswordReset.expires_at > at,
        )
        .order_by(PasswordReset.id.desc())
        .limit(1)
    )
    if row is None:
        return None
    counted = session.execute(
        update(PasswordReset)
        .where(
            PasswordReset.id == row.id,
            PasswordReset.closed_at.is_(None),
            PasswordReset.attempts < CODE_MAX_ATTEMPTS,
        )
        .values(attempts=PasswordReset.attempts + 1)
        .returning(PasswordReset.attempts)
        .execution_options(synchronize_session=False)
    ).scalar()
    if counted is None:
        return None
    good = hmac.compare_digest(row.code_hash, _code_hash(settings, str(row.id), code))
    if good:
        return row
    if counted >= CODE_MAX_ATTEMPTS:
        session.execute(
            update(PasswordReset)
            .where(PasswordReset.id == row.id)
            .values(closed_at=at, outcome=SPENT)
            .execution_options(synchronize_session=False)
        )
    return None


def _set_password(
    session: Session,
    account: Account,
    password: str,
    *,
    must_change: bool,
    method: str,
    channel: str,
    actor: Actor | None,
) -> None:
    account.password_hash = passwords.hash_password(password)
    account.password_changed_at = utcnow()
    account.password_must_change = must_change
    session.flush()
    actor_id = actor.account_id if actor is not None else account.id
    actor_role = str(actor.role) if actor is not None else account.role
    events.record(
        session,
        action="account.password_reset",
        resource_type="account",
        resource_id=str(account.id),
        channel=channel,
        actor_id=actor_id,
        actor_role=actor_role,
        service_point=actor.service_point if actor is not None else None,
        data={"method": method, "must_change": must_change},
    )
    for revoke in (login_sessions.revoke_all_sessions, api_tokens.revoke_all_api_tokens):
        revoke(
            session,
            account_id=account.id,
            reason="password_reset",
            actor_id=actor_id,
            actor_role=actor_role,
            channel=channel,
        )


def reset_with_code(
    session: Session,
    *,
    identifier: str,
    code: str,
    new_password: str,
    client_ip: str,
    settings: Settings,
    channel: str = "online",
    now: datetime | None = None,
) -> Account:
    """Set a new password with the code sent by `request_code`; every session and API token of
    the account ends. ResetCodeRejected (422) alike for an unknown account and a wrong, spent
    or expired code; Invalid for a password against the policy (the code is not spent)."""
    at = now or utcnow()
    name = authentication.normalize_username(identifier or "")[:64]
    typed = (code or "").strip()
    errors: list[FieldError] = []
    if not name:
        errors.append(FieldError("username", "enter your user name or phone number"))
    if not (len(typed) == CODE_DIGITS and typed.isascii() and typed.isdigit()):
        errors.append(FieldError("code", f"the code has {CODE_DIGITS} digits"))
    try:
        passwords.check_password_policy(new_password, field="new_password")
    except Invalid as exc:
        errors.extend(exc.errors or [])
    if errors:
        raise Invalid("Check the entries.", errors=errors)
    guesses = (_guess_counter(settings, client_ip),)
    refusal = throttle.refused_now(session, guesses, now=at, settings=settings)
    if refusal is not None:
        raise _refused(refusal)
    account = find_account(session, identifier=name)
    row = None
    if account is not None and account.active:
        row = _check_code(session, account=account, code=typed, settings=settings, at=at)
    if row is None or account is None:
        refusal = throttle.note_failure(session, guesses, now=at, settings=settings)
        _record_request(
            session,
            settings=settings,
            identifier=name,
            client_ip=client_ip,
            channel=channel,
            action="auth.password_reset_failed",
            reason=WRONG_CODE,
            details={"account_id": account.id if account is not None else None},
        )
        if refusal is not None:
            raise _refused(refusal)
        raise _wrong_code()
    _close_open_codes(session, account_id=account.id, outcome=SUPERSEDED, at=at)
    row.closed_at, row.outcome = at, USED
    _set_password(
        session, account, new_password, must_change=False, method=SMS, channel=channel, actor=None
    )
    return account


# --- at the counter ------------------------------------------------------------------------


def _temporary_password() -> str:
    chars = [secrets.choice(TEMPORARY_PASSWORD_ALPHABET) for _ in range(8)]
    return "".join(chars[:4]) + "-" + "".join(chars[4:])


def find_citizen_at_counter(session: Session, *, identifier: str) -> Account:
    """The citizen's account a clerk means (username or phone), or NotFound."""
    account = find_account(session, identifier=identifier)
    if account is None or account.role != Role.CITIZEN:
        raise NotFound(
            "No citizen's account has this user name or phone number.",
        )
    return account


def reset_at_counter(
    session: Session,
    *,
    identifier: str,
    resident_id: str,
    confirmed: bool,
    actor: Actor,
    settings: Settings,
    channel: str = "assisted",
) -> TemporaryPassword:
    """A clerk who has checked the ID card against the person gives them a temporary password
    (shown once; to be changed at the next login): only for a citizen whose bound resident ID
    is the card's. Every session and API token of the account ends; the owner gets an SMS."""
    authorize(actor, "accounts.reset_password")
    if not confirmed:
        raise Invalid(
            "Check the ID card against the person in front of you, then confirm it.",
            errors=[FieldError("confirmed", "confirm the in-person check of the ID card")],
        )
    number = validate_resident_id(resident_id)
    account = find_citizen_at_counter(session, identifier=identifier)
    if not account.active:
        raise Conflict("This account is deactivated.")
    if account.resident_id_hash is None:
        raise Conflict(
            "This account's resident ID is not verified yet: verify the identity first.",
            errors=[FieldError("resident_id", "the account's resident ID is not verified")],
        )
    if account.resident_id_hash != identity_keys(settings).lookup_hash(number):
        raise Conflict(
            "The ID card's number is not the one bound to this account.",
            errors=[FieldError("resident_id", "not the number bound to this account")],
        )
    password = _temporary_password()
    _close_open_codes(session, account_id=account.id, outcome=SUPERSEDED, at=utcnow())
    _set_password(
        session, account, password, must_change=True, method=COUNTER, channel=channel, actor=actor
    )
    _tell_owner(session, account, settings)
    return TemporaryPassword(
        account_id=account.id,
        username=account.username,
        display_name=account.display_name,
        phone_masked=mask_phone(account.phone) if account.phone else None,
        password=password,
    )


def _tell_owner(session: Session, account: Account, settings: Settings) -> None:
    phone = account.phone
    if not phone:
        return
    text = "【通办】您的账户密码已在服务窗口重设。如非本人操作，请立即到就近服务窗口反映。"
    gateway_path = settings.sms_gateway

    def send() -> None:
        try:
            load_gateway(gateway_path).send(phone, text)
        except Exception:
            log.exception("sms to %s about a password reset failed", mask_phone(phone))

    after_commit(session, send)
