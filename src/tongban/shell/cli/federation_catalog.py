"""`tongban federation catalog …`: the national basic catalog as a node's operator sees it —
which version it holds, publishing one (national node), pulling one over HTTP, withdrawing an
item from the national catalog (docs/federation.md)."""

from __future__ import annotations

from typing import Annotated

import httpx
import typer

from tongban.shell.cli.common import load_settings, opened, unit

group = typer.Typer(
    help="The national basic catalog: versions published and applied.", no_args_is_help=True
)


@group.command("status")
def status() -> None:
    """The version of the national catalog this node published (national) and applied."""
    from tongban.federation import catalog_feed

    with unit() as session:
        published = catalog_feed.latest(session)
        applied = catalog_feed.applied_version(session)
    if published is not None:
        typer.echo(
            f"published v{published.version} ({published.item_count} items, "
            f"{published.published_at:%Y-%m-%d %H:%M:%S} UTC)"
        )
    typer.echo(f"applied {'v' + str(applied) if applied is not None else 'none'}")


@group.command("publish")
def publish() -> None:
    """National node: make the next version now if the catalog changed (the feed does it by
    itself every few seconds), and print the current one."""
    from tongban.federation import catalog_feed

    settings = load_settings()
    with unit(settings) as session:
        snapshot = catalog_feed.publish_if_changed(session, settings=settings)
    typer.echo(f"v{snapshot.version} {snapshot.item_count} items {snapshot.digest}")


@group.command("pull")
def pull(
    url: Annotated[str, typer.Argument(help="…/api/v1/federation/catalog of the national node.")],
) -> None:
    """Fetch the national catalog over HTTP and apply it if it is newer than the one held."""
    from tongban.federation import catalog_feed

    settings = load_settings()
    with opened(settings) as database:
        try:
            outcome = catalog_feed.pull(database, url=url)
        except httpx.HTTPError as exc:
            typer.secho(f"error: the national catalog is unreachable: {exc}", err=True)
            raise typer.Exit(code=1) from None
        with database.session_scope() as session:
            held = catalog_feed.applied_version(session)
    if outcome is None and held is not None:
        typer.echo(f"v{held} is current (or the document was refused: see the events)")
    elif outcome is None:
        typer.secho("error: the document was refused (see the events and the log)", err=True)
        raise typer.Exit(code=1)
    else:
        typer.echo(f"v{outcome.version} {outcome.outcome} {outcome.counts}")


@group.command("withdraw")
def withdraw(
    code: Annotated[str, typer.Argument(help="The basic item's code.")],
    restore: Annotated[bool, typer.Option("--restore", help="List it again.")] = False,
) -> None:
    """National node: withdraw a basic item from the national catalog (nodes mark it withdrawn;
    nothing is deleted), or list it again."""
    from tongban.catalog import service as catalog

    with unit() as session:
        changed = catalog.withdraw_item(session, code=code, withdrawn=not restore)
    what = "listed again" if restore else "withdrawn"
    typer.echo(f"{code} {what}" if changed else f"{code} was already {what}")
