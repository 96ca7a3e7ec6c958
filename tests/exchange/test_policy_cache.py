"""Kept Cedar decisions are Cedar's decisions: `policy.decide` (which keeps a decision for the
span of time it holds) answers as `policy.evaluate` (Cedar asked every time) for every request,
at every moment around each validity bound, in any order of asking.

No database: these are pure functions of the policy texts, the request and the clock.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tongban.exchange import policy

BASE = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
CONSUMERS = ("12511602MB8188247W", "11511602MB0000099X")
RESOURCES = ("RS-YLBX-001", "RS-HJXX-001")
ITEMS = ("101110001000", "101110002000", "")
FIELDS = ("holder_name", "paid_months", "insured_since", "status")


def _agreement(rng: random.Random, number: int) -> tuple[str, list[datetime]]:
    start = BASE + timedelta(seconds=rng.randint(-20, 20))
    until = start + timedelta(seconds=rng.randint(1, 40))
    text = policy.agreement_policy(
        agreement_id=number,
        consumer=rng.choice(CONSUMERS),
        resource=rng.choice(RESOURCES),
        fields=rng.sample(FIELDS, rng.randint(1, len(FIELDS))),
        items=rng.sample(ITEMS[:2], rng.randint(1, 2)),
        valid_from=start,
        valid_until=until,
    )
    return text, [start, until]


def _policy_sets(rng: random.Random) -> list[tuple[list[str], list[datetime]]]:
    sets = []
    for _ in range(40):
        texts: list[str] = []
        moments: list[datetime] = []
        for number in range(rng.randint(0, 3)):
            text, bounds = _agreement(rng, number)
            texts.append(text)
            moments.extend(bounds)
        shape = rng.random()
        if shape < 0.2:
            texts.insert(0, policy.open_policy(resource=RESOURCES[0], fields=FIELDS[:2]))
        elif shape < 0.3:
            texts.insert(0, policy.closed_policy(resource=RESOURCES[0]))
        sets.append((texts, moments))
    return sets


def _moments(bounds: list[datetime]) -> list[datetime]:
    """Every second around each bound (the decision may change exactly there), and beyond."""
    found = {BASE - timedelta(days=1), BASE + timedelta(days=1)}
    for bound in bounds:
        for shift in (-1, -0.5, 0, 0.5, 1, 2):
            found.add(bound + timedelta(seconds=shift))
    return sorted(found)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kept_decisions_are_cedars_in_any_order(seed: int) -> None:
    rng = random.Random(seed)
    asked = 0
    for texts, bounds in _policy_sets(rng):
        moments = _moments(bounds)
        # In time order, backwards, and shuffled: a kept decision never leaks into a moment
        # where Cedar would answer otherwise.
        orders = [moments, list(reversed(moments)), rng.sample(moments, len(moments))]
        for order in orders:
            for now in order:
                request: dict[str, Any] = {
                    "consumer": rng.choice(CONSUMERS),
                    "resource": rng.choice(RESOURCES),
                    "item": rng.choice(ITEMS),
                    "fields": rng.sample(FIELDS, rng.randint(1, 3)),
                }
                for _ in range(2):  # the second time from what was kept
                    kept = policy.decide(policies=texts, now=now, **request)
                    fresh = policy.evaluate(policies=texts, now=now, **request)
                    assert kept == fresh, (texts, request, now)
                    asked += 1
    assert asked > 1000


def test_a_revoked_agreement_left_out_changes_the_decision_at_once() -> None:
    """Revocation removes the agreement's text from the policy set: a different text, so a
    decision kept for the old set is never used for the new one."""
    text, _ = _agreement(random.Random(7), 1)
    request: dict[str, Any] = {
        "consumer": text.split('Department::"')[1].split('"')[0],
        "resource": text.split('Resource::"')[1].split('"')[0],
        "item": text.split("[")[1].split('"')[1],
        "fields": [text.split("[")[2].split('"')[1]],
    }
    start = datetime.fromtimestamp(int(text.split("context.now >= ")[1].split(" ")[0]), UTC)
    now = start + timedelta(seconds=0.5)
    assert policy.decide(policies=[text], now=now, **request).allowed
    assert not policy.decide(policies=[], now=now, **request).allowed


def test_a_clock_read_otherwise_is_asked_every_time() -> None:
    """A condition on the clock with arithmetic around it is never kept (its decision may
    change anywhere), and still decided by Cedar."""
    text = policy.agreement_policy(
        agreement_id=1,
        consumer=CONSUMERS[0],
        resource=RESOURCES[0],
        fields=FIELDS,
        items=ITEMS[:1],
        valid_from=BASE,
        valid_until=BASE + timedelta(days=1),
    ).replace("context.now >= ", "context.now + 0 >= ")
    assert policy._time_bounds(text) is None
    request = {"consumer": CONSUMERS[0], "resource": RESOURCES[0], "item": ITEMS[0]}
    for now in (BASE - timedelta(seconds=1), BASE, BASE + timedelta(days=2)):
        kept = policy.decide(policies=[text], now=now, fields=["status"], **request)
        assert kept == policy.evaluate(policies=[text], now=now, fields=["status"], **request)
    assert policy.decide(policies=[text], now=BASE, fields=["status"], **request).allowed
