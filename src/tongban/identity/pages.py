"""HTML pages of the identity domain: log in, register, log out, family authorisations; my
account and the clerk's identity desk (account_pages.py), forgotten passwords
(password_pages.py)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from tongban.identity import accounts, authentication, login_sessions, proxies
from tongban.identity import service as identity
from tongban.identity.account_pages import retry_time
from tongban.identity.account_pages import router as account_router
from tongban.identity.cookies import clear_session_cookie, set_session_cookie
from tongban.identity.deps import PageUi
from tongban.identity.password_pages import router as password_router
from tongban.platform.db import uow
from tongban.platform.errors import Conflict, Invalid, TooManyRequests
from tongban.platform.web.csrf import rotate_csrf
from tongban.platform.web.deps import AppSettings, DbSession, RowId
from tongban.platform.web.rendering import (
    N_,
    NOTICES,
    SHANGHAI,
    FormState,
    Ui,
    add_templates,
    safe_next,
)

router = APIRouter(tags=["identity pages"], include_in_schema=False)
router.include_router(account_router)
router.include_router(password_router)
add_templates(Path(__file__).parent / "templates")

NOTICES.update(
    proxy_granted=N_("The authorisation is saved. It takes effect when they accept it."),
    proxy_revoked=N_("The authorisation is withdrawn."),
    proxy_confirmed=N_("You accepted: you may now act for them."),
    proxy_declined=N_("Done: you no longer act for them."),
)
CLERK_RELATION = N_("Service-point clerk")  # given by the agent's role, never chosen
RELATIONS: tuple[tuple[str, str], ...] = (
    ("child", N_("My child")),
    ("spouse", N_("My husband or wife")),
    ("grandchild", N_("My grandchild")),
    ("sibling", N_("My brother or sister")),
    ("parent", N_("My parent")),
    ("relative", N_("Another relative")),
    ("other", N_("Someone else I trust")),
)
LOGIN_FAILED = N_("The user name or the password is wrong.")
LOGIN_LOCKED = N_(
    "Too many wrong attempts. You can try again after %(time)s. Forgot your password? Set a "
    "new one with a code by text message, or get help at any service point or on the 12345 "
    "hotline."
)
ACCOUNT_EXISTS = N_(
    "An account with this phone number or ID number already exists. Log in instead."
)
PASSWORDS_DIFFER = N_("The two passwords must be the same.")
TEMPORARY_EXPIRED = N_(
    "This temporary password has expired. Set a new password with a code by text message, or "
    "ask at any service point for a new temporary password."
)


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# Where each role starts when the login came from no particular page: the people behind the
# counter land on their desk, not on the citizens' home page.
ROLE_HOME: dict[str, str] = {
    identity.Role.OFFICIAL.value: "/work",
    identity.Role.CLERK.value: "/desk",
}


def _landing(role: str, target: str) -> str:
    return ROLE_HOME.get(role, target) if target == "/" else target


def _login_page(ui: Ui, form: FormState, next_path: str, status_code: int = 200) -> Response:
    return ui.render(
        "identity/login.html",
        title=ui.gettext("Log in"),
        form=form,
        next_path=next_path,
        status_code=status_code,
    )


@router.get("/login")
def login_page(ui: PageUi, next: str = "/") -> Response:
    """The login form; `next` is where the user returns afterwards."""
    ui.csrf_token = rotate_csrf(ui.request)  # a new pre-session: no token from before works
    return _login_page(ui, FormState(), safe_next(next))


@router.post("/login")
def login_submit(
    request: Request,
    ui: PageUi,
    session: DbSession,
    settings: AppSettings,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the credentials, open a session and return to where the user was."""
    form = FormState(values={"username": username})
    target = safe_next(next)
    if not username.strip():
        form.add("username", ui.gettext("Enter your user name or phone number."))
    if not password:
        form.add("password", ui.gettext("Enter your password."))
    if form.has_errors:
        return _login_page(ui, form, target, 422)
    try:
        result = login_sessions.login(
            session,
            username=username,
            password=password,
            client_ip=_client_ip(request),
            user_agent=request.headers.get("user-agent"),
            settings=settings,
        )
    except authentication.TemporaryPasswordExpired:
        form.add("password", ui.gettext(TEMPORARY_EXPIRED))
        return _login_page(ui, form, target, 401)
    except authentication.LoginFailed:
        # Returning normally commits the failed attempt, so the rate limit counts it.
        form.add("username", ui.gettext(LOGIN_FAILED))
        return _login_page(ui, form, target, 401)
    except TooManyRequests as exc:
        seconds = (exc.headers or {}).get("Retry-After", "60")
        form.add("form", ui.gettext(LOGIN_LOCKED) % {"time": retry_time(int(seconds))})
        response = _login_page(ui, form, target, 429)
        response.headers["Retry-After"] = seconds
        return response
    except Invalid as exc:
        return _login_page(ui, ui.form_errors(form, exc), target, 422)
    rotate_csrf(request)  # the new session's pages carry new tokens
    target = _landing(result.account.role, target)
    if result.account.password_must_change:
        # A temporary password from a service point: the owner chooses their own first.
        response = ui.redirect(
            "/account/password?next=" + quote(target, safe="/"), notice="must_change_password"
        )
    else:
        response = ui.redirect(target, notice="logged_in")
    set_session_cookie(response, result.token, settings)
    return response


@router.post("/logout")
def logout_submit(
    ui: PageUi, session: DbSession, request: Request, settings: AppSettings
) -> Response:
    """End the session and clear its cookie."""
    token = request.cookies.get(identity.SESSION_COOKIE)
    if token:
        login_sessions.logout(session, session_token=token)
    ui.actor = None
    rotate_csrf(request)
    response = ui.redirect("/", notice="logged_out")
    clear_session_cookie(response, settings)
    return response


def _register_page(ui: Ui, form: FormState, status_code: int = 200) -> Response:
    return ui.render(
        "identity/register.html",
        title=ui.gettext("Register"),
        form=form,
        status_code=status_code,
    )


@router.get("/register")
def register_page(ui: PageUi) -> Response:
    """The self-registration form for citizens."""
    return _register_page(ui, FormState())


@router.post("/register")
def register_submit(
    request: Request,
    ui: PageUi,
    session: DbSession,
    settings: AppSettings,
    display_name: Annotated[str, Form()] = "",
    resident_id: Annotated[str, Form()] = "",
    phone: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    password_confirm: Annotated[str, Form()] = "",
) -> Response:
    """Create a citizen account and log it in."""
    form = FormState(
        values={"display_name": display_name, "resident_id": resident_id, "phone": phone}
    )
    step = uow.savepoint(session)
    try:
        accounts.register_citizen(
            session,
            resident_id=resident_id.strip(),
            phone=phone.strip(),
            password=password,
            display_name=display_name.strip(),
            settings=settings,
        )
    except Invalid as exc:
        ui.form_errors(form, exc)
    except Conflict:
        form.add("phone", ui.gettext(ACCOUNT_EXISTS))
    if password and password != password_confirm and not form.error("password"):
        form.add("password_confirm", ui.gettext(PASSWORDS_DIFFER))
    if form.has_errors:
        step.undo()
        return _register_page(ui, form, 422)
    step.keep()
    result = login_sessions.login(
        session,
        username=phone.strip(),
        password=password,
        client_ip=_client_ip(request),
        user_agent=request.headers.get("user-agent"),
        settings=settings,
    )
    rotate_csrf(request)
    # The ID number is only claimed: the account page says how to get it verified.
    response = ui.redirect("/account", notice="registered_claimed")
    set_session_cookie(response, result.token, settings)
    return response


# The names of basic items, for authorisations limited to some of them. Identity knows no
# catalog (it is below it): the shell hands in the lookup (shell/web.py).
ItemNames = Callable[[Session, str], str | None]
_item_names: list[ItemNames] = [lambda _session, _code: None]
_ITEM_CODE = re.compile(r"^[0-9A-Za-z-]{1,64}$")


def set_item_names(lookup: ItemNames) -> None:
    """Name basic items on the authorisation pages with `lookup(session, code)`."""
    _item_names[0] = lookup


def _item_name(session: Session, code: str) -> str | None:
    return _item_names[0](session, code) if _ITEM_CODE.match(code) else None


def _proxies_page(ui: Ui, session: DbSession, form: FormState, status_code: int = 200) -> Response:
    actor = ui.require_actor()
    # Agents (relatives, clerks) answer grants here; citizens also grant them.
    identity.authorize(actor, "proxies.answer_own", {"owner_id": actor.account_id})
    can_grant = identity.allowed(actor, "proxies.manage_own", {"owner_id": actor.account_id})
    granted = proxies.list_proxies(session, principal_id=actor.account_id)
    held = proxies.list_proxies(session, agent_id=actor.account_id)
    names: dict[int, str] = {}
    for row in (*granted, *held):
        for account_id in (row.agent_id, row.principal_id):
            if account_id not in names:
                names[account_id] = accounts.get_account(
                    session, account_id=account_id
                ).display_name
    codes = {c for row in (*granted, *held) if not row.all_items for c in row.item_codes or []}
    item = form.value("item")
    codes |= {item} if item else set()
    item_names = {c: _item_name(session, c) or c for c in codes}
    return ui.render(
        "identity/proxies.html",
        title=ui.gettext("Family authorisations"),
        item_names=item_names,
        form=form,
        granted=[(row, proxies.proxy_status(row)) for row in granted],
        held=[(row, proxies.proxy_status(row)) for row in held],
        names=names,
        relations=[(value, ui.gettext(label)) for value, label in RELATIONS],
        relation_labels={**dict(RELATIONS), "clerk": CLERK_RELATION},
        can_grant=can_grant,
        status_code=status_code,
    )


@router.get("/account/proxies")
def proxies_page(ui: PageUi, session: DbSession, item: str = "") -> Response:
    """Who may act for me (亲友代办), whom I act for, and a form to authorise a relative."""
    form = ui.restored_form() or FormState(values={"relation": "child", "scope": "all"})
    if item and _item_name(session, item):
        # From an item's page (请亲友代办这件事): offered as the authorisation's only item.
        form.values.update(item=item, scope="item")
    return _proxies_page(ui, session, form)


def _end_of_day(value: str) -> datetime:
    day = datetime.strptime(value, "%Y-%m-%d").date()
    return datetime.combine(day, time(23, 59), tzinfo=SHANGHAI).astimezone(UTC)


@router.post("/account/proxies")
def proxies_grant(
    ui: PageUi,
    session: DbSession,
    agent: Annotated[str, Form()] = "",
    relation: Annotated[str, Form()] = "",
    expires_at: Annotated[str, Form()] = "",
    scope: Annotated[str, Form(max_length=8)] = "all",
    item: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Authorise a relative's account to handle my cases (all, or one item's)."""
    actor = ui.require_actor()
    identity.authorize(actor, "proxies.manage_own", {"owner_id": actor.account_id})
    form = FormState(
        values={
            "agent": agent,
            "relation": relation,
            "expires_at": expires_at,
            "scope": scope,
            "item": item,
        }
    )
    limited = scope == "item"
    if limited and not _item_name(session, item):
        form.add("scope", ui.gettext("This service is not known here: authorise all services."))
    account = accounts.find_account_by_username(session, username=agent.strip()) if agent else None
    if account is None:
        form.add("agent", ui.gettext("No account has this user name or phone number."))
    end: datetime | None = None
    if expires_at:
        try:
            end = _end_of_day(expires_at)
        except ValueError:
            form.add("expires_at", ui.gettext("Enter the date as year-month-day, e.g. 2027-12-31."))
    if form.has_errors or account is None:
        return _proxies_page(ui, session, form, 422)
    try:
        with uow.attempt(session):
            proxies.grant_proxy(
                session,
                principal_id=actor.account_id,
                agent_id=account.id,
                relation=relation,
                scope=[item] if limited else proxies.ALL_ITEMS,
                expires_at=end or datetime.now(UTC) + timedelta(days=365),
            )
    except Invalid as exc:
        return _proxies_page(ui, session, ui.form_errors(form, exc), 422)
    return ui.redirect("/account/proxies", notice="proxy_granted")


@router.post("/account/proxies/{proxy_id}/confirm")
def proxies_confirm(proxy_id: RowId, ui: PageUi, session: DbSession) -> Response:
    """Accept an authorisation a relative gave me: from now on I may act for them."""
    actor = ui.require_actor()
    identity.authorize(actor, "proxies.answer_own")
    proxies.confirm_proxy(session, proxy_id=proxy_id, agent_id=actor.account_id)
    return ui.redirect("/account/proxies", notice="proxy_confirmed")


@router.post("/account/proxies/{proxy_id}/decline")
def proxies_decline(proxy_id: RowId, ui: PageUi, session: DbSession) -> Response:
    """Refuse an authorisation given to me, or stop acting for that person."""
    actor = ui.require_actor()
    identity.authorize(actor, "proxies.answer_own")
    proxies.decline_proxy(session, proxy_id=proxy_id, agent_id=actor.account_id)
    return ui.redirect("/account/proxies", notice="proxy_declined")


@router.post("/account/proxies/{proxy_id}/revoke")
def proxies_revoke(proxy_id: RowId, ui: PageUi, session: DbSession) -> Response:
    """Withdraw an authorisation I gave."""
    actor = ui.require_actor()
    identity.authorize(actor, "proxies.manage_own", {"owner_id": actor.account_id})
    proxies.revoke_proxy(session, proxy_id=proxy_id, principal_id=actor.account_id)
    return ui.redirect("/account/proxies", notice="proxy_revoked")
