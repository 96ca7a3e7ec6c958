"""Security events of identity: logins (and refused ones), logouts, revoked sessions, API tokens.

Each action writes exactly one event per thing changed, in the same transaction; a refused login
keeps its event although the error unwinds the request. Events become public ledger leaves, so
every test ends by integrating the ledger and checking that no leaf (nor any event column)
carries the username, phone, resident ID, client address or user agent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.identity.conftest import PASSWORD, MakeAccount, new_resident_id
from tongban.events.models import Event
from tongban.identity import (
    accounts,
    api_tokens,
    authentication,
    callers,
    login_sessions,
    passwords,
)
from tongban.identity.models import Account, LoginAttempt, LoginSession
from tongban.identity.resident_id import mask_resident_id
from tongban.ledger import service as ledger
from tongban.ledger.models import LedgerLeaf
from tongban.platform.config import Settings
from tongban.platform.errors import TooManyRequests
from tongban.platform.web.csrf import CSRF_FIELD

API = "/api/v1"
CLIENT_IP = "203.0.113.77"
USER_AGENT = "PrivacyProbe/7.3 (Tongban security test)"
PHONE = "13912345670"
TOKEN_NAME = "王家的笔记本电脑"
HEX32 = re.compile(r"[0-9a-f]{32}")
SECURITY_ACTIONS = (
    "auth.login",
    "auth.login_failed",
    "auth.login_locked",
    "auth.logout",
    "auth.session_revoked",
    "token.issued",
    "token.revoked",
)


@pytest.fixture(autouse=True)
def _cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with the cheapest parameters: these tests are about events, not hashing."""
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", cheap)
    monkeypatch.setattr(passwords, "_DUMMY_HASH", cheap.hash("tongban-no-such-user"))


@pytest.fixture
def web(app: FastAPI) -> Iterator[TestClient]:
    """An HTTP client calling from CLIENT_IP with USER_AGENT."""
    with TestClient(app, client=(CLIENT_IP, 50000), headers={"user-agent": USER_AGENT}) as c:
        yield c


@pytest.fixture
def citizen(db: Session, make_account: MakeAccount) -> Account:
    """A citizen whose username is their phone number (the default at self-registration)."""
    return make_account("citizen", username=PHONE, phone=PHONE, resident_id=new_resident_id())


def _last_id(db: Session) -> int:
    return int(db.scalar(select(func.max(Event.id))) or 0)


def _events_since(db: Session, mark: int) -> list[Event]:
    db.expire_all()
    return list(db.scalars(select(Event).where(Event.id > mark).order_by(Event.id)))


def _one(db: Session, mark: int, action: str) -> Event:
    found = [e for e in _events_since(db, mark) if e.action == action]
    assert len(found) == 1, [e.action for e in _events_since(db, mark)]
    return found[0]


def _secrets_of(account: Account, settings: Settings, db: Session) -> list[str]:
    number = accounts.reveal_resident_id(db, account_id=account.id, settings=settings)
    assert number is not None
    return [
        account.username,
        PHONE,
        number,
        mask_resident_id(number),
        CLIENT_IP,
        USER_AGENT,
        "PrivacyProbe",
        TOKEN_NAME,
        account.display_name,
    ]


def _assert_private(db: Session, settings: Settings, mark: int, secrets: list[str]) -> None:
    """Neither the events since `mark` (any column) nor their ledger leaves carry a secret."""
    made = _events_since(db, mark)
    assert made
    ledger.integrate_pending(db, settings=settings, full_scan=True)
    leaves = {
        leaf.event_id: bytes(leaf.data).decode("utf-8")
        for leaf in db.scalars(
            select(LedgerLeaf).where(LedgerLeaf.event_id.in_([e.id for e in made]))
        )
    }
    assert set(leaves) == {e.id for e in made}
    for event in made:
        text = leaves[event.id]
        entry = json.loads(text)
        assert "personal" not in entry and "personal_salt" not in entry
        if event.action in SECURITY_ACTIONS:
            # The whole stored event (its personal part included) carries nothing in clear.
            text += json.dumps(
                {c.key: getattr(event, c.key) for c in Event.__table__.columns},
                ensure_ascii=False,
                default=str,
            )
        for secret in secrets:
            assert secret not in text, f"{event.action} carries {secret!r}"


def _sessions_of(db: Session, account_id: int) -> list[LoginSession]:
    db.expire_all()
    return list(
        db.scalars(
            select(LoginSession)
            .where(LoginSession.account_id == account_id)
            .order_by(LoginSession.id)
        )
    )


def _login(db: Session, settings: Settings, username: str, **kw: Any) -> login_sessions.LoginResult:
    return login_sessions.login(
        db,
        username=username,
        password=kw.pop("password", PASSWORD),
        client_ip=CLIENT_IP,
        user_agent=USER_AGENT,
        settings=settings,
        **kw,
    )


# --- logins ----------------------------------------------------------------------------------


def test_login_records_the_account_and_its_new_session(
    web: TestClient, db: Session, citizen: Account, settings: Settings
) -> None:
    mark = _last_id(db)
    response = web.post(f"{API}/auth/login", json={"username": PHONE, "password": PASSWORD})
    assert response.status_code == 200, response.text
    (opened,) = _sessions_of(db, citizen.id)
    [event] = _events_since(db, mark)
    assert event.action == "auth.login"
    assert (event.resource_type, event.resource_id) == ("account", str(citizen.id))
    assert (event.actor_id, event.actor_role) == (citizen.id, "citizen")
    assert event.on_behalf_of_id is None and event.reason is None
    assert event.channel == "online"
    assert event.data == {"session_id": opened.id}
    # Beside the event, never in the public leaf: where from, as a keyed pseudonym of the
    # address and of the user agent (for the security brain); the commitment covers who acted.
    assert event.private is None and event.personal_commitment
    assert event.personal is not None and set(event.personal) == {"client_key", "agent_key"}
    assert all(len(key) == 32 for key in event.personal.values())
    # The bearer-token login is a program's: channel api.
    mark = _last_id(db)
    assert (
        web.post(f"{API}/auth/token", json={"username": PHONE, "password": PASSWORD}).status_code
        == 200
    )
    assert _one(db, mark, "auth.login").channel == "api"
    _assert_private(db, settings, 0, _secrets_of(citizen, settings, db))


def _refusal_leaf(event: Event) -> dict[str, Any]:
    """What the public sees of a refused login, minus what differs between any two events."""
    return {
        "action": event.action,
        "resource_type": event.resource_type,
        "actor_id": event.actor_id,
        "actor_role": event.actor_role,
        "on_behalf_of_id": event.on_behalf_of_id,
        "channel": event.channel,
        "service_point": event.service_point,
        "reason": event.reason,
        "data": event.data,
    }


def test_failed_logins_survive_the_error_and_look_alike_in_public(
    web: TestClient,
    db: Session,
    citizen: Account,
    make_account: MakeAccount,
    settings: Settings,
) -> None:
    mark = _last_id(db)
    wrong = web.post(f"{API}/auth/token", json={"username": PHONE, "password": "not-the-one"})
    assert wrong.status_code == 401
    # The 401 unwound the request, yet its attempt and its event were committed.
    failed = _one(db, mark, "auth.login_failed")
    assert len(_events_since(db, mark)) == 1
    mark = _last_id(db)
    unknown = web.post(
        f"{API}/auth/token", json={"username": "13900000000", "password": "not-the-one"}
    )
    assert unknown.status_code == 401
    nobody = _one(db, mark, "auth.login_failed")
    assert len(_events_since(db, mark)) == 1

    # In public (every leaf field but the personal part) the two are the same, so the ledger
    # does not tell whether a username exists; the resource is the attempt, under a random id.
    assert _refusal_leaf(failed) == _refusal_leaf(nobody)
    assert _refusal_leaf(failed) == {
        "action": "auth.login_failed",
        "resource_type": "login",
        "actor_id": None,
        "actor_role": None,
        "on_behalf_of_id": None,
        "channel": "api",
        "service_point": None,
        "reason": "bad_credentials",
        "data": {},
    }
    for event in (failed, nobody):
        assert HEX32.fullmatch(event.resource_id)
        assert event.personal_commitment and event.personal_salt
    assert failed.resource_id != nobody.resource_id
    # Beside the event, for security monitoring: the account (if any), the precise cause, and
    # keyed pseudonyms of the username and client address.
    assert failed.personal is not None and nobody.personal is not None
    assert (
        set(failed.personal)
        == set(nobody.personal)
        == {
            "account_id",
            "cause",
            "attempt_id",
            "username_key",
            "client_key",
        }
    )
    assert (failed.personal["account_id"], failed.personal["cause"]) == (
        citizen.id,
        "wrong_password",
    )
    assert (nobody.personal["account_id"], nobody.personal["cause"]) == (None, "unknown_account")
    attempt = db.get(LoginAttempt, failed.personal["attempt_id"])
    assert attempt is not None and attempt.username == PHONE and not attempt.succeeded
    assert failed.personal["client_key"] == nobody.personal["client_key"]
    assert failed.personal["username_key"] != nobody.personal["username_key"]
    for key in ("username_key", "client_key"):
        assert HEX32.fullmatch(failed.personal[key])
    # The same username (any case, any blanks) gets the same pseudonym: attempts correlate.
    mark = _last_id(db)
    web.post(f"{API}/auth/token", json={"username": f" {PHONE} ", "password": "again-wrong"})
    again = _one(db, mark, "auth.login_failed")
    assert again.personal is not None
    assert again.personal["username_key"] == failed.personal["username_key"]

    # An inactive account refuses even the right password, and says so only beside the event.
    inactive = make_account("citizen")
    accounts.deactivate_account(db, account_id=inactive.id)
    db.flush()
    mark = _last_id(db)
    with pytest.raises(authentication.LoginFailed):
        _login(db, settings, inactive.username)
    closed = _one(db, mark, "auth.login_failed")
    assert closed.personal is not None and closed.personal["cause"] == "account_inactive"
    assert _refusal_leaf(closed) == {**_refusal_leaf(failed), "channel": "online"}
    _assert_private(db, settings, 0, _secrets_of(citizen, settings, db))


def test_locked_logins_are_recorded_and_kept(
    web: TestClient, db: Session, citizen: Account, settings: Settings
) -> None:
    for _ in range(settings.login_max_failures):
        web.post(f"{API}/auth/token", json={"username": PHONE, "password": "bad-guess"})
    mark = _last_id(db)
    attempts = db.scalar(select(func.count()).select_from(LoginAttempt))
    response = web.post(f"{API}/auth/token", json={"username": PHONE, "password": PASSWORD})
    assert response.status_code == 429
    [locked] = _events_since(db, mark)  # kept although the 429 unwound the request
    assert locked.action == "auth.login_locked"
    assert (locked.resource_type, locked.actor_id, locked.actor_role) == ("login", None, None)
    assert HEX32.fullmatch(locked.resource_id)
    assert (locked.reason, locked.data, locked.channel) == ("rate_limited", {}, "api")
    assert locked.personal is not None
    assert set(locked.personal) == {"limit", "retry_after", "username_key", "client_key"}
    assert locked.personal["limit"] == "username"
    assert locked.personal["retry_after"] == int(response.headers["Retry-After"])
    # A refused attempt is not an attempt: it does not lengthen the lock.
    assert db.scalar(select(func.count()).select_from(LoginAttempt)) == attempts

    # The per-address limit (here: the address's five failures above reach it), for a
    # username that does not exist: the same public shape.
    strict = settings.model_copy(update={"login_max_failures": 1})
    mark = _last_id(db)
    with pytest.raises(authentication.LoginLocked) as caught:
        _login(db, strict, "spray-last", password="x" * 8)
    assert isinstance(caught.value, TooManyRequests) and caught.value.keeps_writes
    by_address = _one(db, mark, "auth.login_locked")
    assert by_address.personal is not None and by_address.personal["limit"] == "client_address"
    assert (by_address.resource_type, by_address.reason) == ("login", "rate_limited")
    assert by_address.personal["client_key"] == locked.personal["client_key"]
    _assert_private(db, settings, 0, [*_secrets_of(citizen, settings, db), "spray"])


# --- logouts and revoked sessions ---------------------------------------------------------------


def test_logout_by_api_and_by_page(
    web: TestClient, db: Session, citizen: Account, settings: Settings
) -> None:
    web.post(f"{API}/auth/login", json={"username": PHONE, "password": PASSWORD})
    (first,) = _sessions_of(db, citizen.id)
    mark = _last_id(db)
    assert web.post(f"{API}/auth/logout").status_code == 204
    [event] = _events_since(db, mark)
    assert event.action == "auth.logout"
    assert (event.resource_type, event.resource_id) == ("account", str(citizen.id))
    assert (event.actor_id, event.actor_role, event.channel) == (citizen.id, "citizen", "online")
    assert (event.data, event.reason, event.personal) == ({"session_id": first.id}, None, None)
    # A second logout has nothing to end, so records nothing.
    mark = _last_id(db)
    assert web.post(f"{API}/auth/logout").status_code == 204
    assert _events_since(db, mark) == []

    # The page's log-out form.
    web.get("/login")  # the page gives the visitor its pre-session id (the CSRF cookie)
    csrf = web.app.state.csrf_guard
    login = web.post(
        "/login",
        data={
            CSRF_FIELD: csrf.token_for_cookies(dict(web.cookies)),
            "username": PHONE,
            "password": PASSWORD,
        },
        follow_redirects=False,
    )
    assert login.status_code == 303
    assert _one(db, mark, "auth.login").channel == "online"
    second = _sessions_of(db, citizen.id)[-1]
    mark = _last_id(db)
    out = web.post(
        "/logout",
        data={CSRF_FIELD: csrf.token_for_cookies(dict(web.cookies))},
        follow_redirects=False,
    )
    assert out.status_code == 303
    [event] = _events_since(db, mark)
    assert (event.action, event.data, event.actor_id) == (
        "auth.logout",
        {"session_id": second.id},
        citizen.id,
    )
    _assert_private(db, settings, 0, _secrets_of(citizen, settings, db))


def test_password_change_revokes_the_other_sessions(
    web: TestClient, db: Session, citizen: Account, settings: Settings
) -> None:
    kept = _login(db, settings, PHONE)
    other = _login(db, settings, PHONE)
    db.commit()
    mark = _last_id(db)
    response = web.post(
        f"{API}/me/password",
        headers={"Authorization": f"Bearer {kept.token}"},
        json={"current_password": PASSWORD, "new_password": "another one!"},
    )
    assert response.status_code == 204
    made = _events_since(db, mark)
    assert [e.action for e in made] == ["account.password_changed", "auth.session_revoked"]
    revoked = made[1]
    assert (revoked.resource_type, revoked.resource_id) == ("account", str(citizen.id))
    assert (revoked.actor_id, revoked.actor_role) == (citizen.id, "citizen")
    assert revoked.reason == "password_changed"
    assert revoked.data == {"session_id": other.session.id}
    assert revoked.personal is None
    _assert_private(db, settings, 0, _secrets_of(citizen, settings, db))


def test_admin_reset_and_deactivation_revoke_sessions_and_tokens(
    db: Session, citizen: Account, make_account: MakeAccount, settings: Settings
) -> None:
    admin = callers.actor_for(make_account("admin"))
    first = _login(db, settings, PHONE)
    mark = _last_id(db)
    accounts.update_account(
        db, account_id=citizen.id, actor=admin, channel="online", password="reset by admin"
    )
    made = _events_since(db, mark)
    assert [e.action for e in made] == ["account.password_changed", "auth.session_revoked"]
    assert (made[1].reason, made[1].data) == ("password_reset", {"session_id": first.session.id})
    assert (made[1].actor_id, made[1].actor_role) == (admin.account_id, "admin")
    # Revoking again finds no live session: no event.
    mark = _last_id(db)
    assert login_sessions.revoke_all_sessions(db, account_id=citizen.id, reason="test") == 0
    assert _events_since(db, mark) == []

    second = _login(db, settings, PHONE, password="reset by admin")
    token = api_tokens.issue_api_token(
        db, account_id=citizen.id, name=TOKEN_NAME, settings=settings, channel="online"
    )
    mark = _last_id(db)
    accounts.update_account(db, account_id=citizen.id, actor=admin, channel="online", active=False)
    made = _events_since(db, mark)
    assert [e.action for e in made] == [
        "auth.session_revoked",
        "token.revoked",
        "account.deactivated",
    ]
    session_event, token_event, _deactivated = made
    assert session_event.data == {"session_id": second.session.id}
    assert (token_event.resource_type, token_event.resource_id) == ("api_token", str(token.row.id))
    # Whose token it was is committed to, not public (docs/ledger.md).
    assert token_event.data == {} and token_event.private == {"account_id": citizen.id}
    for event in (session_event, token_event):
        assert event.reason == "account_deactivated"
        assert (event.actor_id, event.actor_role, event.channel) == (
            admin.account_id,
            "admin",
            "online",
        )
    _assert_private(db, settings, 0, _secrets_of(citizen, settings, db))


# --- API tokens --------------------------------------------------------------------------------


def test_api_token_issued_and_revoked(
    web: TestClient, db: Session, citizen: Account, settings: Settings
) -> None:
    session = _login(db, settings, PHONE)
    db.commit()
    headers = {"Authorization": f"Bearer {session.token}"}
    mark = _last_id(db)
    issued = web.post(f"{API}/me/tokens", json={"name": TOKEN_NAME}, headers=headers)
    assert issued.status_code == 201, issued.text
    token_id = issued.json()["id"]
    [event] = _events_since(db, mark)
    assert event.action == "token.issued"
    assert (event.resource_type, event.resource_id) == ("api_token", str(token_id))
    assert (event.actor_id, event.actor_role, event.channel) == (citizen.id, "citizen", "online")
    # The token's name is free text its owner wrote: not in the event.
    # Whose token it is is committed to, not public (docs/ledger.md).
    assert "account_id" not in event.data and event.private == {"account_id": citizen.id}
    assert event.reason is None and event.personal is None

    mark = _last_id(db)
    assert web.delete(f"{API}/me/tokens/{token_id}", headers=headers).status_code == 204
    [event] = _events_since(db, mark)
    assert event.action == "token.revoked"
    assert (event.resource_type, event.resource_id) == ("api_token", str(token_id))
    assert (event.actor_id, event.actor_role, event.reason) == (
        citizen.id,
        "citizen",
        "owner_request",
    )
    assert event.data == {} and event.private == {"account_id": citizen.id}
    # Revoking a revoked token changes nothing and records nothing.
    mark = _last_id(db)
    assert web.delete(f"{API}/me/tokens/{token_id}", headers=headers).status_code == 204
    assert _events_since(db, mark) == []
    _assert_private(db, settings, 0, _secrets_of(citizen, settings, db))


def test_account_events_keep_the_username_and_name_out_of_the_leaf(
    db: Session, make_account: MakeAccount, settings: Settings
) -> None:
    mark = _last_id(db)
    account = make_account("citizen", username=PHONE, phone=PHONE, display_name="王小明")
    accounts.update_account(db, account_id=account.id, display_name="王大明")
    created = _one(db, mark, "account.created")
    assert created.personal is not None and created.personal["username"] == PHONE
    updated = _one(db, mark, "account.updated")
    assert updated.data == {"display_name": True}
    _assert_private(db, settings, mark, [PHONE, "王小明", "王大明"])
