"""Alembic environment: the URL (or an open connection) and the tables come from the caller.

Upgrading needs no tables; comparing and autogenerating do, and the shell passes every
domain's (`tongban db revision`, tests/platform/test_migrations.py). The migrations live inside the
package, so an installed wheel migrates its database.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from tongban.platform.db.engine import make_engine

config = context.config
target_metadata = config.attributes.get("target_metadata")


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run against a given connection, or build one from the configured URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("no database URL given to the migrations")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run against a database")
run_migrations_online()
