"""`tongban credentials`: verify an e-licence offline with a trust list; export the trust list;
rotate and retire issuer keys (each an event in the ledger)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from tongban.shell.cli.common import load_settings, unit

group = typer.Typer(
    help="E-licences (电子证照): verify, trust list, issuer keys.", no_args_is_help=True
)
keys_group = typer.Typer(help="Issuer keys.", no_args_is_help=True)
group.add_typer(keys_group, name="keys")

MAX_FILE = 256 * 1024


@group.command("verify")
def verify(
    file: Annotated[
        Path, typer.Argument(help="The e-licence (compact SD-JWT VC), or - for stdin.")
    ],
    trust_list: Annotated[
        Path,
        typer.Option("--trust-list", help="The trust list (GET /api/v1/credentials/trust-list)."),
    ],
    nonce: Annotated[
        str | None, typer.Option(help="The nonce the holder's proof must answer.")
    ] = None,
    aud: Annotated[str | None, typer.Option(help="This verifier's audience.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON.")] = False,
) -> None:
    """Verify an e-licence offline, against a downloaded trust list (exit 0 valid, 1 not)."""
    from tongban.credentials.verifying import TrustList

    text = typer.get_text_stream("stdin").read(MAX_FILE) if str(file) == "-" else None
    if text is None:
        if file.stat().st_size > MAX_FILE:
            typer.echo(f"error: {file} is larger than {MAX_FILE} bytes", err=True)
            raise typer.Exit(2)
        text = file.read_text(encoding="utf-8", errors="replace")
    try:
        trusted = TrustList(json.loads(trust_list.read_text(encoding="utf-8")))
    except (ValueError, KeyError) as exc:
        typer.echo(f"error: {trust_list} is not a trust list ({exc})", err=True)
        raise typer.Exit(2) from None
    verdict = trusted.check(text, nonce=nonce, aud=aud)
    if as_json:
        typer.echo(json.dumps(verdict.as_dict(), ensure_ascii=False, indent=1))
    else:
        typer.echo(
            ("VALID: " if verdict.valid else f"NOT VALID ({verdict.code}): ") + verdict.message
        )
        for label, value in (
            ("licence", verdict.licence_id),
            ("type", verdict.type_name),
            ("issuer", f"{verdict.issuer_name or ''} {verdict.issuer_code or ''}".strip()),
            ("status", verdict.status),
            ("valid until", verdict.valid_until),
        ):
            if value:
                typer.echo(f"  {label}: {value}")
        for name, value in verdict.claims.items():
            if name in verdict.disclosed:
                typer.echo(f"  disclosed {name}: {value}")
    raise typer.Exit(0 if verdict.valid else 1)


@group.command("trust-list")
def export_trust_list(
    out: Annotated[Path | None, typer.Option("--out", "-o", help="File (default: stdout).")] = None,
) -> None:
    """Export this node's trust list (issuer keys with their states, signed status lists)."""
    from tongban.credentials import service as credentials

    settings = load_settings()
    with unit(settings) as session:
        document = credentials.trust_list(session, settings=settings)
    text = json.dumps(document, ensure_ascii=False, indent=1)
    if out is None:
        typer.echo(text)
    else:
        out.write_text(text + "\n", encoding="utf-8")
        typer.echo(
            f"{len(document['keys'])} keys, {len(document['status_lists'])} status lists → {out}"
        )


@keys_group.command("list")
def list_keys() -> None:
    """Every issuer key: kid, state, thumbprint."""
    from tongban.credentials import service as credentials

    settings = load_settings()
    with unit(settings) as session:
        for key in credentials.issuer_keys(session):
            typer.echo(f"{key.kid}\t{key.state}\t{key.thumbprint}\t{key.department_name}")


@keys_group.command("rotate")
def rotate(
    department: Annotated[str, typer.Argument(help="The department's unified social credit code.")],
) -> None:
    """Give a department a new signing key; its licences signed before keep verifying."""
    from tongban.credentials import service as credentials

    settings = load_settings()
    with unit(settings) as session:
        made = credentials.rotate_key(session, department_code=department, settings=settings)
    typer.echo(f"new key {made.kid} ({made.thumbprint})")


@keys_group.command("retire")
def retire(
    kid: Annotated[str, typer.Argument(help="The key id, e.g. 11511600MB0150229L:k1.")],
) -> None:
    """Retire a key: anything it signs from now on is refused."""
    from tongban.credentials import service as credentials

    settings = load_settings()
    with unit(settings) as session:
        done = credentials.retire_key(session, kid=kid)
    typer.echo(f"retired {done.kid} at {done.retired_at}")
