"""The identity pages (issue #12 item 1, issue #13 item 6): my account with the identity status
and the real-name check, the clerk's desk to verify an identity or give a temporary password,
and a forgotten password by a code sent by SMS."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.identity.test_recovery import Outbox, code_sent_to
from tests.identity.test_verification import FakeRealName
from tests.support import identity_internals as identity
from tongban.adapters.sms import load_gateway
from tongban.platform.config import Settings
from tongban.platform.web import i18n
from tongban.shell.app import create_app

from .conftest import PASSWORD, MakeAccount, new_resident_id

HTML = {"accept": "text/html"}
NEW = "a-brand-new-password"


@pytest.fixture
def outbox(settings: Settings) -> Iterator[list[tuple[str, str]]]:
    settings.sms_gateway = f"{Outbox.__module__}:Outbox"
    load_gateway.cache_clear()
    Outbox.sent.clear()
    yield Outbox.sent
    load_gateway.cache_clear()


def _csrf(client: TestClient) -> str:
    token: str = client.app.state.csrf_guard.token_for_cookies(dict(client.cookies))  # type: ignore[attr-defined]
    return token


def _post(client: TestClient, path: str, **data: str) -> httpx.Response:
    if "csrf_token" not in client.cookies and "tb_csrf" not in client.cookies:
        client.get("/login", headers=HTML)
    return client.post(
        path, data={"csrf_token": _csrf(client), **data}, headers=HTML, follow_redirects=False
    )


def _login(client: TestClient, username: str, password: str = PASSWORD) -> httpx.Response:
    client.get("/login", headers=HTML)
    response = _post(client, "/login", username=username, password=password)
    return response


def _text(response: httpx.Response) -> str:
    """The page's visible words, tags removed (for asserting sentences)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.text))


def _register(client: TestClient, number: str, phone: str) -> httpx.Response:
    client.get("/register", headers=HTML)
    return _post(
        client,
        "/register",
        display_name="王秀英",
        resident_id=number,
        phone=phone,
        password=PASSWORD,
        password_confirm=PASSWORD,
    )


# --- my account --------------------------------------------------------------------------------


def test_registration_leads_to_my_account_which_says_the_id_is_only_claimed(
    client: TestClient,
) -> None:
    number = new_resident_id()
    registered = _register(client, number, "13912350001")
    assert (registered.status_code, registered.headers["location"]) == (303, "/account")
    page = client.get("/account", headers=HTML)
    assert page.status_code == 200
    text = _text(page)
    assert "账户已开通" in text and "还未核验" in text
    assert "未核验" in text
    assert "您的身份证号还未核验。核验前，您只能看到自己提交的办件" in text
    assert "139****0001" in text and number[:4] + "**********" + number[-4:] in text
    assert "13912350001" not in page.text and number not in page.text
    assert "便民服务站" in text
    assert 'action="/account/identity"' not in page.text  # no real-name service on this node
    assert 'href="/account"' in page.text  # the menu links to it
    # Without the service, the form's address says so (a clear message, not a 500).
    refused = _post(client, "/account/identity", name="王秀英")
    assert refused.status_code == 409
    assert "本平台暂不支持在线核验" in _text(refused)


@pytest.mark.usefixtures("regions_loaded")
def test_my_account_shows_a_verified_identity_with_method_and_date(
    client: TestClient, make_account: MakeAccount
) -> None:
    make_account("citizen", username="bound-owner", phone="13912350002")
    assert _login(client, "bound-owner").status_code == 303
    text = _text(client.get("/account", headers=HTML))
    assert "已核验" in text and "由管理员核验" in text
    client.cookies.set(i18n.LOCALE_COOKIE, "en")
    english = _text(client.get("/account", headers=HTML))
    assert "My account" in english and "Verified by an administrator on" in english


def test_my_account_needs_a_login(client: TestClient) -> None:
    response = client.get("/account", headers=HTML, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


@pytest.fixture
def realname_client(settings: Settings, app: Any) -> Iterator[TestClient]:
    configured = settings.model_copy(
        update={
            "realname_verifier": f"{FakeRealName.__module__}:FakeRealName",
            "realname_max_failures": 2,
        }
    )
    FakeRealName.register, FakeRealName.down, FakeRealName.calls = {}, False, []
    with TestClient(create_app(configured, app.state.database)) as client:
        yield client


def test_the_real_name_form_explains_each_outcome(realname_client: TestClient) -> None:
    client = realname_client
    number = new_resident_id()
    _register(client, number, "13912350003")
    FakeRealName.register[number] = "王秀英"
    page = client.get("/account", headers=HTML)
    assert 'action="/account/identity"' in page.text

    FakeRealName.down = True
    down = _post(client, "/account/identity", name="王秀英")
    assert down.status_code == 503 and "实名认证服务暂时没有响应" in _text(down)
    FakeRealName.down = False
    empty = _post(client, "/account/identity", name="")
    assert empty.status_code == 422 and 'href="#f-name"' in empty.text
    wrong = _post(client, "/account/identity", name="王小明")
    assert wrong.status_code == 422 and "实名库中这个身份证号对应的不是这个姓名" in _text(wrong)
    assert 'value="王小明"' in wrong.text
    _post(client, "/account/identity", name="王小明")
    waiting = _post(client, "/account/identity", name="王秀英")
    assert waiting.status_code == 429 and int(waiting.headers["Retry-After"]) > 3000
    assert "之后再试" in _text(waiting)


def test_the_real_name_form_binds_on_a_match(realname_client: TestClient) -> None:
    client = realname_client
    number = new_resident_id()
    _register(client, number, "13912350004")
    FakeRealName.register[number] = "王秀英"
    done = _post(client, "/account/identity", name=" 王秀英 ")
    assert (done.status_code, done.headers["location"]) == (303, "/account")
    text = _text(client.get("/account", headers=HTML))
    assert "您的身份已核验。" in text and "通过实名认证服务核验" in text


# --- the clerk's desk ---------------------------------------------------------------------------


@pytest.fixture
def clerk_client(client: TestClient, regions_loaded: None, make_account: MakeAccount) -> TestClient:
    clerk = make_account("clerk", username="desk-clerk")
    assert _login(client, clerk.username).status_code == 303
    return client


def _other_client(client: TestClient) -> TestClient:
    return TestClient(client.app)


def test_a_clerk_verifies_a_registered_citizen_at_the_desk(
    clerk_client: TestClient, db: Session
) -> None:
    client = clerk_client
    assert 'href="/desk/identity"' in client.get("/desk", headers=HTML).text
    number = new_resident_id()
    citizen = _other_client(client)
    _register(citizen, number, "13912350005")
    page = client.get("/desk/identity", headers=HTML)
    assert page.status_code == 200 and "已当面核对身份证原件与本人一致" in page.text

    unconfirmed = _post(client, "/desk/identity", citizen="13912350005", resident_id=number)
    assert unconfirmed.status_code == 422 and 'href="#f-confirmed"' in unconfirmed.text
    nobody = _post(
        client, "/desk/identity", citizen="13900000000", resident_id=number, confirmed="1"
    )
    assert nobody.status_code == 422 and "没有使用这个用户名或手机号的居民账户" in _text(nobody)
    bad = _post(client, "/desk/identity", citizen="13912350005", resident_id="123", confirmed="1")
    assert bad.status_code == 422 and 'href="#f-resident_id"' in bad.text

    done = _post(client, "/desk/identity", citizen="13912350005", resident_id=number, confirmed="1")
    assert done.status_code == 200, _text(done)
    text = _text(done)
    assert "身份已核验" in text and "139****0005" in text
    assert number[:4] + "**********" + number[-4:] in text and number not in done.text
    account = identity.find_account_by_username(db, username="13912350005")
    assert account is not None
    db.refresh(account)
    assert account.identity_verification == "counter"
    # The citizen's own page now says so.
    assert "在服务窗口核验" in _text(citizen.get("/account", headers=HTML))


def test_the_desk_explains_a_different_claim_and_a_number_bound_elsewhere(
    clerk_client: TestClient, make_account: MakeAccount
) -> None:
    client = clerk_client
    claimed, on_card = new_resident_id(), new_resident_id()
    _register(_other_client(client), claimed, "13912350006")
    differs = _post(
        client, "/desk/identity", citizen="13912350006", resident_id=on_card, confirmed="1"
    )
    assert differs.status_code == 422
    assert "这个账户注册时填写的是另一个身份证号" in _text(differs)
    assert claimed[:4] + "**********" + claimed[-4:] in differs.text
    assert 'name="replace"' in differs.text
    replaced = _post(
        client,
        "/desk/identity",
        citizen="13912350006",
        resident_id=on_card,
        confirmed="1",
        replace="1",
    )
    assert replaced.status_code == 200 and "身份已核验" in _text(replaced)

    # The same number for a second account: one person, one account.
    _register(_other_client(client), on_card, "13912350007")
    taken = _post(
        client, "/desk/identity", citizen="13912350007", resident_id=on_card, confirmed="1"
    )
    assert taken.status_code == 409 and "已在另一个账户上核验" in _text(taken)


def test_only_clerks_reach_the_desk_pages(client: TestClient, make_account: MakeAccount) -> None:
    _register(client, new_resident_id(), "13912350008")
    for path in ("/desk/identity", "/desk/password"):
        assert client.get(path, headers=HTML).status_code == 403


def test_a_clerk_gives_a_temporary_password_that_must_be_changed(
    clerk_client: TestClient, db: Session, outbox: list[tuple[str, str]]
) -> None:
    client = clerk_client
    number = new_resident_id()
    _register(_other_client(client), number, "13912350009")
    not_yet = _post(
        client, "/desk/password", citizen="13912350009", resident_id=number, confirmed="1"
    )
    assert not_yet.status_code == 409 and "请先核验身份" in _text(not_yet)
    _post(client, "/desk/identity", citizen="13912350009", resident_id=number, confirmed="1")
    other_card = _post(
        client,
        "/desk/password",
        citizen="13912350009",
        resident_id=new_resident_id(),
        confirmed="1",
    )
    assert other_card.status_code == 409 and "只能为账户本人重设密码" in _text(other_card)
    issued = _post(
        client, "/desk/password", citizen="13912350009", resident_id=number, confirmed="1"
    )
    assert issued.status_code == 200, _text(issued)
    assert issued.headers["cache-control"] == "no-store"
    match = re.search(r"<strong>([a-z2-9]{4}-[a-z2-9]{4})</strong>", issued.text)
    assert match, issued.text
    temporary = match.group(1)
    assert any("密码已在服务窗口重设" in text for _, text in outbox)

    citizen = _other_client(client)
    login = _login(citizen, "13912350009", temporary)
    assert login.status_code == 303
    assert login.headers["location"].startswith("/account/password?next=")
    change = citizen.get(login.headers["location"], headers=HTML)
    assert "请现在设置您自己的密码" in _text(change)
    differ = _post(
        citizen,
        "/account/password",
        current_password=temporary,
        new_password=NEW,
        new_password_confirm="something-else",
    )
    assert differ.status_code == 422 and 'href="#f-new_password_confirm"' in differ.text
    wrong = _post(
        citizen,
        "/account/password",
        current_password="not-the-temporary",
        new_password=NEW,
        new_password_confirm=NEW,
    )
    assert wrong.status_code == 422 and "当前密码不正确" in _text(wrong)
    changed = _post(
        citizen,
        "/account/password",
        current_password=temporary,
        new_password=NEW,
        new_password_confirm=NEW,
        next="/",
    )
    assert (changed.status_code, changed.headers["location"]) == (303, "/")
    account = identity.find_account_by_username(db, username="13912350009")
    assert account is not None
    db.refresh(account)
    assert account.password_must_change is False
    again = _login(_other_client(client), "13912350009", NEW)
    assert (again.status_code, again.headers["location"]) == (303, "/")


# --- a forgotten password ------------------------------------------------------------------------


def _form_html(response: httpx.Response) -> str:
    """The page without what differs between two visitors (their CSRF tokens)."""
    return re.sub(r'name="csrf_token" value="[^"]*"', "", response.text)


def test_forgot_password_by_sms_code(
    client: TestClient, outbox: list[tuple[str, str]], db: Session
) -> None:
    _register(_other_client(client), new_resident_id(), "13912350010")
    login_page = client.get("/login", headers=HTML)
    assert 'href="/password/forgot"' in login_page.text
    assert client.get("/password/forgot", headers=HTML).status_code == 200

    empty = _post(client, "/password/forgot", username=" ")
    assert empty.status_code == 422 and 'href="#f-username"' in empty.text
    known = _post(client, "/password/forgot", username="13912350010")
    unknown = _post(_other_client(client), "/password/forgot", username="13912359999")
    assert known.status_code == unknown.status_code == 200
    assert _form_html(known).replace("13912350010", "X") == _form_html(unknown).replace(
        "13912359999", "X"
    )
    assert "6 位验证码" in _text(known)
    code = code_sent_to(outbox, "13912350010")
    assert len(outbox) == 1

    wrong = _post(
        client,
        "/password/reset",
        username="13912350010",
        code="000000" if code != "000000" else "111111",
        new_password=NEW,
        new_password_confirm=NEW,
    )
    assert wrong.status_code == 422 and "验证码不正确或已过期" in _text(wrong)
    short = _post(
        client,
        "/password/reset",
        username="13912350010",
        code=code,
        new_password="short",
        new_password_confirm="short",
    )
    assert short.status_code == 422 and 'href="#f-new_password"' in short.text
    malformed = _post(
        client,
        "/password/reset",
        username="13912350010",
        code="12ab",
        new_password=NEW,
        new_password_confirm=NEW,
    )
    assert malformed.status_code == 422 and "请输入短信中的 6 位验证码" in _text(malformed)
    done = _post(
        client,
        "/password/reset",
        username="13912350010",
        code=code,
        new_password=NEW,
        new_password_confirm=NEW,
    )
    assert (done.status_code, done.headers["location"]) == (303, "/login")
    assert "密码已修改。请用新密码登录。" in _text(client.get("/login", headers=HTML))
    assert _login(_other_client(client), "13912350010", NEW).status_code == 303
    assert _login(_other_client(client), "13912350010", PASSWORD).status_code == 401


def test_too_many_code_requests_say_when_to_try_again(
    client: TestClient, outbox: list[tuple[str, str]]
) -> None:
    client.cookies.set(i18n.LOCALE_COOKIE, "en")
    for _ in range(3):
        assert _post(client, "/password/forgot", username="someone").status_code == 200
    refused = _post(client, "/password/forgot", username="someone")
    assert refused.status_code == 429 and 0 < int(refused.headers["Retry-After"]) <= 60
    text = _text(refused)
    assert "You can try again after" in text and "12345 hotline" in text


@pytest.mark.usefixtures("regions_loaded")
def test_a_slowed_login_says_when_to_try_again_and_where_to_get_help(
    client: TestClient, make_account: MakeAccount, settings: Settings
) -> None:
    make_account("citizen", username="forgetful")
    for _ in range(settings.login_max_failures):
        assert _login(client, "forgetful", "wrong-password").status_code == 401
    locked = _login(client, "forgetful", "wrong-password")
    assert locked.status_code == 429
    assert 0 < int(locked.headers["Retry-After"]) <= settings.login_delay_seconds
    text = _text(locked)
    assert re.search(r"请在 \d\d:\d\d 之后再试", text), text
    assert "12345" in text and 'href="/password/forgot"' in locked.text


@pytest.mark.usefixtures("regions_loaded")
def test_an_expired_temporary_password_is_explained_at_login(
    client: TestClient, db: Session, make_account: MakeAccount
) -> None:
    account = make_account("citizen", username="long-ago")
    account.password_must_change = True
    account.password_changed_at -= identity.TEMPORARY_PASSWORD_TTL * 2
    db.flush()
    refused = _login(client, "long-ago")
    assert refused.status_code == 401
    assert "临时密码已过期" in _text(refused) and 'href="#f-password"' in refused.text
