"""`tongban guard`: the security brain's detector, beside `serve` (or instead of its thread),
and `tongban guard simulate`: attacks and normal use replayed against a running node."""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer

from tongban.shell.cli.common import load_settings, opened

group = typer.Typer(
    help="The security brain (政务安全大脑): detector and attack simulation.",
    invoke_without_command=True,
)


@group.callback()
def run(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="Read what is waiting, then stop.")] = False,
    every: Annotated[float, typer.Option(help="Seconds between passes.", min=0.05)] = 1.0,
) -> None:
    """Run the detector: read the events after its cursor, raise alerts, respond."""
    if ctx.invoked_subcommand is not None:
        return
    from tongban.guard import service as guard

    settings = load_settings()
    with opened(settings) as database:
        detector = guard.Guard(database, settings)
        if once:
            started = time.perf_counter()
            total = detector.run_until_idle()
            elapsed = time.perf_counter() - started
            typer.echo(
                f"{total} events read in {elapsed:.2f} s; "
                f"{sum(detector.alerts_total.values())} alerts raised"
            )
            return
        typer.echo("guard: watching the events (Ctrl-C stops)")
        try:
            while True:
                report = detector.run_once()
                for alert_id in report.alerts:
                    typer.echo(f"alert #{alert_id}")
                if report.events < guard.BATCH:
                    time.sleep(every)
        except KeyboardInterrupt:
            return


@group.command()
def simulate(
    seed: Annotated[int, typer.Option(help="Seed: the same seed replays the same mix.")] = 1,
    url: Annotated[str, typer.Option(help="The running node (loopback only).")] = (
        "http://127.0.0.1:8000"
    ),
    users: Annotated[int, typer.Option(help="Normal users (registered for the run).", min=1)] = 40,
    attacks: Annotated[int, typer.Option(help="Attacks of each kind.", min=1)] = 2,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the alerts.", min=1)] = 60,
    admin: Annotated[str, typer.Option(help="The operator account that reads the alerts.")] = (
        "admin"
    ),
    password: Annotated[str, typer.Option(help="Its password.")] = "tongban-demo",
    insiders: Annotated[
        bool,
        typer.Option(
            help="Also the insider attacks by the demo official and steward (docs/guard.md)."
        ),
    ] = True,
) -> None:
    """Replay normal use and attacks against a running node; print detection figures."""
    from tongban.guard.simulate import SimulationConfig, run_simulation

    result = run_simulation(
        SimulationConfig(
            url=url,
            seed=seed,
            users=users,
            attacks=attacks,
            timeout=timeout,
            admin=admin,
            password=password,
            insiders=insiders,
        )
    )
    typer.echo(json.dumps(result.summary(), ensure_ascii=False, indent=2))
    if not result.meets_targets():
        raise typer.Exit(code=1)
