"""Insight at national scale: the full equalization report over 10,000,000 simulated cases.

Targets (issue 6): report ≤ 30 s and ≤ 4 GB peak RSS on 2 cores; dashboard ≤ 2 s after its
first computation. The snapshot is simulated once into var/bench-insight (seed 1) and reused.
Environment: TONGBAN_BENCH_CASES (default 10,000,000), TONGBAN_BENCH_SNAPSHOT (directory).
Each phase runs in a child process so that its peak RSS is its own.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

CASES = int(os.environ.get("TONGBAN_BENCH_CASES", "10000000"))
SNAPSHOT = Path(os.environ.get("TONGBAN_BENCH_SNAPSHOT", f"var/bench-insight-{CASES}"))


def _child(phase: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.insight_report", phase, str(SNAPSHOT)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _simulate() -> dict[str, float]:
    from tongban.insight.simulate import simulate

    started = time.perf_counter()
    simulate(cases=CASES, seed=1, out=SNAPSHOT)
    return {"seconds": time.perf_counter() - started, "peak_mb": _peak_mb()}


def _report() -> dict[str, float]:
    from tongban.insight import report
    from tongban.insight.engine import open_snapshot
    from tongban.insight.periods import parse_period

    started = time.perf_counter()
    snap = open_snapshot(SNAPSHOT)
    data = report.build(snap, period=parse_period("2026-Q3"))
    html = report.render_html(data)
    first = time.perf_counter() - started
    # The dashboard's path: the same computation through the cache, then rendering.
    report.cached_build(snap, period=parse_period("2026-Q3"), key="bench")
    again = time.perf_counter()
    cached = report.cached_build(snap, period=parse_period("2026-Q3"), key="bench")
    report.render_html(cached)
    dashboard = time.perf_counter() - again
    year = time.perf_counter()
    report.build(snap, period=parse_period("2026"))
    return {
        "seconds": first,
        "dashboard_cached_seconds": dashboard,
        "year_seconds": time.perf_counter() - year,
        "html_kb": len(html.encode()) / 1024,
        "cases": float(data["totals"]["cases"] or 0),
        "peak_mb": _peak_mb(),
    }


def main() -> None:
    """Simulate if needed, then time the report and the cached dashboard path."""
    if not (SNAPSHOT / "case_facts.parquet").exists():
        sim = _child("simulate")
        print(f"simulate {CASES:,} cases: {sim['seconds']:.1f} s, peak RSS {sim['peak_mb']:.0f} MB")
    rep = _child("report")
    print(
        f"report 2026-Q3 over {CASES:,} simulated cases ({rep['cases']:,.0f} in the quarter): "
        f"{rep['seconds']:.1f} s, peak RSS {rep['peak_mb']:.0f} MB (targets 30 s, 4096 MB)"
    )
    print(f"report for the whole year 2026: {rep['year_seconds']:.1f} s")
    print(f"dashboard after first computation (cached): {rep['dashboard_cached_seconds']:.3f} s")
    print(f"report HTML: {rep['html_kb']:.0f} KB")


if __name__ == "__main__":
    if len(sys.argv) == 3:
        SNAPSHOT = Path(sys.argv[2])
        phase = {"simulate": _simulate, "report": _report}[sys.argv[1]]
        print(json.dumps(phase()))
    else:
        main()
