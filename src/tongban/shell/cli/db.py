"""`tongban db`: the schema, through the Alembic migrations inside the package."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from tongban.platform.db import migrations_dir, upgrade_database
from tongban.shell.cli.common import load_settings

group = typer.Typer(help="Database schema.", no_args_is_help=True)


@group.command("upgrade")
def db_upgrade(revision: str = "heads") -> None:
    """Apply the Alembic migrations (SQLite or PostgreSQL, from TONGBAN_DATABASE_URL)."""
    url = load_settings().resolved_database_url()
    upgrade_database(url, revision)
    typer.echo(f"database at revision {revision}")


def next_revision_id(message: str, versions: Path) -> str:
    """The house's revision ids: the next four-digit number, then the message as a slug."""
    numbers = [int(m.group(1)) for p in versions.glob("*.py") if (m := re.match(r"(\d+)_", p.name))]
    slug = re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_")[:40].rstrip("_")
    number = f"{max(numbers, default=0) + 1:04d}"
    return f"{number}_{slug}" if slug else number


@group.command("revision")
def db_revision(
    message: Annotated[str, typer.Option("-m", "--message", help="What the revision changes.")],
    autogenerate: Annotated[
        bool,
        typer.Option(
            "--autogenerate",
            help="Write the differences between the models and the (upgraded) database.",
        ),
    ] = False,
) -> None:
    """Create a new Alembic revision in the package's migrations folder (a checkout's)."""
    from alembic import command
    from alembic.util import CommandError

    import tongban.shell.models  # noqa: F401 - every domain's tables on Base.metadata
    from tongban.platform.db import Base
    from tongban.platform.db.migrate import alembic_config

    config = alembic_config(load_settings().resolved_database_url(), metadata=Base.metadata)
    config.set_main_option("file_template", "%%(rev)s")
    rev_id = next_revision_id(message, Path(migrations_dir()) / "versions")
    try:
        script = command.revision(config, message=message, autogenerate=autogenerate, rev_id=rev_id)
    except CommandError as exc:
        hint = " (run `tongban db upgrade` first)" if "not up to date" in str(exc) else ""
        typer.secho(f"error: {exc}{hint}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1) from exc
    scripts = script if isinstance(script, list) else [script]
    for written in scripts:
        if written is not None:
            typer.echo(f"created revision {written.revision}: {written.path}")
