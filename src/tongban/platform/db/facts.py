"""Facts nearly every request reads and operators rarely change: read once a second per process.

The catalog's revision and the working calendar are read by every submission and every case
page; reading them is two of a submission's nine statements. A SharedFact keeps the last value
a process read for `ttl` seconds:

- a transaction reads a fact once and then keeps its value (the transaction memo);
- a transaction that changes a fact reads its own change, and once it commits, this process
  forgets the shared value: the next request reads it again;
- other processes (uvicorn workers, the CLI) see the change within `ttl` seconds. A deadline
  counted on the old calendar for that second, or a submission routed on the old catalog
  revision, is no different from one made a second before the change.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from sqlalchemy.orm import Session

from tongban.platform.db.uow import after_commit, transaction_memo

T = TypeVar("T")

_ALL: list[SharedFact[object]] = []


class SharedFact(Generic[T]):
    """One fact, read by `read(session)`, shared by the requests of a process for `ttl` s."""

    def __init__(self, name: str, read: Callable[[Session], T], *, ttl: float = 1.0) -> None:
        self.name = name
        self.read = read
        self.ttl = ttl
        self._latest: tuple[float, T] | None = None
        self._lock = threading.Lock()
        _ALL.append(self)  # type: ignore[arg-type]

    def get(self, session: Session) -> T:
        """The fact as this transaction sees it."""
        memo = transaction_memo(session)
        if self.name in memo:
            known: T = memo[self.name]
            return known
        if memo.get(self._changed_key):
            value = self.read(session)  # this transaction's own, uncommitted, change
        else:
            latest = self._latest
            if latest is not None and time.monotonic() - latest[0] < self.ttl:
                value = latest[1]
            else:
                read_at = time.monotonic()
                value = self.read(session)
                with self._lock:
                    self._latest = (read_at, value)
        memo[self.name] = value
        return value

    def changed(self, session: Session) -> None:
        """This transaction changed the fact: read it afresh, and forget it once committed."""
        memo = transaction_memo(session)
        memo.pop(self.name, None)
        memo[self._changed_key] = True
        after_commit(session, self.forget)

    def forget(self) -> None:
        """Drop the shared value; the next request reads the fact again."""
        with self._lock:
            self._latest = None

    @property
    def _changed_key(self) -> str:
        return f"{self.name}:changed"


def forget_all() -> None:
    """Forget every shared fact (tests, whose rolled-back data must not linger)."""
    for fact in _ALL:
        fact.forget()
