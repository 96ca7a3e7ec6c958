"""好差评: rating, bad input, rectification with re-rating, appeals, overdue flags, statistics."""

from __future__ import annotations

from datetime import UTC, date, datetime

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.support import cases_internals as cases
from tests.support import reviews_internals as service
from tongban.events.models import Event
from tongban.platform.config import Settings
from tongban.reviews.models import Rectification, Review
from tongban.reviews.schemas import RatingChannel, RerateCreate
from tongban.workdays.service import load_calendar

from .conftest import ONLINE_BAD, ONLINE_GOOD, ONSITE_GOOD, World, make_case


def _count(db: Session, model: type) -> int:
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def _recorded(db: Session) -> int:
    """Events other than refused authorizations (those are recorded on purpose: issue #20)."""
    return int(db.scalar(select(func.count()).where(Event.action != "auth.refused")) or 0)


def _events(db: Session, action: str) -> int:
    return int(db.scalar(select(func.count()).where(Event.action == action)) or 0)


def test_bad_review_opens_is_rectified_and_rerated(
    client: TestClient, db: Session, world: World
) -> None:
    case = make_case(db, world)
    r = client.post(
        "/api/v1/reviews",
        json={"case_number": case.number, "channel": "online", **ONLINE_BAD},
        headers=world.h("migrant"),
    )
    assert r.status_code == 201, r.text
    review = r.json()
    assert review["bad"] is True and review["via"] == "online" and review["round"] == 0
    task_id = review["rectification_id"]
    assert task_id is not None

    task = client.get(f"/api/v1/rectifications/{task_id}", headers=world.h("official")).json()
    assert task["state"] == "open" and task["department_id"] == world.departments["pension"].id
    calendar = load_calendar(db)
    opened = cases.local_date(datetime.fromisoformat(task["opened_at"]))
    assert date.fromisoformat(task["due_date"]) == calendar.add_working_days(opened, 15)

    # Fix before follow-up: refused, 100% follow-up comes first.
    r = client.post(
        f"/api/v1/rectifications/{task_id}/fix",
        json={"description": "x"},
        headers=world.h("official"),
    )
    assert r.status_code == 409
    # Another department may not touch it.
    r = client.post(
        f"/api/v1/rectifications/{task_id}/follow-up",
        json={"note": "called"},
        headers=world.h("other_official"),
    )
    assert r.status_code == 403
    r = client.post(
        f"/api/v1/rectifications/{task_id}/follow-up",
        json={"note": "电话回访，申请人反映材料清单与窗口要求不一致"},
        headers=world.h("official"),
    )
    assert r.status_code == 200 and r.json()["state"] == "followed_up"
    # The rater cannot re-rate before the fix.
    r = client.post(
        f"/api/v1/rectifications/{task_id}/rerate", json=ONLINE_GOOD, headers=world.h("migrant")
    )
    assert r.status_code == 409
    r = client.post(
        f"/api/v1/rectifications/{task_id}/fix",
        json={"description": "统一材料清单，窗口按实施清单收件"},
        headers=world.h("official"),
    )
    assert r.status_code == 200
    assert r.json()["state"] == "fixed" and r.json()["on_time"] is True
    # Only the rater re-rates.
    r = client.post(
        f"/api/v1/rectifications/{task_id}/rerate", json=ONLINE_GOOD, headers=world.h("stranger")
    )
    assert r.status_code == 403
    r = client.post(
        f"/api/v1/rectifications/{task_id}/rerate", json=ONLINE_GOOD, headers=world.h("migrant")
    )
    assert r.status_code == 201, r.text
    again = r.json()
    assert again["round"] == 1 and again["rerate_of_id"] == review["id"] and not again["bad"]
    task = client.get(f"/api/v1/rectifications/{task_id}", headers=world.h("official")).json()
    assert task["state"] == "rerated" and task["rerate_review_id"] == again["id"]

    for action in (
        "review.created",
        "rectification.opened",
        "rectification.followed_up",
        "rectification.fixed",
        "review.rerated",
        "rectification.closed",
    ):
        assert _events(db, action) == 1, action

    stats = client.get("/api/v1/reviews/stats", params={"region": "511602"}).json()
    assert stats["ratings"] == 1 and stats["distribution"]["2"] == 1
    assert stats["bad_reviews"] == 1 and stats["rectification_rate"] == 1.0
    assert stats["timeliness_rate"] == 1.0 and stats["rerated_satisfied"] == 1
    assert stats["satisfaction_rate"] == 0.0


def test_bad_input_is_refused_and_nothing_recorded(
    client: TestClient, db: Session, world: World
) -> None:
    open_case = make_case(db, world, state="accepted")
    done = make_case(db, world)
    before = (_count(db, Review), _recorded(db))

    def post(who: str, **body: object) -> dict[str, object]:
        r = client.post("/api/v1/reviews", json=body, headers=world.h(who))
        assert r.headers["content-type"].startswith("application/problem+json"), r.text
        return {"status": r.status_code, **r.json()}

    p = post("migrant", case_number=open_case.number, **ONLINE_GOOD)
    assert p["status"] == 409 and "not completed" in str(p["errors"])
    p = post("stranger", case_number=done.number, **ONLINE_GOOD)
    assert p["status"] == 403
    p = post("official", case_number=done.number, **ONLINE_GOOD)
    assert p["status"] == 403
    p = post("migrant", case_number="NO-SUCH-CASE", **ONLINE_GOOD)
    assert p["status"] == 404
    p = post("migrant", case_number=done.number, overall=6, efficiency=5)
    assert p["status"] == 422 and "overall" in str(p["errors"])
    # An indicator of the on-site channel given for an online rating.
    p = post("migrant", case_number=done.number, overall=4, efficiency=4, attitude=5)
    assert p["status"] == 422
    fields = {e["field"] for e in p["errors"]}  # type: ignore[attr-defined]
    assert fields == {"attitude"}
    # No overall level at all.
    p = post("migrant", case_number=done.number, efficiency=4)
    assert p["status"] == 422 and "overall" in str(p["errors"])
    # Onsite for a case that had no service point.
    p = post("migrant", case_number=done.number, channel="onsite", **ONSITE_GOOD)
    assert p["status"] == 409
    assert (_count(db, Review), _recorded(db)) == before

    r = client.post(
        "/api/v1/reviews",
        json={"case_number": done.number, **ONLINE_GOOD},
        headers=world.h("migrant"),
    )
    assert r.status_code == 201
    after_first = (_count(db, Review), _recorded(db))
    p = post("migrant", case_number=done.number, **ONLINE_GOOD)
    assert p["status"] == 409 and "already" in str(p["detail"])
    assert (_count(db, Review), _recorded(db)) == after_first
    assert _count(db, Rectification) == 0  # a good review opens nothing


def test_clerk_records_onsite_rating_on_behalf(
    client: TestClient, db: Session, world: World
) -> None:
    case = make_case(db, world, filed_by="clerk", service_point="440305", channel="assisted")
    r = client.post(
        "/api/v1/reviews",
        json={"case_number": case.number, "channel": "onsite", **ONSITE_GOOD},
        headers=world.h("far_clerk"),
    )
    assert r.status_code == 403
    r = client.post(
        "/api/v1/reviews",
        json={"case_number": case.number, "channel": "onsite", **ONSITE_GOOD},
        headers=world.h("clerk"),
    )
    assert r.status_code == 201, r.text
    stored = db.get(Review, r.json()["id"])
    assert stored is not None
    assert stored.via == "assisted" and stored.rater_id == world.accounts["migrant"].id
    assert stored.recorded_by_id == world.accounts["clerk"].id
    event = db.scalar(select(Event).where(Event.action == "review.created"))
    assert event is not None and event.on_behalf_of_id == world.accounts["migrant"].id
    # The same case may still get its online rating (one per channel), by the applicant.
    r = client.post(
        "/api/v1/reviews",
        json={"case_number": case.number, **ONLINE_GOOD},
        headers=world.h("migrant"),
    )
    assert r.status_code == 201


def test_appeal_upheld_voids_the_review_and_rejected_resumes(
    client: TestClient, db: Session, world: World
) -> None:
    ids = []
    for _ in range(2):
        case = make_case(db, world)
        r = client.post(
            "/api/v1/reviews",
            json={"case_number": case.number, **ONLINE_BAD},
            headers=world.h("migrant"),
        )
        ids.append(r.json()["rectification_id"])
    upheld, rejected = ids
    body = {"ground": "malicious", "reason": "评价内容与办件无关，系恶意差评"}
    r = client.post(
        f"/api/v1/rectifications/{upheld}/appeal", json=body, headers=world.h("migrant")
    )
    assert r.status_code == 403
    r = client.post(
        f"/api/v1/rectifications/{upheld}/appeal", json=body, headers=world.h("official")
    )
    assert r.status_code == 200 and r.json()["state"] == "appealed"
    decision = {"decision": "upheld", "note": "核实属实"}
    r = client.post(
        f"/api/v1/rectifications/{upheld}/appeal/decision",
        json=decision,
        headers=world.h("official"),
    )
    assert r.status_code == 403  # the department does not judge its own appeal
    r = client.post(
        f"/api/v1/rectifications/{upheld}/appeal/decision", json=decision, headers=world.h("admin")
    )
    assert r.status_code == 200 and r.json()["state"] == "voided"

    client.post(
        f"/api/v1/rectifications/{rejected}/follow-up",
        json={"note": "回访"},
        headers=world.h("official"),
    )
    client.post(
        f"/api/v1/rectifications/{rejected}/appeal",
        json={"ground": "mistaken", "reason": "评价对象错误"},
        headers=world.h("official"),
    )
    r = client.post(
        f"/api/v1/rectifications/{rejected}/appeal/decision",
        json={"decision": "rejected"},
        headers=world.h("admin"),
    )
    assert r.json()["state"] == "followed_up" and r.json()["appeal_decision"] == "rejected"
    r = client.post(
        f"/api/v1/rectifications/{rejected}/appeal",
        json={"ground": "mistaken", "reason": "again"},
        headers=world.h("official"),
    )
    assert r.status_code == 409  # one appeal per review

    stats = client.get(
        "/api/v1/reviews/stats", params={"department_id": world.departments["pension"].id}
    ).json()
    assert stats["ratings"] == 1 and stats["voided"] == 1 and stats["bad_reviews"] == 1
    assert _events(db, "rectification.appealed") == 2
    assert _events(db, "rectification.appeal_decided") == 2


def test_overdue_flag_counts_working_days(db: Session, world: World, settings: Settings) -> None:
    case = make_case(db, world)
    # Rated on Monday 28 September 2026; the National Day holiday follows.
    opened = datetime(2026, 9, 28, 2, tzinfo=UTC)
    review = service.rate(
        db,
        actor=world.actor("migrant"),
        case_number=case.number,
        channel=RatingChannel.ONLINE,
        data=RerateCreate(**ONLINE_BAD),
        settings=settings,
        now=opened,
    )
    task = service.rectification_of(db, review_id=review.id)
    assert task is not None
    # 15 working days skip the holiday: not 19 October (15 weekdays) but 23 October.
    assert task.due_date == date(2026, 10, 23)
    assert not service.is_overdue(task, day=date(2026, 10, 23))
    assert service.is_overdue(task, day=date(2026, 10, 26))
    rows, total = service.list_rectifications(
        db, actor=world.actor("official"), overdue_only=True, day=date(2026, 10, 26)
    )
    assert total == 1 and rows[0].id == task.id
    assert service.overdue_rectifications(db, day=date(2026, 10, 26))[0].id == task.id
    stats = service.statistics(db, region="51", day=date(2026, 10, 26))
    assert stats.overdue == 1
    # A fix after the deadline is recorded as late.
    service.follow_up(db, actor=world.actor("official"), rectification_id=task.id, note="回访")
    fixed = service.describe_fix(
        db,
        actor=world.actor("official"),
        rectification_id=task.id,
        description="整改",
        now=datetime(2026, 10, 26, 2, tzinfo=UTC),
    )
    assert fixed.on_time is False
    assert not service.is_overdue(fixed, day=date(2026, 10, 27))


def test_public_statistics_and_bad_periods(client: TestClient, world: World) -> None:
    r = client.get("/api/v1/reviews/stats")
    assert r.status_code == 200 and r.json()["ratings"] == 0
    r = client.get("/api/v1/reviews/stats", params={"start": "2026-09-30", "end": "2026-07-01"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "end"
    r = client.get("/api/v1/reviews/stats", params={"region": "990000"})
    assert r.status_code == 422
    r = client.get("/api/v1/reviews/stats", params={"region": "12ab"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "region"
    r = client.get("/api/v1/reviews/stats", params={"department_id": 987654})
    assert r.status_code == 422
    r = client.get("/api/v1/rectifications", headers=world.h("migrant"))
    assert r.status_code == 403
    r = client.get("/api/v1/rectifications")
    assert r.status_code == 401
