"""Identity rules: accounts, sessions, tokens and the one authorize() function."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.orm import Session

from tongban.errors import Forbidden

SESSION_COOKIE = "tb_session"


class Role(StrEnum):
    """The five roles of the platform."""

    CITIZEN = "citizen"
    CLERK = "clerk"
    OFFICIAL = "official"
    STEWARD = "steward"
    ADMIN = "admin"


@dataclass(frozen=True)
class Actor:
    """The authenticated caller of one request."""

    account_id: int
    username: str
    role: Role
    department_id: int | None = None
    jurisdiction: str | None = None
    service_point: str | None = None
    session_id: str | None = None


def resolve_actor(
    session: Session, *, authorization: str | None, session_token: str | None
) -> Actor | None:
    """Find the caller from a bearer token or a session cookie."""
    return None


def authorize(actor: Actor | None, action: str, resource: object | None = None) -> None:
    """Raise Forbidden unless the actor may perform the action on the resource."""
    if actor is None or actor.role is not Role.ADMIN:
        raise Forbidden(f"not allowed: {action}")
