"""`tongban regions`: administrative divisions."""

from __future__ import annotations

from typing import Annotated

import typer

from tongban.shell.cli.common import unit

group = typer.Typer(help="Administrative divisions.", no_args_is_help=True)


@group.command("load")
def regions_load() -> None:
    """Load the built-in provinces, prefectures and counties (idempotent)."""
    from tongban.regions import service as regions

    with unit() as session:
        count = regions.load_builtin(session)
    typer.echo(f"{count} regions loaded")


@group.command("add")
def regions_add(
    code: Annotated[str, typer.Argument(help="12-digit township or village code.")],
    name: Annotated[str, typer.Argument(help="Name.")],
    urban_rural: Annotated[
        str | None, typer.Option(help="urban or rural (default: parent's).")
    ] = None,
) -> None:
    """Add a township or village below an existing county."""
    from tongban.regions import service as regions

    with unit() as session:
        region = regions.add_region(session, code=code, name=name, urban_rural=urban_rural)
    typer.echo(f"added {region.code} {region.name} under {region.parent_code}")
