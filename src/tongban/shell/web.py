"""Mount the web front on the app: static files, page routers, middlewares, page errors."""

from __future__ import annotations

import inspect
import logging
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from tongban.identity.policy import Refused
from tongban.platform.errors import AppError, Forbidden, NotFound, Unauthorized
from tongban.platform.web.csrf import CsrfFailed, CsrfGuard, CsrfMiddleware, verify_csrf
from tongban.platform.web.rendering import N_, STATIC_DIR, Ui, build_ui, login_url, stash_form
from tongban.platform.web.security import SecurityHeadersMiddleware

log = logging.getLogger(__name__)

# /exchange/v1: the nodes' signed protocol (exchange/provider_api.py) answers problem+json.
_NOT_PAGES = ("/api", "/healthz", "/metrics", "/static", "/exchange/v1/")

ERROR_TITLES: dict[int, str] = {
    400: N_("Something is wrong with the request"),
    403: N_("You cannot do this"),
    404: N_("Page not found"),
    405: N_("Page not found"),
    409: N_("This cannot be done now"),
    412: N_("Someone changed this in the meantime"),
    413: N_("The file is too large"),
    422: N_("Some entries are not right"),
    429: N_("Too many attempts"),
    500: N_("Sorry, something went wrong"),
}
ERROR_DETAILS: dict[int, str] = {
    403: N_("Your account does not have the right to open this page."),
    404: N_("Check the address, or start again from the home page."),
    405: N_("Check the address, or start again from the home page."),
    409: N_("The request clashes with the current state. Go back, reload the page and try again."),
    412: N_("Reload the page to see the latest version, then try again."),
    413: N_("Choose a smaller file and try again."),
    422: N_("Go back and check what you entered."),
    429: N_("Wait a few minutes, then try again."),
    500: N_("The problem has been logged. Please try again later."),
}
CSRF_TITLE = N_("This form has expired")
CSRF_DETAIL = N_(
    "For your safety, forms stop working after a while. Go back, reload the page and send it again."
)


class CachedStatic(StaticFiles):
    """Static files with a far-future cache: their URLs carry a content hash (static_url)."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["cache-control"] = "public, max-age=31536000, immutable"
        return response


def is_page(request: Request | Scope) -> bool:
    """True for HTML page paths (not the JSON API, health, metrics or static files)."""
    path = request.url.path if isinstance(request, Request) else request["path"]
    return not path.startswith(_NOT_PAGES)


def error_page(
    request: Request, status: int, *, detail: str | None = None, csrf: bool = False
) -> Response:
    """A translated error page for HTML requests."""
    ui: Ui[object] = build_ui(request)
    title = ui.gettext(CSRF_TITLE if csrf else ERROR_TITLES.get(status, ERROR_TITLES[500]))
    text = ui.gettext(CSRF_DETAIL) if csrf else None
    if text is None and detail:
        translated = ui.gettext(detail)
        if translated != detail or ui.locale == "en":
            text = translated
    if text is None:
        text = ui.gettext(ERROR_DETAILS.get(status, ERROR_DETAILS[500]))
    return ui.render("error.html", status_code=status, title=title, detail=text)


async def _delegate(handler: Any, request: Request, exc: Exception) -> Response:
    """Call the API's own handler (sync or async) for non-page paths."""
    result = handler(request, exc)
    if inspect.isawaitable(result):
        result = await result
    assert isinstance(result, Response)
    return result


def _refusal_of(request: Request, exc: AppError) -> tuple[Refused, bool] | None:
    """The refused authorization behind an error, and whether it was hidden: a route that
    hides what one may not see answers 404 for a refusal (`except Forbidden: raise NotFound`),
    and the NotFound keeps the refusal as its context. A refusal that did not come from
    authorize() (a proxy check, a case's parties) is named after the route (`route.<name>`)."""
    if isinstance(exc, Refused):
        return exc, False
    if not isinstance(exc, NotFound):
        return None
    cause: BaseException | None = exc.__context__
    for _ in range(3):
        if isinstance(cause, Refused):
            return cause, True
        if isinstance(cause, Forbidden):
            actor = getattr(request.state, "actor", None)
            if actor is None:
                return None
            route = getattr(request.scope.get("endpoint"), "__name__", "unknown")
            refusal = Refused(cause.detail, actor=actor, action=f"route.{route}"[:64], why="scope")
            return refusal, True
        if cause is None:
            break
        cause = cause.__context__
    return None


async def _record_refusal(request: Request, error: Refused, *, hidden: bool = False) -> None:
    """A refused authorization outlives the request it refused (`auth.refused`, written in a
    unit of work of its own, for the security brain), also when it was answered 404 to hide
    the resource; a failure to record it is logged."""
    from tongban.identity import service as identity

    try:
        await run_in_threadpool(
            lambda: identity.record_refusal(
                request.app.state.database,
                error,
                settings=request.app.state.settings,
                client_ip=request.client.host if request.client else "unknown",
                method=request.method,
                user_agent=request.headers.get("user-agent"),
                hidden=hidden,
            )
        )
    except Exception:
        log.exception("recording a refused authorization failed")


def _page_error_handlers(app: FastAPI) -> None:
    api_app_error = app.exception_handlers[AppError]
    api_validation = app.exception_handlers[RequestValidationError]
    api_http = app.exception_handlers[StarletteHTTPException]
    api_unexpected = app.exception_handlers[Exception]

    async def app_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, AppError)
        refusal = _refusal_of(request, exc)
        if refusal is not None:
            await _record_refusal(request, refusal[0], hidden=refusal[1])
        if not is_page(request):
            return await _delegate(api_app_error, request, exc)
        if isinstance(exc, Unauthorized):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            response = RedirectResponse(login_url(target), status_code=303)
            if request.method == "POST":
                stash_form(
                    response,
                    path=request.url.path,
                    pairs=getattr(request.state, "form_pairs", []),
                )
            return response
        return error_page(request, exc.status, detail=exc.detail, csrf=isinstance(exc, CsrfFailed))

    async def validation(request: Request, exc: Exception) -> Response:
        if not is_page(request):
            return await _delegate(api_validation, request, exc)
        return error_page(request, 422)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if not is_page(request):
            return await _delegate(api_http, request, exc)
        return error_page(request, exc.status_code)

    async def unexpected(request: Request, exc: Exception) -> Response:
        if not is_page(request):
            return await _delegate(api_unexpected, request, exc)
        log.exception("unhandled error on page %s %s", request.method, request.url.path)
        return error_page(request, 500)

    app.add_exception_handler(AppError, app_error)
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)


def install_web(app: FastAPI) -> None:
    """Add the web front: page routers (CSRF-checked), static files, headers, gzip, errors."""
    from tongban.assistant.pages import router as assistant_pages
    from tongban.cases.pages import router as cases_pages
    from tongban.cases.pages.common import set_licences, set_shared_materials, set_shared_resources
    from tongban.catalog import service as catalog
    from tongban.catalog.import_pages import router as catalog_import_pages
    from tongban.catalog.pages import router as catalog_pages
    from tongban.catalog.pages import set_licence_lines
    from tongban.catalog.pages import set_shared_resources as set_guide_shared
    from tongban.consent.pages import router as consent_pages
    from tongban.consent.tracker_pages import router as tracker_pages
    from tongban.credentials import service as credentials
    from tongban.credentials.pages import router as credentials_pages
    from tongban.exchange import service as exchange
    from tongban.exchange.pages import router as exchange_pages
    from tongban.exchange.steward_pages import router as exchange_steward_pages
    from tongban.guard.pages import router as guard_pages
    from tongban.identity import service as identity
    from tongban.identity.deps import csrf_secret
    from tongban.identity.pages import router as identity_pages
    from tongban.identity.pages import set_item_names
    from tongban.platform.web.names import set_name_lookup
    from tongban.reviews.pages import router as reviews_pages
    from tongban.shell.glossary import router as glossary_pages
    from tongban.shell.ledger_pages import router as ledger_pages
    from tongban.shell.pages import router as web_pages

    settings = app.state.settings
    # Authorisations limited to some services name them (identity knows no catalog).
    set_item_names(catalog.item_name)
    # The case checklist names what data sharing brought (cases knows no exchange).
    set_shared_materials(
        lambda session, number: exchange.shared_materials(session, case_number=number)
    )
    # 免证办: the apply form offers the applicant's e-licences; the case shows them verified.
    set_licences(
        offers=credentials.licence_offers,
        uses=credentials.licence_uses,
        lines=credentials.licence_materials,
    )
    set_licence_lines(credentials.licence_materials)
    # Guides and the apply form say which papers departments share (无需提交，由部门共享获取).
    set_shared_resources(exchange.resource_names)
    set_guide_shared(exchange.resource_names)
    # Pages in English mode show the catalog's English names (the kit knows no catalog).
    set_name_lookup(
        lambda session, name, locale: catalog.display_name(session, name=name, locale=locale)
    )
    pages = (
        web_pages,
        identity_pages,
        catalog_pages,
        catalog_import_pages,
        cases_pages,
        reviews_pages,
        exchange_pages,
        exchange_steward_pages,
        consent_pages,
        tracker_pages,
        credentials_pages,
        glossary_pages,
        assistant_pages,
        guard_pages,
        ledger_pages,
    )
    for router in pages:
        app.include_router(router, dependencies=[Depends(verify_csrf)])
    app.mount("/static", CachedStatic(directory=STATIC_DIR), name="static")
    # Tokens are bound to the session (identity's cookie) with a key derived from the node's
    # identity keys; forms may come from this server's own origin or the public base URL.
    guard = CsrfGuard(
        secret=lambda: csrf_secret(settings),
        session_cookie=identity.SESSION_COOKIE,
        secure=settings.cookie_secure,
        trusted_origins=(settings.public_base_url, *settings.trusted_origins),
    )
    app.state.csrf_guard = guard
    app.add_middleware(CsrfMiddleware, guard=guard)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(GZipMiddleware, minimum_size=500)
    _page_error_handlers(app)
