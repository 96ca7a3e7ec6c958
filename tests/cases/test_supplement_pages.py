"""补正 on the pages, without JavaScript: the official ticks checklist lines and names an extra
item, each with a note; the applicant answers each line (several files, or an explanation) in
rounds; the official accepts the explanation and the clock runs again."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.cases.conftest import PNG_BYTES, Clock, World, page_login, pdf_bytes
from tests.cases.test_rules import snapshot
from tests.cases.test_supplement_items import _file_and_accept

HTML = {"Accept": "text/html"}


def _form(browser: TestClient, url: str) -> tuple[str, dict[str, str]]:
    """The page's HTML and the hidden fields of its form (CSRF token, version)."""
    page = browser.get(url, headers=HTML)
    assert page.status_code == 200, page.text[:500]
    hidden = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    return page.text, hidden


def _post(browser: TestClient, url: str, data: dict[str, Any], files: Any = None) -> Any:
    return browser.post(url, data=data, files=files, headers=HTML, follow_redirects=False)


def _api(client: TestClient, world: World, number: str) -> dict[str, Any]:
    result: dict[str, Any] = client.get(
        f"/api/v1/cases/{number}", headers=world.h("migrant")
    ).json()
    return result


def test_request_answer_in_rounds_and_review_on_the_pages(
    app: FastAPI, client: TestClient, world: World, clock: Clock, db: Session
) -> None:
    number = _file_and_accept(client, world, clock)
    clock.set(2026, 3, 5)
    official = page_login(app, "t-official")
    url = f"/cases/{number}/act/request-supplement"
    html, hidden = _form(official, url)
    # Checkboxes for the lines the applicant provides; the government-held one is shared.
    assert 'value="其他证明材料"' in html and 'value="居民身份证"' in html
    assert 'value="参保缴费凭证"' not in html
    pick = re.search(r'name="(pick-\d+)" value="其他证明材料"', html)
    assert pick
    # Nothing ticked, or a note for an unnamed extra item: the form comes back, nothing done.
    before = snapshot(db, number)
    r = _post(official, url, hidden)
    assert r.status_code == 422 and 'id="f-items-error"' in r.text
    r = _post(official, url, {**hidden, "extra_note-1": "户主页和本人页"})
    assert r.status_code == 422 and 'id="f-extra-1-error"' in r.text
    assert 'value="户主页和本人页"' in r.text  # the input is kept
    assert snapshot(db, number) == before
    r = _post(
        official,
        url,
        {
            **hidden,
            pick.group(1): "其他证明材料",
            f"pick_note-{pick.group(1)[5:]}": "原单位出具的离职证明",
            "extra-1": "户口簿",
            "extra_note-1": "户主页和本人页",
            "reason": "材料不全",
        },
    )
    assert r.status_code == 303, r.text[:2000]
    case = _api(client, world, number)
    assert [(i["name"], i["origin"], i["note"]) for i in case["supplement_items"]] == [
        ("其他证明材料", "checklist", "原单位出具的离职证明"),
        ("户口簿", "extra", "户主页和本人页"),
    ]
    proof_id, booklet_id = (i["id"] for i in case["supplement_items"])

    # The applicant sees one line per item with its note, and answers the first with two files.
    migrant = page_login(app, "t-migrant")
    page = migrant.get(f"/cases/{number}", headers=HTML).text
    assert "户口簿" in page and "户主页和本人页" in page and "原单位出具的离职证明" in page
    url = f"/cases/{number}/act/supplement"
    html, hidden = _form(migrant, url)
    assert f'name="file-{proof_id}"' in html and f'name="file-{booklet_id}"' in html
    assert "multiple" in html and 'enctype="multipart/form-data"' in html
    r = _post(migrant, url, hidden, files={"x": ("", b"", "application/octet-stream")})
    assert r.status_code == 422 and 'id="f-answers-error"' in r.text
    clock.set(2026, 3, 9)
    r = _post(
        migrant,
        url,
        hidden,
        files=[
            (f"file-{proof_id}", ("p1.pdf", pdf_bytes(1), "application/pdf")),
            (f"file-{proof_id}", ("p2.png", PNG_BYTES, "image/png")),
        ],
    )
    assert r.status_code == 303, r.text[:2000]
    case = _api(client, world, number)
    assert case["state"] == "supplement_requested" and case["deadlines"]["paused"]
    assert len(case["supplement_items"][0]["files"]) == 2
    assert case["supplement_items"][1]["state"] == "requested"

    # Round 2: an explanation for the booklet; it waits for the official.
    html, hidden = _form(migrant, url)
    assert f'name="file-{proof_id}"' in html  # more files may still be added
    r = _post(
        migrant,
        url,
        {**hidden, f"explanation-{booklet_id}": "户口簿在老家，已请家人寄出"},
        files={"x": ("", b"", "application/octet-stream")},
    )
    assert r.status_code == 303
    case = _api(client, world, number)
    assert case["state"] == "supplement_requested"
    assert case["supplement_items"][1]["state"] == "answered"

    # The workbench shows how far each 补正 is; the case page shows each line's state.
    queue = official.get("/work", headers=HTML).text
    assert "已齐 1/2 项 · 1 项答复待审核" in queue
    page = official.get(f"/cases/{number}", headers=HTML).text
    assert f'href="/cases/{number}/act/review-supplement"' in page
    assert "户口簿在老家" in page
    url = f"/cases/{number}/act/review-supplement"
    html, hidden = _form(official, url)
    assert f'name="decision-{booklet_id}"' in html
    r = _post(official, url, hidden)
    assert r.status_code == 422 and 'id="f-reviews-error"' in r.text
    clock.set(2026, 3, 10)
    r = _post(official, url, {**hidden, f"decision-{booklet_id}": "accept"})
    assert r.status_code == 303
    case = _api(client, world, number)
    assert case["state"] == "accepted" and case["deadlines"]["paused_working_days"] == 3
    assert case["deadlines"]["promised"] == "2026-03-20"
