"""The exchange's refusals: errors whose refusal event outlives them (`keeps_writes`).

A refused fetch is itself a fact the ledger must hold (who tried, which case, which resource,
why refused); the unit of work rolls back everything else, so each refusal is raised only after
its event was recorded and nothing else was written.
"""

from __future__ import annotations

from tongban.platform.errors import AppError, Conflict, Forbidden, Invalid, NotFound


class RefusedNotFound(NotFound):
    """No such case (or one the caller may not see): refused and recorded."""

    keeps_writes = True


class RefusedForbidden(Forbidden):
    """Not shared, not agreed, revoked, expired, outside the fields or the items: recorded."""

    keeps_writes = True


class RefusedConflict(Conflict):
    """The case is not open: recorded."""

    keeps_writes = True


class RefusedInvalid(Invalid):
    """A fetch with no case or unknown fields: recorded."""

    keeps_writes = True


class ProviderUnavailable(AppError):
    """The provider did not answer in time or answered wrongly; the case is unchanged, retry."""

    status = 503
    code = "provider-unavailable"
    title = "Provider unavailable"
    keeps_writes = True
