"""`tongban govstack`: the GovStack Registration building block's clients, published services
and conformance samples (docs/govstack.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from tongban.shell.cli.common import load_settings, unit

group = typer.Typer(help="The GovStack Registration building block.", no_args_is_help=True)


@group.command("load-samples")
def load_samples() -> None:
    """Load the conformance suite's sample services, forms, applications and tasks (again:
    nothing changes)."""
    from tongban.govstack.samples import CLIENT, load_samples

    settings = load_settings()
    with unit(settings) as session:
        counts = load_samples(session, settings=settings)
    typer.echo(
        f"{counts['services']} services, {counts['applications']} application files, "
        f"{counts['tasks']} tasks; default client {CLIENT}"
    )


@group.command("add-client")
def add_client(
    client: Annotated[str, typer.Argument(help="INSTANCE/CLASS/MEMBER/SUBSYSTEM")],
    department: Annotated[
        str, typer.Option("--department", help="The department's unified social credit code.")
    ],
    default: Annotated[
        bool, typer.Option("--default", help="Also the client of calls without the header.")
    ] = False,
) -> None:
    """Register a calling system (as the Information Mediator names it) to a department."""
    from tongban.govstack import service as govstack

    settings = load_settings()
    with unit(settings) as session:
        found = govstack.add_client(
            session, client=client, department_code=department, default=default, settings=settings
        )
        typer.echo(
            f"{found.client} → {found.department_code}"
            f" (acts as {found.handler.username}){' [default]' if found.is_default else ''}"
        )


@group.command("clients")
def clients() -> None:
    """List the registered clients."""
    from tongban.govstack import service as govstack

    with unit() as session:
        for found in govstack.list_clients(session):
            mark = " [default]" if found.is_default else ""
            typer.echo(f"{found.client}\t{found.department_code}{mark}")


@group.command("publish")
def publish(
    implementation: Annotated[str, typer.Argument(help="The implementation's code.")],
    service_id: Annotated[
        str | None, typer.Option("--id", help="The GovStack service id (default: the code).")
    ] = None,
    registration_name: Annotated[
        str | None, typer.Option("--registration-name", help="Its name in statistics.")
    ] = None,
) -> None:
    """Publish a catalog implementation as a GovStack service."""
    from tongban.govstack import service as govstack

    with unit() as session:
        published = govstack.publish_service(
            session,
            implementation_code=implementation,
            service_id=service_id,
            registration_name=registration_name,
        )
    typer.echo(f"{implementation} → service {published}")
