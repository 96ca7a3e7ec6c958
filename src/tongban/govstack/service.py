"""The govstack rules other domains and the shell call (filled by its issue)."""

from __future__ import annotations

# Placeholder until the issue lands its rules: the issue this domain serves.
ISSUE = 21

__all__ = ["ISSUE"]
