"""CPU time of the processes a benchmark runs, and a reference loop that tells machines apart.

The hosts these benchmarks run on are shared and vary in speed from hour to hour; a
request's CPU time and the reference loop's time, printed beside each rate, tell whether a
slower run is the code or the machine. Linux only (/proc); elsewhere the figures are None.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

_PROC = Path("/proc")


def reference_loop_seconds() -> float:
    """Seconds this machine takes for ten million additions in pure Python (best of three)."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for i in range(10_000_000):
            total += i
        best = min(best, time.perf_counter() - started)
    return best


def _stat(pid: str) -> list[str] | None:
    try:
        # Fields after the command name (which may hold spaces) start at the state, field 3.
        return (_PROC / pid / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _cmdline(pid: str) -> str:
    try:
        return (_PROC / pid / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def cpu_seconds(select: Callable[[str, list[str]], bool]) -> float | None:
    """User + system CPU seconds of every live process `select(pid, stat_fields)` accepts."""
    if not _PROC.is_dir():
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in os.listdir(_PROC):
        if not pid.isdigit():
            continue
        fields = _stat(pid)
        if fields is not None and select(pid, fields):
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def tree_of(root: int) -> Callable[[str, list[str]], bool]:
    """A selector for `root` and its child processes (uvicorn's workers are its children)."""
    return lambda pid, fields: int(pid) == root or int(fields[1]) == root


def postgres_processes(pid: str, fields: list[str]) -> bool:
    """A selector for the local PostgreSQL server's processes (backends, WAL writer, ...)."""
    return _cmdline(pid).startswith("postgres")
