"""Login limits (issue #12, item 8): failures are counted atomically (parallel guesses get no
more checks than the limit), delays grow progressively instead of locking, and strangers cannot
lock the owner out: the right password from another address still works."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.support import identity_internals as identity
from tongban.events.models import Event
from tongban.identity import passwords
from tongban.identity.models import LoginThrottle
from tongban.platform.config import Settings
from tongban.platform.db import Database
from tongban.platform.errors import TooManyRequests

from .conftest import PASSWORD, MakeAccount

WRONG = "not the password"
PARALLEL = 40


@pytest.fixture
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with the cheapest parameters: these tests are about counting, not hashing."""
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", cheap)
    monkeypatch.setattr(passwords, "_DUMMY_HASH", cheap.hash("tongban-no-such-user"))


def _attempt(
    db: Session,
    settings: Settings,
    username: str,
    *,
    password: str = WRONG,
    address: str = "198.51.100.7",
    at: datetime | None = None,
) -> str:
    """One login: ok, failed (the password was checked and wrong) or locked (not checked)."""
    kwargs = {} if at is None else {"now": at}
    try:
        identity.login(
            db,
            username=username,
            password=password,
            client_ip=address,
            settings=settings,
            **kwargs,  # type: ignore[arg-type]
        )
    except identity.LoginFailed:
        return "failed"
    except TooManyRequests:
        return "locked"
    return "ok"


# --- atomic counting -------------------------------------------------------------------------


def _race(
    database: Database, settings: Settings, username: str, passwords_: list[str]
) -> Counter[str]:
    """Each password tried at once by its own thread in its own unit of work."""
    start = threading.Barrier(len(passwords_))
    outcomes: Counter[str] = Counter()
    errors: list[BaseException] = []
    lock = threading.Lock()

    def one(password: str) -> None:
        start.wait()
        try:
            with database.session_scope() as session:
                outcome = _attempt(session, settings, username, password=password)
        except BaseException as exc:  # reported below
            with lock:
                errors.append(exc)
            return
        with lock:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=one, args=(p,)) for p in passwords_]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return outcomes


@pytest.fixture
def fresh_account(fresh_database: Database, settings: Settings) -> Iterator[str]:
    """An account committed in a database of its own (the race needs real commits)."""
    identity.identity_keys(settings)  # made before the race: the threads only read them
    with fresh_database.session_scope() as session:
        identity.create_account(
            session, username="racer", password=PASSWORD, role="citizen", settings=settings
        )
    yield "racer"


@pytest.mark.usefixtures("cheap_argon2")
def test_parallel_wrong_passwords_get_no_more_checks_than_the_limit(
    fresh_database: Database, settings: Settings, fresh_account: str
) -> None:
    outcomes = _race(fresh_database, settings, fresh_account, [WRONG] * PARALLEL)
    assert outcomes == {"failed": settings.login_max_failures, "locked": PARALLEL - 5}


@pytest.mark.usefixtures("cheap_argon2")
def test_a_right_password_in_a_parallel_burst_is_not_revealed_past_the_limit(
    fresh_database: Database, settings: Settings, fresh_account: str
) -> None:
    outcomes = _race(fresh_database, settings, fresh_account, [WRONG] * 30 + [PASSWORD])
    assert sum(outcomes.values()) == 31
    limit = settings.login_max_failures
    # The decisions in the order they were taken (each under the counters' lock, its event
    # written before the lock is released).
    with fresh_database.session_scope() as session:
        order = list(
            session.scalars(
                select(Event.action)
                .where(Event.action.in_(("auth.login", "auth.login_failed")))
                .order_by(Event.id)
            )
        )
    assert order.count("auth.login_failed") == outcomes["failed"]
    if outcomes["ok"] == 0:
        # Refused unchecked: the five free failures were used up first.
        assert outcomes["failed"] == limit
    else:
        # Checked only while under the limit; a good password resets this username-at-address
        # counter, so the attempts still queued get the free failures again, and no more.
        success = order.index("auth.login")
        assert success <= limit - 1
        assert order[success + 1 :].count("auth.login_failed") <= limit


# --- strangers cannot lock the owner out ------------------------------------------------------


@pytest.mark.parametrize("role", ["citizen", "official"])
@pytest.mark.usefixtures("regions_loaded", "cheap_argon2")
def test_the_right_password_from_another_address_still_works(
    db: Session, settings: Settings, make_account: MakeAccount, role: str
) -> None:
    account = make_account(role)
    outcomes = [_attempt(db, settings, account.username) for _ in range(12)]
    assert outcomes == ["failed"] * 5 + ["locked"] * 7
    # From the guesser's address the owner would wait too ...
    assert _attempt(db, settings, account.username, password=PASSWORD) == "locked"
    # ... but not from their own.
    ok = _attempt(db, settings, account.username, password=PASSWORD, address="203.0.113.9")
    assert ok == "ok"


@pytest.mark.usefixtures("cheap_argon2")
def test_delays_grow_progressively_and_waiting_is_enough(
    db: Session, settings: Settings, make_account: MakeAccount
) -> None:
    account = make_account("citizen")
    t0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)

    def at(seconds: float, password: str = WRONG) -> str:
        moment = t0 + timedelta(seconds=seconds)
        return _attempt(db, settings, account.username, password=password, at=moment)

    assert [at(i) for i in range(5)] == ["failed"] * 5  # five free failures (0 s .. 4 s)
    assert at(33) == "locked"  # 30 s after the fifth
    assert at(34) == "failed"  # the sixth, then 60 s
    assert at(93) == "locked"
    with pytest.raises(TooManyRequests) as refused:
        identity.login(
            db,
            username=account.username,
            password=WRONG,
            client_ip="198.51.100.7",
            settings=settings,
            now=t0 + timedelta(seconds=93),
        )
    assert refused.value.headers["Retry-After"] == "1"
    assert at(94) == "failed"  # the seventh, then 120 s
    assert at(94 + 119) == "locked"
    # Refused attempts did not count: after the delay, the right password gets in.
    assert at(94 + 120, PASSWORD) == "ok"
    # And the good password reset the count for this address.
    assert [at(300 + i) for i in range(5)] == ["failed"] * 5


def _locked(db: Session, settings: Settings, username: str, at: datetime) -> bool:
    try:
        identity.check_login_rate(
            db, username=username, client_ip="198.51.100.7", settings=settings, now=at
        )
    except TooManyRequests:
        return True
    return False


@pytest.mark.usefixtures("cheap_argon2")
def test_the_longest_delay_is_the_window_and_counters_forget(
    db: Session, settings: Settings, make_account: MakeAccount
) -> None:
    account = make_account("citizen")
    t = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    for failures in range(1, 13):
        assert _attempt(db, settings, account.username, at=t) == "failed"
        # 5 free, then 30 s, 1, 2, 4, 8 min, then 15 min (the window) at most.
        wait = 0 if failures < 5 else min(30 * 2 ** (failures - 5), settings.login_window_seconds)
        if wait:
            assert _locked(db, settings, account.username, t + timedelta(seconds=wait - 1))
        assert not _locked(db, settings, account.username, t + timedelta(seconds=wait))
        t += timedelta(seconds=wait)
    # Quiet for a window after the last delay ran out: five free failures again.
    t += timedelta(seconds=2 * settings.login_window_seconds)
    outcomes = [_attempt(db, settings, account.username, at=t) for _ in range(6)]
    assert outcomes == ["failed"] * 5 + ["locked"]


@pytest.mark.usefixtures("cheap_argon2")
def test_one_address_spraying_usernames_is_slowed_other_addresses_are_not(
    db: Session, settings: Settings, make_account: MakeAccount
) -> None:
    account = make_account("citizen")
    per_address = 4 * settings.login_max_failures
    sprayed = [_attempt(db, settings, f"nobody{i}") for i in range(per_address + 1)]
    assert sprayed == ["failed"] * per_address + ["locked"]
    assert _attempt(db, settings, account.username, password=PASSWORD) == "locked"
    assert _attempt(db, settings, account.username, password=PASSWORD, address="10.0.0.2") == "ok"


@pytest.mark.usefixtures("cheap_argon2")
def test_a_distributed_attack_delays_unknown_addresses_never_the_owners_own(
    db: Session, settings: Settings, make_account: MakeAccount
) -> None:
    strict = settings.model_copy(update={"login_account_max_failures": 10})
    account = make_account("citizen")
    home = "203.0.113.50"
    assert _attempt(db, strict, account.username, password=PASSWORD, address=home) == "ok"
    for i in range(10):  # two guesses each from five addresses
        assert _attempt(db, strict, account.username, address=f"192.0.2.{i // 2}") == "failed"
    botnet = _attempt(db, strict, account.username, address="192.0.2.99")
    assert botnet == "locked"
    fresh = _attempt(db, strict, account.username, password=PASSWORD, address="192.0.2.100")
    assert fresh == "locked"  # an unknown address waits (30 s), the count says why
    assert _attempt(db, strict, account.username, password=PASSWORD, address=home) == "ok"


@pytest.mark.usefixtures("cheap_argon2")
def test_unknown_usernames_are_throttled_alike_and_counters_keep_no_clear_values(
    db: Session, settings: Settings, make_account: MakeAccount
) -> None:
    account = make_account("citizen")
    known = [_attempt(db, settings, account.username, address="10.1.1.1") for _ in range(7)]
    unknown = [_attempt(db, settings, "no-such-user", address="10.1.1.2") for _ in range(7)]
    assert known == unknown == ["failed"] * 5 + ["locked"] * 2
    keys = db.scalars(select(LoginThrottle.key)).all()
    assert keys and not [k for k in keys if account.username in k or "10.1.1" in k]
