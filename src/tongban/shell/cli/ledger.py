"""`tongban ledger` (verify logs and receipts, the node's key), `worker` and `witness`."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tongban.platform.db import upgrade_database
from tongban.shell.cli.common import load_settings, opened

if TYPE_CHECKING:
    from tongban.ledger.service import Verifier

group = typer.Typer(
    help="The tamper-evident ledger: verify logs and receipts.", no_args_is_help=True
)


def _verifier(key: str) -> Verifier:
    from tongban.ledger import service as ledger

    try:
        return ledger.Verifier.parse(key)
    except ledger.NoteError as exc:
        typer.secho(f"error: bad --key: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=2) from exc


@group.command("verify")
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


@group.command("verify-receipt")
def ledger_verify_receipt(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Receipt file.")],
    key: Annotated[str, typer.Option(help="The log's verifier key.")],
) -> None:
    """Verify a receipt offline: entry, inclusion proof and checkpoint signature."""
    from tongban.ledger import service as ledger

    verifier = _verifier(key)
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


@group.command("key")
def ledger_key() -> None:
    """Print this node's verifier key (creating the key on first use)."""
    from tongban.ledger import service as ledger

    typer.echo(ledger.public_key(load_settings()))


def worker(
    once: Annotated[
        bool, typer.Option("--once", help="Integrate what is pending, then exit.")
    ] = False,
) -> None:
    """Run background work: the ledger integrator (sequences events, signs checkpoints)."""
    from tongban.ledger import service as ledger

    logging.basicConfig(level=logging.INFO)
    settings = load_settings()
    with opened(settings) as database:
        loop = ledger.integrator_loop(settings, database)
        if once:
            typer.echo(f"integrated {loop.run_once(full_scan=True)} events")
            return
        typer.echo(f"ledger integrator running (key {ledger.public_key(settings)}); Ctrl-C stops")
        with contextlib.suppress(KeyboardInterrupt):
            loop.run()


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

    settings = load_settings()
    logs = [_verifier(k) for k in log_key]
    upgrade_database(settings.resolved_database_url())
    with opened(settings) as database:
        cosigner = ledger.witness_signer(settings)
        typer.echo(f"witness key: {cosigner.verifier.vkey()}")
        app = create_witness_app(database, logs=logs, cosigner=cosigner)
        uvicorn.run(app, host=host, port=port)
