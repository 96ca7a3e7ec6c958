"""Consent for conditional sharing, and the citizen's data-usage tracker (issue #16)."""
