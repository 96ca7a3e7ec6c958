"""Following a case without logging in (issue #13, item 4): by number and the applicant's name,
or by the signed link of the receipt's QR code and the SMS notices; walk-in cases join the
applicant's account once their identity is verified."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from tests.cases.conftest import (
    MIGRANT_ID,
    PASSWORD,
    PNG_BYTES,
    World,
    pension_request,
    service_act,
    submit_pension,
)
from tests.cases.test_notify import RecordingGateway
from tests.support import identity_internals as identity
from tongban.cases import clocks, links, tracking
from tongban.cases.models import Case
from tongban.cases.notify import load_gateway
from tongban.events import service as events
from tongban.platform.config import Settings

HTML = {"Accept": "text/html"}
NO_MATCH_ZH = "没有找到与此编号和姓名相符的办件"
# A number nobody holds an account for: the walk-in applicant.
WALK_IN_ID = identity.make_resident_id(region_code="440305", birth=date(1948, 3, 8), sequence=61)
WALK_IN_NAME = "陈秀英"


def _token(client: TestClient, path: str = "/track") -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path, headers=HTML).text)
    assert match, path
    return match.group(1)


def _main(html: str) -> str:
    """The page's own content (the header's forms carry the current address)."""
    return html.split("<main", 1)[1].split("</main>", 1)[0]


def _file_walk_in(client: TestClient, world: World, **applicant: Any) -> dict[str, Any]:
    """A clerk files the pension transfer at the counter for someone (the walk-in by default)."""
    sha = client.post(
        "/api/v1/uploads", headers=world.h("clerk"), files={"file": ("id.png", PNG_BYTES)}
    ).json()["sha256"]
    body = pension_request(
        applicant={
            "resident_id": WALK_IN_ID,
            "name": WALK_IN_NAME,
            "identity_confirmed": True,
            **applicant,
        },
        materials=[{"name": "居民身份证", "sha256": sha}, {"name": "转移申请表", "sha256": sha}],
    )
    r = client.post("/api/v1/cases", headers=world.h("clerk"), json=body)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


# --- by number and name: the API ----------------------------------------------------------------


def test_the_number_and_the_name_show_state_steps_and_deadlines_and_nothing_personal(
    client: TestClient, world: World
) -> None:
    case = _file_walk_in(client, world)
    r = client.post("/api/v1/track", json={"number": case["number"], "name": WALK_IN_NAME})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {
        "number",
        "item_name",
        "authority_name",
        "state",
        "received_on",
        "steps",
        "deadlines",
        "parts",
    }
    assert body["number"] == case["number"] and body["state"] == "received"
    assert [s["action"] for s in body["steps"]] == ["case.submitted"]
    assert body["deadlines"]["acceptance"] == case["deadlines"]["acceptance"]
    assert body["deadlines"]["paused"] is False
    assert WALK_IN_NAME not in r.text and WALK_IN_ID[-4:] not in r.text
    assert r.headers["cache-control"] == "no-store"
    # The same by GET, with the number typed in lower case and the name with spaces.
    r2 = client.get("/api/v1/track", params={"number": case["number"].lower(), "name": " 陈 秀英 "})
    assert r2.status_code == 200 and r2.json() == body


def test_a_wrong_name_and_an_unknown_number_get_the_same_answer(
    client: TestClient, world: World
) -> None:
    case = _file_walk_in(client, world)
    wrong_name = client.post("/api/v1/track", json={"number": case["number"], "name": "陈秀"})
    unknown = client.post(
        "/api/v1/track", json={"number": "440300-20260101-0000000000AB", "name": WALK_IN_NAME}
    )
    malformed = client.post("/api/v1/track", json={"number": "12345", "name": WALK_IN_NAME})
    for r in (wrong_name, unknown, malformed):
        assert r.status_code == 404
        assert r.headers["content-type"].startswith("application/problem+json")
    assert wrong_name.json() == unknown.json() == malformed.json()
    assert case["number"] not in wrong_name.text


def test_a_wrong_name_and_an_unknown_number_cost_the_same_work(
    db: Session, world: World, settings: Settings
) -> None:
    """Same timing class: the same statements run for a wrong name as for an unknown number
    (the name is compared with a stand-in when there is no case)."""
    case = submit_pension(db, world, settings)
    db.flush()
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement.split()[0])

    engine = db.get_bind()
    runs: dict[str, list[str]] = {}
    for label, number, name in (
        ("wrong name", case.number, "王五"),
        ("unknown number", case.number[:-4] + "ZZZZ", "李建国"),
    ):
        statements.clear()
        event.listen(engine, "before_cursor_execute", seen)
        try:
            with pytest.raises(tracking.TrackNotFound):
                tracking.track_by_name(
                    db,
                    number=number,
                    name=name,
                    client_ip=f"198.51.100.{len(runs)}",
                    settings=settings,
                )
        finally:
            event.remove(engine, "before_cursor_execute", seen)
        runs[label] = list(statements)
    assert runs["wrong name"] == runs["unknown number"]


def test_names_are_compared_after_normalisation() -> None:
    assert tracking.names_match("李 建国", "李建国")
    assert tracking.names_match("ＪＯＨＮ　Smith", "john smith")  # full-width, ideographic space
    assert tracking.names_match("买买提・艾力", "买买提·艾力")  # middle dots of other keyboards
    assert not tracking.names_match("李建", "李建国")
    assert not tracking.names_match("   ", "")  # nothing typed matches nothing


def test_failed_look_ups_are_limited_per_client_address(
    client: TestClient, world: World, settings: Settings
) -> None:
    settings.tracking_max_failures = 3
    case = _file_walk_in(client, world)
    for _ in range(3):
        r = client.post("/api/v1/track", json={"number": case["number"], "name": "陈秀"})
        assert r.status_code == 404
    r = client.post("/api/v1/track", json={"number": case["number"], "name": "陈秀"})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    # While the delay runs even the right name waits: guesses learn nothing.
    r = client.post("/api/v1/track", json={"number": case["number"], "name": WALK_IN_NAME})
    assert r.status_code == 429
    # The page says so in the visitor's language, with Retry-After.
    r = client.post(
        "/track",
        data={"csrf_token": _token(client), "number": case["number"], "name": WALK_IN_NAME},
        headers=HTML,
    )
    assert r.status_code == 429 and "Retry-After" in r.headers
    assert "尝试" in r.text or "查询" in r.text
    assert "440300-" not in _main(r.text).split("</form>", 1)[1]


def test_the_delay_runs_out(db: Session, world: World, settings: Settings) -> None:
    settings.tracking_max_failures = 1
    case = submit_pension(db, world, settings)
    at = clocks.now()
    with pytest.raises(tracking.TrackNotFound):
        tracking.track_by_name(
            db, number=case.number, name="X", client_ip="203.0.113.9", settings=settings, now=at
        )
    with pytest.raises(tracking.TrackLimited):
        tracking.track_by_name(
            db,
            number=case.number,
            name="李建国",
            client_ip="203.0.113.9",
            settings=settings,
            now=at + timedelta(seconds=30),
        )
    # Another address is not held up; the first one may try again after the delay.
    assert (
        tracking.track_by_name(
            db,
            number=case.number,
            name="李建国",
            client_ip="203.0.113.10",
            settings=settings,
            now=at,
        ).number
        == case.number
    )
    read = tracking.track_by_name(
        db,
        number=case.number,
        name="李建国",
        client_ip="203.0.113.9",
        settings=settings,
        now=at + timedelta(minutes=2),
    )
    assert read.state == "received"


def test_the_clock_stops_while_papers_are_missing_and_no_reason_is_shown(
    db: Session, world: World, settings: Settings
) -> None:
    case = submit_pension(db, world, settings)
    secret = "请补交户口簿首页（主管科员：周某）"
    service_act(
        db,
        world,
        settings,
        "official",
        case,
        "request-supplement",
        missing=["户口簿"],
        reason=secret,
    )
    read = tracking.track_by_name(
        db, number=case.number, name="李建国", client_ip="192.0.2.1", settings=settings
    )
    assert read.state == "supplement_requested" and read.deadlines.paused
    assert [s.action for s in read.steps] == ["case.submitted", "case.request-supplement"]
    text = read.model_dump_json()
    assert secret not in text and "户口簿" not in text and "周某" not in text


# --- the page ---------------------------------------------------------------------------------


def test_the_page_shows_the_case_or_the_same_message(client: TestClient, world: World) -> None:
    case = _file_walk_in(client, world)
    page = client.get(f"/track?number={case['number']}", headers=HTML)
    assert page.status_code == 200 and 'name="csrf_token"' in page.text
    assert f'value="{case["number"]}"' in page.text
    token = _token(client)
    r = client.post(
        "/track",
        data={"csrf_token": token, "number": case["number"], "name": WALK_IN_NAME},
        headers=HTML,
    )
    assert r.status_code == 200 and "等待受理" in r.text and "收到申请" in r.text
    assert WALK_IN_NAME not in r.text and r.headers["cache-control"] == "no-store"
    answers = [
        client.post(
            "/track", data={"csrf_token": token, "number": number, "name": name}, headers=HTML
        )
        for number, name in (
            (case["number"], "陈秀"),
            ("440300-20260101-0000000000AB", WALK_IN_NAME),
        )
    ]
    for a in answers:
        assert a.status_code == 404 and NO_MATCH_ZH in a.text
    # Word for word the same, but for the number and the name typed (shown again in the form).
    assert answers[0].text.replace(case["number"], "N").replace("陈秀", "M") == answers[
        1
    ].text.replace("440300-20260101-0000000000AB", "N").replace(WALK_IN_NAME, "M")
    empty = client.post(
        "/track", data={"csrf_token": token, "number": " ", "name": ""}, headers=HTML
    )
    assert empty.status_code == 422 and 'href="#f-number"' in empty.text
    assert 'href="#f-name"' in empty.text
    english = client.post(
        "/track",
        data={"csrf_token": token, "number": case["number"], "name": "x"},
        headers={**HTML, "Accept-Language": "en"},
    )
    assert "No case matches this case number and name." in english.text


# --- tracking links ---------------------------------------------------------------------------


def test_a_tracking_link_shows_the_case_without_the_name(
    client: TestClient, world: World, settings: Settings
) -> None:
    case = _file_walk_in(client, world)
    token = links.tracking_token(number=case["number"], settings=settings)
    assert len(token) < 64
    r = client.get(f"/track/t/{token}", headers=HTML)
    assert r.status_code == 200 and case["number"] in r.text and "等待受理" in r.text
    api = client.get(f"/api/v1/track/t/{token}")
    assert api.status_code == 200 and api.json()["state"] == "received"


@pytest.mark.parametrize("how", ["mac", "number", "expiry", "cut", "junk"])
def test_a_forged_link_gets_a_message_and_the_form(
    client: TestClient, world: World, settings: Settings, how: str
) -> None:
    case = _file_walk_in(client, world)
    other = submit_pension_via_api_number(client, world)
    token = links.tracking_token(number=case["number"], settings=settings)
    number, expiry, mac = token.split(".")
    forged = {
        "mac": f"{number}.{expiry}.{('A' if mac[0] != 'A' else 'B') + mac[1:]}",
        "number": f"{other}.{expiry}.{mac}",
        "expiry": f"{number}.{expiry}z.{mac}",
        "cut": token[:-3],
        "junk": "../../etc/passwd",
    }[how]
    r = client.get(f"/track/t/{forged}", headers=HTML)
    assert r.status_code == 404
    if how != "junk":  # a path the router does not match at all: the plain 404 page
        assert "链接无效" in r.text and 'name="number"' in r.text
        assert case["number"] not in _main(r.text) and other not in _main(r.text)
        api = client.get(f"/api/v1/track/t/{forged}")
        assert api.status_code == 404 and api.json()["type"].endswith("tracking-link-invalid")


def submit_pension_via_api_number(client: TestClient, world: World) -> str:
    """Another case's number (for a link altered to point at it)."""
    other_id = identity.make_resident_id(region_code="440305", birth=date(1950, 1, 1), sequence=7)
    return str(_file_walk_in(client, world, resident_id=other_id, name="赵六")["number"])


def test_an_expired_link_says_so(client: TestClient, world: World, settings: Settings) -> None:
    case = _file_walk_in(client, world)
    old = links.tracking_token(
        number=case["number"],
        settings=settings,
        now=clocks.now() - timedelta(days=settings.tracking_link_days + 1),
    )
    r = client.get(f"/track/t/{old}", headers=HTML)
    assert r.status_code == 404 and "已过期" in r.text and 'name="name"' in r.text
    assert client.get(f"/api/v1/track/t/{old}").json()["detail"] == links.LINK_EXPIRED


def test_the_receipt_qr_code_leads_to_the_tracking_link(
    client: TestClient, world: World, settings: Settings
) -> None:
    case = _file_walk_in(client, world)
    login = client.post(
        "/login",
        data={"csrf_token": _token(client, "/login"), "username": "t-clerk", "password": PASSWORD},
        follow_redirects=False,
    )
    assert login.status_code == 303
    page = client.get(f"/cases/{case['number']}/receipt", headers=HTML)
    # The service point by its place's name, not only its code.
    assert "广东省 深圳市 南山区 (440305)" in page.text
    # No public address configured: the address the request came to.
    found = re.search(r"http://testserver/track/t/([0-9A-Za-z._-]+)", page.text)
    assert found, page.text
    assert client.get(f"/track/t/{found.group(1)}", headers=HTML).status_code == 200
    settings.public_base_url = "https://tongban.example.gov.cn/"
    page = client.get(f"/cases/{case['number']}/receipt", headers=HTML)
    assert "https://tongban.example.gov.cn/track/t/" in page.text
    assert "http://localhost" not in page.text


def test_sms_notices_carry_the_tracking_link_when_the_public_address_is_set(
    client: TestClient, world: World, settings: Settings
) -> None:
    settings.sms_gateway = f"{RecordingGateway.__module__}:RecordingGateway"
    load_gateway.cache_clear()
    RecordingGateway.sent.clear()
    _file_walk_in(client, world, phone="13900001111")
    assert len(RecordingGateway.sent) == 1 and "/track/t/" not in RecordingGateway.sent[0][1]
    settings.public_base_url = "https://tongban.example.gov.cn"
    case = _file_walk_in(client, world, phone="13900001111")
    text = RecordingGateway.sent[-1][1]
    found = re.search(r"https://tongban\.example\.gov\.cn(/track/t/\S+)$", text)
    assert found, text
    r = client.get(found.group(1), headers=HTML)
    assert r.status_code == 200 and case["number"] in r.text


# --- walk-in cases join the account once the identity is verified -----------------------------


def _register(client: TestClient, phone: str) -> tuple[int, dict[str, str]]:
    """The walk-in (or someone claiming their number) registers online: the account id and
    its bearer token's headers."""
    r = client.post(
        "/api/v1/auth/register",
        json={
            "resident_id": WALK_IN_ID,
            "phone": phone,
            "password": "a-long-password-1",
            "display_name": WALK_IN_NAME,
        },
    )
    assert r.status_code == 201, r.text
    token = client.post(
        "/api/v1/auth/token", json={"username": phone, "password": "a-long-password-1"}
    ).json()["access_token"]
    return int(r.json()["id"]), {"Authorization": f"Bearer {token}"}


def _verify(client: TestClient, account_id: int) -> Any:
    """The clerk, logged in at the counter, checks the ID card and binds its number."""
    login = client.post("/api/v1/auth/login", json={"username": "t-clerk", "password": PASSWORD})
    assert login.status_code == 200, login.text
    try:
        return client.post(
            f"/api/v1/accounts/{account_id}/verify-identity",
            json={"resident_id": WALK_IN_ID, "confirmed": True},
        )
    finally:
        client.cookies.clear()


def test_a_walk_in_case_joins_the_account_when_its_identity_is_verified(
    client: TestClient, db: Session, world: World
) -> None:
    case = _file_walk_in(client, world)
    # The walk-in registers online with the same number: a claim, which links nothing.
    account_id, mine = _register(client, "13700007777")
    assert client.get("/api/v1/my/cases", headers=mine).json()["items"] == []
    assert client.get(f"/api/v1/cases/{case['number']}", headers=mine).status_code == 404
    # Someone else may claim the same number: they see nothing, before or after.
    _, impostor = _register(client, "13700008888")
    # The clerk checks the ID card at the counter: the number is bound, the case joins.
    r = _verify(client, account_id)
    assert r.status_code == 200, r.text
    items = client.get("/api/v1/my/cases", headers=mine).json()["items"]
    assert [i["number"] for i in items] == [case["number"]]
    assert client.get(f"/api/v1/cases/{case['number']}", headers=mine).status_code == 200
    assert client.get("/api/v1/my/cases", headers=impostor).json()["items"] == []
    assert client.get(f"/api/v1/cases/{case['number']}", headers=impostor).status_code == 404
    linked = [
        e
        for e in events.for_resource(db, resource_type="case", resource_id=case["number"])
        if e.action == "case.applicant_linked"
    ]
    assert len(linked) == 1 and linked[0].data == {"state": "received"}
    assert linked[0].private == {"account_id": account_id}
    # The account's later cases at the counter are its own at once.
    later = _file_walk_in(client, world)
    row = db.scalar(select(Case).where(Case.number == later["number"]))
    assert row is not None and row.applicant_id == account_id
    # Verifying again links nothing twice.
    again = _verify(client, account_id)
    assert again.status_code == 200
    assert len(client.get("/api/v1/my/cases", headers=mine).json()["items"]) == 2


def test_only_cases_filed_for_the_bound_number_join(
    db: Session, world: World, settings: Settings
) -> None:
    case = submit_pension(db, world, settings)  # filed for the migrant, whose number is bound
    assert case.applicant_id == world.accounts["migrant"].id
    assert case.applicant_resident_id_hash == identity.identity_keys(settings).lookup_hash(
        MIGRANT_ID
    )
    linked = tracking.link_walk_in_cases(db, world.accounts["stranger"].id, "0" * 64)
    assert linked.numbers == ()
    db.refresh(case)
    assert case.applicant_id == world.accounts["migrant"].id  # an account's case never moves


def test_an_account_an_operator_creates_with_the_number_gets_the_walk_in_cases(
    client: TestClient, db: Session, world: World, settings: Settings
) -> None:
    case = _file_walk_in(client, world)
    account = identity.create_account(
        db,
        username="walk-in",
        password="a-long-password-1",
        role="citizen",
        display_name=WALK_IN_NAME,
        resident_id=WALK_IN_ID,
        settings=settings,
    )
    row = db.scalar(select(Case).where(Case.number == case["number"]))
    assert row is not None and row.applicant_id == account.id
