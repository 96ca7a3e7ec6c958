"""Seeds several test directories share (what a seed is: tests/support/databases.py)."""

from __future__ import annotations

from typing import Any, Self, TypeVar

from sqlalchemy.orm import Session

from tests.support.databases import Seed
from tongban.identity.demo import create_demo_accounts
from tongban.identity.models import Account, Department
from tongban.platform.config import Settings
from tongban.regions import service as regions

T = TypeVar("T")


def _regions(session: Session, settings: Settings) -> None:
    regions.load_builtin(session)


def _demo_accounts(session: Session, settings: Settings) -> None:
    create_demo_accounts(session, settings=settings)


# The built-in divisions (3,348 rows).
REGIONS = Seed("regions", _regions)
# The regions and the demo accounts (one per role, and the relative's proxy), no catalog. Their
# resident IDs are stored under the seeds' keys, which a test over this seed has in its
# settings: as when a fixture creates them with the test's settings.
DEMO = Seed("demo", _demo_accounts, base=REGIONS, keys=True)


class SeededWorld:
    """A fixtures' world (accounts, their API tokens, departments, by name) that can be written
    into a seed and found again, as rows of the test's own session."""

    accounts: dict[str, Account]
    tokens: dict[str, str]
    departments: dict[str, Department]

    def recorded(self) -> dict[str, dict[str, Any]]:
        """The world as ids and tokens: what a seed's build returns."""
        return {
            "accounts": {name: account.id for name, account in self.accounts.items()},
            "tokens": dict(self.tokens),
            "departments": {key: department.id for key, department in self.departments.items()},
        }

    @classmethod
    def reload(cls, session: Session, recorded: dict[str, dict[str, Any]]) -> Self:
        """The recorded world, its rows read in this session."""
        return cls(
            accounts={n: _row(session, Account, i) for n, i in recorded["accounts"].items()},
            tokens=dict(recorded["tokens"]),
            departments={
                k: _row(session, Department, i) for k, i in recorded["departments"].items()
            },
        )


def _row(session: Session, model: type[T], row_id: int) -> T:
    row = session.get(model, row_id)
    assert row is not None, f"{model.__name__} {row_id} is missing from the seeded world"
    return row
