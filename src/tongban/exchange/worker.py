"""The exchange's background work under `tongban serve`: the fetches queued at acceptance
(exchange/automatic.py) and the scheduled node directory reloads (exchange/directory.py).

One thread per app process. It runs the fetch queue when an acceptance commits (woken) and
every POLL_SECONDS otherwise (retries fall due, another process queued); and reloads the
directory every `exchange_directory_reload_seconds` when `exchange_directory_url` is set,
first at start. Several processes may run it: a queued fetch is claimed by one of them only
(a conditional update), a reload of the same document changes nothing. Failures are logged,
never raised; the next round tries again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from tongban.exchange import automatic, directory
from tongban.platform.config import Settings
from tongban.platform.db import Database

log = logging.getLogger(__name__)

POLL_SECONDS = 5.0


def run_once(database: Database, settings: Settings, *, reload_directory: bool) -> None:
    """One round: the due fetches, and the directory when it is time."""
    try:
        automatic.run_due(database, settings)
    except Exception:
        log.exception("exchange: running the queued fetches failed")
    if reload_directory:
        try:
            directory.reload(database, settings)
        except Exception:
            log.exception("exchange: reloading the node directory failed")


def starter(poll: float = POLL_SECONDS) -> Callable[[Any], Callable[[], None]]:
    """A create_app background starter: the exchange's worker thread."""

    def start(app: Any) -> Callable[[], None]:
        stop = threading.Event()
        database: Database = app.state.database
        settings: Settings = app.state.settings
        every = float(settings.exchange_directory_reload_seconds)

        def run() -> None:
            next_reload = time.monotonic()
            while not stop.is_set():
                due = bool(settings.exchange_directory_url) and time.monotonic() >= next_reload
                if due:
                    next_reload = time.monotonic() + every
                automatic.take_wake()  # an acceptance committing during the round: another
                run_once(database, settings, reload_directory=due)
                automatic.wait_for_work(poll)

        thread = threading.Thread(target=run, name="exchange-worker", daemon=True)
        thread.start()

        def stopper() -> None:
            stop.set()
            automatic.wake()
            thread.join(timeout=10)

        return stopper

    return start
