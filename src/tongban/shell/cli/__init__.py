"""The `tongban` command; each sub-command delegates to a domain service."""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import Annotated

import typer

from tongban.platform.config import Settings, get_settings
from tongban.platform.db import Database, upgrade_database
from tongban.platform.errors import AppError

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
    _settings()
    run_server("tongban.shell.app:create_served_app", host=host, port=port, workers=workers)


def run_server(
    factory: str, *, host: str, port: int, workers: int = 1, log_level: str = "info"
) -> None:
    """Serve an app factory with uvicorn; several workers share a socket bound here."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(
        factory,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=False,
    )
    if workers <= 1:
        uvicorn.Server(config).run()
        return
    Multiprocess(config, sockets=[bind_shared_socket(host=host, port=port)]).run()


def bind_shared_socket(*, host: str, port: int) -> socket.socket:
    """A listening TCP socket for several worker processes to share.

    uvicorn binds its shared socket with protocol 0, and asyncio turns TCP_NODELAY on only for
    sockets whose protocol is IPPROTO_TCP: every response then waited ~40 ms for a delayed ACK
    (Nagle). Binding it here with the protocol set keeps responses immediate.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


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


# --- ledger -----------------------------------------------------------------------------------

ledger_app = typer.Typer(
    help="The tamper-evident ledger: verify logs and receipts.", no_args_is_help=True
)
app.add_typer(ledger_app, name="ledger")


def _verifier(key: str) -> object:
    from tongban.ledger import service as ledger

    try:
        return ledger.Verifier.parse(key)
    except ledger.NoteError as exc:
        typer.secho(f"error: bad --key: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=2) from exc


@ledger_app.command("verify")
def ledger_verify(
    url: Annotated[str, typer.Option(help="Base URL of the node, e.g. https://node.example.")],
    key: Annotated[str, typer.Option(help="The log's verifier key (GET /api/v1/ledger/key).")],
    state: Annotated[
        Path | None, typer.Option(help="Where this verifier remembers the last checkpoint.")
    ] = None,
) -> None:
    """Fetch the checkpoint, check its signature and its consistency with the last one seen."""
    from tongban.ledger import service as ledger

    verifier = _verifier(key)
    assert isinstance(verifier, ledger.Verifier)
    state_path = state or Path.home() / ".tongban" / "ledger-verifier.json"
    try:
        result = ledger.verify_log(url, verifier, state_path=state_path)
    except ledger.VerifyError as exc:
        typer.secho(f"FAILED: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1) from exc
    cp = result.checkpoint
    if result.previous is None:
        typer.echo(f"OK: {cp.origin} size {cp.size} signed; first checkpoint seen, remembered")
    else:
        typer.echo(
            f"OK: {cp.origin} size {cp.size} signed and consistent with size "
            f"{result.previous.size} seen before"
        )


@ledger_app.command("verify-receipt")
def ledger_verify_receipt(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Receipt file.")],
    key: Annotated[str, typer.Option(help="The log's verifier key.")],
) -> None:
    """Verify a receipt offline: entry, inclusion proof and checkpoint signature."""
    from tongban.ledger import service as ledger

    verifier = _verifier(key)
    assert isinstance(verifier, ledger.Verifier)
    try:
        result = ledger.verify_receipt(file.read_text(encoding="utf-8"), verifier)
    except (ledger.ReceiptError, UnicodeDecodeError) as exc:
        typer.secho(f"FAILED: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1) from exc
    e = result.entry
    typer.echo(
        f"OK: event {e.get('uid')} ({e.get('action')} on {e.get('resource_type')} "
        f"{e.get('resource_id')}, {e.get('occurred_at')}) is entry {result.index} of "
        f"{result.checkpoint.origin} at size {result.checkpoint.size}"
    )


@ledger_app.command("key")
def ledger_key() -> None:
    """Print this node's verifier key (creating the key on first use)."""
    from tongban.ledger import service as ledger

    typer.echo(ledger.public_key(_settings()))


@app.command()
def worker(
    once: Annotated[
        bool, typer.Option("--once", help="Integrate what is pending, then exit.")
    ] = False,
) -> None:
    """Run background work: the ledger integrator (sequences events, signs checkpoints)."""
    from tongban.ledger import service as ledger

    logging.basicConfig(level=logging.INFO)
    settings = _settings()
    database = _database()
    loop = ledger.integrator_loop(settings, database)
    try:
        if once:
            typer.echo(f"integrated {loop.run_once(full_scan=True)} events")
            return
        typer.echo(f"ledger integrator running (key {ledger.public_key(settings)}); Ctrl-C stops")
        loop.run()
    except KeyboardInterrupt:
        pass
    finally:
        database.dispose()


@app.command()
def witness(
    log_key: Annotated[
        list[str], typer.Option("--log-key", help="Verifier key of a log to witness (repeat).")
    ],
    host: str = "127.0.0.1",
    port: int = 8100,
) -> None:
    """Serve a C2SP tlog-witness (POST /add-checkpoint) for the given logs."""
    import uvicorn

    from tongban.ledger import service as ledger
    from tongban.ledger.witness import create_witness_app

    settings = _settings()
    logs = []
    for k in log_key:
        v = _verifier(k)
        assert isinstance(v, ledger.Verifier)
        logs.append(v)
    upgrade_database(settings.resolved_database_url())
    database = _database()
    cosigner = ledger.witness_signer(settings)
    typer.echo(f"witness key: {cosigner.verifier.vkey()}")
    uvicorn.run(create_witness_app(database, logs=logs, cosigner=cosigner), host=host, port=port)


insight_app = typer.Typer(help="Indicators, equalization and reports.", no_args_is_help=True)
app.add_typer(insight_app, name="insight")


@app.command()
def simulate(
    cases: Annotated[int, typer.Option(help="Number of cases to generate.", min=1)] = 100_000,
    seed: Annotated[int, typer.Option(help="Seed: the same seed gives the same files.")] = 1,
    out: Annotated[Path | None, typer.Option(help="Snapshot directory.")] = None,
    start: Annotated[str, typer.Option(help="First day of receipt.")] = "2026-01-01",
    end: Annotated[str, typer.Option(help="Last day of receipt.")] = "2026-12-31",
) -> None:
    """Generate a deterministic national workload into a Parquet snapshot (DuckDB)."""
    from datetime import date

    from tongban.insight import service as insight
    from tongban.insight.engine import snapshot_dir

    target = out or snapshot_dir(_settings())
    result = insight.simulate(
        cases=cases,
        seed=seed,
        out=target,
        start=date.fromisoformat(start),
        end=date.fromisoformat(end),
    )
    typer.echo(
        f"{result.cases} cases, {result.reviews} ratings, {result.implementations} "
        f"implementations (seed {result.seed}) in {result.directory}"
    )


@app.command()
def report(
    period: Annotated[str, typer.Option(help="2026, 2026-Q3, 2026-07 or a..b.")],
    out: Annotated[Path, typer.Option(help="Output file (.html or .pdf).")] = Path("report.html"),
    pdf: Annotated[bool, typer.Option("--pdf", help="Also print a PDF next to the HTML.")] = False,
    region: Annotated[str | None, typer.Option(help="Limit to a region (e.g. 440000).")] = None,
    snapshot: Annotated[Path | None, typer.Option(help="Snapshot directory.")] = None,
) -> None:
    """Write the self-contained equalization report for a period."""
    from tongban.insight import service as insight

    try:
        snap = insight.open_configured(_settings(), directory=snapshot)
        written = insight.write_report(
            snap,
            period=insight.parse_period(period),
            out=out,
            within=insight.check_region_prefix(region),
            pdf=pdf,
        )
    except AppError as exc:
        _fail(exc)
        return
    typer.echo(f"report written to {written}")


@insight_app.command("export")
def insight_export(
    out: Annotated[Path | None, typer.Option(help="Snapshot directory.")] = None,
) -> None:
    """Export the platform database's cases and ratings to the analytic snapshot."""
    from tongban.insight import service as insight

    counts = insight.export(_database(), _settings(), out=out)
    typer.echo(", ".join(f"{n} {name}" for name, n in counts.items()))


def main() -> None:
    """Entry point."""
    app()
