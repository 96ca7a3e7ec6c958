"""Server-side behaviour of the web front (TestClient, on SQLite and PostgreSQL)."""

from __future__ import annotations

import gzip
import re
import tempfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.support import identity_internals as identity
from tests.support.routes import api_routes
from tongban.platform.config import Settings
from tongban.platform.web import i18n
from tongban.platform.web.rendering import STASH_COOKIE

HTML = {"accept": "text/html"}


def _token(client: TestClient, path: str = "/login") -> str:
    html = client.get(path, headers=HTML).text
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


@pytest.fixture
def demo(db: Session, client: TestClient, settings: Settings) -> TestClient:
    """The client over a database with regions, catalog and demo accounts."""
    from tongban.regions import service as regions

    regions.load_builtin(db)
    identity.create_demo_accounts(db, settings=settings)
    db.flush()
    return client


def _login(client: TestClient, username: str = "citizen") -> str:
    """Log in through the form; the token of the new session's pages (logging in rotates it)."""
    response = client.post(
        "/login",
        data={"csrf_token": _token(client), "username": username, "password": "tongban-demo"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    return _token(client, "/settings")


def test_pages_carry_security_headers_and_no_inline_code(client: TestClient) -> None:
    response = client.get("/login", headers=HTML)
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert "<script>" not in response.text and "style=" not in response.text
    assert "HttpOnly" in response.headers["set-cookie"]
    assert (
        "SameSite=lax" in response.headers["set-cookie"]
        or "samesite=lax" in response.headers["set-cookie"].lower()
    )


# Not forms: the API (tokens) and the nodes' signed protocol (RFC 9421 signatures, refused with
# 401 when unsigned: tests/exchange/test_nodes.py).
MACHINE_PATHS = ("/api", "/exchange/v1/")


def test_every_form_post_is_rejected_without_the_csrf_token(client: TestClient) -> None:
    client.get("/login", headers=HTML)  # gets the CSRF cookie
    posts = [
        path
        for path, route in api_routes(client.app)  # type: ignore[arg-type]
        if "POST" in route.methods and not path.startswith(MACHINE_PATHS)
    ]
    assert len(posts) >= 15
    for path in posts:
        url = re.sub(r"\{[^}]+\}", "x", path)
        response = client.post(url, data={"csrf_token": "forged" * 8}, headers=HTML)
        assert response.status_code == 403, path
        assert "表单已过期" in response.text, path


def test_every_form_post_is_rejected_with_a_forged_pair_or_from_another_site(
    client: TestClient,
) -> None:
    # Issue #12: a cookie/field pair chosen by an attacker, and a valid token sent from another
    # site's page, were accepted.
    posts = [
        path
        for path, route in api_routes(client.app)  # type: ignore[arg-type]
        if "POST" in route.methods and not path.startswith(MACHINE_PATHS)
    ]
    token = _token(client, "/settings")
    urls = [re.sub(r"\{[^}]+\}", "x", path) for path in posts]
    for url in urls:
        for foreign in ({"origin": "https://evil.example"}, {"sec-fetch-site": "cross-site"}):
            response = client.post(url, data={"csrf_token": token}, headers={**HTML, **foreign})
            assert response.status_code == 403, (url, foreign)
            assert "表单已过期" in response.text, url
    client.cookies.set("tb_csrf", "f" * 43)
    for url in urls:
        response = client.post(url, data={"csrf_token": "f" * 43}, headers=HTML)
        assert response.status_code == 403, url
        assert "表单已过期" in response.text, url


def test_csrf_error_page_is_translated(client: TestClient) -> None:
    client.cookies.set(i18n.LOCALE_COOKIE, "en")
    client.get("/login", headers=HTML)
    response = client.post("/settings", data={"elderly": "1"}, headers=HTML)
    assert response.status_code == 403
    assert "This form has expired" in response.text and 'lang="en"' in response.text


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "zh_CN"),
        ("en-GB,en;q=0.9", "en"),
        ("fr-FR, en;q=0.5, zh;q=0.8", "zh_CN"),
        ("zh-TW", "zh_CN"),
        ("de", "zh_CN"),
        ("en;q=0, zh;q=0.1", "zh_CN"),
    ],
)
def test_accept_language_negotiation(header: str | None, expected: str) -> None:
    assert i18n.negotiate(cookie=None, account_locale=None, accept_language=header) == expected


def test_choice_cookie_beats_account_beats_browser() -> None:
    assert i18n.negotiate(cookie="en", account_locale="zh-CN", accept_language="zh") == "en"
    assert i18n.negotiate(cookie=None, account_locale="en", accept_language="zh") == "en"
    assert i18n.negotiate(cookie="xx", account_locale=None, accept_language="en") == "en"


def test_lang_attribute_follows_the_language(client: TestClient) -> None:
    assert '<html lang="zh-CN">' in client.get("/", headers=HTML).text
    english = client.get("/", headers={**HTML, "accept-language": "en"}).text
    assert '<html lang="en">' in english and "Government services" in english


def test_every_message_has_a_chinese_translation(tmp_path: Path) -> None:
    import subprocess
    import sys

    from babel.messages.pofile import read_po

    root = Path(__file__).resolve().parents[2]
    pot_file = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            str(root / "src/tongban/platform/web/babel.cfg"),
            "-k",
            "N_",
            "--no-location",
            "--omit-header",
            "-o",
            str(pot_file),
            str(root / "src/tongban"),
        ],
        check=True,
        capture_output=True,
    )
    with pot_file.open("rb") as fh:
        template = read_po(fh)
    # Guard against an extraction that silently found nothing (it once wrote to a file named -).
    assert len(template) > 100
    with i18n.catalog_path("zh_CN").open("rb") as fh:
        zh = read_po(fh, locale="zh_CN")
    missing = [m.id for m in template if m.id and not (zh.get(m.id) and zh.get(m.id).string)]
    assert missing == []


def test_language_switch_persists_in_cookie_and_account(demo: TestClient, db: Session) -> None:
    token = _login(demo)
    response = demo.post(
        "/settings",
        data={"csrf_token": token, "locale": "en", "elderly": "1"},
        headers=HTML,
        follow_redirects=False,
    )
    assert response.status_code == 303
    account = identity.find_account_by_username(db, username="citizen")
    assert account is not None
    db.refresh(account)
    assert account.locale == "en" and account.elderly_mode is True
    page = demo.get("/settings", headers=HTML).text
    assert 'class="elderly"' in page and "Your settings are saved." in page
    # Another device (no cookies) gets the account's choices after logging in.
    other = TestClient(demo.app)
    _login(other)
    assert 'class="elderly"' in other.get("/", headers=HTML).text


def test_bad_registration_keeps_input_and_explains_each_field(client: TestClient) -> None:
    token = _token(client, "/register")
    response = client.post(
        "/register",
        data={
            "csrf_token": token,
            "display_name": "李四",
            "resident_id": "110101199003070000",
            "phone": "123",
            "password": "short",
            "password_confirm": "other",
        },
        headers=HTML,
    )
    assert response.status_code == 422
    html = response.text
    assert 'value="李四"' in html and 'value="110101199003070000"' in html
    assert 'value="short"' not in html  # passwords are never echoed
    assert 'href="#f-resident_id"' in html and 'href="#f-phone"' in html
    assert 'aria-describedby="f-phone-hint f-phone-error"' in html
    assert "请输入正确的 11 位手机号码。" in html


def test_wrong_password_rerenders_login(demo: TestClient) -> None:
    token = _token(demo)
    response = demo.post(
        "/login",
        data={
            "csrf_token": token,
            "username": "citizen",
            "password": "nope-nope",
            "next": "/my/cases",
        },
        headers=HTML,
    )
    assert response.status_code == 401
    assert "用户名或密码不正确。" in response.text
    assert 'value="citizen"' in response.text and 'value="/my/cases"' in response.text


def test_login_returns_to_the_page_and_rejects_foreign_next(demo: TestClient) -> None:
    response = demo.get("/my/cases", headers=HTML, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/my/cases"
    token = _token(demo)
    response = demo.post(
        "/login",
        data={
            "csrf_token": token,
            "username": "citizen",
            "password": "tongban-demo",
            "next": "//evil.example/",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


@pytest.mark.parametrize(
    ("username", "home"), [("official", "/work"), ("clerk", "/desk"), ("citizen", "/")]
)
def test_staff_land_on_their_desk_after_login(demo: TestClient, username: str, home: str) -> None:
    token = _token(demo)
    fields = {"csrf_token": token, "username": username, "password": "tongban-demo"}
    response = demo.post("/login", data={**fields, "next": "/"}, follow_redirects=False)
    assert response.headers["location"] == home
    # A page they came from wins.
    token = _token(demo)
    fields["csrf_token"] = token
    response = demo.post("/login", data={**fields, "next": "/search"}, follow_redirects=False)
    assert response.headers["location"] == "/search"


def test_expired_session_stashes_the_posted_form(demo: TestClient) -> None:
    token = _token(demo)
    response = demo.post(
        "/account/proxies",
        data={"csrf_token": token, "agent": "relative", "relation": "child", "password": "x"},
        headers=HTML,
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/account/proxies"
    assert STASH_COOKIE in response.cookies
    _login(demo)
    page = demo.get("/account/proxies", headers=HTML).text
    assert 'value="relative"' in page and "已为您保留刚才填写的内容" in page


def test_pages_are_small_when_gzipped(demo: TestClient) -> None:
    for path in ("/", "/search?q=shbk", "/login", "/register", "/settings"):
        response = demo.get(path, headers={**HTML, "accept-encoding": "gzip"})
        assert response.status_code == 200
        assert len(gzip.compress(response.content)) < 60 * 1024
    css = demo.get("/static/site.css", headers={"accept-encoding": "gzip"})
    assert css.headers["content-encoding"] == "gzip"
    assert "immutable" in css.headers["cache-control"]


def test_home_shows_the_elderly_entry_and_elderly_mode_hides_it(client: TestClient) -> None:
    assert "切换到长辈版" in client.get("/", headers=HTML).text
    client.cookies.set("tb_elderly", "1")
    page = client.get("/", headers=HTML).text
    assert 'class="elderly"' in page and "切换到长辈版" not in page
    assert "data-read-aloud hidden" in page


def test_unknown_page_is_a_translated_404(client: TestClient) -> None:
    response = client.get("/no/such/page", headers=HTML)
    assert response.status_code == 404 and "页面不存在" in response.text
    api = client.get("/api/v1/no/such")
    assert api.headers["content-type"].startswith("application/problem+json")


def test_clerk_pages_refuse_citizens(demo: TestClient) -> None:
    _login(demo, "citizen")
    response = demo.get("/desk", headers=HTML)
    assert response.status_code == 403 and "您没有权限" in response.text


def test_demo_loader_is_idempotent_for_the_web_fixture(fresh_database) -> None:  # type: ignore[no-untyped-def]
    import tongban.shell.models  # noqa: F401 - every table on Base.metadata
    from tests.support.live import WORK_OFFICIAL, prepare_demo
    from tongban.platform.db import Base

    def rows() -> dict[str, int]:
        with fresh_database.session_scope() as session:
            return {
                table.name: session.scalar(select(func.count()).select_from(table)) or 0
                for table in Base.metadata.sorted_tables
                # Not the event log: a catalog import records an event even when unchanged.
                if table.name != "events"
            }

    # One node, one set of keys: records keyed by the resident ID's lookup hash (exchange's
    # provider records) are found again only under the same keys.
    settings = Settings(
        data_dir=Path(tempfile.mkdtemp(prefix="tongban-demo-")), database_url=fresh_database.url
    )
    prepare_demo(fresh_database, settings)
    first = rows()
    assert first["regions"] > 3000 and first["catalog_items"] > 0 and first["accounts"] > 1
    # Again: the CLI's loader (load_demo_data, which prepare_demo builds on) and the work
    # official find everything in place and add no row anywhere.
    prepare_demo(fresh_database, settings)
    assert rows() == first
    with fresh_database.session_scope() as session:
        official = identity.find_account_by_username(session, username=WORK_OFFICIAL)
        assert official is not None and official.role == "official"
