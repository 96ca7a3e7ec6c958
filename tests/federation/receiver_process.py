"""A node's federation worker as a process of its own, for the tests that kill it (-9):
`python -m tests.federation.receiver_process '<json: url, settings, fed>'`."""

from __future__ import annotations

import asyncio
import json
import sys
import threading

from tongban.federation.service import FederationSettings, Worker
from tongban.platform.config import Settings
from tongban.platform.db import Database


def main() -> None:
    """Run the worker until killed."""
    config = json.loads(sys.argv[1])
    settings = Settings(**config["settings"])
    database = Database(config["url"])
    worker = Worker(database, settings, FederationSettings(**config["fed"]))
    asyncio.run(worker.run(threading.Event()))


if __name__ == "__main__":
    main()
