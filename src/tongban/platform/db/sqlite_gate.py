"""SQLite as a server's database: WAL, one writer at a time across processes, checkpoints
outside the write lock and a bound on the WAL's size. make_engine (tongban.platform.db)
installs it on every SQLite engine.

The WAL is bounded by its size, which every process sees alike (docs/deployment.md, "SQLite's
write-ahead log"): a writing commit that leaves the WAL past WAL_CHECKPOINT_BYTES wakes the
process's checkpointing thread, which checkpoints PASSIVE (copies what no reader still needs,
outside the write lock: writers go on), then, if the gate is free at that moment, TRUNCATE
under the gate: little is left to copy, it waits at most RESET_WAIT_MS for the readers of
older snapshots, and empties the file. Left to readers that never all finish at once, a WAL is
never reset and grows without end (148 MB in 21 s under the submission benchmark);
journal_size_limit also shrinks it when SQLite resets it.

The checkpoint runs on a thread of its own, not in the request that crossed the bound: copying
4 MB of pages and syncing the file took that request tens of milliseconds (under the exchange
benchmark the slowest 1 % of fetches took 55-63 ms with checkpoints in the requests, 34-49 ms
without them; docs/benchmarks.md, Exchange). A WAL that still grows past
WAL_FORCE_FACTOR times the bound (the thread cannot keep up) is checkpointed by the committing
writer itself, as before, so the bound holds.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
import weakref
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url

try:
    import fcntl
except ImportError:  # not on Windows: threads of a process still queue
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite never sends BEGIN itself in this mode; the "begin" listener below does, so that
    # transactions (and SAVEPOINTs, which tests and nested units of work rely on) are real.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={TIMEOUT_S * 1000}")
    # Checkpoints run outside the write lock instead (_SqliteGate.commit): left to SQLite, the
    # commit that crosses 1,000 pages copies them and syncs the file while every writer waits.
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    # When SQLite resets the WAL (a writer finds it all copied and unread), it cuts it back.
    cursor.execute(f"PRAGMA journal_size_limit={WAL_CHECKPOINT_BYTES}")
    cursor.close()


_GATE = "tongban_sqlite_gate"
_READING = "reading"  # a deferred transaction that has only read so far: holds no lock


def _is_read(statement: str) -> bool:
    return statement.lstrip()[:6].upper() == "SELECT"


class _SqliteGate:
    """One writing transaction at a time per SQLite database file, across processes.

    SQLite admits one writer; a connection that finds the lock taken polls with sleeps that grow
    to 100 ms (its busy handler), so under concurrent requests the slowest waited seconds.
    Writers therefore queue here instead: threads of a process on a lock, processes (uvicorn
    workers) on an advisory file lock polled every half millisecond.

    Reading takes no lock: a transaction begins deferred and reads in parallel with everyone
    else. At its first write (any statement but a plain SELECT, so a SAVEPOINT too, or a
    SELECT ... FOR UPDATE) it takes the gate, ends its read snapshot and begins IMMEDIATE, so
    the write can never fail on a stale snapshot. What it read before that is then as
    PostgreSQL's READ COMMITTED would have it: the writes that depend on a read are guarded
    there the same way (version columns, unique keys, a lock taken by an UPDATE first), so both
    databases behave alike, and the second core is no longer idle while one request holds the
    write lock.
    """

    def __init__(self, database: str | None) -> None:
        self.lock = threading.Lock()
        self.copying = threading.Lock()  # one thread of the process checkpoints at a time
        self.checkpointing = threading.Lock()  # guards starting the checkpointing thread
        self.checkpointer: threading.Thread | None = None
        self.wanted = threading.Event()  # a writer found the WAL past the bound
        self.rounds = 0  # rounds the checkpointing thread has finished
        self.idle = threading.Condition(self.checkpointing)  # notified at the end of a round
        self.fd: int | None = None
        self.wal: str | None = None
        self.database: str | None = None
        if database and database != ":memory:" and not database.startswith("file:"):
            self.wal = f"{database}-wal"
            self.database = database
        if fcntl is not None and database and database != ":memory:":
            try:
                self.fd = os.open(f"{database}-gate", os.O_RDWR | os.O_CREAT, 0o600)
            except OSError:
                self.fd = None  # e.g. a read-only directory: threads still queue

    def _file_lock(self, deadline: float) -> bool:
        if self.fd is None or fcntl is None:
            return False
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return False  # SQLite's busy timeout decides, as without the gate
                time.sleep(0.0005)

    def _try_gate(self) -> tuple[bool, bool] | None:
        """The gate if nobody holds it now (in any process), else None; never waits."""
        if not self.lock.acquire(blocking=False):
            return None
        if self.fd is None or fcntl is None:
            return True, False
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.lock.release()
            return None
        return True, True

    def begin(self, connection: Any) -> None:
        """SQLAlchemy's "begin": a deferred transaction, reading without any lock."""
        connection.connection.driver_connection.execute("BEGIN")
        connection.info[_GATE] = _READING

    def before_execute(self, connection: Any, clause: Any, *_: Any) -> None:
        """SELECT ... FOR UPDATE, which SQLite cannot say, takes the write lock instead."""
        if (
            connection.info.get(_GATE) is _READING
            and getattr(clause, "_for_update_arg", None) is not None
        ):
            self._start_writing(connection)

    def before_cursor_execute(self, connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        """The first statement that may write takes the write lock before it runs."""
        if connection.info.get(_GATE) is _READING and not _is_read(statement):
            self._start_writing(connection)

    def _start_writing(self, connection: Any) -> None:
        raw = connection.connection.driver_connection
        # End the read snapshot before queueing: it may be older than the last write, and one
        # kept while waiting would pin the WAL (no checkpoint could reset it: under load some
        # writer is always waiting).
        try:
            raw.execute("COMMIT")
            ended = True
        except sqlite3.OperationalError:
            # A result still being read keeps the snapshot open: write in it, and SQLite
            # refuses only if another writer committed since it began.
            ended = False
        deadline = time.monotonic() + TIMEOUT_S
        # A thread holding another transaction on this engine (nested sessions) must not wait
        # for itself forever: after the busy timeout it goes on and SQLite decides, as before.
        held = self.lock.acquire(timeout=TIMEOUT_S)
        filed = held and self._file_lock(deadline)
        try:
            if ended:
                raw.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._release(held, filed)
            connection.info[_GATE] = _READING
            raise
        connection.info[_GATE] = (held, filed)

    def commit(self, connection: Any) -> None:
        """SQLAlchemy's "commit": commit here and open the gate to the next writer."""
        # The event comes before the driver commits: committing here means the next writer
        # does not find the database still locked. The driver's own commit has nothing left.
        raw = connection.connection.driver_connection
        wrote = connection.info.get(_GATE, _READING) is not _READING
        try:
            raw.execute("COMMIT")
        finally:
            self.end(connection)
        if wrote:
            size = self._wal_size()
            if size > WAL_FORCE_FACTOR * WAL_CHECKPOINT_BYTES:
                self._bound_the_wal(raw)  # the checkpointing thread is behind: do it here
            elif size > WAL_CHECKPOINT_BYTES:
                self._wake_checkpointer()

    def _wal_size(self) -> int:
        if self.wal is None:
            return 0
        try:
            return os.stat(self.wal).st_size
        except OSError:
            return 0

    def _wake_checkpointer(self) -> None:
        if self.checkpointer is None:
            with self.checkpointing:
                if self.checkpointer is None:
                    self.checkpointer = threading.Thread(
                        target=self._checkpoint_when_woken,
                        name="tongban-sqlite-checkpoint",
                        daemon=True,
                    )
                    self.checkpointer.start()
        self.wanted.set()

    def _checkpoint_when_woken(self) -> None:
        """The checkpointing thread: on its own connection (it reads nothing, so it pins no
        snapshot), bound the WAL each time a writer finds it past the bound."""
        assert self.database is not None
        raw = sqlite3.connect(self.database, isolation_level=None, check_same_thread=False)
        raw.execute(f"PRAGMA busy_timeout={TIMEOUT_S * 1000}")
        while True:
            self.wanted.wait()
            self.wanted.clear()
            if self._wal_size() > WAL_CHECKPOINT_BYTES:
                self._bound_the_wal(raw)
            with self.checkpointing:
                self.rounds += 1
                self.idle.notify_all()

    def wait_for_checkpoints(self, timeout: float = 10.0) -> bool:
        """For tests: wait until the checkpointing thread has finished a round begun after
        this call (it bounds the WAL as it stands now); False on time-out."""
        if self.checkpointer is None:
            return True
        with self.checkpointing:
            target = self.rounds + 2  # the round under way may have begun before this call
            deadline = time.monotonic() + timeout
            while self.rounds < target:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.wanted.set()
                self.idle.wait(min(left, 0.05))
        return True

    def _bound_the_wal(self, raw: Any) -> None:
        """Checkpoint a WAL grown past WAL_CHECKPOINT_BYTES, then reset it when no reader
        needs it (see the module's docstring)."""
        if self._wal_size() <= WAL_CHECKPOINT_BYTES:
            return
        if not self.copying.acquire(blocking=False):
            return  # another thread of this process is at it
        try:
            # Copies what no reader still needs into the database file; takes no write lock.
            raw.execute("PRAGMA wal_checkpoint(PASSIVE)").close()
            gate = self._try_gate()
            if gate is None:
                return  # a writer is at work: the next commit tries again
            try:
                raw.execute(f"PRAGMA busy_timeout={RESET_WAIT_MS}")
                try:
                    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
                finally:
                    raw.execute(f"PRAGMA busy_timeout={TIMEOUT_S * 1000}")
            finally:
                self._release(*gate)
        except sqlite3.Error:
            log.warning("WAL checkpoint failed; the next commit will try again", exc_info=True)
        finally:
            self.copying.release()

    def end(self, connection: Any) -> None:
        """After a commit or a rollback: release what the transaction held."""
        state = connection.info.pop(_GATE, _READING)
        if state is not _READING:
            self._release(*state)

    def _release(self, held: bool, filed: bool) -> None:
        if filed and self.fd is not None and fcntl is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        if held:
            self.lock.release()


TIMEOUT_S = 10
# A WAL past this size is checkpointed and reset (SQLite's own automatic checkpoint starts at
# 1,000 pages, 4 MiB with 4 KiB pages); the reset waits at most RESET_WAIT_MS for readers.
WAL_CHECKPOINT_BYTES = 4 * 1024 * 1024
RESET_WAIT_MS = 50
# A WAL past this many times the bound is checkpointed by the committing writer itself.
WAL_FORCE_FACTOR = 4


_GATES: weakref.WeakKeyDictionary[Engine, _SqliteGate] = weakref.WeakKeyDictionary()


def gate_of(engine: Engine) -> _SqliteGate | None:
    """The write gate installed on an engine (None: not SQLite)."""
    return _GATES.get(engine)


def install(engine: Engine, url: str) -> None:
    """Pragmas on every new connection, and the write gate on every transaction."""
    event.listen(engine, "connect", _sqlite_pragmas)
    gate = _SqliteGate(make_url(url).database)
    _GATES[engine] = gate
    event.listen(engine, "begin", gate.begin)
    event.listen(engine, "before_execute", gate.before_execute)
    event.listen(engine, "before_cursor_execute", gate.before_cursor_execute)
    event.listen(engine, "commit", gate.commit)
    event.listen(engine, "rollback", gate.end)
