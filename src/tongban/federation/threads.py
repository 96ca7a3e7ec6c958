"""The federation's background loops (the worker, the catalog feed) as `create_app` starters:
each an asyncio loop of its own in a daemon thread, stopped through an event."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any, Protocol


class Loop(Protocol):
    """What runs in the thread: `run(stop)` until the event is set."""

    def run(self, stop: threading.Event) -> Coroutine[Any, Any, None]: ...


def in_thread(name: str, make: Callable[[Any], Loop]) -> Callable[[Any], Callable[[], None]]:
    """A starter: `make(app)` run in thread `name`; it returns the function that stops it."""

    def start(app: Any) -> Callable[[], None]:
        stop = threading.Event()
        loop = make(app)
        thread = threading.Thread(
            target=lambda: asyncio.run(loop.run(stop)), name=name, daemon=True
        )
        thread.start()

        def halt() -> None:
            stop.set()
            thread.join(timeout=10)

        return halt

    return start
