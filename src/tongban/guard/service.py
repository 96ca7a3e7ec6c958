"""The security brain's rules for the shell, the CLI and the console: run the detector over
the events (the events table is the durable queue; the guard keeps a cursor), raise alerts
with their evidence and responses, triage them, edit the rules, summarise by region."""

from __future__ import annotations

from tongban.guard.console import (
    OUTCOMES,
    STATES,
    TRIAGE,
    AlertView,
    RegionRow,
    ResponseView,
    RuleView,
    TimelineEntry,
    authorize_configure,
    authorize_read,
    authorize_triage,
    counts,
    cursor_state,
    get_alert,
    list_alerts,
    list_rules,
    region_summary,
    reverse_response,
    timeline,
    triage,
    update_rule,
)
from tongban.guard.metrics import install_metrics
from tongban.guard.rules import KINDS, SEVERITIES
from tongban.guard.runner import BATCH, Guard, RunReport, read_events, worker_starter

__all__ = [
    "BATCH",
    "KINDS",
    "OUTCOMES",
    "SEVERITIES",
    "STATES",
    "TRIAGE",
    "AlertView",
    "Guard",
    "RegionRow",
    "ResponseView",
    "RuleView",
    "RunReport",
    "TimelineEntry",
    "authorize_configure",
    "authorize_read",
    "authorize_triage",
    "counts",
    "cursor_state",
    "get_alert",
    "install_metrics",
    "list_alerts",
    "list_rules",
    "read_events",
    "region_summary",
    "reverse_response",
    "timeline",
    "triage",
    "update_rule",
    "worker_starter",
]
