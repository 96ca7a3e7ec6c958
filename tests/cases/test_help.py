"""Help (issue #13, item 6): the help page with the 12345 hotline and the nearest service point,
and "请工作人员帮我办": a call-back request lands in the queue of the service point nearest to
the person, the clerk there sees it and marks it called; bad input and floods are refused with
a message and leave nothing behind."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.cases.conftest import World, page_login
from tongban.cases.help import nearest_service_point
from tongban.cases.models import HelpRequest
from tongban.events.models import Event

HTML = {"Accept": "text/html"}


def _csrf(browser: TestClient, path: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', browser.get(path, headers=HTML).text)
    assert found
    return found.group(1)


def _ask(browser: TestClient, **fields: str) -> object:
    data = {"name": "张桂兰", "phone": "13912345678", "region": "440305", "topic": "社保卡丢了"}
    data.update(fields)
    return browser.post("/help", data={"csrf_token": _csrf(browser, "/help"), **data}, headers=HTML)


def _count(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(HelpRequest)) or 0)


def test_the_nearest_service_point_is_the_county_then_the_city_then_the_province() -> None:
    points = ["440305", "440300", "350203", "110101"]
    assert nearest_service_point(points, "440305") == "440305"
    assert nearest_service_point(points, "440306") == "440300"  # same city: the city's office
    assert nearest_service_point(points, "440106") == "440300"  # same province
    assert nearest_service_point(points, "510100") is None


def test_a_call_back_request_reaches_the_nearest_clerk(
    app: FastAPI, db: Session, world: World
) -> None:
    visitor = TestClient(app)
    page = visitor.get("/help", headers=HTML).text
    assert "12345" in page and 'action="/help"' in page
    answer = _ask(visitor)
    assert answer.status_code == 200  # type: ignore[attr-defined]
    assert "两个工作日内" in answer.text  # type: ignore[attr-defined]
    (row,) = db.scalars(select(HelpRequest)).all()
    assert (row.service_point, row.name, row.state) == ("440305", "张桂兰", "open")
    event = db.scalars(select(Event).where(Event.action == "help.requested")).one()
    # The name, the phone and the words stay out of the public part.
    assert event.data == {"has_topic": True}
    assert event.personal == {"name": "张桂兰", "phone": "13912345678"}

    clerk = page_login(app, "t-clerk")
    queue = clerk.get("/desk/help", headers=HTML).text
    assert "张桂兰" in queue and "13912345678" in queue and "社保卡丢了" in queue
    far = page_login(app, "t-far-clerk")
    assert "张桂兰" not in far.get("/desk/help", headers=HTML).text
    done = far.post(
        f"/desk/help/{row.id}/done", data={"csrf_token": _csrf(far, "/desk/help")}, headers=HTML
    )
    assert done.status_code == 404
    clerk.post(
        f"/desk/help/{row.id}/done", data={"csrf_token": _csrf(clerk, "/desk/help")}, headers=HTML
    )
    db.refresh(row)
    assert row.state == "done" and row.handled_by_id == world.accounts["clerk"].id
    assert "张桂兰" not in clerk.get("/desk/help", headers=HTML).text
    # Citizens have no call-back list.
    assert page_login(app, "t-migrant").get("/desk/help", headers=HTML).status_code == 403


def test_bad_requests_and_floods_are_refused_with_nothing_kept(
    app: FastAPI, db: Session, world: World
) -> None:
    visitor = TestClient(app)
    bad = _ask(visitor, name="", phone="12345")
    assert bad.status_code == 422  # type: ignore[attr-defined]
    assert "请填写" in bad.text or "姓名" in bad.text  # type: ignore[attr-defined]
    assert _count(db) == 0
    nowhere = _ask(visitor, region="510104")  # 成都: no service point in Sichuan here
    assert nowhere.status_code == 422 and _count(db) == 0  # type: ignore[attr-defined]
    for _ in range(3):
        assert _ask(visitor).status_code == 200  # type: ignore[attr-defined]
    flood = _ask(visitor)
    assert flood.status_code == 429 and "12345" in flood.text  # type: ignore[attr-defined]
    assert _count(db) == 3
