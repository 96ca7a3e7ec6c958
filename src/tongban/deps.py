"""Request-scoped dependencies shared by every router: the session and the actor."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, TypeVar

from fastapi import Depends, Path, Query, Request
from sqlalchemy.orm import Session

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


# The threads run_unit works on: one pool per process, made at first use. asyncio's executor
# hand-off costs about half of anyio's (Starlette's run_in_threadpool: a capacity limiter, a
# checkpoint and run-variable lookups per call), and run_unit needs none of that. As many
# threads as anyio's default pool, so the database pool (30) stays the limit.
_UNIT_THREADS = 40
_unit_pool: ThreadPoolExecutor | None = None
_unit_pool_lock = threading.Lock()


def _unit_executor() -> ThreadPoolExecutor:
    global _unit_pool
    if _unit_pool is None:
        with _unit_pool_lock:
            if _unit_pool is None:
                _unit_pool = ThreadPoolExecutor(_UNIT_THREADS, thread_name_prefix="tongban-unit")
    return _unit_pool


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

    return await asyncio.get_running_loop().run_in_executor(_unit_executor(), unit)
