"""Who is calling: the actor of a request (bearer token or session cookie), for every domain's
routes, and the page context (PageUi) with the account's language and mode."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Annotated, TypeVar, overload

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from tongban.identity import service as identity
from tongban.identity.keys import identity_keys
from tongban.platform.config import Settings
from tongban.platform.db import Database, uow
from tongban.platform.errors import NotFound, Unauthorized
from tongban.platform.web.deps import DbSession, in_unit_thread
from tongban.platform.web.rendering import Ui, build_ui


def optional_actor(request: Request, session: DbSession) -> identity.Actor | None:
    """The caller from a bearer token or a session cookie, or None when anonymous."""
    return _caller(request, session)


def _caller(request: Request, session: Session) -> identity.Actor | None:
    # Kept on the request: a refusal hidden behind a 404 is recorded with its actor (shell).
    request.state.actor = actor = identity.resolve_actor(
        session,
        authorization=request.headers.get("authorization"),
        session_token=request.cookies.get(identity.SESSION_COOKIE),
        settings=request.app.state.settings,
        client_ip=request.client.host if request.client else None,
    )
    return actor


def _anonymous() -> Unauthorized:
    return Unauthorized("Log in or send a bearer token.", headers={"WWW-Authenticate": "Bearer"})


async def required_actor(
    actor: Annotated[identity.Actor | None, Depends(optional_actor)],
) -> identity.Actor:
    """The caller, or 401 when anonymous."""
    if actor is None:
        raise _anonymous()
    return actor


OptionalActor = Annotated[identity.Actor | None, Depends(optional_actor)]
CurrentActor = Annotated[identity.Actor, Depends(required_actor)]

R = TypeVar("R")
T = TypeVar("T")


@overload
async def run_unit(request: Request, work: Callable[[Session, identity.Actor], R]) -> R: ...
@overload
async def run_unit(
    request: Request,
    work: Callable[[Session, identity.Actor], R],
    then: Callable[[Session, identity.Actor, R], T],
) -> T: ...
async def run_unit(
    request: Request,
    work: Callable[[Session, identity.Actor], R],
    then: Callable[[Session, identity.Actor, R], T] | None = None,
) -> R | T:
    """Authenticate, do `work` and commit in one transaction on one worker thread; then
    build the answer with `then` (reads only), after the commit.

    The dependencies above cost a thread hop each (open, find the caller, the handler, commit),
    and each hop is a wake-up and a context switch: on the busiest route (submitting a case)
    those hops cost as much as the work. 401 when anonymous, as CurrentActor.
    """
    database: Database = request.app.state.database
    actor: identity.Actor | None = None

    def authenticated(session: Session) -> R:
        nonlocal actor
        actor = _caller(request, session)
        if actor is None:
            raise _anonymous()
        return work(session, actor)

    def answer(session: Session, result: R) -> T:
        assert then is not None and actor is not None
        return then(session, actor, result)

    if then is None:
        return await in_unit_thread(lambda: uow.run(database, authenticated))
    return await in_unit_thread(lambda: uow.run(database, authenticated, answer))


def _account_preferences(
    session: Session, actor: identity.Actor | None
) -> tuple[str | None, bool | None, str | None]:
    if actor is None:
        return None, None, None
    try:
        account = identity.get_account(session, account_id=actor.account_id)
    except NotFound:
        return None, None, None
    return account.locale, bool(account.elderly_mode), account.display_name


def ui_context(request: Request, session: DbSession, actor: OptionalActor) -> Ui:
    """FastAPI dependency: the page context of this request, with the account's preferences."""
    locale, elderly, name = _account_preferences(session, actor)
    return build_ui(
        request,
        session=session,
        actor=actor,
        account_locale=locale,
        account_elderly=elderly,
        account_name=name,
    )


PageUi = Annotated[Ui, Depends(ui_context)]


def csrf_secret(settings: Settings) -> bytes:
    """The key of the web front's CSRF tokens: derived from the node's identity HMAC key (kept
    in the data directory, shared by every app server of the node), never that key itself."""
    return hmac.new(
        identity_keys(settings).hmac_secret, b"tongban/csrf-token/v1", hashlib.sha256
    ).digest()
