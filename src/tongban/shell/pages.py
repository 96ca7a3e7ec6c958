"""General pages: home (search and the most-used services), settings, language and mode."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form
from sqlalchemy.orm import Session
from starlette.responses import Response

from tongban.catalog import service as catalog
from tongban.identity import service as identity
from tongban.identity.deps import PageUi
from tongban.platform.errors import Invalid, NotFound
from tongban.platform.web import i18n
from tongban.platform.web.deps import AppSettings, DbSession
from tongban.platform.web.rendering import (
    COOKIE_MAX_AGE,
    ELDERLY_COOKIE,
    FormState,
    Ui,
    add_templates,
    safe_next,
)
from tongban.regions import service as regions

router = APIRouter(tags=["pages"], include_in_schema=False)
add_templates(Path(__file__).parent / "templates")

HOME_SERVICES = 8
HOME_BUNDLES = 6


@router.get("/")
def home(ui: PageUi, session: DbSession, settings: AppSettings) -> Response:
    """Home: one search box, the elderly-mode entry and the most-used services."""
    hits, _total = catalog.search_items(session, limit=HOME_SERVICES)
    return ui.render(
        "home.html",
        title=ui.gettext("Government services"),
        hits=hits,
        bundles=node_bundles(session, settings.node_region),
    )


def _remember(ui: Ui, response: Response, *, locale: str | None, elderly: bool | None) -> None:
    """Persist a choice in the account (when logged in) and in a cookie (always)."""
    if ui.actor is not None and ui.session is not None:
        identity.update_preferences(
            ui.session,
            account_id=ui.actor.account_id,
            locale=i18n.BCP47[locale] if locale else None,
            elderly_mode=elderly,
        )
    if locale is not None:
        response.set_cookie(
            i18n.LOCALE_COOKIE, locale, max_age=COOKIE_MAX_AGE, samesite="lax", path="/"
        )
    if elderly is not None:
        response.set_cookie(
            ELDERLY_COOKIE,
            "1" if elderly else "0",
            max_age=COOKIE_MAX_AGE,
            samesite="lax",
            path="/",
        )


@router.post("/settings/language")
def set_language(
    ui: PageUi, locale: Annotated[str, Form()], next: Annotated[str, Form()] = "/"
) -> Response:
    """Switch the language and go back to the page the user was on."""
    chosen = i18n.normalize(locale) or i18n.DEFAULT_LOCALE
    response = ui.redirect(safe_next(next))
    _remember(ui, response, locale=chosen, elderly=None)
    return response


@router.post("/settings/elderly")
def set_elderly(
    ui: PageUi, elderly: Annotated[str, Form()], next: Annotated[str, Form()] = "/"
) -> Response:
    """Turn elderly mode (长辈版) on or off and go back to the page the user was on."""
    response = ui.redirect(safe_next(next))
    _remember(ui, response, locale=None, elderly=elderly == "1")
    return response


@router.get("/settings")
def settings_page(ui: PageUi) -> Response:
    """Language and elderly mode, for everyone; saved in the account when logged in."""
    form = FormState(values={"locale": ui.locale, "elderly": "1" if ui.elderly else "0"})
    return ui.render("settings.html", title=ui.gettext("Settings"), form=form)


@router.post("/settings")
def save_settings(
    ui: PageUi,
    locale: Annotated[str, Form()] = "",
    elderly: Annotated[str, Form()] = "",
) -> Response:
    """Save language and elderly mode."""
    form = FormState(values={"locale": locale, "elderly": elderly})
    chosen = i18n.normalize(locale) if locale in i18n.LOCALES else None
    if chosen is None:
        form.add("locale", ui.gettext("Choose a language."))
    if elderly not in ("0", "1"):
        form.add("elderly", ui.gettext("Choose standard view or elderly mode."))
    if form.has_errors:
        return ui.render("settings.html", title=ui.gettext("Settings"), form=form, status_code=422)
    response = ui.redirect("/settings", notice="saved")
    _remember(ui, response, locale=chosen, elderly=elderly == "1")
    return response


def node_bundles(session: Session, node_region: str) -> list[tuple[catalog.BundleRead, str]]:
    """The bundles (一件事) this node offers: in its region, above it or below it."""
    prefix = regions.significant_prefix(node_region)
    try:
        above = {b.code for b in catalog.list_bundles(session, region=node_region)}
    except (Invalid, NotFound):  # the node's region is not loaded yet
        above = set()
    shown = [
        b
        for b in catalog.list_bundles(session)
        if b.code in above or b.region_code.startswith(prefix)
    ][:HOME_BUNDLES]
    names = {b.region_code: regions.find(session, code=b.region_code) for b in shown}
    return [(b, getattr(names[b.region_code], "name", b.region_code)) for b in shown]
