"""`tongban calendar`: the working-day calendar (holidays and 调休)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from tongban.shell.cli.common import unit

group = typer.Typer(help="The working-day calendar (holidays and 调休).", no_args_is_help=True)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        typer.secho(f"error: not a date: {text!r} (use YYYY-MM-DD)", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=2) from None


@group.command("set")
def calendar_set(
    day: Annotated[str, typer.Argument(help="Date, YYYY-MM-DD.")],
    kind: Annotated[str, typer.Argument(help="'workday' or 'holiday'.")],
    name: Annotated[str, typer.Option(help="Why, e.g. 春节 or 春节调休.")] = "",
) -> None:
    """Declare a date a working day or a day off (load next year's arrangement)."""
    from tongban.workdays import service as workdays

    if kind not in ("workday", "holiday"):
        typer.secho("error: kind must be 'workday' or 'holiday'", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=2)
    parsed = _date(day)
    with unit() as session:
        workdays.set_day(session, day=parsed, is_workday=kind == "workday", name=name)
    typer.echo(f"{parsed} is now a {kind}")


@group.command("show")
def calendar_show(
    start: Annotated[str, typer.Argument(help="From date, YYYY-MM-DD.")],
    days: Annotated[int, typer.Argument(help="Working days to add.")],
) -> None:
    """Show when a limit of N working days from a date runs out."""
    from tongban.workdays import service as workdays

    begin = _date(start)
    with unit() as session:
        calendar = workdays.load_calendar(session)
    end = calendar.add_working_days(begin, days)
    note = " (provisional: year not loaded)" if calendar.is_provisional(end) else ""
    typer.echo(f"{days} working days from {begin} end on {end}{note}")
