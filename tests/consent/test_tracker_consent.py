"""A fetch under the person's consent shows twice in their tracker: the fetch itself, and the
use of the consent (which department, for which case, which fields); a refused fetch (no
consent) shows as refused."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.consent import tracker_world
from tests.consent.test_consent import AGREED, _ask, _fetch, _require
from tests.consent.tracker_world import World, make_case, usage

seeds_by_fixture = tracker_world.seeds_by_fixture
world = tracker_world.world


def test_a_fetch_under_consent_and_a_refused_one_are_in_the_tracker(
    client: TestClient, db: Session, world: World
) -> None:
    _require(db, world)
    case = make_case(db, world)
    refused = _fetch(client, world, case.number, fields=AGREED)
    assert refused.status_code == 403
    asked = _ask(client, world, case=case.number)
    granted = client.post(f"/api/v1/consents/{asked['id']}/grant", headers=world.h("citizen"))
    assert granted.status_code == 200, granted.text
    assert _fetch(client, world, case.number, fields=AGREED).status_code == 201
    items = usage(client, world)["items"]
    by_action = {item["action"]: item for item in items}
    assert set(by_action) == {"exchange.fetch_refused", "exchange.fetched", "consent.used"}
    used = by_action["consent.used"]
    assert used["kind"] == "consent_use" and used["case"] == case.number
    assert used["fields"] == AGREED and used["outcome"] == "allowed"
    assert used["department"] == world.departments["pension"].code
    assert by_action["exchange.fetch_refused"]["outcome"] == "refused"
