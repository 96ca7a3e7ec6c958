"""The detector alone, over events made in memory at chosen times: a login from a new place
at night, the statistical detector (river) on a history of normal account-hours, thresholds
per role and region, and the guard resuming from its cursor without losing events."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

from sqlalchemy.orm import Session

from tongban.events import service as events
from tongban.guard import rules as R
from tongban.guard.anomaly import BehaviourModel
from tongban.guard.detector import AccountFacts, Detector, Seen
from tongban.guard.service import Guard
from tongban.identity.models import Account

_ids = count(1)


def seen(action: str, at: datetime, **fields: Any) -> Seen:
    """An event as the detector reads it."""
    n = next(_ids)
    base: dict[str, Any] = {
        "id": n,
        "uid": f"uid-{n}",
        "at": at,
        "action": action,
        "actor_id": None,
        "actor_role": None,
        "on_behalf_of_id": None,
        "resource_type": "account",
        "resource_id": "7",
        "data": {},
        "personal": {},
        "private": {},
    }
    base.update(fields)
    return Seen(**base)


def detector(model: BehaviourModel | None = None) -> Detector:
    return Detector(
        R.DEFAULT_RULES, account_facts=lambda _id: AccountFacts("official", "511602"), model=model
    )


def test_a_login_from_a_new_place_at_night_is_flagged_and_by_day_is_not() -> None:
    d = detector()
    day = datetime(2026, 11, 30, 2, tzinfo=UTC)  # 10:00 in Beijing
    assert d.feed(seen("auth.login", day, personal={"client_key": "home"})) == []
    # A new place by day: people travel.
    assert (
        d.feed(seen("auth.login", day + timedelta(hours=1), personal={"client_key": "office"}))
        == []
    )
    # A new place at 03:00 Beijing time (19:00 UTC the day before).
    night = datetime(2026, 11, 30, 19, tzinfo=UTC)
    [draft] = d.feed(seen("auth.login", night, personal={"client_key": "far-away"}))
    assert draft.kind == "login.new_place_odd_hour" and draft.facts["hour"] == 3
    assert draft.targets == [("account", "7")]
    # A known place at night is the owner's habit.
    assert (
        d.feed(seen("auth.login", night + timedelta(minutes=5), personal={"client_key": "home"}))
        == []
    )


def test_thresholds_follow_role_and_region_overrides() -> None:
    spec = R.RuleSpec(
        "proxy.many_principals",
        "medium",
        86400,
        5,
        (R.NOTIFY,),
        overrides={"role": {"clerk": 400}, "region": {"5116": 50, "511602": 8}},
    )
    assert spec.threshold_for(role="citizen", region=None) == 5
    assert spec.threshold_for(role="clerk", region=None) == 400
    assert spec.threshold_for(role="clerk", region="511621") == 50
    assert spec.threshold_for(role="clerk", region="511602") == 8


def test_the_statistical_detector_flags_an_hour_unlike_the_history() -> None:
    """Trained online on 400 ordinary account-hours (none of which scores as an anomaly), an
    hour of 80 file openings stands out."""
    rng = random.Random(3)
    model = BehaviourModel(seed=5)
    d = detector(model)
    start = datetime(2026, 11, 1, 1, tzinfo=UTC)
    drafts = []
    for hour in range(400):
        at = start + timedelta(hours=hour)
        account = 100 + hour % 20
        for _ in range(rng.randint(2, 8)):
            action = rng.choice(
                ["case.accepted", "case.approved", "auth.login", "case.applicant_id_viewed"]
            )
            drafts += d.feed(
                seen(action, at + timedelta(minutes=rng.randint(0, 50)), actor_id=account)
            )
    assert model.trained >= 200
    assert [x for x in drafts if x.kind == "behaviour.anomaly"] == []
    odd = start + timedelta(hours=401)
    for i in range(80):
        d.feed(seen("case.material_viewed", odd + timedelta(seconds=20 * i), actor_id=999))
    flagged = [x for x in d.tick(odd + timedelta(hours=2)) if x.kind == "behaviour.anomaly"]
    assert [x.accounts for x in flagged] == [[999]]
    assert (
        flagged[0].facts["score"] >= 0.8
        and "case.material_viewed x80" in flagged[0].facts["actions"]
    )


def test_the_guard_resumes_from_its_cursor_and_loses_nothing(
    db: Session, demo: dict[str, Account], guard: Guard
) -> None:
    """The events table is the queue: a guard reading small batches, then a new guard (a
    restart), together see every event once and raise the alert once."""
    guard.run_once()  # read what the fixtures wrote
    official = demo["official"]
    for _ in range(6):
        events.record(
            db,
            action="auth.refused",
            resource_type="authorization",
            resource_id="case.read",
            channel="online",
            actor_id=official.id,
            actor_role="official",
            data={"action": "case.read", "why": "jurisdiction", "region": "110101"},
        )
    first = guard.run_once(limit=3)
    assert first.events == 3 and first.alerts == []
    restarted = Guard(guard.database, guard.settings, anomaly=False)
    second = restarted.run_once(limit=100)
    assert second.events == 3 and len(second.alerts) == 1
    # What is left is the guard's own events (the alert, its responses): read, never alerted on.
    assert restarted.run_once().alerts == []
    assert restarted.run_once().events == 0


def test_a_token_moving_at_night_is_flagged_its_first_place_and_the_day_are_not() -> None:
    d = detector()
    night = datetime(2026, 11, 30, 19, tzinfo=UTC)  # 03:00 in Beijing
    day = datetime(2026, 11, 30, 2, tzinfo=UTC)  # 10:00 in Beijing

    def used(at: datetime, first: bool) -> list[Any]:
        data = {"token_id": 12, "first": first}
        return d.feed(
            seen("identity.token_new_place", at, actor_id=7, resource_type="api_token", data=data)
        )

    assert used(night, first=True) == []  # set up at night by its owner
    assert used(day, first=False) == []  # a new place by day
    [draft] = used(night, first=False)
    assert draft.kind == "token.new_place_odd_hour" and draft.subject == "token:12"
    assert draft.targets == [("token", "12")] and draft.facts["hour"] == 3
    # A night that wraps midnight (22:00-05:00), as an operator may set it.
    wrapped = R.RuleSpec("token.new_place_odd_hour", "high", 86400, 1, (), {"night": [22, 5]})
    d2 = Detector([wrapped], account_facts=lambda _id: AccountFacts("steward", "51"))
    late = datetime(2026, 11, 30, 15, tzinfo=UTC)  # 23:00 in Beijing
    data = {"token_id": 3, "first": False}
    assert d2.feed(seen("identity.token_new_place", late, actor_id=7, data=data))
    other = {"token_id": 4, "first": False}
    assert not d2.feed(seen("identity.token_new_place", day, actor_id=7, data=other))


def test_the_export_bar_depends_on_the_role() -> None:
    spec = next(s for s in R.DEFAULT_RULES if s.kind == "export.bulk")
    # Officials and clerks print day lists of up to 500 rows many times a day.
    assert spec.threshold_for(role="official", region="511602") == 10000
    assert spec.threshold_for(role="clerk", region="440305") == 10000
    assert spec.threshold_for(role="steward", region="511602") == 5000
    assert spec.threshold_for(role="citizen", region=None) == 500
    d = Detector([spec], account_facts=lambda _id: AccountFacts("official", "511602"))
    at = datetime(2026, 11, 30, 2, tzinfo=UTC)
    lists = [seen("case.day_list_exported", at, actor_id=5, data={"rows": 500}) for _ in range(20)]
    assert [d.feed(e) for e in lists[:19]] == [[]] * 19  # nineteen full lists: no alert
    assert d.feed(lists[19])[0].kind == "export.bulk"  # the twentieth
