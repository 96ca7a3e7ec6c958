"""Messages in the reader's language: stored in Chinese (as the SMS went out) with their code,
shown on an English page by code and parameters (cases/message_locale.py)."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.cases.conftest import Clock, World, page_login
from tests.cases.test_supplement_items import _file_and_accept
from tongban.cases import message_locale
from tongban.cases.decisions import ALL_WORDS
from tongban.cases.notify import BY_PROXY, TEXTS

HTML = {"Accept": "text/html"}
FIELD = re.compile(r"\{(\w+)\}")
SAMPLE = {
    "number": "440305-20260302-7KQ2M9XD4HZT",
    "item": "市场主体登记注册（内资企业及分支机构设立登记）",
    "due": "2026-03-17",
    "reason": "材料不实：请核对（第2页）",
    "missing": "居民身份证、户口簿",
    "granted": ALL_WORDS[0].granted_zh,
    "refused": ALL_WORDS[0].refused_zh,
}


def test_every_message_code_has_an_english_text_with_the_same_parameters() -> None:
    assert set(message_locale.TEXTS_EN) == set(TEXTS)
    for kind, text in TEXTS.items():
        assert set(FIELD.findall(message_locale.TEXTS_EN[kind])) == set(FIELD.findall(text))


@pytest.mark.parametrize("kind", sorted(TEXTS))
def test_a_stored_text_gives_back_its_parameters(kind: str) -> None:
    stored = TEXTS[kind].format(**SAMPLE)
    found = message_locale.parameters(kind, stored)
    assert found is not None
    values, proxy = found
    assert not proxy
    assert values == {k: SAMPLE[k] for k in FIELD.findall(TEXTS[kind])}
    parts = message_locale.read_in(None, kind=kind, text=stored, locale="en")
    english = "".join(p.text for p in parts if not p.chinese)
    assert "您的办件" not in english and english.startswith(("Your case", "The "))
    # What a person wrote, and the item without an English name, are marked as Chinese.
    assert all(
        p.text in (SAMPLE["item"], SAMPLE["reason"], SAMPLE["missing"]) for p in parts if p.chinese
    )
    # Chinese readers see the text as stored.
    assert message_locale.read_in(None, kind=kind, text=stored, locale="zh_CN")[0].text == stored


def test_every_decision_word_and_the_proxy_note_read_in_english() -> None:
    for words in ALL_WORDS:
        stored = TEXTS["approved"].format(**{**SAMPLE, "granted": words.granted_zh})
        parts = message_locale.read_in(None, kind="approved", text=stored, locale="en")
        assert words.approved in [p.text for p in parts]
        stored = TEXTS["rejected"].format(**{**SAMPLE, "refused": words.refused_zh})
        parts = message_locale.read_in(None, kind="rejected", text=stored, locale="en")
        assert words.rejected in [p.text for p in parts]
    stored = TEXTS["submitted"].format(**SAMPLE) + BY_PROXY
    text = "".join(
        p.text for p in message_locale.read_in(None, kind="submitted", text=stored, locale="en")
    )
    assert text.endswith(message_locale.BY_PROXY_EN) and "亲友" not in text


def test_unknown_codes_and_changed_texts_are_shown_as_stored() -> None:
    for kind, text in (("review.rectified", "已整改：更换了窗口"), ("accepted", "改过的模板")):
        parts = message_locale.read_in(None, kind=kind, text=text, locale="en")
        assert parts == [message_locale.Part(text, chinese=True)]


def test_the_messages_page_in_english_shows_english_messages(
    app: FastAPI, client: TestClient, world: World, clock: Clock
) -> None:
    number = _file_and_accept(client, world, clock)
    applicant = page_login(app, "t-migrant")
    page = applicant.get("/my/messages", headers=HTML, cookies={"tb_lang": "en"})
    assert page.status_code == 200
    assert "您的办件" not in page.text
    assert f"Your case {number} (" in page.text
    assert "is accepted; it is promised by 2026-03-17." in page.text
    assert '<span lang="zh-CN">企业职工基本养老保险关系转移接续</span>' in page.text
    page = applicant.get("/my/messages", headers=HTML)
    assert f"您的办件 {number}（企业职工基本养老保险关系转移接续）已受理" in page.text
