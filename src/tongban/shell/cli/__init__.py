"""The `tongban` command: one module per domain, each sub-command delegating to a service.

common.py holds what they share: the settings and `unit()`, the one block that opens the
database, runs a unit of work, turns a domain error into `error: …` (exit code 1) and disposes
the engine.
"""

from __future__ import annotations

import typer

from tongban.shell.cli import (
    calendar,
    catalog,
    credentials,
    db,
    exchange,
    federation,
    govstack,
    guard,
    identity,
    insight,
    ledger,
    regions,
    serve,
)
from tongban.shell.cli.serve import bind_shared_socket, load_demo_data, run_server

app = typer.Typer(
    help="Tongban 通办 — equalized digital government services.", no_args_is_help=True
)
for command in (
    serve.serve,
    serve.demo,
    ledger.worker,
    ledger.witness,
    insight.simulate,
    insight.report,
):
    app.command()(command)
app.add_typer(db.group, name="db")
app.add_typer(identity.group, name="user")
app.add_typer(catalog.group, name="catalog")
app.add_typer(regions.group, name="regions")
app.add_typer(calendar.group, name="calendar")
app.add_typer(ledger.group, name="ledger")
app.add_typer(insight.group, name="insight")
app.add_typer(exchange.group, name="exchange")
app.add_typer(guard.group, name="guard")
app.add_typer(credentials.group, name="credentials")
app.add_typer(federation.group, name="federation")
app.add_typer(govstack.group, name="govstack")
app.command()(federation.edge)

__all__ = ["app", "bind_shared_socket", "load_demo_data", "main", "run_server"]


def main() -> None:
    """Entry point."""
    app()
