"""The guard's throughput: events per second one detector reads and judges on one core.

Two figures: the detector alone (the rules, plus the river model over account-hours), fed a
realistic mix in memory; and the whole pass (read from the database after the cursor, judge,
store alerts and responses, move the cursor) over a SQLite file holding the same mix.
The issue's target: ≥ 5,000 events/s on one core.

    .venv/bin/python -m bench.guard [--events 200000]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tongban.guard import rules as R
from tongban.guard.anomaly import BehaviourModel
from tongban.guard.detector import AccountFacts, Detector, Seen

ACTIONS = (
    ("case.submitted", 20),
    ("case.accepted", 12),
    ("case.approved", 8),
    ("auth.login", 15),
    ("auth.logout", 8),
    ("auth.login_failed", 3),
    ("case.applicant_id_viewed", 6),
    ("case.material_viewed", 8),
    ("auth.refused", 1),
    ("exchange.fetched", 4),
    ("exchange.fetch_refused", 1),
    ("review.created", 4),
)


def mix(n: int, *, seed: int = 1, accounts: int = 2000) -> list[dict[str, Any]]:
    """n events of a day's work: submissions, decisions, logins, reveals, a few refusals."""
    rng = random.Random(seed)
    names = [a for a, w in ACTIONS for _ in range(w)]
    start = datetime(2026, 11, 30, 0, tzinfo=UTC)
    out = []
    for i in range(n):
        action = rng.choice(names)
        account = rng.randrange(1, accounts)
        personal: dict[str, Any] = {}
        if action.startswith("auth.login"):
            personal = {
                "client_key": f"c{account % 1500}",
                "username_key": f"u{account}",
                "account_id": account,
            }
        out.append(
            {
                "id": i + 1,
                "uid": f"u-{i}",
                "at": start + timedelta(milliseconds=40 * i),
                "action": action,
                "actor_id": None if action == "auth.login_failed" else account,
                "actor_role": "official" if account % 3 else "citizen",
                "on_behalf_of_id": account + 1
                if action == "case.submitted" and i % 9 == 0
                else None,
                "resource_type": "account" if action == "auth.login" else "case",
                "resource_id": str(account),
                "data": {"why": "role"} if action == "auth.refused" else {},
                "personal": personal,
                "private": {},
            }
        )
    return out


def detector_only(events: list[dict[str, Any]], *, model: bool) -> float:
    """Events per second through the rules (and the river model) in memory."""
    seen = [Seen(**e) for e in events]
    d = Detector(
        R.DEFAULT_RULES,
        account_facts=lambda i: AccountFacts("official", "511602"),
        model=BehaviourModel() if model else None,
    )
    started = time.process_time()
    for event in seen:
        d.feed(event)
    return len(seen) / (time.process_time() - started)


def whole_pass(events: list[dict[str, Any]]) -> tuple[float, float]:
    """Events per second (CPU, wall) of Guard passes over a SQLite file holding the events."""
    from sqlalchemy import insert

    from tongban.events import service as ev
    from tongban.guard.runner import Guard
    from tongban.platform.config import Settings
    from tongban.platform.db import Database
    from tongban.platform.db.migrate import upgrade_database

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'guard.db'}"
        upgrade_database(url)
        database = Database(url)
        table = ev.events_table()
        rows = [
            {
                "id": e["id"],
                "uid": e["uid"],
                "occurred_at": e["at"],
                "actor_id": e["actor_id"],
                "actor_role": e["actor_role"],
                "on_behalf_of_id": e["on_behalf_of_id"],
                "action": e["action"],
                "resource_type": e["resource_type"],
                "resource_id": e["resource_id"],
                "channel": "online",
                "data": e["data"],
                "personal": e["personal"] or None,
                "private": None,
            }
            for e in events
        ]
        with database.session_scope() as session:
            for i in range(0, len(rows), 5000):
                session.execute(insert(table), rows[i : i + 5000])
        guard = Guard(database, Settings(data_dir=Path(tmp) / "var", database_url=url))
        cpu, wall = time.process_time(), time.perf_counter()
        read = guard.run_until_idle()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        database.dispose()
        return read / cpu, read / wall


def main(argv: list[str] | None = None) -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args(argv or [])
    events = mix(args.events)
    rules = detector_only(events, model=False)
    both = detector_only(events, model=True)
    print(f"detector, rules only:          {rules:>10,.0f} events/s (CPU)")
    print(f"detector, rules + river model: {both:>10,.0f} events/s (CPU)")
    cpu, wall = whole_pass(events)
    print(f"whole passes on SQLite:        {cpu:>10,.0f} events/s (CPU), {wall:,.0f}/s (wall)")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
