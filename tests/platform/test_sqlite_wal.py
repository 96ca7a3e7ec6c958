"""SQLite's write-ahead log stays bounded under load (issue #12, item 11).

With automatic checkpoints off, a PASSIVE checkpoint cannot reset the WAL while some reader
still uses it, and under load some reader always does: the WAL grew to 148 MB in 21 s. The gate
now checkpoints by size and resets the WAL when no reader needs it. The load here is two engines
(as two worker processes: each has its own gate, they share the file lock and the WAL), each
with a writer, and readers whose read transactions overlap so that they never all stop at once.

SQLite only: PostgreSQL's write-ahead log is the server's to manage.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import Engine, text

from tongban.platform.db import make_engine

WRITTEN = 48 * 1024 * 1024  # bytes of rows the writers commit, together
ROW = 16 * 1024
BOUND = 16 * 1024 * 1024  # four times the size at which the gate checkpoints


def _wal(path: Path) -> int:
    wal = Path(f"{path}-wal")
    return wal.stat().st_size if wal.exists() else 0


def test_the_wal_stays_bounded_while_readers_overlap_without_end(tmp_path: Path) -> None:
    path = tmp_path / "load.db"
    engines: list[Engine] = [make_engine(f"sqlite:///{path}") for _ in range(2)]
    with engines[0].begin() as connection:
        connection.execute(text("CREATE TABLE rows (id INTEGER PRIMARY KEY, body BLOB)"))
    stop = threading.Event()
    largest = 0
    errors: list[BaseException] = []

    def read(engine: Engine, hold: float) -> None:
        try:
            while not stop.is_set():
                with engine.connect() as connection:
                    connection.execute(text("SELECT count(*) FROM rows")).scalar_one()
                    time.sleep(hold)  # the snapshot stays open meanwhile
        except BaseException as exc:
            errors.append(exc)

    def write(engine: Engine, rows: int) -> None:
        nonlocal largest
        try:
            for _ in range(rows):
                with engine.begin() as connection:
                    connection.execute(
                        text("INSERT INTO rows (body) VALUES (randomblob(:n))"), {"n": ROW}
                    )
                largest = max(largest, _wal(path))
        except BaseException as exc:
            errors.append(exc)

    readers = [
        threading.Thread(target=read, args=(engines[n % 2], 0.004 + 0.003 * n)) for n in range(4)
    ]
    for thread in readers:
        thread.start()
        time.sleep(0.002)  # staggered: some reader is always inside a read transaction
    writers = [
        threading.Thread(target=write, args=(engine, WRITTEN // ROW // 2)) for engine in engines
    ]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join(120)
    stop.set()
    for thread in readers:
        thread.join(10)
    for engine in engines:
        engine.dispose()
    assert not errors, errors
    with make_engine(f"sqlite:///{path}").connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM rows")).scalar_one() == WRITTEN // ROW
    # Past the checkpoint size (4 MiB) by what commits while a checkpoint runs, never the load.
    assert largest <= BOUND, f"the WAL reached {largest / 2**20:.1f} MiB"


def test_every_connection_limits_the_journal_and_leaves_checkpoints_to_the_gate(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'pragmas.db'}")
    with engine.connect() as connection:
        limit = connection.exec_driver_sql("PRAGMA journal_size_limit").scalar_one()
        automatic = connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one()
    engine.dispose()
    assert limit == 4 * 1024 * 1024 and automatic == 0
