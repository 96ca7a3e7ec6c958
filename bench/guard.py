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


def whole_pass(events: list[dict[str, Any]], backend: str = "sqlite") -> tuple[float, float]:
    """Events per second (CPU, wall) of Guard passes over a database (a SQLite file or a
    throw-away PostgreSQL schema) holding the events. The CPU is this process's only: on
    PostgreSQL the server's own work is not in it."""
    from sqlalchemy import insert

    from bench.cases_submit import Target
    from tongban.events import service as ev
    from tongban.guard.runner import Guard
    from tongban.platform.config import Settings

    with tempfile.TemporaryDirectory() as tmp:
        target = Target(backend, Path(tmp))
        database, url = target.database, target.url
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
        target.drop()
        return read / cpu, read / wall


def token_request_cost(rounds: int = 5, calls: int = 2000) -> tuple[float, float, float]:
    """CPU microseconds per authenticated API-token lookup (resolve_actor, one session each,
    as a request), without (A) and with (B) the place check and the address-block check;
    A and B alternate in rounds in one process, the median round of each is kept."""
    import statistics

    from bench.cases_submit import Target
    from tongban.identity import api_tokens
    from tongban.identity.callers import resolve_actor
    from tongban.identity.demo import create_demo_accounts
    from tongban.identity.models import Account
    from tongban.platform.config import Settings
    from tongban.regions import service as regions

    with tempfile.TemporaryDirectory() as tmp:
        target = Target("sqlite", Path(tmp))
        database = target.database
        settings = Settings(data_dir=Path(tmp) / "var", database_url=target.url)
        with database.session_scope() as session:
            regions.load_builtin(session)
            create_demo_accounts(session, settings=settings)
            steward = session.query(Account).filter_by(username="steward").one()
            token = api_tokens.issue_api_token(
                session, account_id=steward.id, name="bench", settings=settings
            ).token
        header = f"Bearer {token}"

        def run(place: bool) -> float:
            started = time.process_time()
            for _ in range(calls):
                with database.session_scope() as session:
                    actor = resolve_actor(
                        session,
                        authorization=header,
                        session_token=None,
                        settings=settings if place else None,
                        client_ip="198.51.100.7" if place else None,
                    )
                    assert actor is not None
            return (time.process_time() - started) / calls * 1e6

        run(True)  # the first place is noted once (one insert and its event)
        a, b = [], []
        for _ in range(rounds):
            a.append(run(False))
            b.append(run(True))
        # The added calls alone, many times in one session: what B adds to A.
        from tongban.identity import blocks
        from tongban.identity.token_places import note_token_place
        from tongban.platform.db import utcnow

        with database.session_scope() as session:
            now = utcnow()
            started = time.process_time()
            for _ in range(calls * 10):
                blocks.address_stopped(
                    session, settings=settings, client_ip="198.51.100.7", now=now
                )
                note_token_place(
                    session,
                    settings=settings,
                    token_id=1,
                    account_id=steward.id,
                    client_ip="198.51.100.7",
                )
            alone = (time.process_time() - started) / (calls * 10) * 1e6
        target.drop()
        return statistics.median(a), statistics.median(b), alone


def main(argv: list[str] | None = None) -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument(
        "--token-cost", action="store_true", help="only the A/B cost of the token-place check"
    )
    args = parser.parse_args(argv or [])
    if args.token_cost:
        a, b, alone = token_request_cost()
        print(f"API-token lookup without the place/block checks: {a:8.1f} µs CPU")
        print(f"API-token lookup with them (a known place):      {b:8.1f} µs CPU")
        print(f"difference B - A (noise included):               {b - a:8.1f} µs CPU")
        print(f"the two checks alone (known place, no block):    {alone:8.2f} µs CPU")
        return
    events = mix(args.events)
    rules = detector_only(events, model=False)
    both = detector_only(events, model=True)
    print(f"detector, rules only:          {rules:>10,.0f} events/s (CPU)")
    print(f"detector, rules + river model: {both:>10,.0f} events/s (CPU)")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        cpu, wall = whole_pass(events, backend)
        print(
            f"whole passes on {backend + ':':<11}{cpu:>12,.0f} events/s (CPU), {wall:,.0f}/s (wall)"
        )


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
