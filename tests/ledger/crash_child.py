"""Child process for the SIGKILL test: writes events and integrates them until killed.

Usage: python crash_child.py URL SCHEMA KEYFILE UIDLOG
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tongban.events import service as events
from tongban.ledger import integrator, notes
from tongban.platform.db import Database, make_engine


def main() -> None:
    """Loop: commit a few events (then log their uids durably), integrate a small batch."""
    url, schema, keyfile, uidlog = sys.argv[1:5]
    kwargs = {"connect_args": {"options": f"-csearch_path={schema}"}} if schema else {}
    database = Database(url, engine=make_engine(url, **kwargs))
    signer = notes.Signer("crash.test/ledger", notes.load_or_create_key(Path(keyfile)))
    with open(uidlog, "a", encoding="utf-8") as log:
        i = 0
        while True:
            with database.session_scope() as session:
                uids = [
                    events.record(
                        session,
                        action="crash.step",
                        resource_type="test",
                        resource_id=str(i * 10 + k),
                        channel="system",
                        data={"k": k},
                    ).uid
                    for k in range(7)
                ]
            # Logged only after the commit returned: every logged uid is committed.
            log.write("".join(u + "\n" for u in uids))
            log.flush()
            os.fsync(log.fileno())
            with database.session_scope() as session:
                integrator.integrate_pending(
                    session, signer=signer, batch_size=5, checkpoint_interval_seconds=0
                )
            i += 1


if __name__ == "__main__":
    main()
