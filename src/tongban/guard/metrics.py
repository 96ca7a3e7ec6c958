"""Prometheus metrics of the security brain, read when /metrics is scraped: alerts by kind,
severity and state, the detector's backlog (events after its cursor) and its lag, and the
events and alerts of this process's detector."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from tongban.guard.console import counts, cursor_state
from tongban.platform.db import Database

log = logging.getLogger(__name__)


class GuardCollector(Collector):
    """Reads the guard's figures at each scrape (two small queries)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        """The metrics."""
        alerts = GaugeMetricFamily(
            "tongban_guard_alerts",
            "Security alerts by kind, severity and state",
            labels=["kind", "severity", "state"],
        )
        backlog = GaugeMetricFamily(
            "tongban_guard_backlog_events", "Events the detector has not read yet"
        )
        lag = GaugeMetricFamily(
            "tongban_guard_lag_seconds",
            "Seconds from the newest event the detector read to its reading it",
        )
        database: Database = self.app.state.database
        try:
            with database.session_scope() as session:
                for (kind, severity, state), n in counts(session).items():
                    alerts.add_metric([kind, severity, state], n)
                cursor, newest, last_lag = cursor_state(session)
            backlog.add_metric([], max(newest - cursor, 0))
            lag.add_metric([], last_lag or 0.0)
        except Exception:  # a scrape never breaks on the guard
            log.exception("guard: reading the metrics failed")
        yield alerts
        yield backlog
        yield lag
        guard = getattr(self.app.state, "guard", None)
        if guard is not None:
            read = CounterMetricFamily(
                "tongban_guard_events_read", "Events this process's detector has read"
            )
            read.add_metric([], guard.events_total)
            yield read
            raised = CounterMetricFamily(
                "tongban_guard_alerts_raised",
                "Alerts this process's detector has raised, by kind",
                labels=["kind"],
            )
            for kind, n in guard.alerts_total.items():
                raised.add_metric([kind], n)
            yield raised


def install_metrics(app: Any) -> None:
    """Add the guard's metrics to the app's registry (platform/metrics.py)."""
    registry = getattr(app.state, "metrics_registry", None)
    if registry is not None:
        registry.register(GuardCollector(app))
