"""A bounded cache for built statements.

The fast path builds each statement once and keeps it. Keys are a table and the columns set,
a dialect, or a prebuilt query: a few dozen in a running node. A program that made statements
from data (one table per tenant, a column list per request) would otherwise grow the process
without end, so each cache forgets its least recently used entry past a bound far above what
the node needs. Not functools.lru_cache: some keys hold statements, hashed by identity, and
the builders need arguments that are not part of the key.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")

# Entries per cache: a node uses a few dozen (measured: 23 after the whole test suite).
DEFAULT_SIZE = 512


class BoundedCache(Generic[V]):
    """`get(key, build)`: the value built for `key`, built once while it stays cached."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, build: Callable[[], V]) -> V:
        """The cached value, or `build()` kept for next time (the oldest unused one goes)."""
        with self._lock:
            try:
                value = self._entries[key]
            except KeyError:
                pass
            else:
                self._entries.move_to_end(key)
                return value
        value = build()  # outside the lock: two threads may build the same, both are right
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._entries)

    def __getitem__(self, key: Hashable) -> V:
        return self._entries[key]

    def items(self) -> list[tuple[Hashable, V]]:
        """What is cached now (a copy), least recently used first."""
        with self._lock:
            return list(self._entries.items())

    def clear(self) -> None:
        """Forget everything (tests)."""
        with self._lock:
            self._entries.clear()
