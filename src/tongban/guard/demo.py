"""Demo data of the security brain: a fresh `tongban demo` shows a few real alerts on the
console instead of an empty page. They come from real signals, judged by the real detector:

- password guessing on a username that does not exist, from 16 addresses (login.bruteforce:
  those addresses blocked for 30 minutes);

(the failed logins are written as identity writes them, without an Argon2 check each);
- password spraying from three addresses over 12 usernames (login.spray: the addresses
  blocked);
- the demo official reaching five times for another county's data (access.out_of_jurisdiction).

Every address is from the documentation ranges (RFC 5737), so no real client is stopped, and
no demo account is blocked: everyone can log in to look at the console.
"""

from __future__ import annotations

from sqlalchemy import func, select

from tongban.guard.models import GuardAlert
from tongban.guard.runner import Guard
from tongban.identity import service as identity
from tongban.platform.config import Settings
from tongban.platform.db import Database, uow


def load_demo(database: Database, *, settings: Settings) -> dict[str, int]:
    """Raise the demo alerts when the node has none yet; how many were raised."""
    with uow.unit(database) as session:
        if session.scalar(select(func.count()).select_from(GuardAlert)):
            return {"guard_alerts": 0}
        official = identity.find_account_by_username(session, username="official")

    # The refusals a wrong password writes (identity's drill: no Argon2 check per try).
    with uow.unit(database) as session:
        for i in range(16):  # one guess per address: below every per-address limit
            identity.record_drill_login_failure(
                session, username="zhang.wei", client_ip=f"203.0.113.{i + 10}", settings=settings
            )
        for i in range(12):
            identity.record_drill_login_failure(
                session,
                username=f"user{i:03d}",
                client_ip=f"198.51.100.{i % 3 + 20}",
                settings=settings,
            )
    if official is not None:
        _reach_outside(database, settings=settings, account_id=official.id)
    guard = Guard(database, settings, anomaly=False)
    guard.run_until_idle()
    with uow.unit(database) as session:
        raised = session.scalar(select(func.count()).select_from(GuardAlert)) or 0
    return {"guard_alerts": int(raised)}


def _reach_outside(database: Database, *, settings: Settings, account_id: int) -> None:
    """The official asks for cases of another province's county, refused each time (the
    refusals recorded as the shell's error handler records them)."""
    with uow.unit(database) as session:
        account = identity.get_account(session, account_id=account_id)
    actor = identity.Actor(
        account_id=account.id,
        username=account.username,
        role=identity.Role(account.role),
        department_id=account.department_id,
        jurisdiction=account.region_code,
    )
    for _ in range(5):
        try:
            identity.authorize(
                actor,
                "case.read",
                {"department_id": account.department_id, "region_code": "440305"},
            )
        except identity.Refused as refused:
            identity.record_refusal(
                database, refused, settings=settings, client_ip="192.0.2.30", method="GET"
            )
