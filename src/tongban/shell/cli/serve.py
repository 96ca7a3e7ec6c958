"""`tongban serve` and `tongban demo`: the platform over HTTP, with or without demo data."""

from __future__ import annotations

import logging
import socket
from typing import Annotated

import typer

from tongban.platform.config import Settings
from tongban.platform.db import Database, upgrade_database
from tongban.shell.cli.common import load_settings, opened


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Serve the platform over HTTP."""
    warn_without_public_url(load_settings(), host=host, port=port)
    run_server("tongban.shell.app:create_served_app", host=host, port=port, workers=workers)


def public_url_warning(settings: Settings, *, host: str, port: int) -> str | None:
    """Why a node without `public_base_url` prints paper it should not: the QR codes on
    receipts and result notices point at whatever address the page was asked on, here the
    loopback address no phone can open (and SMS notices carry no link)."""
    if settings.public_base_url:
        return None
    return (
        "warning: TONGBAN_PUBLIC_BASE_URL is not set: QR codes on receipts will point at "
        f"http://{host}:{port} (the address each page is asked on), which a phone cannot "
        "open, and SMS notices carry no link. Set it to the node's public address, e.g. "
        "TONGBAN_PUBLIC_BASE_URL=https://tongban.example.gov.cn"
    )


def warn_without_public_url(settings: Settings, *, host: str, port: int) -> None:
    """Print the public address warning (on stderr) when it applies."""
    warning = public_url_warning(settings, host=host, port=port)
    if warning:
        typer.secho(warning, err=True, fg=typer.colors.YELLOW)


def run_server(
    factory: str, *, host: str, port: int, workers: int = 1, log_level: str = "info"
) -> None:
    """Serve an app factory with uvicorn; several workers share a socket bound here."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(
        factory,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=False,
    )
    if workers <= 1:
        uvicorn.Server(config).run()
        return
    Multiprocess(config, sockets=[bind_shared_socket(host=host, port=port)]).run()


def bind_shared_socket(*, host: str, port: int) -> socket.socket:
    """A listening TCP socket for several worker processes to share.

    uvicorn binds its shared socket with protocol 0, and asyncio turns TCP_NODELAY on only for
    sockets whose protocol is IPPROTO_TCP: every response then waited ~40 ms for a delayed ACK
    (Nagle). Binding it here with the protocol set keeps responses immediate.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def load_demo_data(database: Database, *, settings: Settings | None = None) -> dict[str, int]:
    """Load regions, the seed catalog and one account per role, where absent."""
    from tongban.catalog import service as catalog
    from tongban.identity import service as identity
    from tongban.regions import service as regions

    settings = settings or load_settings()
    counts: dict[str, int] = {}
    with database.session_scope() as session:
        counts["regions"] = regions.load_builtin(session)
    with database.session_scope() as session:
        counts["catalog_items"] = catalog.load_seed(session)
    with database.session_scope() as session:
        counts["accounts"] = identity.create_demo_accounts(session, settings=settings)
    from tongban.exchange import service as exchange

    with database.session_scope() as session:
        counts.update(exchange.load_demo(session, settings=settings))
    from tongban.consent import service as consent

    consent.on_describe_resource(exchange.consent_terms)
    with database.session_scope() as session:
        counts.update(consent.load_consent_demo(session, settings=settings))
    # The demo citizen's data tracker: a case, its fetch, a look at his ID, a consent use (#16).
    with database.session_scope() as session:
        counts.update(
            consent.load_tracker_demo(
                session, settings=settings, fetch=exchange.fetch_at_acceptance
            )
        )
    exchange.run_queued_fetches(database, settings)
    from tongban.credentials import service as credentials

    # The demo citizen's e-licences (社会保障卡, 老年人优待证), issue #17.
    with database.session_scope() as session:
        counts.update(credentials.load_demo(session, settings=settings))
    from tongban.assistant.demo import load_demo as load_assistant_demo

    # Questions the service assistant could not answer, for the operators' page (issue #19).
    with database.session_scope() as session:
        counts.update(load_assistant_demo(session))
    from tongban.guard.demo import load_demo as load_guard_demo

    # A few real alerts on the security console (brute force, spraying, out of jurisdiction),
    # from documentation addresses only, no demo account blocked (issue #20).
    counts.update(load_guard_demo(database, settings=settings))
    if settings.govstack_enabled:
        # The GovStack building block's conformance samples, when it is served (issue #21).
        from tongban.govstack.samples import load_samples

        with database.session_scope() as session:
            loaded = load_samples(session, settings=settings)
        counts.update({f"govstack_{name}": count for name, count in loaded.items()})
    return counts


def demo_usernames() -> list[str]:
    """The demo accounts' login names, in the order identity creates them."""
    from tongban.identity import demo

    return [spec["username"] for spec in demo._ACCOUNTS]


def demo(
    load_only: Annotated[
        bool, typer.Option("--load-only", help="Load demo data, do not serve.")
    ] = False,
    host: str = "127.0.0.1",
    port: int = 8000,
) -> None:
    """Migrate, load demo data if absent, then serve."""
    from tongban.identity.service import DEMO_PASSWORD

    logging.basicConfig(level=logging.INFO)
    settings = load_settings()
    warn_without_public_url(settings, host=host, port=port)
    upgrade_database(settings.resolved_database_url())
    with opened(settings) as database:
        counts = load_demo_data(database, settings=settings)
    typer.echo("demo data: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    typer.echo(f"demo accounts (password '{DEMO_PASSWORD}'): " + ", ".join(demo_usernames()))
    if not load_only:
        typer.echo(f"serving on http://{host}:{port}  (API docs: /api/docs)")
        # Not serve(): it would print the public address warning a second time.
        run_server("tongban.shell.app:create_served_app", host=host, port=port, workers=1)
