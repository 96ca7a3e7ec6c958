"""CSRF: tokens are bound to the session, rotate when it changes, and forms come from this site.

Issue #12, item 9: a forged cookie/field pair was accepted (a double submit), tokens survived
login, and a valid token was accepted from another site's page.
"""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.support.databases import Seed
from tests.support.seeds import DEMO
from tongban.identity import service as identity
from tongban.platform.config import Settings
from tongban.platform.web.csrf import CSRF_COOKIE, CSRF_FIELD, CsrfGuard, origin_of
from tongban.platform.web.rendering import STASH_COOKIE

HTML = {"accept": "text/html"}
PASSWORD = "tongban-demo"
EXPIRED = "表单已过期"


@pytest.fixture
def seeds_by_fixture() -> dict[str, Seed]:
    """`demo`: the regions and the demo accounts, committed once (tests/support/seeds.py)."""
    return {"demo": DEMO}


@pytest.fixture
def demo(db: Session, client: TestClient, settings: Settings) -> TestClient:
    """The client over a database with the demo accounts (found in the seed)."""
    from tongban.identity.demo import create_demo_accounts
    from tongban.regions import service as regions

    regions.load_builtin(db)
    create_demo_accounts(db, settings=settings)
    db.flush()
    return client


def _token(client: TestClient, path: str = "/settings") -> str:
    response = client.get(path, headers=HTML)
    match = re.search(r'name="csrf_token" value="([^"]+)"', response.text)
    assert match, (path, response.status_code)
    return match.group(1)


def _set_language(client: TestClient, token: str, **headers: str) -> int:
    """Post the language switch (a form every page carries); its status code."""
    response = client.post(
        "/settings/language",
        data={CSRF_FIELD: token, "locale": "zh-CN", "next": "/"},
        headers={**HTML, **headers},
        follow_redirects=False,
    )
    if response.status_code == 403:
        assert EXPIRED in response.text
    return response.status_code


def _login(client: TestClient, username: str = "citizen") -> None:
    response = client.post(
        "/login",
        data={CSRF_FIELD: _token(client, "/login"), "username": username, "password": PASSWORD},
        headers=HTML,
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def test_a_forged_cookie_and_field_pair_is_refused(client: TestClient) -> None:
    client.cookies.set(CSRF_COOKIE, "c" * 43)
    assert _set_language(client, "c" * 43) == 403
    # The pre-session id is not the token: posting the cookie's own value back fails too.
    _token(client)
    assert _set_language(client, client.cookies[CSRF_COOKIE]) == 403


def test_a_visitors_token_works_only_with_its_own_pre_session(app: FastAPI) -> None:
    with TestClient(app) as alice, TestClient(app) as mallory:
        token = _token(alice)
        assert _set_language(alice, token) == 303
        _token(mallory)
        assert _set_language(mallory, token) == 403


def test_the_token_is_bound_to_the_login_session(app: FastAPI, demo: TestClient) -> None:
    with TestClient(app) as first, TestClient(app) as second:
        _login(first)
        _login(second)  # the same account, another session
        token = _token(first)
        assert "." in token  # a pre-session part and a session part
        # The other session's pre-session part is not enough while a session is open.
        assert _set_language(second, token) == 403
        second.cookies.set(CSRF_COOKIE, first.cookies[CSRF_COOKIE])
        assert _set_language(second, token) == 403
        assert _set_language(first, token) == 303


def test_login_page_login_and_logout_rotate_the_token(demo: TestClient) -> None:
    client = demo
    before = _token(client)
    on_login_page = _token(client, "/login")
    assert on_login_page != before
    assert _set_language(client, before) == 403  # the login page issued a new pre-session
    cookie = client.cookies[CSRF_COOKIE]
    response = client.post(
        "/login",
        data={CSRF_FIELD: on_login_page, "username": "citizen", "password": PASSWORD},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert client.cookies[CSRF_COOKIE] != cookie
    assert _set_language(client, on_login_page) == 403
    logged_in = _token(client)
    assert logged_in not in (before, on_login_page)
    out = client.post("/logout", data={CSRF_FIELD: logged_in}, follow_redirects=False)
    assert out.status_code == 303
    assert _set_language(client, logged_in) == 403
    after = _token(client)
    assert after not in (before, on_login_page, logged_in)
    assert _set_language(client, after) == 303


def test_a_failed_login_keeps_the_token(demo: TestClient) -> None:
    token = _token(demo, "/login")
    response = demo.post(
        "/login",
        data={CSRF_FIELD: token, "username": "citizen", "password": "wrong-password"},
        headers=HTML,
    )
    assert response.status_code == 401
    assert _token_in(response.text) == token
    assert _set_language(demo, token) == 303


def _token_in(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def _resident_id(body: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(d) * w for d, w in zip(body, weights, strict=True))
    return body + "10X98765432"[total % 11]


def test_registration_rotates_the_token(demo: TestClient) -> None:
    token = _token(demo, "/register")
    cookie = demo.cookies[CSRF_COOKIE]
    response = demo.post(
        "/register",
        data={
            CSRF_FIELD: token,
            "display_name": "李四",
            "resident_id": _resident_id("51160219800101123"),
            "phone": "13912345678",
            "password": "a-long-password",
            "password_confirm": "a-long-password",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert demo.cookies[CSRF_COOKIE] != cookie
    assert _set_language(demo, token) == 403


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://evil.example"},
        {"origin": "http://testserver.evil.example"},
        {"origin": "null"},
        {"sec-fetch-site": "cross-site"},
        {"origin": "http://testserver", "sec-fetch-site": "cross-site"},
    ],
)
def test_a_valid_token_from_another_site_is_refused(
    client: TestClient, headers: dict[str, str]
) -> None:
    token = _token(client)
    assert _set_language(client, token, **headers) == 403
    assert _set_language(client, token) == 303  # the same token, from this site


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"origin": "http://testserver"},
        {"origin": "http://TestServer:80", "sec-fetch-site": "same-origin"},
        {"sec-fetch-site": "same-origin"},
        {"sec-fetch-site": "none"},
    ],
)
def test_forms_from_this_site_or_old_browsers_pass(
    client: TestClient, headers: dict[str, str]
) -> None:
    assert _set_language(client, _token(client), **headers) == 303


def test_trusted_origins_come_from_the_settings(tmp_path: object) -> None:
    guard = CsrfGuard(
        secret=lambda: b"k" * 32,
        session_cookie="s",
        trusted_origins=["https://tongban.example.gov.cn/", "https://[::1]:8443/x", "junk"],
    )
    assert guard.trusted_origins == {"https://tongban.example.gov.cn", "https://[::1]:8443"}
    assert origin_of("HTTPS://Example.ORG:443/path") == "https://example.org"
    assert origin_of("ftp://example.org") is None


def test_an_expired_session_cookie_still_leads_to_login_with_the_form_kept(
    demo: TestClient,
) -> None:
    _login(demo)
    token = _token(demo, "/account/proxies")
    demo.cookies.delete(identity.SESSION_COOKIE)  # the browser dropped it (cookie max-age)
    response = demo.post(
        "/account/proxies",
        data={CSRF_FIELD: token, "agent": "relative", "relation": "child"},
        headers=HTML,
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
    assert STASH_COOKIE in response.headers.get("set-cookie", "")


def test_the_api_refuses_a_session_cookie_sent_from_another_site(demo: TestClient) -> None:
    login = demo.post("/api/v1/auth/login", json={"username": "citizen", "password": PASSWORD})
    assert login.status_code == 200
    foreign = {"origin": "https://x.example"}
    refused = demo.post("/api/v1/my/messages/read", json={}, headers=foreign)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["type"].endswith("/cross-site-request")
    refused = demo.post("/api/v1/auth/logout", headers={"sec-fetch-site": "cross-site"})
    assert refused.status_code == 403
    # With a bearer token (not an ambient credential) the origin is not judged.
    token = demo.post(
        "/api/v1/auth/token", json={"username": "citizen", "password": PASSWORD}
    ).json()["access_token"]
    bearer = demo.post(
        "/api/v1/my/messages/read",
        json={},
        headers={"authorization": f"Bearer {token}", **foreign},
    )
    assert bearer.status_code == 200
    # Nor from this site.
    same = demo.post("/api/v1/auth/logout", headers={"origin": "http://testserver"})
    assert same.status_code == 204


def test_tokens_differ_between_nodes(tmp_path: object) -> None:
    one = CsrfGuard(secret=lambda: b"1" * 32, session_cookie="s")
    two = CsrfGuard(secret=lambda: b"2" * 32, session_cookie="s")
    visitor = "v" * 43
    assert one.token(session=None, visitor=visitor) != two.token(session=None, visitor=visitor)
    assert one.accepts(one.token(session="abc", visitor=visitor), session="abc", visitor=visitor)
    assert not one.accepts(
        one.token(session="abc", visitor=visitor), session="abd", visitor=visitor
    )
    assert not one.accepts("", session=None, visitor=None)
