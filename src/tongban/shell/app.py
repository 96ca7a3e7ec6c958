"""create_app(): routers, middleware and lifespan; nothing is built at import time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import text
from starlette.responses import JSONResponse

from tongban import __version__
from tongban.platform import heap
from tongban.platform.config import Settings, get_settings
from tongban.platform.db import Database
from tongban.platform.errors import install_error_handlers
from tongban.platform.metrics import install_metrics
from tongban.platform.web.limits import BodyLimitMiddleware
from tongban.shell.openapi import install_openapi

log = logging.getLogger(__name__)

# Background services started with the app (e.g. the ledger integrator); each returns a stopper.
BackgroundStarter = Callable[[FastAPI], Callable[[], None]]


def _include_routers(app: FastAPI) -> None:
    # Imported here so that building the app, not importing this module, loads the domains.
    from tongban.assistant.api import router as assistant_api
    from tongban.cases import intake, remote
    from tongban.cases.api import router as cases_api
    from tongban.cases.handling import (
        before_act,
        on_accepted,
        on_changed,
        on_completed,
        on_forward,
    )
    from tongban.catalog.api import router as catalog_api
    from tongban.consent import service as consent
    from tongban.consent.api import router as consent_api
    from tongban.consent.tracker import note_event
    from tongban.consent.tracker_api import router as tracker_api
    from tongban.credentials import service as credentials
    from tongban.credentials.api import router as credentials_api
    from tongban.credentials.api import well_known as credentials_issuer
    from tongban.events.service import on_stored
    from tongban.exchange import service as exchange
    from tongban.exchange.api import router as exchange_api
    from tongban.exchange.provider_api import router as exchange_nodes
    from tongban.federation import service as federation
    from tongban.federation.api import router as federation_api
    from tongban.guard.api import router as guard_api
    from tongban.identity.api import router as identity_api
    from tongban.insight.api import router as insight_api
    from tongban.insight.pages import router as insight_pages
    from tongban.ledger import service as ledger
    from tongban.ledger.api import router as ledger_api
    from tongban.regions.api import router as regions_api
    from tongban.reviews.api import router as reviews_api

    # Starlette tries routes in order and FastAPI matches each included router's routes twice
    # (once to choose it, once to handle): the busiest routes (cases) come first.
    for router in (
        cases_api,
        regions_api,
        identity_api,
        catalog_api,
        ledger_api,
        reviews_api,
        exchange_api,
        federation_api,
        credentials_api,
        consent_api,
        tracker_api,
        insight_api,
        assistant_api,
        guard_api,
    ):
        app.include_router(router, prefix="/api/v1")
    app.include_router(insight_pages)
    # The nodes' signed protocol (X-Road-style), outside the platform's /api/v1.
    app.include_router(exchange_nodes)
    # E-licences' issuer metadata (SD-JWT VC) at its well-known address.
    app.include_router(credentials_issuer)
    # The GovStack Registration building block (issue #21), only when enabled: its callers are
    # authenticated by an Information Mediator in front, not by sessions (docs/govstack.md).
    if app.state.settings.govstack_enabled:
        from tongban.govstack.api import router as govstack_api

        app.include_router(govstack_api)
    # Government-held papers are fetched at acceptance where sharing allows (cases knows no
    # exchange: the shell hands exchange's automatic fetch to cases' after-accept hooks).
    on_accepted(exchange.fetch_at_acceptance)
    # A case whose authority another node serves goes there; a tracking copy follows it and
    # takes no actions here (federation sits above cases: the shell hands its hooks in).
    before_act(federation.guard)
    on_changed(federation.changed)
    # ... but the applicant side's withdrawal, sent there; the case page shows it waiting.
    on_forward(federation.forward)
    remote.on_view(federation.view)
    # A completed, approved case of an item that yields a licence issues it (issue #17).
    on_completed(credentials.issue_at_completion)
    # 免证办: an e-licence stands in for a paper at submission, verified (issue #17).
    intake.on_licences(credentials.check_licences)
    # Consent sits below exchange: the shell tells it a resource's provider and fields.
    consent.on_describe_resource(exchange.consent_terms)
    # Nodes witness each other's ledgers: the ledger sits below exchange, so the shell hands it
    # the node directory (who the peers are, their log and witness keys; issue #18).
    ledger.use_directory(exchange.directory_entries)
    # Each use of a person's data writes its tracker line in the event's own transaction
    # (events knows no consent: the shell hands the tracker to events' hooks).
    on_stored(note_event)


def _include_pages(app: FastAPI) -> None:
    # HTML pages (every domain's pages.py), static files, CSRF, security headers, gzip.
    from tongban.shell.web import install_web

    install_web(app)


def _body_limits(settings: Settings) -> dict[str, Any]:
    """Body limits by route: what a route's files may weigh, plus what any request may."""
    allowance = settings.request_max_bytes
    files = [
        (r"/api/v1/uploads|/apply/[^/]+/materials|/desk/consents/[^/]+/record", 1),
        # Desk applications and 补正 answers (several files per requested item).
        (r"/desk/apply/[^/]+|/cases/[^/]+/act/supplement", settings.upload_form_max_files),
        # A GovStack document may come base64-encoded (a third larger): two files' worth.
        (r"/govstack/registration/documents", 2),
    ]
    routes = [(path, n * settings.upload_max_bytes + allowance) for path, n in files]
    # Catalog workbooks, by the API and by the import page.
    imports = r"/api/v1/catalog/import|/admin/catalog/import"
    routes.append((imports, settings.import_max_bytes + allowance))
    return {"default": allowance, "routes": routes}


def create_app(
    settings: Settings | None = None,
    database: Database | None = None,
    *,
    background: list[BackgroundStarter] | None = None,
) -> FastAPI:
    """Build the ASGI app for the given settings and database."""
    settings = settings or get_settings()
    starters = background or []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stoppers = [start(app) for start in starters]
        heap.settle_after_startup()  # what startup built stays: no full collection walks it
        try:
            yield
        finally:
            for stop in stoppers:
                stop()
            if database is None:
                app.state.database.dispose()

    app = FastAPI(
        title="Tongban 通办",
        version=__version__,
        description="Equalized digital government services: any service, any place, same standard.",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
    )
    app.state.settings = settings
    from tongban.cases import service as cases  # late, like the routers: the domains load here

    cases.use_pdf_font(settings.pdf_font)
    app.state.database = database or Database(settings.resolved_database_url())
    install_error_handlers(app)
    # Inside the security headers, CSRF and gzip (added later, so outside): a 413 gets them too.
    app.add_middleware(BodyLimitMiddleware, **_body_limits(settings))
    metrics_token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    install_metrics(app, token=metrics_token)
    from tongban.guard import service as guard  # the security brain's metrics (issue #20)

    guard.install_metrics(app)
    _include_routers(app)
    _include_pages(app)
    install_openapi(app)  # the contract: problem+json errors, parameter rules (shell/openapi.py)
    from tongban.exchange import service as exchange

    # Outermost (added last): the nodes' signed queries in their plain form are answered
    # ahead of the stack, with what it would add (exchange/provider_fast.py, issue #15).
    app.add_middleware(exchange.QueryFastPath)

    @app.get("/healthz", tags=["operations"])
    def healthz() -> JSONResponse:
        """Liveness and database reachability."""
        try:
            with app.state.database.sessions() as session:
                session.execute(text("SELECT 1"))
        except Exception:
            log.exception("health check failed")
            return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "up", "version": __version__})

    return app


def create_served_app() -> FastAPI:
    """The app as `tongban serve`/`demo` run it: with the ledger integrator in a thread."""
    settings = get_settings()
    background: list[BackgroundStarter] = []
    if settings.ledger_integrate_in_process:
        from tongban.ledger import service as ledger

        background.append(ledger.integrator_starter())
    from tongban.insight import service as insight

    # The insight dashboard's figures, read from the database before they go stale (issue #14).
    background.append(insight.refresher_starter())
    from tongban.assistant import service as assistant

    # The assistant's index, built before the first question rather than during it.
    background.append(assistant.warmer_starter())
    from tongban.federation import service as federation

    # Cases to and from other nodes over NATS JetStream (issue #18), when NATS is configured.
    fed = federation.get_federation_settings()
    if fed.nats_url:
        background.append(federation.starter(fed))
    # The national basic catalog: published by the national node, taken by the others.
    if fed.nats_url or fed.catalog_url:
        background.append(federation.catalog_starter(fed))
    from tongban.exchange import service as exchange

    # The fetches queued at acceptance, run once it has committed, and the scheduled node
    # directory reloads (issue #15).
    background.append(exchange.worker_starter())
    if settings.exchange_national_key or settings.exchange_directory_url:
        from tongban.ledger import service as ledger

        # A node of a directory pushes its checkpoints to the other nodes' witnesses and keeps
        # their cosignatures (issue #18); with no peer listed (yet) a round reads one table.
        background.append(ledger.pusher_starter())
    if settings.guard_in_process:
        from tongban.guard import service as guard

        # The security brain's detector over the events (issue #20).
        background.append(guard.worker_starter(every=0.5))
    return create_app(settings, background=background)
