"""The unit of work: the one place a transaction is committed or rolled back.

One request, one transaction, one owner. A route's session comes from `unit` (through the
`DbSession` dependency or `run`), the CLI and the workers open theirs with
`Database.session_scope()`, which is `unit` too; services only `flush()`. A test fails if
`.commit()` or `.rollback()` appears anywhere else (tests/platform/test_house_rules.py).

What a caller may still need, and gets here instead of calling commit or rollback itself:

- `savepoint(session)`: try a step and undo only it (a page that re-renders a form with its
  errors after a refused submission keeps the rest of the request's work, and nothing of the
  refused step);
- an error whose `keeps_writes` is true commits what was written before it is raised (a failed
  login is itself the record the rate limit counts);
- `run(database, work, then=...)`: commit, then build the answer in the same thread (on SQLite
  the write lock is released before the answer is built);
- a per-transaction memo and after-commit actions (new rows stored at once:
  tongban.platform.db.fastpath.rows).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar, overload

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

if TYPE_CHECKING:
    from tongban.platform.db.engine import Database

log = logging.getLogger(__name__)

R = TypeVar("R")
T = TypeVar("T")


def _end_after_error(session: Session, exc: BaseException) -> None:
    if getattr(exc, "keeps_writes", False):
        session.commit()
    else:
        session.rollback()


@contextmanager
def unit(database: Database) -> Iterator[Session]:
    """One unit of work: commit at the end, roll back on any error (commit on one that
    `keeps_writes`)."""
    session = database.sessions()
    try:
        yield session
        session.commit()
    except BaseException as exc:
        _end_after_error(session, exc)
        raise
    finally:
        session.close()


@overload
def run(database: Database, work: Callable[[Session], R]) -> R: ...
@overload
def run(database: Database, work: Callable[[Session], R], then: Callable[[Session, R], T]) -> T: ...
def run(
    database: Database,
    work: Callable[[Session], R],
    then: Callable[[Session, R], T] | None = None,
) -> R | T:
    """`work` in one transaction, committed; then `then` (reads only) on the same session.

    For answers that read more after the write: the commit comes first, so the write lock
    (SQLite) or the row locks (PostgreSQL) are not held while the answer is built.
    """
    session = database.sessions()
    try:
        result = work(session)
        session.commit()
        if then is None:
            return result
        answer = then(session, result)
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("the answer of a unit of work may only read")
        return answer
    except BaseException as exc:
        _end_after_error(session, exc)
        raise
    finally:
        session.close()


class Savepoint:
    """A step inside the unit of work that can be undone alone (a SAVEPOINT)."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._transaction: SessionTransaction = session.begin_nested()

    def undo(self) -> None:
        """Forget what the step wrote; the rest of the unit stays.

        A flush that failed inside the step leaves it deactivated, not rolled back: it is
        rolled back then too, or the whole session stays unusable (PendingRollbackError) —
        seen when two first applications of one GovStack applicant raced on SQLite.
        """
        transaction = self._transaction
        if transaction.is_active or self._session.get_nested_transaction() is transaction:
            transaction.rollback()

    def keep(self) -> None:
        """Keep what the step wrote (it commits with the unit)."""
        if self._transaction.is_active:
            self._transaction.commit()


def savepoint(session: Session) -> Savepoint:
    """Begin a step that `undo()` forgets and `keep()` keeps."""
    if not session.in_transaction():
        session.begin()
    return Savepoint(session)


@contextmanager
def attempt(session: Session) -> Iterator[None]:
    """A step that is undone, alone, when it raises (the error goes on)."""
    step = savepoint(session)
    try:
        yield
    except BaseException:
        step.undo()
        raise
    step.keep()


_MEMO = "tongban_transaction_memo"


def transaction_memo(session: Session) -> dict[str, Any]:
    """A dict for facts read once per transaction (the catalog revision, the calendar).

    It is emptied when the session's transaction ends and when any savepoint rolls back, so
    nothing read in it outlives what it was read in; code that changes such a fact in the
    transaction pops its key.
    """
    if not session.in_transaction():
        session.begin()  # the memo belongs to a transaction, even before its first query
    memo: dict[str, Any] = session.info.setdefault(_MEMO, {})
    return memo


_AFTER_COMMIT = "tongban_after_commit"


def after_commit(session: Session, action: Callable[[], None]) -> None:
    """Run `action` once the session's transaction has committed; never if it rolls back.

    For what cannot be taken back, such as an SMS: a text about a case that was never stored
    must not go out. A failing action is logged and does not undo the commit.
    """
    if not session.in_transaction():
        session.begin()  # the action belongs to a transaction, even before its first statement
    session.info.setdefault(_AFTER_COMMIT, []).append(action)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    for action in session.info.pop(_AFTER_COMMIT, []):
        try:
            action()
        except Exception:
            log.exception("an after-commit action failed")


@event.listens_for(Session, "after_transaction_end")
def _forget_at_transaction_end(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the session's own transaction, not a flush or savepoint
        session.info.pop(_MEMO, None)
        session.info.pop(_AFTER_COMMIT, None)  # rolled back: the actions never run


@event.listens_for(Session, "after_soft_rollback")
def _forget_at_rollback(session: Session, _previous: Any) -> None:
    session.info.pop(_MEMO, None)
