"""The Jinja2 environment, the per-request page context (Ui) and the form re-render helpers."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Generic, TypeVar
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import Request
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse, RedirectResponse, Response

from tongban.platform.errors import FieldError, Invalid, Unauthorized
from tongban.platform.web import glossary, i18n, names
from tongban.platform.web.csrf import CSRF_FIELD

STATIC_DIR = Path(__file__).parent / "static"
# Layouts first, then each domain's page templates (named "<domain>/<page>.html"), added by
# the domains' pages modules with add_templates before the first page is rendered.
TEMPLATE_DIRS = [Path(__file__).parent / "templates"]


def add_templates(directory: Path) -> None:
    """Let pages find the templates in `directory` (a domain's templates/ folder)."""
    if directory not in TEMPLATE_DIRS:
        TEMPLATE_DIRS.append(directory)
        environment.cache_clear()


SHANGHAI = ZoneInfo("Asia/Shanghai")

ELDERLY_COOKIE = "tb_elderly"
NOTICE_COOKIE = "tb_notice"
STASH_COOKIE = "tb_stash"
STASH_MAX_BYTES = 3500
COOKIE_MAX_AGE = 365 * 24 * 3600


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated where it is shown."""
    return message


# Short confirmations shown once after a redirect (post/redirect/get); pages add their own.
NOTICES: dict[str, str] = {
    "saved": N_("Your settings are saved."),
    "logged_in": N_("You are logged in."),
    "logged_out": N_("You are logged out."),
    "registered": N_("Your account is ready. You are logged in."),
    "restored": N_("We kept what you had entered. Check it and send the form again."),
}

# What to tell the user about a wrong field when the domain's own message has no translation.
FIELD_HINTS: dict[str, str] = {
    "username": N_("Enter a user name of 3 to 64 letters, digits or . _ @ -"),
    "password": N_("Enter a password of at least 8 characters."),
    "password_confirm": N_("The two passwords must be the same."),
    "resident_id": N_("Enter a valid 18-character resident ID number."),
    "phone": N_("Enter a valid 11-digit mobile phone number."),
    "display_name": N_("Enter your name."),
    "q": N_("Enter what you are looking for."),
    "region": N_("Choose a valid region."),
    "region_code": N_("Choose a valid region."),
    "locale": N_("Choose a language."),
    "relation": N_("Choose how the person is related to you."),
    "agent": N_("Enter the user name or phone number of the person you authorise."),
    "expires_at": N_("Enter a valid end date."),
    "reason": N_("Write a short reason."),
    "opinion": N_("Write a short reason."),
    "file": N_("Choose a file to upload."),
}
GENERIC_HINT = N_("Check this entry.")


def static_url(name: str) -> str:
    """The URL of a static file, versioned by its content so that it can be cached forever."""
    return f"/static/{name}?v={_static_digest(name)}"


@lru_cache(maxsize=32)
def _static_digest(name: str) -> str:
    return hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:12]


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A UTC timestamp shown in Asia/Shanghai time."""
    if value is None:
        return ""
    return value.astimezone(SHANGHAI).strftime(fmt)


@lru_cache(maxsize=len(i18n.LOCALES))
def environment(locale: str) -> Environment:
    """The Jinja2 environment of one locale (its gettext installed; shared by all requests)."""
    env = Environment(
        loader=FileSystemLoader([str(p) for p in TEMPLATE_DIRS]),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(i18n.translations(locale), newstyle=True)  # type: ignore[attr-defined]
    env.globals["static_url"] = static_url
    env.globals["CSRF_FIELD"] = CSRF_FIELD
    env.filters["tuple_pair"] = lambda value: (value, value)
    env.filters["localtime"] = local_time
    env.filters["localdate"] = lambda v: local_time(v, "%Y-%m-%d")
    # Words for people: catalog names in the reader's language, jargon explained inline.
    env.filters["local_name"] = names.local_name
    env.globals["term"] = glossary.term
    return env


@dataclass
class FormState:
    """A form's submitted values and its errors (field -> message, already translated)."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    multi: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, str]], *, keep_secrets: bool = False) -> FormState:
        """The values a user sent (passwords and the CSRF token are never echoed back)."""
        state = cls()
        for key, value in pairs:
            if key == CSRF_FIELD or (not keep_secrets and "password" in key):
                continue
            state.values[key] = value
            state.multi.setdefault(key, []).append(value)
        return state

    def value(self, name: str, default: str = "") -> str:
        """The value to put back in a field."""
        return self.values.get(name, default)

    def values_of(self, name: str) -> list[str]:
        """All values of a repeated field (checkboxes)."""
        return self.multi.get(name, [])

    def error(self, name: str) -> str | None:
        """The message for one field, if it is wrong."""
        return self.errors.get(name)

    def add(self, name: str, message: str) -> None:
        """Record a (translated) message for a field; the first message of a field wins."""
        self.errors.setdefault(name, message)

    @property
    def has_errors(self) -> bool:
        """True when at least one field is wrong."""
        return bool(self.errors)


ActorT = TypeVar("ActorT")


@dataclass
class Ui(Generic[ActorT]):
    """Everything a page needs about the request: language, mode, user, CSRF token.

    The actor's type is the identity domain's (tongban.identity.deps.PageUi); the kit only
    needs to know whether there is one.
    """

    request: Request
    session: Session | None
    locale: str
    elderly: bool
    actor: ActorT | None
    csrf_token: str
    account_name: str | None = None
    notices: list[str] = field(default_factory=list)
    _clear_cookies: set[str] = field(default_factory=set)

    @property
    def lang(self) -> str:
        """The value of the html lang attribute."""
        return i18n.BCP47[self.locale]

    @property
    def data_lang(self) -> Markup:
        """A lang attribute for catalog and case data (written in Chinese) on English pages."""
        return Markup(' lang="zh-CN"') if self.locale == "en" else Markup("")

    def gettext(self, message: str) -> str:
        """Translate a message into the page's language."""
        return str(i18n.translations(self.locale).gettext(message))

    def field_message(self, error: FieldError) -> str:
        """A user-facing message for a domain field error, in the page's language."""
        translated = self.gettext(error.message)
        if translated != error.message or self.locale == "en":
            return translated
        leaf = error.field.rsplit(".", 1)[-1]
        return self.gettext(FIELD_HINTS.get(leaf, GENERIC_HINT))

    def form_errors(
        self, form: FormState, exc: Invalid, *, aliases: Mapping[str, str] | None = None
    ) -> FormState:
        """Attach a domain Invalid's field errors to the form (field names mapped by aliases)."""
        aliases = aliases or {}
        for error in exc.errors or [FieldError("form", exc.detail)]:
            name = aliases.get(error.field, error.field)
            form.add(name, self.field_message(error))
        if not form.errors:
            form.add("form", self.gettext(exc.detail))
        return form

    def require_actor(self) -> ActorT:
        """The logged-in user, or Unauthorized (which sends them to the login page)."""
        if self.actor is None:
            raise Unauthorized("Log in to continue.")
        return self.actor

    def restored_form(self) -> FormState | None:
        """The form this user was filling on this page when their session expired, if any."""
        raw = self.request.cookies.get(STASH_COOKIE)
        if not raw:
            return None
        self._clear_cookies.add(STASH_COOKIE)
        try:
            data = json.loads(base64.urlsafe_b64decode(raw.encode()))
            if data.get("p") != self.request.url.path:
                return None
            pairs = [(str(k), str(v)) for k, v in data.get("f", [])]
        except (ValueError, TypeError, AttributeError):
            return None
        self.notices.append(self.gettext(NOTICES["restored"]))
        return FormState.of(pairs)

    def render(self, template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
        """Render a page template in the user's language and mode."""
        html = environment(self.locale).get_template(template).render(ui=self, **context)
        response = HTMLResponse(html, status_code=status_code)
        self._finish(response)
        return response

    def redirect(self, url: str, *, notice: str | None = None) -> RedirectResponse:
        """See-other redirect after a POST, with an optional one-time notice."""
        response = RedirectResponse(url, status_code=303)
        if notice is not None:
            response.set_cookie(NOTICE_COOKIE, notice, httponly=True, samesite="lax", path="/")
        self._finish(response)
        return response

    def _finish(self, response: Response) -> None:
        for name in self._clear_cookies:
            response.delete_cookie(name, path="/")
        # Personal pages must not be kept by shared computers' caches (village stations).
        response.headers["cache-control"] = "no-store" if self.actor else "private, no-cache"
        response.headers["vary"] = "Cookie, Accept-Language"


def build_ui(
    request: Request,
    *,
    session: Session | None = None,
    actor: ActorT | None = None,
    account_locale: str | None = None,
    account_elderly: bool | None = None,
    account_name: str | None = None,
) -> Ui[ActorT]:
    """The page context of a request (also used by error handlers, without a session)."""
    locale = i18n.negotiate(
        cookie=request.cookies.get(i18n.LOCALE_COOKIE),
        account_locale=account_locale,
        accept_language=request.headers.get("accept-language"),
    )
    # Like the language: this device's explicit choice, else the account's, else standard.
    device_choice = request.cookies.get(ELDERLY_COOKIE)
    elderly = device_choice == "1" if device_choice in ("0", "1") else bool(account_elderly)
    csrf_token = getattr(request.state, "csrf_token", "")
    ui: Ui[ActorT] = Ui(
        request=request,
        session=session,
        locale=locale,
        elderly=elderly,
        actor=actor,
        csrf_token=csrf_token,
        account_name=account_name or getattr(actor, "display_name", None),
    )
    notice = request.cookies.get(NOTICE_COOKIE)
    if notice:
        ui._clear_cookies.add(NOTICE_COOKIE)
        if notice in NOTICES:
            ui.notices.append(ui.gettext(NOTICES[notice]))
    return ui


def stash_form(response: Response, *, path: str, pairs: Iterable[tuple[str, str]]) -> None:
    """Keep a form (secrets left out) in a short-lived cookie so that it survives a login."""
    kept = [(k, v) for k, v in pairs if k != CSRF_FIELD and "password" not in k and len(v) <= 2000]
    raw = base64.urlsafe_b64encode(
        json.dumps({"p": path, "f": kept}, ensure_ascii=False).encode()
    ).decode()
    if len(raw) <= STASH_MAX_BYTES:
        response.set_cookie(
            STASH_COOKIE, raw, max_age=3600, httponly=True, samesite="lax", path="/"
        )


def safe_next(value: str | None, default: str = "/") -> str:
    """A local path to return to after login (never another site)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    return value


def login_url(next_path: str) -> str:
    """The login page that returns to `next_path` afterwards."""
    return "/login?next=" + quote(next_path, safe="/")
