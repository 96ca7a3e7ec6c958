"""Real-name verification (实名核验): an interface to the outside that provinces connect to their
identity service (the public-security population register, a government identity app's
authentication service, or a certified commercial gateway).

The verifier is chosen by `TONGBAN_REALNAME_VERIFIER=module:Class` (docs/realname.md). There is
no default: without one, a resident ID is bound to an account only after a clerk has checked the
ID card in person at a service point.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class RealNameResult:
    """The service's answer: whether the number, the name (and the phone, when the service
    checks it) belong together, and the service's own reference for the check (a transaction
    id, kept beside the event for audits; never a resident ID or a name)."""

    matched: bool
    reference: str | None = None


class RealNameUnavailable(Exception):
    """The service cannot answer now (down, timed out, quota used up): nothing is decided."""


@runtime_checkable
class RealNameVerifier(Protocol):
    """What a province's real-name service implements."""

    def verify(self, *, resident_id: str, name: str, phone: str | None) -> RealNameResult:
        """Check that `name` is the registered name of `resident_id` (and, if the service
        can, that `phone` is registered to that person); raise RealNameUnavailable, or any
        error, when it cannot answer."""


@lru_cache(maxsize=8)
def load_verifier(path: str) -> RealNameVerifier:
    """Instantiate the verifier class named `module:Class`."""
    module_name, _, class_name = path.partition(":")
    if not module_name or not class_name:
        raise ValueError(f"TONGBAN_REALNAME_VERIFIER must be module:Class, got {path!r}")
    verifier = getattr(importlib.import_module(module_name), class_name)()
    if not isinstance(verifier, RealNameVerifier):
        raise TypeError(f"{path} has no verify(resident_id=, name=, phone=) method")
    return verifier
