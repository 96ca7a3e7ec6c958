"""`tongban catalog`: import and export the service catalog."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tongban.shell.cli.common import load_settings, unit

group = typer.Typer(help="The service catalog.", no_args_is_help=True)


@group.command("import")
def catalog_import(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Import a catalog file (.yaml, .yml, .json or .xlsx); all or nothing."""
    from tongban.catalog import service as catalog

    settings = load_settings()
    with unit(settings) as session:
        result = catalog.import_file(session, path=file, max_bytes=settings.import_max_bytes)
    typer.echo(f"imported: {result}")


@group.command("export")
def catalog_export(file: Annotated[Path, typer.Argument(dir_okay=False)]) -> None:
    """Export the catalog to a file (.yaml, .yml, .json or .xlsx, by its extension)."""
    from tongban.catalog import service as catalog

    with unit() as session:
        catalog.export_file(session, path=file)
    typer.echo(f"exported to {file}")
