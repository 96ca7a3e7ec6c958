"""The identity API: registration, login, rate limiting, sessions, tokens, admin, proxies."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.support import identity_internals as identity
from tongban.identity.models import Account
from tongban.platform.config import Settings
from tongban.platform.errors import TooManyRequests

from .conftest import PASSWORD, MakeAccount, new_resident_id, new_uscc

API = "/api/v1"


def bearer(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post(f"{API}/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _accounts(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(Account)) or 0)


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


# --- registration ----------------------------------------------------------------------------


def test_register_returns_the_masked_id_only(client: TestClient, db: Session) -> None:
    number = new_resident_id()
    response = client.post(
        f"{API}/auth/register",
        json={
            "resident_id": number,
            "phone": "13912345678",
            "password": PASSWORD,
            "display_name": "张奶奶",
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["username"] == "13912345678"
    assert body["role"] == "citizen"
    assert body["resident_id_masked"] == number[:4] + "**********" + number[-4:]
    assert number not in response.text
    me = client.get(f"{API}/me", headers=bearer(client, "13912345678"))
    assert me.status_code == 200 and number not in me.text
    assert me.json()["birth_date"] == f"{number[6:10]}-{number[10:12]}-{number[12:14]}"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"resident_id": "110105194912310021"}, "resident_id"),
        ({"phone": "12345"}, "phone"),
        ({"password": "short"}, "password"),
        ({"display_name": " "}, "display_name"),
    ],
)
def test_register_bad_input_names_the_field_and_writes_nothing(
    client: TestClient, db: Session, change: dict[str, str], field: str
) -> None:
    before = _accounts(db)
    payload = {
        "resident_id": new_resident_id(),
        "phone": "13912345679",
        "password": PASSWORD,
        "display_name": "李爷爷",
        **change,
    }
    body = _problem(client.post(f"{API}/auth/register", json=payload), 422)
    assert [e["field"] for e in body["errors"]] == [field]
    assert _accounts(db) == before


def test_register_missing_field_is_named(client: TestClient) -> None:
    body = _problem(client.post(f"{API}/auth/register", json={"phone": "13912345679"}), 422)
    assert {e["field"] for e in body["errors"]} >= {"resident_id", "password"}


def test_register_duplicate_phone_conflicts_a_claimed_resident_id_does_not(
    client: TestClient, db: Session
) -> None:
    """A resident ID typed at registration is only claimed (tests/identity/test_verification.py):
    a second claimant is not refused, so nobody can block a person by registering their number
    first, and the answer tells nobody whether a number has an account."""
    number = new_resident_id()
    payload = {
        "resident_id": number,
        "phone": "13700000001",
        "password": PASSWORD,
        "display_name": "王",
    }
    assert client.post(f"{API}/auth/register", json=payload).status_code == 201
    second = client.post(f"{API}/auth/register", json={**payload, "phone": "13700000002"})
    assert second.status_code == 201 and second.json()["identity_status"] == "claimed"
    before = _accounts(db)
    body = _problem(
        client.post(f"{API}/auth/register", json={**payload, "resident_id": new_resident_id()}), 409
    )
    assert body["errors"][0]["field"] == "username"
    assert _accounts(db) == before


# --- login, rate limiting, sessions ----------------------------------------------------------


def test_wrong_password_and_unknown_user_look_the_same(
    client: TestClient, make_account: MakeAccount
) -> None:
    account = make_account("citizen")
    wrong = _problem(
        client.post(
            f"{API}/auth/token", json={"username": account.username, "password": "nope-nope"}
        ),
        401,
    )
    unknown = _problem(
        client.post(f"{API}/auth/token", json={"username": "nobody-here", "password": "nope-nope"}),
        401,
    )
    assert wrong["detail"] == unknown["detail"] == "Wrong username or password."


def test_sixth_attempt_is_rate_limited(client: TestClient, make_account: MakeAccount) -> None:
    account = make_account("citizen")
    for _ in range(5):
        _problem(
            client.post(
                f"{API}/auth/token", json={"username": account.username, "password": "bad-guess"}
            ),
            401,
        )
    response = client.post(
        f"{API}/auth/token", json={"username": account.username, "password": PASSWORD}
    )
    _problem(response, 429)
    assert 1 <= int(response.headers["Retry-After"]) <= 900
    # Another user from the same address is not locked out by someone else's failures.
    other = make_account("citizen")
    assert (
        client.post(
            f"{API}/auth/token", json={"username": other.username, "password": PASSWORD}
        ).status_code
        == 200
    )


def test_rate_limit_by_client_address(db: Session, settings: Settings) -> None:
    limit = settings.login_max_failures * 4
    for i in range(limit):
        with pytest.raises(identity.LoginFailed):
            identity.login(
                db, username=f"spray{i}", password="x" * 8, client_ip="10.9.9.9", settings=settings
            )
    with pytest.raises(TooManyRequests):
        identity.login(
            db, username="spray-last", password="x" * 8, client_ip="10.9.9.9", settings=settings
        )
    with pytest.raises(identity.LoginFailed):
        identity.login(
            db, username="spray-last", password="x" * 8, client_ip="10.9.9.10", settings=settings
        )


def test_login_cookie_session_and_logout(client: TestClient, make_account: MakeAccount) -> None:
    account = make_account("citizen")
    response = client.post(
        f"{API}/auth/login", json={"username": account.username.upper(), "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{identity.SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    me = client.get(f"{API}/me")
    assert me.status_code == 200 and me.json()["username"] == account.username
    assert me.json()["via"] == "session"
    assert client.post(f"{API}/auth/logout").status_code == 204
    client.cookies.set(identity.SESSION_COOKIE, cookie.split(";")[0].split("=", 1)[1])
    _problem(client.get(f"{API}/me"), 401)  # the revoked session no longer works


def test_bearer_session_token_and_garbage(client: TestClient, make_account: MakeAccount) -> None:
    account = make_account("citizen")
    headers = bearer(client, account.username)
    assert client.get(f"{API}/me", headers=headers).json()["id"] == account.id
    for value in ("Bearer nonsense", "Basic abc", "Bearer tbk_nonsense", "Bearer "):
        _problem(client.get(f"{API}/me", headers={"Authorization": value}), 401)
    assert client.post(f"{API}/auth/logout", headers=headers).status_code == 204
    _problem(client.get(f"{API}/me", headers=headers), 401)


def test_api_tokens_issue_use_list_revoke(client: TestClient, make_account: MakeAccount) -> None:
    account = make_account("citizen")
    session = bearer(client, account.username)
    issued = client.post(
        f"{API}/me/tokens", json={"name": "家里电脑", "expires_in_days": 30}, headers=session
    )
    assert issued.status_code == 201, issued.text
    token = issued.json()["token"]
    assert token.startswith("tbk_")
    api = {"Authorization": f"Bearer {token}"}
    me = client.get(f"{API}/me", headers=api)
    assert me.status_code == 200 and me.json()["via"] == "api_token"
    listed = client.get(f"{API}/me/tokens", headers=api)
    assert listed.status_code == 200 and token not in listed.text
    assert listed.json()[0]["last_used_at"] is not None
    token_id = issued.json()["id"]
    assert client.delete(f"{API}/me/tokens/{token_id}", headers=session).status_code == 204
    _problem(client.get(f"{API}/me", headers=api), 401)
    _problem(client.delete(f"{API}/me/tokens/999999", headers=session), 404)


def test_preferences_and_password_change(client: TestClient, make_account: MakeAccount) -> None:
    account = make_account("citizen")
    headers = bearer(client, account.username)
    changed = client.patch(
        f"{API}/me", json={"elderly_mode": True, "locale": "en"}, headers=headers
    )
    assert changed.status_code == 200 and changed.json()["elderly_mode"] is True
    body = _problem(client.patch(f"{API}/me", json={"locale": "xx"}, headers=headers), 422)
    assert body["errors"][0]["field"] == "locale"
    response = client.post(
        f"{API}/me/password",
        headers=headers,
        json={"current_password": PASSWORD, "new_password": "another one!"},
    )
    assert response.status_code == 204
    assert client.get(f"{API}/me", headers=headers).status_code == 200  # this session stays
    bearer(client, account.username, "another one!")


# --- administration ------------------------------------------------------------------------


@pytest.mark.usefixtures("regions_loaded")
def test_accounts_are_for_admins_only(
    client: TestClient, db: Session, make_account: MakeAccount, settings: Settings
) -> None:
    admin = make_account("admin")
    citizen = make_account("citizen")
    admin_h, citizen_h = bearer(client, admin.username), bearer(client, citizen.username)
    _problem(client.get(f"{API}/accounts", headers=citizen_h), 403)
    _problem(client.get(f"{API}/accounts"), 401)
    listed = client.get(f"{API}/accounts", params={"role": "citizen"}, headers=admin_h)
    assert listed.status_code == 200 and listed.json()["total"] >= 1
    full = identity.reveal_resident_id(db, account_id=citizen.id, settings=settings)
    assert full and full not in listed.text

    created = client.post(
        f"{API}/accounts",
        headers=admin_h,
        json={
            "username": "nanshan-clerk",
            "password": PASSWORD,
            "role": "clerk",
            "region_code": "440305",
            "display_name": "李敏",
        },
    )
    assert created.status_code == 201, created.text
    clerk_id = created.json()["id"]
    clerk_h = bearer(client, "nanshan-clerk")
    assert client.get(f"{API}/me", headers=clerk_h).status_code == 200
    body = _problem(
        client.post(
            f"{API}/accounts",
            headers=admin_h,
            json={
                "username": "bad-clerk",
                "password": PASSWORD,
                "role": "clerk",
                "region_code": "449999",
            },
        ),
        422,
    )
    assert body["errors"][0]["field"] == "region_code"

    assert client.get(f"{API}/accounts/{clerk_id}", headers=admin_h).json()["active"] is True
    patched = client.patch(f"{API}/accounts/{clerk_id}", json={"active": False}, headers=admin_h)
    assert patched.status_code == 200 and patched.json()["active"] is False
    _problem(client.get(f"{API}/me", headers=clerk_h), 401)  # its session was revoked
    _problem(
        client.post(f"{API}/auth/token", json={"username": "nanshan-clerk", "password": PASSWORD}),
        401,
    )
    _problem(
        client.patch(f"{API}/accounts/{clerk_id}", json={"active": True}, headers=citizen_h), 403
    )


@pytest.mark.usefixtures("regions_loaded")
def test_departments_public_read_admin_write(client: TestClient, make_account: MakeAccount) -> None:
    admin_h = bearer(client, make_account("admin").username)
    citizen_h = bearer(client, make_account("citizen").username)
    code = new_uscc()
    payload = {"code": code, "name": "广安区医疗保障局", "region_code": "511602"}
    _problem(client.post(f"{API}/departments", json=payload, headers=citizen_h), 403)
    created = client.post(f"{API}/departments", json=payload, headers=admin_h)
    assert created.status_code == 201, created.text
    _problem(client.post(f"{API}/departments", json=payload, headers=admin_h), 409)
    body = _problem(
        client.post(
            f"{API}/departments",
            headers=admin_h,
            json={**payload, "code": code[:-1] + "0" if code[-1] != "0" else code[:-1] + "1"},
        ),
        422,
    )
    assert body["errors"][0]["field"] == "code"
    listed = client.get(f"{API}/departments", params={"region_code": "511602"})
    assert code in [d["code"] for d in listed.json()]


# --- proxies -----------------------------------------------------------------------------------


@pytest.mark.usefixtures("regions_loaded")
def test_citizen_grants_lists_and_revokes_proxies(
    client: TestClient, make_account: MakeAccount
) -> None:
    elder, son, clerk = make_account("citizen"), make_account("citizen"), make_account("clerk")
    elder_h, son_h = bearer(client, elder.username), bearer(client, son.username)
    clerk_h = bearer(client, clerk.username)
    granted = client.post(
        f"{API}/me/proxies",
        headers=elder_h,
        json={"agent": son.username, "relation": "child", "scope": "all"},
    )
    assert granted.status_code == 201, granted.text
    # No power until the son accepts it.
    assert granted.json()["status"] == "unconfirmed" and granted.json()["scope"] == "all"
    assert granted.json()["confirmed_at"] is None
    to_clerk = client.post(
        f"{API}/me/proxies",
        headers=elder_h,
        json={"agent": clerk.username, "relation": "other", "scope": ["511A0138000000"]},
    )
    assert to_clerk.status_code == 201 and to_clerk.json()["relation"] == "clerk"
    body = _problem(
        client.post(
            f"{API}/me/proxies",
            headers=elder_h,
            json={"agent": "nobody-at-all", "relation": "child"},
        ),
        422,
    )
    assert body["errors"][0]["field"] == "agent"
    _problem(
        client.post(
            f"{API}/me/proxies",
            headers=clerk_h,
            json={"agent": elder.username, "relation": "child"},
        ),
        403,
    )

    mine = client.get(f"{API}/me/proxies", headers=elder_h).json()
    assert len(mine["granted"]) == 2 and mine["held"] == []
    held = client.get(f"{API}/me/proxies", headers=son_h).json()
    assert [p["principal_id"] for p in held["held"]] == [elder.id]

    proxy_id = granted.json()["id"]
    # Only the agent answers: the principal cannot accept for them, a stranger finds nothing.
    _problem(client.post(f"{API}/me/proxies/{proxy_id}/confirm", headers=elder_h), 404)
    accepted = client.post(f"{API}/me/proxies/{proxy_id}/confirm", headers=son_h)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "active" and accepted.json()["confirmed_at"]
    again = client.post(f"{API}/me/proxies/{proxy_id}/confirm", headers=son_h)
    assert again.json()["confirmed_at"] == accepted.json()["confirmed_at"]
    # The clerk declines the one given to them: it is over, and cannot be accepted after.
    declined = client.post(f"{API}/me/proxies/{to_clerk.json()['id']}/decline", headers=clerk_h)
    assert declined.status_code == 200 and declined.json()["status"] == "revoked"
    _problem(client.post(f"{API}/me/proxies/{to_clerk.json()['id']}/confirm", headers=clerk_h), 409)

    _problem(client.delete(f"{API}/me/proxies/{proxy_id}", headers=son_h), 404)
    assert client.delete(f"{API}/me/proxies/{proxy_id}", headers=elder_h).status_code == 204
    statuses = {
        p["id"]: p["status"]
        for p in client.get(f"{API}/me/proxies", headers=elder_h).json()["granted"]
    }
    assert statuses[proxy_id] == "revoked"
