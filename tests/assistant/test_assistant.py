"""The assistant through its API and pages: answers built from the catalog, why they matched,
the region from the question, questions back for ambiguous questions (carried in a state
token or the form), pre-filled application links, nothing invented when nothing fits, the
operators' page (anonymised questions, synonyms and FAQ entries that take effect at once)."""

from __future__ import annotations

import re
import socket
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.assistant.conftest import World

from tongban.assistant import service as assistant
from tongban.assistant.models import Unanswered
from tongban.events.models import Event

HTML = {"Accept": "text/html"}


def _ask(client: TestClient, **params: Any) -> dict[str, Any]:
    answer = client.get("/api/v1/assistant/answer", params=params)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_the_migrant_worker_gets_the_transfer_for_shenzhen_with_the_form_prefilled(
    client: TestClient, world: World
) -> None:
    body = _ask(client, q="我在深圳打工，想把养老保险转回四川老家怎么办")
    top = body["items"][0]
    assert (top["code"], top["kind"]) == ("101110001000", "item")
    assert top["implementation"] == "440300-101110001000-01"
    assert top["prefill"] == {"transfer_out": "深圳市", "transfer_in": "四川省"}
    assert top["apply_url"].startswith("/apply/440300-101110001000-01?")
    assert top["guide_url"] == "/guide/440300-101110001000-01"
    assert {p["name"]: p["role"] for p in body["places"]} == {"深圳市": "here", "四川省": "to"}
    assert body["ask"] is None and body["found"]
    # The reply is the guide's: the materials and the authority of that implementation.
    guide = client.get("/api/v1/catalog/implementations/440300-101110001000-01").json()
    first_material = next(m["name"] for m in guide["materials"] if m["source"] == "applicant")
    assert first_material in body["reply"] and guide["authority_name"] in body["reply"]
    assert any(w["kind"] == "words" and "养老保险" in w["value"] for w in top["why"])


def test_an_ambiguous_question_is_asked_back_and_the_choice_answers_it(
    client: TestClient, world: World
) -> None:
    first = _ask(client, q="户口迁移", region="440305")
    assert first["ask"]["kind"] == "choice"
    values = [c["value"] for c in first["ask"]["choices"]]
    assert values == [f"10307000300{n}" for n in range(1, 6)]
    second = client.post(
        "/api/v1/assistant/conversation",
        json={"state": first["state"], "choice": "103070003004"},
    ).json()
    assert second["items"][0]["code"] == "103070003004"
    assert second["ask"] is None
    assert second["items"][0]["implementation"] == "440305-103070003004-01"
    # Words instead of a button work too.
    third = _ask(client, q="我是毕业生", state=first["state"])
    assert third["items"][0]["code"] == "103070003003"


def test_without_a_region_the_assistant_asks_where(client: TestClient, world: World) -> None:
    first = _ask(client, q="高龄补贴怎么领")
    assert first["items"][0]["code"] == "110050001000"
    assert first["ask"]["kind"] == "region"
    provinces = {c["value"] for c in first["ask"]["choices"]}
    assert "510000" in provinces
    second = _ask(client, state=first["state"], choice="510000")
    assert second["ask"]["kind"] == "region"  # two places in Sichuan offer it
    third = _ask(client, state=second["state"], choice="511602")
    assert third["ask"] is None
    assert third["items"][0]["implementation"] == "511602-110050001000-01"
    assert third["region"] == "511602"


def test_bundles_come_first_for_all_in_one_questions(client: TestClient, world: World) -> None:
    body = _ask(client, q="孩子出生要办的所有手续一次办", region="350203")
    top = body["items"][0]
    assert (top["code"], top["kind"]) == ("BUNDLE-NEWBORN-350200", "bundle")
    assert top["apply_url"] == "/bundles/BUNDLE-NEWBORN-350200/apply"
    assert "出生登记" in body["reply"]


def test_nothing_fits_says_so_offers_the_hotline_and_keeps_the_question_anonymised(
    client: TestClient, db: Session, world: World
) -> None:
    q = "我叫张三，110101199003071234，电话13812345678，今天天气怎么样"
    body = _ask(client, q=q)
    assert body["found"] is False and body["items"] == [] and "12345" in body["reply"]
    stored = db.scalars(select(Unanswered)).all()
    texts = [row.text for row in stored]
    assert len(texts) == 1
    assert "张三" not in texts[0] and "110101199003071234" not in texts[0]
    assert "13812345678" not in texts[0] and "天气" in texts[0]
    again = _ask(client, q=q)
    assert again["found"] is False
    db.expire_all()
    assert db.scalars(select(Unanswered)).one().count == 2
    logged = db.scalars(select(Event).where(Event.action == "assistant.unanswered")).all()
    assert len(logged) == 1 and "张三" not in str(logged[0].data)


@pytest.mark.parametrize(
    ("said", "kept"),
    [
        ("我叫李小明，想问个事", "我叫[姓名]，想问个事"),
        ("身份证号11010119900307123X丢了", "身份证号[身份证号]丢了"),
        ("电话 0755-12345678 打不通", "电话 [电话] 打不通"),
        ("手机+86 138 1234 5678", "手机[电话]"),
        ("王先生的卡号6222020200112233445", "某先生的卡号[号码]"),
        ("邮箱 a.b@example.com", "邮箱 [邮箱]"),
        ("我姓刘", "我姓某"),
    ],
)
def test_anonymise(said: str, kept: str) -> None:
    assert assistant.anonymise(said) == kept


def test_the_assistant_answers_with_the_network_off(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _ask(client, q="社保卡丢了")  # the index is built (the database is local)

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("the assistant reached for the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    for q in ("社宝卡掉了怎么补", "shenfenzheng diule", "lost my passport", "开饭店要办什么证"):
        assert _ask(client, q=q)["found"]


def _token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:300]
    return found.group(1)


def _field(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, name
    import html as escaping

    return escaping.unescape(found.group(1))


def test_the_chat_page_carries_the_conversation_in_the_form(
    client: TestClient, world: World
) -> None:
    page = client.get("/assistant", headers=HTML)
    assert page.status_code == 200
    token = _token(page.text)
    asked = client.post(
        "/assistant", data={"csrf_token": token, "q": "公基金怎么取", "region": ""}, headers=HTML
    )
    assert asked.status_code == 200
    assert "您提取公积金是为了什么" in asked.text
    chose = client.post(
        "/assistant",
        data={
            "csrf_token": token,
            "state": _field(asked.text, "state"),
            "history": _field(asked.text, "history"),
            "choice": "104110002000",
        },
        headers=HTML,
    )
    assert chose.status_code == 200
    assert "公基金怎么取" in chose.text  # the earlier turn is still shown
    assert "购房提取住房公积金" in chose.text
    assert 'href="/services/104110002000"' in chose.text or "/guide/" in chose.text


def test_operators_teach_a_word_and_add_a_faq_entry(
    client: TestClient, db: Session, world: World
) -> None:
    assert _ask(client, q="咋办娃娃证")["found"] is False
    assert client.get("/assistant/unanswered", headers=world.h("citizen")).status_code == 403
    page = client.get("/assistant/unanswered", headers=world.h("steward"))
    assert page.status_code == 200 and "咋办娃娃证" in page.text
    row = db.scalars(select(Unanswered).where(Unanswered.text == "咋办娃娃证")).one()
    page = client.get(f"/assistant/unanswered?for={row.id}", headers=world.h("steward"))
    assert f'name="unanswered" value="{row.id}"' in page.text
    token = _token(page.text)
    added = client.post(
        "/assistant/synonyms",
        data={
            "csrf_token": token,
            "word": "娃娃证",
            "canonical": "出生医学证明",
            "unanswered": str(row.id),
        },
        headers=world.h("steward"),
        follow_redirects=False,
    )
    assert added.status_code == 303, added.text
    assert _ask(client, q="咋办娃娃证")["items"][0]["code"] == "109110001000"
    db.expire_all()
    assert db.get(Unanswered, row.id).closed  # taught: off the list
    twice = client.post(
        "/assistant/synonyms",
        data={"csrf_token": token, "word": "娃娃证", "canonical": "出生医学证明"},
        headers=world.h("steward"),
    )
    assert twice.status_code == 422
    faq = client.post(
        "/assistant/faq",
        data={
            "csrf_token": token,
            "question": "老人坐公交免费要办什么卡",
            "targets": "109110004000",
            "answer": "凭老年人优待证乘坐市内公交。",
        },
        headers=world.h("admin"),
        follow_redirects=False,
    )
    assert faq.status_code == 303, faq.text
    body = _ask(client, q="老人坐公交免费要办什么卡", region="440305")
    assert body["items"][0]["code"] == "109110004000"
    assert "凭老年人优待证乘坐市内公交。" in body["reply"]
    bad = client.post(
        "/assistant/faq",
        data={"csrf_token": token, "question": "随便问问", "targets": "999"},
        headers=world.h("admin"),
    )
    assert bad.status_code == 422
    actions = {e.action for e in db.scalars(select(Event).where(Event.action.like("assistant.%")))}
    assert {"assistant.synonym.added", "assistant.faq.added"} <= actions


def test_the_clerk_button_and_english_replies(client: TestClient, world: World) -> None:
    body = _ask(client, q="I lost my ID card", region="440305", lang="en")
    top = body["items"][0]
    assert top["code"] == "103070005000"
    assert "What to bring" in body["reply"] and "Fees" in body["reply"]
    assert top["prefill"].get("apply_kind") == "补领"
    page = client.get(top["help_url"], headers=HTML)
    assert page.status_code == 200
    assert "居民身份证换领补领异地受理" in page.text  # the topic the clerk will call back about
    assert 'value="440305" selected' in page.text or 'value="440305" checked' in page.text


def test_a_logged_in_citizen_gets_the_place_of_the_account(
    client: TestClient, world: World
) -> None:
    token = {"Authorization": world.h("citizen")["Authorization"]}
    answer = client.get("/api/v1/assistant/answer", params={"q": "高龄补贴"}, headers=token)
    body = answer.json()
    assert body["ask"] is None, body
    assert body["items"][0]["implementation"].endswith("-110050001000-01")
    assert body["region"] == body["items"][0]["region"]


def test_a_flood_of_new_questions_is_not_kept(
    client: TestClient, db: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(assistant, "MAX_OPEN_UNANSWERED", 2)
    for q in ("今天天气怎么样", "附近哪里好吃", "明天下雨吗"):
        assert _ask(client, q=q)["found"] is False
    _ask(client, q="今天天气怎么样")
    db.expire_all()
    rows = {row.text: row.count for row in db.scalars(select(Unanswered))}
    assert rows == {"今天天气怎么样": 2, "附近哪里好吃": 1}
