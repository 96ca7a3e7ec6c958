"""The `tongban` command; each sub-command delegates to a domain service."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from tongban.config import Settings, get_settings
from tongban.db import Database, upgrade_database
from tongban.errors import AppError

app = typer.Typer(
    help="Tongban 通办 — equalized digital government services.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
user_app = typer.Typer(help="Accounts.", no_args_is_help=True)
catalog_app = typer.Typer(help="The service catalog.", no_args_is_help=True)
regions_app = typer.Typer(help="Administrative divisions.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(catalog_app, name="catalog")
app.add_typer(regions_app, name="regions")
calendar_app = typer.Typer(
    help="The working-day calendar (holidays and 调休).", no_args_is_help=True
)
app.add_typer(calendar_app, name="calendar")


def _settings() -> Settings:
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings


def _database() -> Database:
    return Database(_settings().resolved_database_url())


def _fail(exc: AppError) -> None:
    typer.secho(f"error: {exc.detail}", fg=typer.colors.RED, err=True)
    for error in exc.errors:
        typer.secho(f"  {error.field}: {error.message}", err=True)
    raise typer.Exit(code=1)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the Alembic migrations (SQLite or PostgreSQL, from TONGBAN_DATABASE_URL)."""
    url = _settings().resolved_database_url()
    upgrade_database(url, revision)
    typer.echo(f"database at revision {revision}")


def load_demo_data(database: Database) -> dict[str, int]:
    """Load regions, the seed catalog and one account per role, where absent."""
    from tongban.catalog import service as catalog
    from tongban.identity import service as identity
    from tongban.regions import service as regions

    counts: dict[str, int] = {}
    with database.session_scope() as session:
        counts["regions"] = regions.load_builtin(session)
    with database.session_scope() as session:
        counts["catalog_items"] = catalog.load_seed(session)
    with database.session_scope() as session:
        counts["accounts"] = identity.create_demo_accounts(session)
    return counts


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Serve the platform over HTTP."""
    import uvicorn

    _settings()
    uvicorn.run(
        "tongban.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        access_log=False,
    )


@app.command()
def demo(
    load_only: Annotated[
        bool, typer.Option("--load-only", help="Load demo data, do not serve.")
    ] = False,
    host: str = "127.0.0.1",
    port: int = 8000,
) -> None:
    """Migrate, load demo data if absent, then serve."""
    logging.basicConfig(level=logging.INFO)
    url = _settings().resolved_database_url()
    upgrade_database(url)
    database = Database(url)
    try:
        counts = load_demo_data(database)
    except AppError as exc:
        _fail(exc)
    finally:
        database.dispose()
    typer.echo("demo data: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    typer.echo("demo accounts (password 'tongban-demo'): citizen, clerk, official, steward, admin")
    if not load_only:
        typer.echo(f"serving on http://{host}:{port}  (API docs: /api/docs)")
        serve(host=host, port=port, workers=1)


@user_app.command("create")
def user_create(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option(help="citizen, clerk, official, steward or admin.")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    department: Annotated[
        str | None, typer.Option(help="Department's unified social credit code.")
    ] = None,
    region: Annotated[
        str | None, typer.Option(help="Jurisdiction or service-point region code.")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    phone: Annotated[str | None, typer.Option(help="Mobile phone number.")] = None,
    resident_id: Annotated[str | None, typer.Option(help="Resident ID number (citizens).")] = None,
) -> None:
    """Create an account."""
    from tongban.identity import service as identity

    database = _database()
    try:
        with database.session_scope() as session:
            account = identity.create_account(
                session,
                username=username,
                password=password,
                role=role,
                department_code=department,
                region_code=region,
                display_name=name,
                phone=phone,
                resident_id=resident_id,
            )
            typer.echo(f"created {account.role} account {account.username} (id {account.id})")
    except AppError as exc:
        _fail(exc)
    finally:
        database.dispose()


@catalog_app.command("import")
def catalog_import(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Import a catalog file (.yaml, .yml, .json or .xlsx); all or nothing."""
    from tongban.catalog import service as catalog

    database = _database()
    try:
        with database.session_scope() as session:
            result = catalog.import_file(session, path=file)
        typer.echo(f"imported: {result}")
    except AppError as exc:
        _fail(exc)
    finally:
        database.dispose()


@catalog_app.command("export")
def catalog_export(file: Annotated[Path, typer.Argument(dir_okay=False)]) -> None:
    """Export the catalog to a file (.yaml, .yml, .json or .xlsx, by its extension)."""
    from tongban.catalog import service as catalog

    database = _database()
    try:
        with database.session_scope() as session:
            catalog.export_file(session, path=file)
        typer.echo(f"exported to {file}")
    except AppError as exc:
        _fail(exc)
    finally:
        database.dispose()


@regions_app.command("load")
def regions_load() -> None:
    """Load the built-in provinces, prefectures and counties (idempotent)."""
    from tongban.regions import service as regions

    database = _database()
    try:
        with database.session_scope() as session:
            count = regions.load_builtin(session)
        typer.echo(f"{count} regions loaded")
    finally:
        database.dispose()


@regions_app.command("add")
def regions_add(
    code: Annotated[str, typer.Argument(help="12-digit township or village code.")],
    name: Annotated[str, typer.Argument(help="Name.")],
    urban_rural: Annotated[
        str | None, typer.Option(help="urban or rural (default: parent's).")
    ] = None,
) -> None:
    """Add a township or village below an existing county."""
    from tongban.regions import service as regions

    database = _database()
    try:
        with database.session_scope() as session:
            region = regions.add_region(session, code=code, name=name, urban_rural=urban_rural)
        typer.echo(f"added {region.code} {region.name} under {region.parent_code}")
    except AppError as exc:
        _fail(exc)
    finally:
        database.dispose()


@calendar_app.command("set")
def calendar_set(
    day: Annotated[str, typer.Argument(help="Date, YYYY-MM-DD.")],
    kind: Annotated[str, typer.Argument(help="'workday' or 'holiday'.")],
    name: Annotated[str, typer.Option(help="Why, e.g. 春节 or 春节调休.")] = "",
) -> None:
    """Declare a date a working day or a day off (load next year's arrangement)."""
    from datetime import date as date_type

    from tongban.workdays import service as workdays

    if kind not in ("workday", "holiday"):
        typer.secho("error: kind must be 'workday' or 'holiday'", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=2)
    try:
        parsed = date_type.fromisoformat(day)
    except ValueError:
        typer.secho(f"error: not a date: {day!r} (use YYYY-MM-DD)", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=2) from None
    database = _database()
    try:
        with database.session_scope() as session:
            workdays.set_day(session, day=parsed, is_workday=kind == "workday", name=name)
        typer.echo(f"{parsed} is now a {kind}")
    except AppError as exc:
        _fail(exc)
    finally:
        database.dispose()


@calendar_app.command("show")
def calendar_show(
    start: Annotated[str, typer.Argument(help="From date, YYYY-MM-DD.")],
    days: Annotated[int, typer.Argument(help="Working days to add.")],
) -> None:
    """Show when a limit of N working days from a date runs out."""
    from datetime import date as date_type

    from tongban.workdays import service as workdays

    database = _database()
    try:
        with database.session_scope() as session:
            calendar = workdays.load_calendar(session)
        begin = date_type.fromisoformat(start)
        end = calendar.add_working_days(begin, days)
        note = " (provisional: year not loaded)" if calendar.is_provisional(end) else ""
        typer.echo(f"{days} working days from {begin} end on {end}{note}")
    finally:
        database.dispose()


def main() -> None:
    """Entry point."""
    app()
