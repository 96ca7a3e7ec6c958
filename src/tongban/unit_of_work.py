"""Unit-of-work helpers on a Session: a per-transaction memo and after-commit actions (new rows
stored at once: tongban.rows)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

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
