"""The consent rules other domains and the shell call: consents.py (asking, deciding, the
signed artefact), checks.py (which uses need consent, and the fetch check exchange makes),
tracker.py (the data tracker: the events hook, a person's uses, the completeness check)."""

from __future__ import annotations

from tongban.consent.checks import (
    REFUSAL_MESSAGES,
    REFUSAL_TEXTS,
    check_and_use,
    needs_consent,
    set_requirement,
)
from tongban.consent.consents import ConsentView, Refusal, ResourceTerms, on_describe_resource
from tongban.consent.demo import load_demo as load_consent_demo
from tongban.consent.schemas import RequirementIn
from tongban.consent.tracker import (
    KNOWN_CASE,
    UsageLine,
    UsagePage,
    data_usage,
    missing_lines,
    note_event,
)
from tongban.consent.tracker_demo import load_demo as load_tracker_demo

__all__ = [
    "KNOWN_CASE",
    "REFUSAL_MESSAGES",
    "REFUSAL_TEXTS",
    "ConsentView",
    "Refusal",
    "RequirementIn",
    "ResourceTerms",
    "UsageLine",
    "UsagePage",
    "check_and_use",
    "data_usage",
    "load_consent_demo",
    "load_tracker_demo",
    "missing_lines",
    "needs_consent",
    "note_event",
    "on_describe_resource",
    "set_requirement",
]
