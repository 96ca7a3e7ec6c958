"""Identity verification: a resident ID is *claimed* by registration and *bound* to an account
only when the identity is verified.

- Registration keeps the number the person typed (masked, and encrypted) as a claim. Claims
  are not unique: a second person claiming a number is not refused, and nothing is linked to
  an account by a claim.
- Binding sets `resident_id_hash` (the keyed lookup hash), which is unique: one account per
  person. Only a bound number links cases filed for that person (at a counter, by number) to
  the account (`accounts.find_account_by_resident_id`). Until then an account sees what it
  filed itself.
- Ways to bind: a clerk checks the ID card in person at a service point (`verify_at_counter`,
  `POST /api/v1/accounts/{id}/verify-identity`, the clerk's desk); the province's real-name
  service, when the node has one (`verify_with_realname`, `POST /api/v1/me/identity`;
  adapters/realname.py, docs/realname.md); an operator who creates the account with the number
  (CLI, administrators, demo data: `OPERATOR`).

Each binding writes `account.identity_verified`; each failed real-name check
`account.identity_verification_failed` (and counts towards its throttle).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final, Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tongban.adapters.realname import RealNameResult, load_verifier
from tongban.adapters.sms import load_gateway, mask_phone
from tongban.events import service as events
from tongban.identity import throttle
from tongban.identity.keys import IdentityKeys, identity_keys
from tongban.identity.models import Account
from tongban.identity.policy import Actor, Role, authorize
from tongban.identity.resident_id import mask_resident_id, resident_facts, validate_resident_id
from tongban.platform.config import Settings
from tongban.platform.db import utcnow
from tongban.platform.db.uow import after_commit
from tongban.platform.errors import (
    AppError,
    Conflict,
    FieldError,
    Invalid,
    NotFound,
    TooManyRequests,
)

log = logging.getLogger(__name__)

# How an identity was verified (accounts.identity_verification).
COUNTER = "counter"
REALNAME = "realname"
OPERATOR = "operator"

# What the owner sees (GET /api/v1/me).
IdentityStatus = Literal["none", "claimed", "verified"]
NONE: Final = "none"  # no resident ID on the account
CLAIMED: Final = "claimed"  # typed at registration, not verified: links nothing
VERIFIED: Final = "verified"  # bound: cases filed for this number are the account's

# Reason code of a failed real-name check (never free text).
NOT_MATCHED = "not_matched"


class RealNameNotMatched(Invalid):
    """The real-name service did not match the name to the number. The failure is counted
    (the check is an oracle on who holds a number) and its event kept (`keeps_writes`)."""

    keeps_writes = True


class RealNameFailedToAnswer(AppError):
    """The real-name service did not answer; nothing was decided."""

    status = 503
    code = "service-unavailable"
    title = "Service unavailable"


# What other domains do once a number is bound, in the binding's transaction: cases give the
# account the cases filed for that number at a counter (cases/tracking.py). They register here
# (identity cannot import them); a listener gets the account id and the number's lookup hash.
BoundListener = Callable[[Session, int, str], None]
_BOUND_LISTENERS: list[BoundListener] = []


def on_bound(listener: BoundListener) -> None:
    """Run `listener(session, account_id, resident_id_hash)` whenever a number is bound."""
    if listener not in _BOUND_LISTENERS:
        _BOUND_LISTENERS.append(listener)


def announce_bound(session: Session, account: Account) -> None:
    """Tell the listeners that the account's number is bound (nothing when it is not)."""
    if account.resident_id_hash is None:
        return
    for listener in tuple(_BOUND_LISTENERS):
        listener(session, account.id, account.resident_id_hash)


def status(account: Account) -> IdentityStatus:
    """none, claimed or verified."""
    if account.resident_id_hash:
        return VERIFIED
    return CLAIMED if account.resident_id_encrypted else NONE


def methods_available(settings: Settings) -> list[str]:
    """The ways an owner can get their identity verified on this node."""
    return [COUNTER, REALNAME] if settings.realname_verifier else [COUNTER]


def hold(account: Account, number: str, keys: IdentityKeys) -> None:
    """Keep the number on the account, masked and encrypted: a claim until bound."""
    facts = resident_facts(number)
    account.resident_id_masked = mask_resident_id(number)
    account.resident_id_encrypted = keys.encrypt(number)
    account.birth_date = facts.birth_date
    account.sex = facts.sex


def claimed_number(account: Account, keys: IdentityKeys) -> str | None:
    """The number the account holds (claimed or bound), in full."""
    if account.resident_id_encrypted is None:
        return None
    return keys.decrypt(account.resident_id_encrypted)


def bound_elsewhere(session: Session, *, digest: str, account_id: int | None) -> bool:
    """Whether another account has this number bound."""
    stmt = select(Account.id).where(Account.resident_id_hash == digest)
    if account_id is not None:
        stmt = stmt.where(Account.id != account_id)
    return session.scalar(stmt.limit(1)) is not None


def _already_bound() -> Conflict:
    return Conflict(
        "This resident ID is already bound to another account.",
        errors=[FieldError("resident_id", "bound to another account")],
    )


def bind(account: Account, number: str, keys: IdentityKeys, *, method: str, at: datetime) -> None:
    """Bind the number to the account (the caller has checked nobody else holds it bound)."""
    hold(account, number, keys)
    account.resident_id_hash = keys.lookup_hash(number)
    account.identity_verified_at = at
    account.identity_verification = method


def _bind_existing(
    session: Session, account: Account, number: str, settings: Settings, *, method: str
) -> str:
    """Bind the number to a stored account; Conflict when another account has it bound (a
    parallel binding loses on the unique key, also as Conflict). Returns the former claim's
    relation to the number: matched, replaced or none."""
    keys = identity_keys(settings)
    digest = keys.lookup_hash(number)
    if bound_elsewhere(session, digest=digest, account_id=account.id):
        raise _already_bound()
    held = claimed_number(account, keys)
    claim = NONE if held is None else "matched" if held == number else "replaced"
    try:
        with session.begin_nested():
            bind(account, number, keys, method=method, at=utcnow())
            session.flush()
    except IntegrityError:
        raise _already_bound() from None
    announce_bound(session, account)
    return claim


def _target(session: Session, account_id: int) -> Account:
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound(f"No account {account_id}.")
    if account.role != Role.CITIZEN:
        raise Conflict("Only a citizen's account is bound to a resident ID.")
    if not account.active:
        raise Conflict("This account is deactivated.")
    return account


def _bound_to_another_number() -> Conflict:
    return Conflict(
        "This account is already bound to another resident ID.",
        errors=[FieldError("resident_id", "the account is bound to another number")],
    )


def _record_verified(
    session: Session,
    account: Account,
    *,
    method: str,
    channel: str,
    actor: Actor,
    data: dict[str, Any],
    personal: dict[str, Any] | None = None,
) -> None:
    events.record(
        session,
        action="account.identity_verified",
        resource_type="account",
        resource_id=str(account.id),
        channel=channel,
        actor_id=actor.account_id,
        actor_role=str(actor.role),
        service_point=actor.service_point,
        data={"method": method, **data},
        personal=personal,
    )


def _tell_owner(session: Session, account: Account, settings: Settings) -> None:
    """A text to the phone on file once the binding is committed: if the owner did not stand at
    that counter themselves, they learn of it at once."""
    phone = account.phone
    if not phone:
        return
    text = "【通办】您的账户已在服务窗口完成实名核验。如非本人操作，请立即到就近服务窗口反映。"
    gateway_path = settings.sms_gateway

    def send() -> None:
        try:
            load_gateway(gateway_path).send(phone, text)
        except Exception:
            log.exception("sms to %s about an identity verification failed", mask_phone(phone))

    after_commit(session, send)


def verify_at_counter(
    session: Session,
    *,
    account_id: int,
    resident_id: str,
    confirmed: bool,
    actor: Actor,
    settings: Settings,
    channel: str = "assisted",
) -> Account:
    """A clerk who has checked the person's ID card in person binds the card's number to their
    account (`account.identity_verified`, method counter); the number on the card replaces a
    different claim. Idempotent for the same number; Conflict when another account has the
    number bound or this one another number."""
    authorize(actor, "accounts.verify_identity")
    if not confirmed:
        raise Invalid(
            "Check the ID card against the person in front of you, then confirm it.",
            errors=[FieldError("confirmed", "confirm the in-person check of the ID card")],
        )
    number = validate_resident_id(resident_id)
    account = _target(session, account_id)
    if account.resident_id_hash is not None:
        if account.resident_id_hash != identity_keys(settings).lookup_hash(number):
            raise _bound_to_another_number()
        return account  # verified before with this number: nothing changes
    claim = _bind_existing(session, account, number, settings, method=COUNTER)
    _record_verified(
        session, account, method=COUNTER, channel=channel, actor=actor, data={"claim": claim}
    )
    _tell_owner(session, account, settings)
    return account


def _realname_name(name: str) -> str:
    value = " ".join((name or "").split())
    if not 1 <= len(value) <= 50:
        raise Invalid(
            "Give your name as on your ID card.",
            errors=[FieldError("name", "1 to 50 characters, as on the ID card")],
        )
    return value


def verify_with_realname(
    session: Session,
    *,
    account_id: int,
    name: str,
    actor: Actor,
    settings: Settings,
    channel: str = "online",
    now: datetime | None = None,
) -> Account:
    """The owner asks the node's real-name service to confirm the number their account claims
    with their name (and phone); a match binds it (`account.identity_verified`, method
    realname). A mismatch is counted and recorded (`account.identity_verification_failed`):
    after `realname_max_failures`, each further check waits hours, then a day."""
    authorize(actor, "accounts.verify_self", {"account_id": account_id})
    if not settings.realname_verifier:
        raise Conflict(
            "This node has no real-name verification service: have your ID card checked at "
            "any service point to verify your identity."
        )
    the_name = _realname_name(name)
    account = _target(session, account_id)
    if account.resident_id_hash is not None:
        return account
    keys = identity_keys(settings)
    number = claimed_number(account, keys)
    if number is None:
        raise Invalid(
            "Your account holds no resident ID number to verify.",
            errors=[FieldError("resident_id", "none on the account")],
        )
    at = now or utcnow()
    counters = (throttle.realname_counter(settings, account_id=account.id),)
    refusal = throttle.refused_now(session, counters, now=at, settings=settings)
    if refusal is not None:
        raise _too_many(refusal)
    result = _ask(settings, number=number, name=the_name, phone=account.phone)
    if not result.matched:
        refusal = throttle.note_failure(session, counters, now=at, settings=settings)
        if refusal is not None:
            raise _too_many(refusal)
        events.record(
            session,
            action="account.identity_verification_failed",
            resource_type="account",
            resource_id=str(account.id),
            channel=channel,
            actor_id=actor.account_id,
            actor_role=str(actor.role),
            reason=NOT_MATCHED,
            data={"method": REALNAME},
            personal={"reference": result.reference} if result.reference else None,
        )
        raise RealNameNotMatched(
            "The real-name register does not give this name for your resident ID number. "
            "Check the name as on your ID card, or verify at a service point.",
            errors=[FieldError("name", "does not match the resident ID number")],
        )
    claim = _bind_existing(session, account, number, settings, method=REALNAME)
    _record_verified(
        session,
        account,
        method=REALNAME,
        channel=channel,
        actor=actor,
        data={"claim": claim},
        personal={"reference": result.reference} if result.reference else None,
    )
    return account


def _too_many(refusal: throttle.Refusal) -> TooManyRequests:
    return TooManyRequests(
        f"Too many failed checks; try again in {refusal.retry_after} seconds, or verify at a "
        "service point.",
        headers={"Retry-After": str(refusal.retry_after)},
    )


def _ask(settings: Settings, *, number: str, name: str, phone: str | None) -> RealNameResult:
    try:
        result = load_verifier(settings.realname_verifier).verify(
            resident_id=number, name=name, phone=phone
        )
    except Exception as exc:
        # Only the kind of failure: a provider's message may carry the number or the name.
        log.error("the real-name service failed to answer: %s", type(exc).__name__)
        raise RealNameFailedToAnswer(
            "The real-name service did not answer; try again later, or verify at a service point."
        ) from None
    if not isinstance(result, RealNameResult):
        log.error("the real-name service answered with a %s", type(result).__name__)
        raise RealNameFailedToAnswer("The real-name service gave no usable answer.")
    return result
