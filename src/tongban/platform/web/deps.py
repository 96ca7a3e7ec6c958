"""Request-scoped dependencies every router shares: the settings and the session (one request,
one transaction: tongban.platform.db.uow), ids in paths, and the unit-of-work thread pool.

Who is calling is the identity domain's (tongban.identity.deps)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, TypeVar

from fastapi import Depends, Path, Query, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from tongban.platform.config import Settings
from tongban.platform.db import MAX_ROW_ID, Database, uow

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
    """One request, one transaction (uow.unit): commit after the handler, roll back on error."""
    with uow.unit(request.app.state.database) as session:
        yield session


# scope="function": the commit happens before the response leaves, so a client that
# sees 201 can immediately read what it wrote.
DbSession = Annotated[Session, Depends(db_session, scope="function")]
AppSettings = Annotated[Settings, Depends(get_settings_dep)]


# A row id in a path or a query, within what the database can hold.
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
RowIdQuery = Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)]
# How many rows a listing skips.
SkipQuery = Annotated[int, Query(ge=0, le=MAX_ROW_ID)]


T = TypeVar("T")


# The threads units of work run on: one pool per process, made at first use. asyncio's
# executor hand-off costs about half of anyio's (Starlette's run_in_threadpool: a capacity
# limiter, a checkpoint and run-variable lookups per call), and a unit needs none of that. As
# many threads as anyio's default pool, so the database pool (30) stays the limit.
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


async def in_unit_thread(work: Callable[[], T]) -> T:
    """Run `work` (a whole unit of work) on one of the units' threads."""
    return await asyncio.get_running_loop().run_in_executor(_unit_executor(), work)


async def posted_form(request: Request) -> FormData:
    """The posted form, parsed on the event loop so that the route itself can be a plain `def`
    (FastAPI runs it in a thread; the CSRF check has usually parsed it already)."""
    return await request.form()


PostedForm = Annotated[FormData, Depends(posted_form)]
