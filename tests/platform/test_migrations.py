"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import tongban.shell.models  # noqa: F401 - every table on Base.metadata
from tongban.platform.db import Base, Database


def test_migrated_schema_matches_the_models(fresh_database: Database) -> None:
    with fresh_database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_the_migrations_are_one_line() -> None:
    """Branches written side by side apply (`upgrade heads`), but a release has one head: a
    second head means two migrations name the same parent and must be put in line."""
    from alembic.script import ScriptDirectory

    from tongban.platform.db.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1, script.get_heads()
