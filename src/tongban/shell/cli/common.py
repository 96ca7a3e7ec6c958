"""What every command shares: the settings, and one unit of work around a command's work."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer
from sqlalchemy.orm import Session

from tongban.platform.config import Settings, get_settings
from tongban.platform.db import Database
from tongban.platform.errors import AppError


def load_settings() -> Settings:
    """The process's settings (the CLI is the shell: it reads the environment), with the data
    directory created."""
    current = get_settings()
    current.data_dir.mkdir(parents=True, exist_ok=True)
    return current


def fail(exc: AppError) -> NoReturn:
    """Print a domain error in red, with its field details, and exit with code 1."""
    typer.secho(f"error: {exc.detail}", fg=typer.colors.RED, err=True)
    for error in exc.errors:
        typer.secho(f"  {error.field}: {error.message}", err=True)
    raise typer.Exit(code=1)


@contextmanager
def opened(settings: Settings | None = None) -> Iterator[Database]:
    """The configured database, disposed at the end; a domain error raised inside becomes
    `error: …` and exit code 1."""
    database = Database((settings or load_settings()).resolved_database_url())
    from tongban.consent.tracker import note_event
    from tongban.events.service import on_stored

    # Commands write events too: each use of a person's data gets its tracker line.
    on_stored(note_event)
    try:
        yield database
    except AppError as exc:
        fail(exc)
    finally:
        database.dispose()


@contextmanager
def unit(settings: Settings | None = None) -> Iterator[Session]:
    """One unit of work on the configured database: committed when the block ends, rolled back
    on an error; a domain error becomes `error: …` and exit code 1; the engine is disposed."""
    with opened(settings) as database, database.session_scope() as session:
        yield session
