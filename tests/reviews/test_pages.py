"""好差评 on the web: the applicant's five faces, the desk's assisted rating, the department's
rectification tasks and the operators' appeals (TestClient, on SQLite and PostgreSQL)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tongban.cases.models import Message
from tongban.events.models import Event
from tongban.reviews.models import Rectification, Review

from .conftest import ONLINE_BAD, PASSWORD, World, make_case

HTML = {"accept": "text/html"}


def _csrf(client: TestClient, path: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path, headers=HTML).text)
    assert match, path
    return match.group(1)


def _login(client: TestClient, world: World, who: str) -> str:
    """Log in as `who` through the form; the CSRF token of the new session."""
    client.cookies.clear()
    response = client.post(
        "/login",
        data={
            "csrf_token": _csrf(client, "/login"),
            "username": world.accounts[who].username,
            "password": PASSWORD,
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text[:500]
    return _csrf(client, "/settings")


def _post(client: TestClient, path: str, token: str, **form: str) -> tuple[int, str, str]:
    response = client.post(
        path, data={"csrf_token": token, **form}, headers=HTML, follow_redirects=False
    )
    return response.status_code, response.headers.get("location", ""), response.text


def _count(db: Session, model: type) -> int:
    if model is Event:  # the reviews' own events (logging in records events too)
        return int(
            db.scalar(
                select(func.count()).where(
                    Event.action.like("review.%") | Event.action.like("rectification.%")
                )
            )
            or 0
        )
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def test_the_applicant_rates_a_completed_case_with_one_tap(
    client: TestClient, db: Session, world: World
) -> None:
    case = make_case(db, world)
    token = _login(client, world, "migrant")
    page = client.get(f"/cases/{case.number}", headers=HTML).text
    assert f'href="/cases/{case.number}/rating"' in page
    form = client.get(f"/cases/{case.number}/rating", headers=HTML)
    assert form.status_code == 200
    html = form.text
    assert html.count('name="overall"') == 5 and "非常不满意" in html and "非常满意" in html
    assert 'type="radio"' in html and "<script>" not in html and 'name="csrf_token"' in html
    for name in ("efficiency", "guide_accuracy", "convenience", "usability"):
        assert html.count(f'name="{name}"') == 5
    assert 'name="attitude"' not in html  # an on-site indicator

    # One tap, nothing else: a rating.
    status, location, _ = _post(client, f"/cases/{case.number}/rating", token, overall="4")
    assert (status, location) == (303, f"/cases/{case.number}/rating")
    review = db.scalar(select(Review).where(Review.case_number == case.number))
    assert review is not None and review.overall == 4 and review.efficiency is None
    assert review.via == "online" and review.channel == "online" and not review.bad
    shown = client.get(f"/cases/{case.number}/rating", headers=HTML).text
    assert "谢谢您！评价已记录。" in shown and "您的评价" in shown and 'name="overall"' not in shown


def test_a_bad_rating_with_indicators_and_comment_opens_a_task(
    client: TestClient, db: Session, world: World
) -> None:
    case = make_case(db, world)
    token = _login(client, world, "migrant")
    status, _, _ = _post(
        client,
        f"/cases/{case.number}/rating",
        token,
        overall="1",
        efficiency="2",
        usability="3",
        comment="窗口说网上材料清单不对",
    )
    assert status == 303
    review = db.scalar(select(Review).where(Review.case_number == case.number))
    assert review is not None and review.bad and review.efficiency == 2
    assert review.usability == 3 and review.guide_accuracy is None
    task = db.scalar(select(Rectification).where(Rectification.review_id == review.id))
    assert task is not None and task.state == "open"
    event = db.scalar(select(Event).where(Event.action == "review.created"))
    assert event is not None and "窗口" not in str(event.data)
    assert event.private == {"comment": "窗口说网上材料清单不对"}
    shown = client.get(f"/cases/{case.number}/rating", headers=HTML).text
    assert "部门的整改情况" in shown and "待回访" in shown and str(task.due_date) in shown


def test_bad_input_and_refused_ratings_change_nothing(
    client: TestClient, db: Session, world: World
) -> None:
    done = make_case(db, world)
    open_case = make_case(db, world, state="accepted")
    before = (_count(db, Review), _count(db, Event))
    token = _login(client, world, "migrant")
    path = f"/cases/{done.number}/rating"

    status, _, html = _post(client, path, token, efficiency="3", comment="快")
    assert status == 422 and "请选择一个表情" in html and 'href="#f-overall"' in html
    assert 'value="3" checked' in html and "快</textarea>" in html  # the input is kept
    status, _, html = _post(client, path, token, overall="9")
    assert status == 422 and "请选择一个表情" in html
    status, _, html = _post(client, path, token, overall="5", efficiency="0")
    assert status == 422 and 'href="#f-efficiency"' in html
    status, _, html = _post(client, path, token, overall="5", comment="长" * 1001)
    assert status == 422 and "内容太长了" in html
    # A case not yet completed: the page says so, the form is refused.
    page = client.get(f"/cases/{open_case.number}/rating", headers=HTML).text
    assert "办件办结后才能评价" in page and 'name="overall"' not in page
    status, _, html = _post(client, f"/cases/{open_case.number}/rating", token, overall="5")
    assert status == 409 and "办件办结后才能评价" in html
    assert (_count(db, Review), _count(db, Event)) == before

    # Someone else's case does not exist for them; an official does not rate.
    token = _login(client, world, "stranger")
    assert _post(client, path, token, overall="1")[0] == 404
    assert client.get(path, headers=HTML).status_code == 404
    token = _login(client, world, "official")
    assert _post(client, path, token, overall="1")[0] == 403
    assert (_count(db, Review), _count(db, Event)) == before


def test_a_second_rating_of_the_same_case_is_refused(
    client: TestClient, db: Session, world: World
) -> None:
    case = make_case(db, world)
    token = _login(client, world, "migrant")
    path = f"/cases/{case.number}/rating"
    assert _post(client, path, token, overall="5")[0] == 303
    counts = (_count(db, Review), _count(db, Event))
    status, _, html = _post(client, path, token, overall="1")
    assert status == 409 and "已经评价过" in html
    assert (_count(db, Review), _count(db, Event)) == counts
    review = db.scalar(select(Review).where(Review.case_number == case.number))
    assert review is not None and review.overall == 5


def test_the_desk_records_the_visit_rating_for_the_applicant(
    client: TestClient, db: Session, world: World
) -> None:
    case = make_case(
        db, world, state="received", filed_by="clerk", service_point="440305", channel="assisted"
    )
    path = f"/desk/cases/{case.number}/rating"
    token = _login(client, world, "far_clerk")
    assert client.get(path, headers=HTML).status_code == 404  # another point's case
    assert _post(client, path, token, overall="5")[0] == 404
    token = _login(client, world, "clerk")
    receipt = client.get(f"/cases/{case.number}/receipt", headers=HTML).text
    assert f'href="{path}"' in receipt
    html = client.get(path, headers=HTML).text
    assert html.count('name="overall"') == 5 and html.count('name="attitude"') == 5
    assert 'name="usability"' not in html  # an online indicator
    status, _, html = _post(client, path, token, attitude="5")
    assert status == 422 and "请选择一个表情" in html
    assert _count(db, Review) == 0
    status, location, _ = _post(client, path, token, overall="5", attitude="4")
    assert (status, location) == (303, "/desk/cases")
    review = db.scalar(select(Review).where(Review.case_number == case.number))
    assert review is not None and review.channel == "onsite" and review.via == "assisted"
    assert review.rater_id == world.accounts["migrant"].id
    assert review.recorded_by_id == world.accounts["clerk"].id and review.attitude == 4
    status, _, html = _post(client, path, token, overall="1")
    assert status == 409 and "已经评价过" in html
    assert "本次服务已经评价过了" in client.get(path, headers=HTML).text
    # The applicant's own page is not the desk's.
    token = _login(client, world, "migrant")
    assert client.get(path, headers=HTML).status_code == 403


def _bad_rating(client: TestClient, db: Session, world: World) -> tuple[str, int]:
    case = make_case(db, world)
    r = client.post(
        "/api/v1/reviews",
        json={"case_number": case.number, **ONLINE_BAD},
        headers=world.h("migrant"),
    )
    assert r.status_code == 201, r.text
    return case.number, int(r.json()["rectification_id"])


def test_the_official_follows_up_and_fixes_and_the_applicant_is_told(
    client: TestClient, db: Session, world: World
) -> None:
    number, task_id = _bad_rating(client, db, world)
    path = f"/work/rectifications/{task_id}"
    token = _login(client, world, "other_official")
    assert client.get(path, headers=HTML).status_code == 403
    assert number not in client.get("/work/rectifications", headers=HTML).text
    assert _post(client, f"{path}/follow-up", token, note="x")[0] == 403

    token = _login(client, world, "official")
    assert 'href="/work/rectifications"' in client.get("/work", headers=HTML).text
    listing = client.get("/work/rectifications", headers=HTML)
    assert listing.status_code == 200 and f'href="{path}"' in listing.text
    assert "待回访" in listing.text
    task_page = client.get(path, headers=HTML).text
    assert "材料要求前后不一致" in task_page and 'action="' + path + '/follow-up"' in task_page
    # The fix before the follow-up, and an empty note: messages, nothing changed.
    status, _, html = _post(client, f"{path}/fix", token, description="统一清单")
    assert status == 409 and "请先回访申请人" in html
    status, _, html = _post(client, f"{path}/follow-up", token, note="  ")
    assert status == 422 and 'href="#f-note"' in html
    assert db.get(Rectification, task_id).state == "open"  # type: ignore[union-attr]

    status, location, _ = _post(client, f"{path}/follow-up", token, note="电话回访，已致歉")
    assert (status, location) == (303, path)
    status, _, html = _post(client, f"{path}/follow-up", token, note="again")
    assert status == 409 and "情况已有变化" in html
    status, location, _ = _post(
        client, f"{path}/fix", token, description="统一网上与窗口的材料清单"
    )
    assert (status, location) == (303, path)
    task = db.get(Rectification, task_id)
    assert task is not None and task.state == "fixed" and task.on_time is True
    assert "已整改" in client.get("/work/rectifications?state=fixed", headers=HTML).text

    # The applicant is told: a message, the case's timeline, the rating page.
    token = _login(client, world, "migrant")
    messages = client.get("/my/messages", headers=HTML).text
    assert "统一网上与窗口的材料清单" in messages
    message = db.scalar(select(Message).where(Message.kind == "rectified"))
    assert message is not None and message.account_id == world.accounts["migrant"].id
    case_page = client.get(f"/cases/{number}", headers=HTML).text
    assert "您的差评已回访并整改" in case_page and "统一网上与窗口的材料清单" in case_page
    rating = client.get(f"/cases/{number}/rating", headers=HTML).text
    assert "统一网上与窗口的材料清单" in rating and "已整改" in rating
    event = db.scalar(select(Event).where(Event.action == "review.rectified"))
    assert event is not None and event.resource_id == number and "统一" not in str(event.data)

    # The applicant may rate again once (复评): the task closes, whatever the level.
    assert "整改后再评价一次" in rating and f'action="/cases/{number}/rating/again"' in rating
    again = f"/cases/{number}/rating/again"
    status, _, html = _post(client, again, token, comment="好多了")
    assert status == 422 and "请选择一个表情" in html
    assert _count(db, Review) == 1
    status, location, _ = _post(client, again, token, overall="4", comment="好多了")
    assert (status, location) == (303, f"/cases/{number}/rating")
    db.expire_all()
    task = db.get(Rectification, task_id)
    assert task is not None and task.state == "rerated" and task.rerate_review_id is not None
    rerated = db.get(Review, task.rerate_review_id)
    assert rerated is not None and rerated.round == 1 and rerated.overall == 4
    shown = client.get(f"/cases/{number}/rating", headers=HTML).text
    assert "整改后的评价" in shown and "整改后再评价一次" not in shown
    status, _, html = _post(client, again, token, overall="5")
    assert status == 409 and "情况已有变化" in html
    token = _login(client, world, "stranger")
    assert _post(client, again, token, overall="5")[0] == 404


def test_the_admin_decides_an_appeal_with_a_reason(
    client: TestClient, db: Session, world: World
) -> None:
    number, task_id = _bad_rating(client, db, world)
    path = f"/work/rectifications/{task_id}/appeal"
    token = _login(client, world, "official")
    status, _, html = _post(client, path, token, reason="申请人误点")
    assert status == 422 and 'href="#f-ground"' in html and "<details" in html
    status, location, _ = _post(client, path, token, ground="mistaken", reason="申请人误点")
    assert status == 303
    assert db.get(Rectification, task_id).state == "appealed"  # type: ignore[union-attr]
    assert client.get("/admin/appeals", headers=HTML).status_code == 403

    token = _login(client, world, "admin")
    listing = client.get("/admin/appeals", headers=HTML).text
    assert f'href="/admin/appeals/{task_id}"' in listing and "误评" in listing
    page = client.get(f"/admin/appeals/{task_id}", headers=HTML).text
    assert "申请人误点" in page and 'name="decision"' in page
    status, _, html = _post(client, f"/admin/appeals/{task_id}", token, decision="upheld")
    assert status == 422 and 'href="#f-note"' in html
    status, _, html = _post(client, f"/admin/appeals/{task_id}", token, decision="maybe", note="x")
    assert status == 422 and 'href="#f-decision"' in html
    assert db.get(Rectification, task_id).state == "appealed"  # type: ignore[union-attr]
    status, location, _ = _post(
        client, f"/admin/appeals/{task_id}", token, decision="upheld", note="回访录音证实误点"
    )
    assert (status, location) == (303, "/admin/appeals")
    task = db.get(Rectification, task_id)
    assert task is not None and task.state == "voided"
    review = db.get(Review, task.review_id)
    assert review is not None and review.counted is False
    status, _, html = _post(
        client, f"/admin/appeals/{task_id}", token, decision="rejected", note="x"
    )
    assert status == 409 and "情况已有变化" in html
    assert client.get("/admin/appeals/999999", headers=HTML).status_code == 404
    assert number  # the case stays as it was
