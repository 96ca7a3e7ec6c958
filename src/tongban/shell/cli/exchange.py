"""`tongban exchange`: the node directory (the national node exports it, provinces load it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from tongban.shell.cli.common import load_settings, opened, unit

group = typer.Typer(help="Data sharing and exchange between nodes.", no_args_is_help=True)
directory_group = typer.Typer(help="The node directory.", no_args_is_help=True)
group.add_typer(directory_group, name="directory")


@directory_group.command("export")
def directory_export(
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="File to write (default: stdout).")
    ] = None,
) -> None:
    """Export this node's directory (nodes, regions, keys), signed with its node key."""
    from tongban.exchange import directory

    settings = load_settings()
    with unit(settings) as session:
        document = directory.export_directory(session, settings=settings)
    text = json.dumps(document, ensure_ascii=False, indent=1)
    if out is None:
        typer.echo(text)
    else:
        out.write_text(text + "\n", encoding="utf-8")
        nodes = len(document["directory"]["nodes"])
        typer.echo(f"{nodes} nodes signed by {document['key_id']} → {out}")


@directory_group.command("load")
def directory_load(
    source: Annotated[str, typer.Argument(help="A file, or the national node's URL.")],
) -> None:
    """Verify a directory with the national key and cache it (the cache if the URL is away)."""
    from tongban.exchange import directory

    settings = load_settings()
    with unit(settings) as session:
        document, from_cache = directory.read_source(source, settings=settings)
        loaded = directory.load_document(session, document=document, settings=settings)
    if from_cache:
        typer.echo(f"{source} cannot be reached: using the cached directory", err=True)
    typer.echo(f"{loaded['nodes']} nodes loaded (issued {loaded['issued_at']})")


@directory_group.command("reload")
def directory_reload() -> None:
    """Reload the directory from TONGBAN_EXCHANGE_DIRECTORY_URL now (as `serve` does on
    schedule): unchanged, loaded, or the cache kept when the national node is away."""
    from tongban.exchange import service as exchange

    settings = load_settings()
    if not settings.exchange_directory_url:
        typer.secho(
            "error: TONGBAN_EXCHANGE_DIRECTORY_URL is not set", fg=typer.colors.RED, err=True
        )
        raise typer.Exit(1)
    with opened(settings) as database:
        done = exchange.reload_directory(database, settings)
    typer.echo(f"{done.outcome}: {done.nodes} nodes {done.detail}".rstrip())
    if done.outcome == "refused":
        raise typer.Exit(1)


@group.command("run-fetches")
def run_fetches(
    retry_case: Annotated[
        str | None, typer.Option("--retry", help="Put this case\x27s failed fetches back first.")
    ] = None,
) -> None:
    """Run the fetches queued at acceptance that are due now (as `serve` does in a thread)."""
    from tongban.exchange import service as exchange

    settings = load_settings()
    with opened(settings) as database:
        if retry_case:
            with database.session_scope() as session:
                again = exchange.retry_failed_fetches(session, case_number=retry_case)
            typer.echo(f"{again} failed fetch(es) of {retry_case} queued again")
        report = exchange.run_queued_fetches(database, settings)
    typer.echo(f"{report.done} fetched, {report.retry} to retry, {report.failed} failed")
