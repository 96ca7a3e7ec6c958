"""Tokens outlive passwords (issue #12, item 6): a password change revokes every API token (and
every other session); tokens carry scopes, checked by authorize(); no token manages an account
(mints tokens, changes the password, proxies, identity, other accounts)."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.support import identity_internals as identity
from tongban.events.models import Event
from tongban.identity.policy import POLICY, Actor, Role, TokenScope, authorize, token_scopes_of
from tongban.platform.config import Settings
from tongban.platform.errors import Forbidden

from .conftest import PASSWORD, MakeAccount

API = "/api/v1"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


def _session(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post(f"{API}/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _token(client: TestClient, session: dict[str, str], **body: Any) -> dict[str, str]:
    issued = client.post(f"{API}/me/tokens", headers=session, json={"name": "program", **body})
    assert issued.status_code == 201, issued.text
    return {"Authorization": f"Bearer {issued.json()['token']}"}


# --- a token never manages the account -----------------------------------------------------------


def test_a_token_cannot_change_the_password_mint_tokens_or_manage_proxies(
    client: TestClient, make_account: MakeAccount
) -> None:
    citizen = make_account("citizen")
    relative = make_account("citizen")
    session = _session(client, citizen.username)
    token = _token(client, session)
    assert client.get(f"{API}/me", headers=token).status_code == 200

    refused = [
        client.post(
            f"{API}/me/password",
            headers=token,
            json={"current_password": PASSWORD, "new_password": "taken over by a program"},
        ),
        client.post(f"{API}/me/tokens", headers=token, json={"name": "another"}),
        client.delete(f"{API}/me/tokens/1", headers=token),
        client.patch(f"{API}/me", headers=token, json={"display_name": "改名"}),
        client.post(
            f"{API}/me/proxies",
            headers=token,
            json={"agent": relative.username, "relation": "child", "scope": "all"},
        ),
        client.delete(f"{API}/me/proxies/1", headers=token),
    ]
    for response in refused:
        assert "API token may not" in _problem(response, 403)["detail"], response.request.url
    # The password is unchanged: the owner still logs in with it.
    _session(client, citizen.username)


def test_an_admin_token_cannot_manage_accounts(
    client: TestClient, make_account: MakeAccount, db: Session
) -> None:
    admin = make_account("admin")
    citizen = make_account("citizen")
    token = _token(client, _session(client, admin.username))
    for response in (
        client.get(f"{API}/accounts", headers=token),
        client.get(f"{API}/accounts/{citizen.id}", headers=token),
        client.post(
            f"{API}/accounts",
            headers=token,
            json={"username": "made-by-token", "password": PASSWORD, "role": "admin"},
        ),
        client.patch(
            f"{API}/accounts/{citizen.id}", headers=token, json={"password": "reset by a token"}
        ),
    ):
        _problem(response, 403)
    assert identity.find_account_by_username(db, username="made-by-token") is None


# --- a password change ends every token and every other session -----------------------------


def test_password_change_revokes_every_token_and_other_session(
    client: TestClient, make_account: MakeAccount, db: Session
) -> None:
    citizen = make_account("citizen")
    session, other = _session(client, citizen.username), _session(client, citizen.username)
    tokens = [_token(client, session), _token(client, session, scopes=["read"])]
    for token in tokens:
        assert client.get(f"{API}/me", headers=token).status_code == 200
    mark = db.scalar(select(Event.id).order_by(Event.id.desc()).limit(1)) or 0

    changed = client.post(
        f"{API}/me/password",
        headers=session,
        json={"current_password": PASSWORD, "new_password": "a brand new password"},
    )
    assert changed.status_code == 204, changed.text
    for token in (*tokens, other):
        _problem(client.get(f"{API}/me", headers=token), 401)
    assert client.get(f"{API}/me", headers=session).status_code == 200

    made = list(db.scalars(select(Event).where(Event.id > mark).order_by(Event.id)))
    revoked = [e for e in made if e.action == "token.revoked"]
    assert len(revoked) == 2
    assert {e.reason for e in revoked} == {"password_changed"}
    assert {(e.actor_id, e.channel) for e in revoked} == {(citizen.id, "online")}
    assert [e.reason for e in made if e.action == "auth.session_revoked"] == ["password_changed"]


def test_an_admin_reset_revokes_every_token(
    client: TestClient, make_account: MakeAccount, db: Session, settings: Settings
) -> None:
    citizen = make_account("citizen")
    admin = identity.actor_for(make_account("admin"))
    token = identity.issue_api_token(db, account_id=citizen.id, name="app", settings=settings)
    headers = {"Authorization": f"Bearer {token.token}"}
    assert client.get(f"{API}/me", headers=headers).status_code == 200
    identity.update_account(db, account_id=citizen.id, actor=admin, password="reset by admin")
    _problem(client.get(f"{API}/me", headers=headers), 401)
    db.refresh(token.row)
    assert token.row.revoked_at is not None


def test_a_token_older_than_the_password_is_void(
    client: TestClient, make_account: MakeAccount, db: Session, settings: Settings
) -> None:
    """Even when its revocation was missed (a password set some other way)."""
    citizen = make_account("citizen")
    token = identity.issue_api_token(db, account_id=citizen.id, name="app", settings=settings)
    headers = {"Authorization": f"Bearer {token.token}"}
    assert client.get(f"{API}/me", headers=headers).status_code == 200
    citizen.password_changed_at = token.row.created_at + timedelta(seconds=1)
    db.flush()
    _problem(client.get(f"{API}/me", headers=headers), 401)


# --- scopes --------------------------------------------------------------------------------------


def test_scopes_are_chosen_at_issue_and_checked_on_use(
    client: TestClient, make_account: MakeAccount, db: Session
) -> None:
    citizen = make_account("citizen")
    session = _session(client, citizen.username)
    everything = client.post(f"{API}/me/tokens", headers=session, json={"name": "all"}).json()
    assert everything["scopes"] == ["file", "read"]  # what a citizen's role can use
    reader = _token(client, session, scopes=["read"])
    me = client.get(f"{API}/me", headers=reader).json()
    assert (me["via"], me["token_scopes"]) == ("api_token", ["read"])
    assert client.get(f"{API}/me", headers=session).json()["token_scopes"] is None
    assert client.get(f"{API}/my/cases", headers=reader).status_code == 200
    upload = client.post(
        f"{API}/uploads", headers=reader, files={"file": ("x.png", PNG, "image/png")}
    )
    assert "'file' scope" in _problem(upload, 403)["detail"]

    filer = _token(client, session, scopes=["file"])
    assert client.post(
        f"{API}/uploads", headers=filer, files={"file": ("x.png", PNG, "image/png")}
    ).is_success
    _problem(client.get(f"{API}/my/cases", headers=filer), 403)
    listed = client.get(f"{API}/me/tokens", headers=session).json()
    assert sorted(t["scopes"] for t in listed) == [["file"], ["file", "read"], ["read"]]

    for scopes, wrong in ((["handle"], "handle"), (["root"], "root"), ([], "at least one")):
        bad = client.post(f"{API}/me/tokens", headers=session, json={"name": "x", "scopes": scopes})
        body = _problem(bad, 422)
        assert body["errors"][0]["field"] == "scopes" and wrong in body["errors"][0]["message"]


@pytest.mark.usefixtures("regions_loaded")
def test_an_officials_token_reads_the_queue_but_decides_only_with_handle(
    client: TestClient, make_account: MakeAccount
) -> None:
    official = make_account("official")
    session = _session(client, official.username)
    reader = _token(client, session, scopes=["read"])
    assert client.get(f"{API}/queue", headers=reader).status_code == 200
    act = client.post(
        f"{API}/cases/440300-20260101-NOSUCHCASE/actions/accept",
        headers=reader,
        json={"version": 1},
    )
    assert act.status_code in (403, 404)
    handler = _token(client, session, scopes=["handle", "read"])
    act = client.post(
        f"{API}/cases/440300-20260101-NOSUCHCASE/actions/accept",
        headers=handler,
        json={"version": 1},
    )
    assert act.status_code == 404  # the scope lets it through to the (missing) case


# --- the table ------------------------------------------------------------------------------------

# Account management: a login session only, whatever the token.
SESSION_ONLY = {
    "accounts.manage",
    "accounts.update_self",
    "accounts.change_password",
    "accounts.verify_identity",
    "accounts.verify_self",
    "accounts.reset_password",
    "proxies.manage_own",
    "proxies.answer_own",
    "case.confirm_payout",
    "tokens.manage_own",
    # The security console: triage and rules need a login session (issue #20).
    "guard.triage",
    "guard.configure",
    # An issuer's signing keys (added, rotated, retired): a login session only (issue #17).
    "credentials.keys",
}


def test_every_action_names_its_token_scope_or_is_for_sessions_only() -> None:
    """A new action must decide: which scope a token needs, or none (account management)."""
    assert {action for action, rule in POLICY.items() if rule.token is None} == SESSION_ONLY


def test_token_scopes_of_each_role() -> None:
    assert token_scopes_of(Role.CITIZEN) == {TokenScope.READ, TokenScope.FILE}
    assert token_scopes_of(Role.CLERK) == {TokenScope.READ, TokenScope.FILE}
    assert token_scopes_of(Role.OFFICIAL) == {TokenScope.READ, TokenScope.HANDLE}
    # Stewards publish data resources and answer sharing requests (exchange/) with tokens, and
    # answer citizens' objections to a use of their data (consent/, issue #16).
    assert token_scopes_of(Role.STEWARD) == {
        TokenScope.READ,
        TokenScope.CONFIGURE,
        TokenScope.HANDLE,
    }
    assert token_scopes_of(Role.ADMIN) == {
        TokenScope.READ,
        TokenScope.HANDLE,
        TokenScope.CONFIGURE,
    }


@pytest.mark.parametrize("action", sorted(POLICY))
def test_authorize_checks_the_token_scope(action: str) -> None:
    rule = POLICY[action]
    role = next(iter(rule.roles))
    session = Actor(account_id=1, username="u", role=role)
    everything = frozenset(TokenScope)
    token = Actor(account_id=1, username="u", role=role, token_id=9, token_scopes=everything)
    authorize(session, action)
    if rule.token is None:
        with pytest.raises(Forbidden, match="API token may not"):
            authorize(token, action)
        return
    authorize(token, action)
    lacking = Actor(
        account_id=1, username="u", role=role, token_id=9, token_scopes=everything - {rule.token}
    )
    with pytest.raises(Forbidden, match=f"lacks the '{rule.token.value}' scope"):
        authorize(lacking, action)
    # A scope never widens a role: the role check comes first.
    outsider = next((r for r in Role if r not in rule.roles), None)
    if outsider is not None:
        stranger = Actor(
            account_id=1, username="u", role=outsider, token_id=9, token_scopes=everything
        )
        with pytest.raises(Forbidden, match="role may not"):
            authorize(stranger, action)
