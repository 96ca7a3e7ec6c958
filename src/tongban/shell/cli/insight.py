"""`tongban simulate`, `tongban report` and `tongban insight`: indicators and equalization."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from tongban.platform.errors import AppError
from tongban.shell.cli.common import fail, load_settings, opened

group = typer.Typer(help="Indicators, equalization and reports.", no_args_is_help=True)


def simulate(
    cases: Annotated[int, typer.Option(help="Number of cases to generate.", min=1)] = 100_000,
    seed: Annotated[int, typer.Option(help="Seed: the same seed gives the same files.")] = 1,
    out: Annotated[Path | None, typer.Option(help="Snapshot directory.")] = None,
    start: Annotated[str, typer.Option(help="First day of receipt.")] = "2026-01-01",
    end: Annotated[str, typer.Option(help="Last day of receipt.")] = "2026-12-31",
) -> None:
    """Generate a deterministic national workload into a Parquet snapshot (DuckDB)."""
    from tongban.insight import service as insight
    from tongban.insight.engine import snapshot_dir

    target = out or snapshot_dir(load_settings())
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
        snap = insight.open_configured(load_settings(), directory=snapshot)
        written = insight.write_report(
            snap,
            period=insight.parse_period(period),
            out=out,
            within=insight.check_region_prefix(region),
            pdf=pdf,
        )
    except AppError as exc:
        fail(exc)
    typer.echo(f"report written to {written}")


@group.command("export")
def insight_export(
    out: Annotated[Path | None, typer.Option(help="Snapshot directory.")] = None,
) -> None:
    """Export the platform database's cases and ratings to the analytic snapshot."""
    from tongban.insight import service as insight

    settings = load_settings()
    with opened(settings) as database:
        counts = insight.export(database, settings, out=out)
    typer.echo(", ".join(f"{n} {name}" for name, n in counts.items()))
