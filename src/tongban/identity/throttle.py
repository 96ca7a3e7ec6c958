"""Throttles of guessing: failure counters that parallel attempts cannot race past, and the
progressive delays after the free failures (logins, real-name checks).

The login policy (docs/security.md, "Identity and accounts"), with the default settings:

- **username** (at one address; limit code `username`): 5 free failures
  (`login_max_failures`); then no attempt from that address for that username is checked
  before a delay after the last failure that doubles from 30 s (`login_delay_seconds`) up to
  15 min (`login_window_seconds`).
- **client address** (every username; `client_address`): 4 times as many free failures, 20
  (`login_address_max_failures`), then the same delays: it slows password spraying from one
  address without stopping a busy hall behind one address.
- **account** (the username from every address; `account`): a much higher ceiling, 100
  (`login_account_max_failures`), then delays, but only for addresses this username has not
  logged in from in the last 90 days (`login_known_address_days`): the owner at home or at
  their usual hall still gets in while a botnet guesses. No failure count ever locks the owner
  out everywhere.
- A counter forgets its failures once a window passes after its delay ran out.
- A good password resets its own username-at-address counter, never the address or the
  username counter (else a guesser could log into their own account between guesses).
- An attempt refused by a delay is not counted: waiting out a delay is all it takes.

Exactness: a decision about a checked attempt is taken with the counters' rows locked (one
INSERT ... ON CONFLICT DO UPDATE ... RETURNING touches them, in key order; on SQLite it takes the
write lock), so 40 parallel wrong passwords get exactly the free failures checked. The password
is verified before the lock is taken, so the lock lasts only for the rest of the transaction.
Counters are keyed by keyed pseudonyms of usernames and addresses, never in clear.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from math import ceil
from typing import Any, cast

from sqlalchemy import Table, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tongban.identity.keys import identity_keys
from tongban.identity.models import LoginThrottle
from tongban.platform.config import Settings

# Codes of the limits (in the personal part of `auth.login_locked` events).
USERNAME = "username"  # this username at this address
CLIENT_ADDRESS = "client_address"  # this address, every username
ACCOUNT = "account"  # this username, every address (unknown addresses only)
REALNAME = "realname"
TRACKING = "tracking"  # case tracking without login (cases/tracking.py), per client address

_TABLE = cast(Table, LoginThrottle.__table__)
_PSEUDONYM_CONTEXT = b"tongban/identity/login-pseudonym/v1"


def pseudonym(settings: Settings, kind: str, value: str) -> str:
    """A keyed hash of a username or client address: stable within the node, meaningless
    without the node's identity key (separate from the resident-ID lookup hash)."""
    key = hmac.new(identity_keys(settings).hmac_secret, _PSEUDONYM_CONTEXT, hashlib.sha256)
    digest = hmac.new(key.digest(), f"{kind}\0{value}".encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


@dataclass(frozen=True)
class Counter:
    """One failure counter: its limit's name, its row key, the free failures, the first delay
    after them, the longest delay, and the quiet time after which it forgets."""

    limit: str
    key: str
    free: int
    delay: timedelta
    longest: timedelta
    forget_after: timedelta

    def delay_after(self, failures: int) -> timedelta | None:
        """The wait before the next check after this many failures (None: no wait)."""
        if failures < self.free:
            return None
        doublings = min(failures - self.free, 30)
        return min(self.delay * 2**doublings, self.longest)


@dataclass(frozen=True)
class Refusal:
    """A refused attempt: which limit refused it and the seconds until it may try again."""

    limit: str
    retry_after: int


def login_counters(settings: Settings, *, username: str, client_ip: str) -> tuple[Counter, ...]:
    """The three login counters of a username at a client address: the username there, the
    address, the account (the username anywhere)."""
    delay = timedelta(seconds=settings.login_delay_seconds)
    window = timedelta(seconds=settings.login_window_seconds)
    longest = max(window, delay)
    per_address = settings.login_address_max_failures or 4 * settings.login_max_failures

    def counter(limit: str, prefix: str, value: str, free: int) -> Counter:
        key = prefix + pseudonym(settings, limit, value)
        return Counter(limit, key, free, delay, longest, window)

    return (
        counter(USERNAME, "p:", f"{username}\0{client_ip}", settings.login_max_failures),
        counter(CLIENT_ADDRESS, "a:", client_ip, per_address),
        counter(ACCOUNT, "u:", username, settings.login_account_max_failures),
    )


def realname_counter(settings: Settings, *, account_id: int) -> Counter:
    """The counter of an account's failed real-name checks: each failure tells the caller that
    a name is not the one registered for a number, so they are few and slow (hours)."""
    return Counter(
        REALNAME,
        f"r:{account_id}",
        settings.realname_max_failures,
        timedelta(hours=1),
        timedelta(days=1),
        timedelta(days=1),
    )


def tracking_counter(settings: Settings, *, client_ip: str) -> Counter:
    """The counter of a client address's failed case look-ups (number and name that do not
    match): a handful of typing mistakes are free, then delays from a minute up to an hour
    stop anyone from trying names or numbers in bulk."""
    return Counter(
        TRACKING,
        "t:" + pseudonym(settings, TRACKING, client_ip),
        settings.tracking_max_failures,
        timedelta(minutes=1),
        timedelta(hours=1),
        timedelta(hours=1),
    )


def _failures(counter: Counter, row: Any, now: datetime) -> int:
    """The row's failures, or 0 when the counter has forgotten them (a window after its delay
    ran out)."""
    if row is None or row.last_failure_at is None or not row.failures:
        return 0
    quiet_since = row.last_failure_at + (counter.delay_after(int(row.failures)) or timedelta())
    return 0 if quiet_since + counter.forget_after <= now else int(row.failures)


def _next_allowed(counter: Counter, row: Any, now: datetime) -> datetime | None:
    """Until when a delay runs for the counter (None: none runs). Derived from the failures and
    the last one, so it follows the settings of the moment."""
    failures = _failures(counter, row, now)
    wait = counter.delay_after(failures) if failures else None
    return None if wait is None else row.last_failure_at + wait


def _known_address(rows: Mapping[str, Any], pair: Counter, now: datetime, days: int) -> bool:
    row = rows.get(pair.key)
    return bool(
        days > 0
        and row is not None
        and row.last_success_at is not None
        and row.last_success_at > now - timedelta(days=days)
    )


def _refusal(
    counters: Sequence[Counter], rows: Mapping[str, Any], now: datetime, settings: Settings
) -> Refusal | None:
    known = False
    if counters and counters[0].limit == USERNAME:
        known = _known_address(rows, counters[0], now, settings.login_known_address_days)
    for counter in counters:
        if counter.limit == ACCOUNT and known:
            continue  # the owner's usual address: the account's ceiling does not apply
        until = _next_allowed(counter, rows.get(counter.key), now)
        if until is not None and until > now:
            return Refusal(counter.limit, max(1, ceil((until - now).total_seconds())))
    return None


def _read(session: Session, counters: Sequence[Counter]) -> dict[str, Any]:
    keys = [c.key for c in counters]
    return {row.key: row for row in session.execute(select(_TABLE).where(_TABLE.c.key.in_(keys)))}


def _lock(session: Session, counters: Sequence[Counter]) -> dict[str, Any]:
    """Touch the counters' rows (creating the missing ones) in key order and return them as
    they now stand: on PostgreSQL the rows stay locked, on SQLite the write lock is held, until
    the transaction ends. Parallel attempts on the same keys queue here."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        statement: Any = postgresql.insert(_TABLE)
    elif dialect == "sqlite":
        statement = sqlite.insert(_TABLE)
    else:  # pragma: no cover - the two supported databases
        raise RuntimeError(f"no atomic upsert for {dialect}")
    keys = sorted({c.key for c in counters})
    statement = (
        statement.values([{"key": key, "failures": 0} for key in keys])
        .on_conflict_do_update(index_elements=[_TABLE.c.key], set_={"failures": _TABLE.c.failures})
        .returning(*_TABLE.c)
    )
    return {row.key: row for row in session.execute(statement)}


def refused_now(
    session: Session, counters: Sequence[Counter], *, now: datetime, settings: Settings
) -> Refusal | None:
    """Whether a delay refuses an attempt now: a plain read, before any costly check (the
    exact decision is note_failure's or note_success's)."""
    return _refusal(counters, _read(session, counters), now, settings)


def note_failure(
    session: Session, counters: Sequence[Counter], *, now: datetime, settings: Settings
) -> Refusal | None:
    """Count a failed check on every counter, under their row locks; or, when a delay began
    meanwhile (a parallel attempt), count nothing and return the refusal."""
    rows = _lock(session, counters)
    refusal = _refusal(counters, rows, now, settings)
    if refusal is not None:
        return refusal
    for counter in counters:
        row = rows[counter.key]
        failures = _failures(counter, row, now) + 1
        # An attempt that began before a parallel one but counts after it keeps the later time.
        last = max(now, row.last_failure_at) if row.last_failure_at is not None else now
        session.execute(
            update(_TABLE)
            .where(_TABLE.c.key == counter.key)
            .values(failures=failures, last_failure_at=last)
        )
    return None


def note_success(
    session: Session, counters: Sequence[Counter], *, now: datetime, settings: Settings
) -> Refusal | None:
    """A good check: refused all the same when a delay began meanwhile (a parallel attempt
    failed past the free ones), else the first counter (the username at this address) is reset
    and remembers the success; the others keep counting."""
    rows = _lock(session, counters)
    refusal = _refusal(counters, rows, now, settings)
    if refusal is not None:
        return refusal
    session.execute(
        update(_TABLE)
        .where(_TABLE.c.key == counters[0].key)
        .values(failures=0, last_failure_at=None, last_success_at=now)
    )
    return None


def prune(session: Session, *, now: datetime, settings: Settings) -> int:
    """Delete the counters that have surely forgotten their failures (two days without one:
    longer than any delay and window of a login or real-name counter) and remember no recent
    success (guesses at usernames that do not exist leave such rows); returns how many."""
    quiet = now - timedelta(days=2, seconds=2 * settings.login_window_seconds)
    known = now - timedelta(days=settings.login_known_address_days)
    result = session.execute(
        delete(_TABLE).where(
            (_TABLE.c.last_failure_at.is_(None)) | (_TABLE.c.last_failure_at < quiet),
            (_TABLE.c.last_success_at.is_(None)) | (_TABLE.c.last_success_at < known),
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
