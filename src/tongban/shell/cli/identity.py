"""`tongban user`: accounts."""

from __future__ import annotations

from typing import Annotated

import typer

from tongban.shell.cli.common import load_settings, unit

group = typer.Typer(help="Accounts.", no_args_is_help=True)


@group.command("create")
def user_create(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option(help="citizen, clerk, official, steward or admin.")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    department: Annotated[
        str | None, typer.Option(help="Department's unified social credit code.")
    ] = None,
    region: Annotated[
        str | None, typer.Option(help="Jurisdiction or service-point region code.")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    phone: Annotated[str | None, typer.Option(help="Mobile phone number.")] = None,
    resident_id: Annotated[str | None, typer.Option(help="Resident ID number (citizens).")] = None,
) -> None:
    """Create an account."""
    # Imported for its registration with identity: an account created with a resident ID
    # gets the cases filed for that number at a counter (cases/tracking.py).
    from tongban.cases import service as _cases  # noqa: F401
    from tongban.identity import service as identity

    settings = load_settings()
    with unit(settings) as session:
        account = identity.create_account(
            session,
            username=username,
            password=password,
            role=role,
            department_code=department,
            region_code=region,
            display_name=name,
            phone=phone,
            resident_id=resident_id,
            settings=settings,
        )
        typer.echo(f"created {account.role} account {account.username} (id {account.id})")
