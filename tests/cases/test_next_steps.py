"""What happens next (cases/next_steps.py): every state has its two sentences, in both
languages, and the case page and the tracking page say them to the right reader."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.cases.conftest import Clock, World, page_login
from tests.cases.test_story import act
from tests.cases.test_supplement_items import _file_and_accept
from tongban.cases.next_steps import NEXT_STEPS, Who, next_step
from tongban.cases.states import State
from tongban.platform.web import i18n

HTML = {"Accept": "text/html"}


def _zh(message: str) -> str:
    return str(i18n.translations("zh_CN").gettext(message))


def test_every_state_says_what_happens_next_to_both_readers() -> None:
    missing = [s.value for s in State if s not in NEXT_STEPS]
    assert not missing, f"states without a next-step sentence: {missing}"
    for state, row in NEXT_STEPS.items():
        assert isinstance(row.who, Who)
        for sentence in (row.citizen, row.staff):
            assert sentence.strip().endswith("."), (state, sentence)
            # Chinese readers get a real translation, not the English id.
            assert _zh(sentence) != sentence, f"no Chinese for {state}: {sentence}"
    assert next_step("no-such-state") is None


def test_who_acts_matches_the_state_machine() -> None:
    # The applicant acts while papers are missing; nobody once the case is closed for good.
    assert NEXT_STEPS[State.SUPPLEMENT_REQUESTED].who is Who.APPLICANT
    for state in (State.NOT_ACCEPTED, State.WITHDRAWN):
        assert NEXT_STEPS[state].who is Who.NOBODY
    for state in (State.RECEIVED, State.ACCEPTED, State.SPECIAL_PROCEDURE, State.APPROVED):
        assert NEXT_STEPS[state].who is Who.DEPARTMENT


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


def test_case_and_tracking_pages_say_what_happens_next(
    app: FastAPI, client: TestClient, world: World, clock: Clock
) -> None:
    number = _file_and_accept(client, world, clock)
    row = NEXT_STEPS[State.ACCEPTED]
    applicant = page_login(app, "t-migrant")
    page = applicant.get(f"/cases/{number}", headers=HTML)
    assert page.status_code == 200
    assert _zh("What happens next:") in page.text
    assert _zh(row.citizen) in _text(page.text)
    assert _zh(row.staff) not in _text(page.text)
    official = page_login(app, "t-official")
    page = official.get(f"/cases/{number}", headers=HTML)
    assert _zh(row.staff) in _text(page.text)
    assert _zh(row.citizen) not in _text(page.text)
    # In English, the English sentence.
    page = official.get(f"/cases/{number}", headers=HTML, cookies={"tb_lang": "en"})
    assert row.staff in _text(page.text)

    # A special procedure: the term is explained once, with a link to the glossary.
    clock.set(2026, 3, 4)
    act(
        client,
        world,
        "official",
        number,
        "start-special",
        reason="专家评审",
        expected_end="2026-03-20",
    )
    page = applicant.get(f"/cases/{number}", headers=HTML)
    assert _zh(NEXT_STEPS[State.SPECIAL_PROCEDURE].citizen) in _text(page.text)
    assert page.text.count('href="/glossary#special-procedure"') == 1

    # The public tracking page: the applicant's sentence, whoever looks.
    token = re.search(r'name="csrf_token" value="([^"]+)"', applicant.get("/track").text)
    assert token
    page = applicant.post(
        "/track",
        data={"csrf_token": token.group(1), "number": number, "name": "李建国"},
        headers=HTML,
    )
    assert page.status_code == 200, page.text[:500]
    assert _zh(NEXT_STEPS[State.SPECIAL_PROCEDURE].citizen) in _text(page.text)
