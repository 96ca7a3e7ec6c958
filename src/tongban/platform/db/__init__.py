"""The database kit every domain uses: the base and shared column types, the engine (SQLite
with its write gate, or PostgreSQL), the unit of work (uow: the only commit), shared facts,
the fast path (fastpath/) and the migrations."""

from tongban.platform.db.base import (
    MAX_ROW_ID,
    NAMING_CONVENTION,
    Base,
    BigId,
    UTCDateTime,
    utcnow,
)
from tongban.platform.db.engine import Database, make_engine
from tongban.platform.db.migrate import migrations_dir, upgrade_database

__all__ = [
    "MAX_ROW_ID",
    "NAMING_CONVENTION",
    "Base",
    "BigId",
    "Database",
    "UTCDateTime",
    "make_engine",
    "migrations_dir",
    "upgrade_database",
    "utcnow",
]
