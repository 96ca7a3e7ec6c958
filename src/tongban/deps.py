"""Request-scoped dependencies shared by every router: the session and the actor."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, TypeVar

from fastapi import Depends, Path, Query, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from tongban.config import Settings
from tongban.db import MAX_ROW_ID, Database
from tongban.identity import service as identity

# The light dependencies are `async def` so that FastAPI does not hop to a worker thread for
# them; the ones that touch the database stay sync and run in the thread pool.


async def get_database(request: Request) -> Database:
    """The app's database (built in create_app, never at import time)."""
    database: Database = request.app.state.database
    return database


async def get_settings_dep(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


def db_session(request: Request) -> Iterator[Session]:
    """One request, one transaction: commit after the handler, roll back on any error."""
    session = request.app.state.database.sessions()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# scope="function": the commit happens before the response leaves, so a client that
# sees 201 can immediately read what it wrote.
DbSession = Annotated[Session, Depends(db_session, scope="function")]
AppSettings = Annotated[Settings, Depends(get_settings_dep)]


def optional_actor(request: Request, session: DbSession) -> identity.Actor | None:
    """The caller from a bearer token or a session cookie, or None when anonymous."""
    return identity.resolve_actor(
        session,
        authorization=request.headers.get("authorization"),
        session_token=request.cookies.get(identity.SESSION_COOKIE),
    )


async def required_actor(
    actor: Annotated[identity.Actor | None, Depends(optional_actor)],
) -> identity.Actor:
    """The caller, or 401 when anonymous."""
    if actor is None:
        from tongban.errors import Unauthorized

        raise Unauthorized("Log in or send a bearer token.", headers={"WWW-Authenticate": "Bearer"})
    return actor


OptionalActor = Annotated[identity.Actor | None, Depends(optional_actor)]
CurrentActor = Annotated[identity.Actor, Depends(required_actor)]


# A row id in a path or a query, within what the database can hold.
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
RowIdQuery = Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)]
# How many rows a listing skips.
SkipQuery = Annotated[int, Query(ge=0, le=MAX_ROW_ID)]


T = TypeVar("T")


async def run_unit(request: Request, work: Callable[[Session, identity.Actor], T]) -> T:
    """Authenticate, do `work` and commit in one transaction on one worker thread.

    The dependencies above cost a thread hop each (open, find the caller, the handler, commit),
    and each hop is a wake-up and a context switch: on the busiest route (submitting a case)
    those hops cost as much as the work. 401 when anonymous, as CurrentActor.
    """

    def unit() -> T:
        database: Database = request.app.state.database
        with database.session_scope() as session:
            actor = optional_actor(request, session)
            if actor is None:
                from tongban.errors import Unauthorized

                raise Unauthorized(
                    "Log in or send a bearer token.", headers={"WWW-Authenticate": "Bearer"}
                )
            return work(session, actor)

    return await run_in_threadpool(unit)
