"""Alembic migrations, shipped inside the package so that an installed wheel can migrate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData


def migrations_dir() -> str:
    """Where the Alembic scripts live: tongban/platform/migrations, inside the package."""
    return str(Path(__file__).resolve().parents[1] / "migrations")


def alembic_config(url: str, *, metadata: MetaData | None = None) -> Any:
    """Alembic's configuration for the database at `url`; `metadata` (every domain's tables,
    given by the shell) is needed only to compare or autogenerate."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", migrations_dir())
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["target_metadata"] = metadata
    return config


def upgrade_database(url: str, revision: str = "heads", *, engine: Engine | None = None) -> None:
    """Apply the Alembic migrations to the database at `url` (SQLite or PostgreSQL).

    "heads": every branch, so that migrations written side by side (two domains' changes on
    two branches of the revision graph) apply before they are put in one line."""
    from alembic import command

    config = alembic_config(url)
    if engine is not None:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    else:
        command.upgrade(config, revision)
