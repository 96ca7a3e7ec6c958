"""The official's queue searched and filtered (issue #14): by case number (exact or its start),
applicant (name, or a resident ID that is matched but only ever shown masked), item (code or
name), state, due this week, overdue, channel and service point; on the API and on /work (a GET
form without JavaScript), bad filters a readable message and never a 500; the day's list as a
PDF to download. Real queries, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.cases.conftest import (
    MIGRANT_ID,
    Clock,
    World,
    page_login,
    pdf_bytes,
    service_act,
    submit_pension,
)
from tests.support import cases_internals as cases
from tongban.cases import queries
from tongban.cases.schemas import CaseCreate
from tongban.platform.config import Settings


def file_online(db: Session, world: World, settings: Settings) -> Any:
    """The migrant files his own pension transfer online (no clerk, no service point)."""
    sha = cases.upload(db, actor=world.actor("migrant"), data=pdf_bytes(3), settings=settings)
    body = CaseCreate.model_validate(
        {
            "implementation": "TEST-PENSION-511602",
            "form": {"transfer_reason": "回乡"},
            "materials": [
                {"name": "居民身份证", "sha256": sha.sha256},
                {"name": "转移申请表", "sha256": sha.sha256},
            ],
        }
    )
    case, _ = cases.submit(db, actor=world.actor("migrant"), data=body, settings=settings)
    return case


def numbers(client: TestClient, world: World, **params: str) -> list[str]:
    """The case numbers the official's queue answers with these filters."""
    r = client.get("/api/v1/queue", headers=world.h("official"), params=params)
    assert r.status_code == 200, r.text
    return [c["number"] for c in r.json()["items"]]


def test_search_by_number_applicant_item_channel_and_service_point(
    client: TestClient, db: Session, world: World, settings: Settings, clock: Clock
) -> None:
    clock.set(2026, 3, 2)
    counter = submit_pension(db, world, settings)
    online = file_online(db, world, settings)
    both = {counter.number, online.number}
    assert set(numbers(client, world)) == both

    # The number, whole (any case) or its beginning.
    assert numbers(client, world, number=counter.number) == [counter.number]
    assert numbers(client, world, number=counter.number.lower()) == [counter.number]
    assert numbers(client, world, number=online.number[:-4]) == [online.number]
    assert set(numbers(client, world, number="440300-20260302")) == both
    assert numbers(client, world, number="440300-20260303") == []

    # The applicant: part of the name, or the full resident ID (matched, never echoed).
    assert set(numbers(client, world, applicant="建国")) == both
    assert numbers(client, world, applicant="王") == []
    r = client.get("/api/v1/queue", headers=world.h("official"), params={"applicant": MIGRANT_ID})
    assert {c["number"] for c in r.json()["items"]} == both
    assert MIGRANT_ID not in r.text
    assert all(c["applicant_id_masked"].endswith(MIGRANT_ID[-4:]) for c in r.json()["items"])
    other = "11010519491231002X"
    assert numbers(client, world, applicant=other) == []

    # The item: its code, its implementation's code, or part of its name.
    assert set(numbers(client, world, item="TEST-PENSION-TRANSFER")) == both
    assert set(numbers(client, world, item="TEST-PENSION-511602")) == both
    assert set(numbers(client, world, item="养老保险")) == both
    assert numbers(client, world, item="公积金") == []

    # How and where it came in: the clerk's counter in 南山区, or online.
    assert numbers(client, world, channel="assisted") == [counter.number]
    assert numbers(client, world, channel="online") == [online.number]
    assert numbers(client, world, service_point="440305") == [counter.number]
    assert numbers(client, world, service_point="440300") == [counter.number]  # the city
    assert numbers(client, world, service_point="350200") == []
    row = next(
        c
        for c in client.get("/api/v1/queue", headers=world.h("official")).json()["items"]
        if c["number"] == counter.number
    )
    assert row["channel"] == "assisted" and row["service_point"] == "440305"
    assert "南山区" in row["service_point_name"]

    # Filters combine; the old parameters still work (backward compatible).
    assert numbers(client, world, channel="assisted", applicant="建国") == [counter.number]
    assert set(numbers(client, world, state="received", view="handling")) == both
    # Another department's official finds none of them, whatever the search.
    r = client.get(
        "/api/v1/queue", headers=world.h("other_dept"), params={"number": counter.number}
    )
    assert r.json()["items"] == []


def test_due_this_week_and_overdue(
    client: TestClient, db: Session, world: World, settings: Settings, clock: Clock
) -> None:
    # Monday 2 March 2026: acceptance is due Monday 9 March (5 working days).
    clock.set(2026, 3, 2)
    early = submit_pension(db, world, settings)
    clock.set(2026, 3, 5)  # Thursday: this one is due Thursday 12 March
    later = submit_pension(db, world, settings)
    paused = submit_pension(db, world, settings)
    service_act(db, world, settings, "official", paused, "request-supplement", missing=["户口簿"])
    # Monday 9 March: the first is due today, the second on Thursday; nothing is overdue.
    clock.set(2026, 3, 9)
    assert set(numbers(client, world, due="week")) == {early.number, later.number}
    assert numbers(client, world, due="overdue") == []
    # Tuesday 10 March: the first is overdue; the second still due this week. A case waiting
    # for papers has its clock stopped: neither due nor overdue.
    clock.set(2026, 3, 10)
    assert numbers(client, world, due="overdue") == [early.number]
    assert numbers(client, world, due="week") == [later.number]
    # Monday 16 March: a new week; both are overdue, nothing is due this week.
    clock.set(2026, 3, 16)
    assert numbers(client, world, due="overdue") == [early.number, later.number]
    assert numbers(client, world, due="week") == []
    assert queries.week_end(clock().date()).isoformat() == "2026-03-22"


def test_bad_filters_are_named_not_a_500(
    client: TestClient, db: Session, world: World, settings: Settings, app: Any
) -> None:
    submit_pension(db, world, settings)
    bad = {
        "due": "tomorrow",
        "channel": "fax",
        "service_point": "44030",
        "number": "440300 OR 1=1",
        "state": "completed",
        "assignee": "bob",
    }
    r = client.get("/api/v1/queue", headers=world.h("official"), params=bad)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == set(bad)
    # One bad filter alone is named alone.
    r = client.get("/api/v1/queue", headers=world.h("official"), params={"service_point": "000000"})
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["service_point"]

    browser = page_login(app, "t-official")
    page = browser.get("/work", params={"due": "tomorrow", "channel": "fax"})
    assert page.status_code == 422
    assert "选择" in page.text and "error-summary" in page.text
    assert 'value="tomorrow"' not in page.text or "f-due" in page.text
    english = browser.get("/work", params={"service_point": "x"}, cookies={"tb_lang": "en"})
    assert english.status_code == 422
    # The PDF of a bad search is the page with its messages, not a broken file.
    pdf = browser.get("/work/day-list.pdf", params={"due": "tomorrow"})
    assert pdf.status_code == 422 and "text/html" in pdf.headers["content-type"]


def test_the_workbench_page_searches_and_shows_channel_and_service_point(
    db: Session, world: World, settings: Settings, app: Any, clock: Clock
) -> None:
    clock.set(2026, 3, 2)
    counter = submit_pension(db, world, settings)
    online = file_online(db, world, settings)
    browser = page_login(app, "t-official")
    page = browser.get("/work")
    assert page.status_code == 200
    assert counter.number in page.text and online.number in page.text
    assert "南山区" in page.text and "(440305)" in page.text  # the service point by place
    assert MIGRANT_ID not in page.text
    # A plain GET form: the search narrows the list and keeps what was typed.
    page = browser.get("/work", params={"number": counter.number, "channel": "assisted"})
    assert page.status_code == 200
    assert counter.number in page.text and online.number not in page.text
    assert f'value="{counter.number}"' in page.text
    assert "/work/day-list.pdf?number=" in page.text
    page = browser.get("/work", params={"applicant": MIGRANT_ID})
    assert counter.number in page.text and MIGRANT_ID not in page.text.replace(
        f'value="{MIGRANT_ID}"', ""
    )


def test_the_day_list_downloads_as_a_pdf_with_masked_applicants(
    db: Session, world: World, settings: Settings, app: Any, clock: Clock
) -> None:
    import io

    from pypdf import PdfReader

    clock.set(2026, 3, 2)
    counter = submit_pension(db, world, settings)
    browser = page_login(app, "t-official")
    r = browser.get("/work/day-list.pdf")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"].startswith("attachment;")
    reader = PdfReader(io.BytesIO(r.content))
    text = "".join(page.extract_text() for page in reader.pages)
    assert counter.number in text.replace("\n", "")
    assert "李**" in text and "李建国" not in text and MIGRANT_ID not in text
    assert reader.metadata is not None and reader.metadata.title.startswith("今日")
    # The filters apply to the list too: nothing matches, the PDF says so.
    empty = browser.get("/work/day-list.pdf", params={"channel": "online"})
    assert empty.status_code == 200
    assert counter.number not in "".join(
        p.extract_text() for p in PdfReader(io.BytesIO(empty.content)).pages
    )
