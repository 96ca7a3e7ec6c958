"""The engine (SQLite with its write gate, or PostgreSQL) and the session factory."""

from __future__ import annotations

import logging
import select
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        from tongban.platform.db import sqlite_gate

        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": sqlite_gate.TIMEOUT_S},
            **kwargs,
        )
        sqlite_gate.install(engine, url)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    engine = create_engine(url, **kwargs)
    if make_url(url).get_backend_name() == "postgresql" and not kwargs.get("pool_pre_ping"):
        event.listen(engine, "checkout", _drop_closed_connection)
    return engine


def _drop_closed_connection(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Pool checkout: replace a connection the server has closed, without a round trip.

    SQLAlchemy's pool_pre_ping sends a query at every checkout: one round trip in seven of a
    submission. A server that restarts or ends a connection says so on its socket (an error,
    then the end of the stream), and an idle connection otherwise has nothing to read: one
    with something to read is replaced (the pool retries the checkout) before any request
    uses it. A rare server notice to an idle connection costs a reconnect, nothing more.
    """
    pgconn = getattr(dbapi_connection, "pgconn", None)
    if pgconn is None:  # not psycopg: nothing to look at
        return
    if dbapi_connection.closed or dbapi_connection.broken:
        raise DisconnectionError("connection closed")
    try:
        readable, _, _ = select.select([pgconn.socket], [], [], 0)
    except (OSError, ValueError) as exc:
        raise DisconnectionError("connection lost") from exc
    if readable:
        raise DisconnectionError("the server spoke to an idle connection: it is likely closing")


class Database:
    """An engine and its session factory, built explicitly (never at import time)."""

    def __init__(self, url: str, *, engine: Engine | None = None) -> None:
        self.url = url
        self.engine = engine or make_engine(url)
        self.sessions = sessionmaker(bind=self.engine, expire_on_commit=False)

    def session_scope(self) -> AbstractContextManager[Session]:
        """One unit of work (tongban.platform.db.uow.unit): commit at the end, roll back on
        any error."""
        from tongban.platform.db.uow import unit

        return unit(self)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
