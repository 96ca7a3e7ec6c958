"""GovStack clients: the `Information-Mediator-Client` header, the registered client
departments and their system accounts, the record of every call (issue #21)."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.cases import service as cases
from tongban.events import service as events
from tongban.govstack.models import (
    GovstackClient,
)
from tongban.identity import service as identity
from tongban.identity.service import Actor, Role
from tongban.platform.config import Settings
from tongban.platform.errors import FieldError, Forbidden, Invalid

HEADER = "Information-Mediator-Client"
# INSTANCE/CLASS/MEMBER/SUBSYSTEM, as in eGovStack/GOV/90000009/eregistrations-dev.
_CLIENT_SHAPE = re.compile(r"^[A-Za-z0-9_-]+/[A-Za-z0-9_-]+/[A-Za-z0-9_-]+/[A-Za-z0-9_-]+$")
_MAX_ID = 100

# The steps an official takes on a case, in order, and the case states in which each waits.
STEPS = ("accept", "decide", "complete")
_STEP_NAMES = {"accept": "Accept the application", "decide": "Decide", "complete": "Complete"}
_OPEN_IN = {
    "accept": cases.State.RECEIVED.value,
    "decide": cases.State.ACCEPTED.value,
    "complete": (cases.State.APPROVED.value, cases.State.REJECTED.value),
}
# Where each step stands once the case is in a state: how many steps are done.
_DONE_STEPS = {
    cases.State.RECEIVED.value: 0,
    cases.State.SUPPLEMENT_REQUESTED.value: 0,
    cases.State.SPECIAL_PROCEDURE.value: 1,
    cases.State.ACCEPTED.value: 1,
    cases.State.APPROVED.value: 2,
    cases.State.REJECTED.value: 2,
    cases.State.COMPLETED.value: 3,
}
_STATUS_TITLES = {
    "PENDING": "Pending",
    "APPROVED": "Approved",
    "SENDBACK": "Sent back",
    "REJECTED": "Rejected",
}


def well_formed(header: str | None) -> bool:
    """True when the header has four non-empty `/`-separated parts of [A-Za-z0-9_-]."""
    return bool(header) and len(header or "") <= 200 and bool(_CLIENT_SHAPE.match(header or ""))


@dataclass(frozen=True)
class Client:
    """A registered calling system and the accounts the adapter acts as for it."""

    id: int
    client: str
    department_id: int
    department_code: str
    region_code: str
    handler: Actor
    desk: Actor
    is_default: bool


def _actor(session: Session, account_id: int) -> Actor:
    view = identity.get_account(session, account_id=account_id)
    role = Role(view.role)
    return Actor(
        account_id=view.id,
        username=view.username,
        role=role,
        department_id=view.department_id,
        department_code=view.department_code,
        jurisdiction=view.region_code if role is Role.OFFICIAL else None,
        display_name=view.display_name,
        via=events.Channel.API,
    )


def _client(session: Session, row: GovstackClient) -> Client:
    department = identity.get_department(session, department_id=row.department_id)
    return Client(
        id=row.id,
        client=row.client,
        department_id=row.department_id,
        department_code=department.code,
        region_code=department.region_code,
        handler=_actor(session, row.handler_id),
        desk=_actor(session, row.desk_id),
        is_default=row.is_default,
    )


def _system_username(prefix: str, text: str) -> str:
    return f"{prefix}-{hashlib.sha256(text.encode()).hexdigest()[:24]}"


def add_client(
    session: Session,
    *,
    client: str,
    department_code: str,
    default: bool = False,
    settings: Settings,
) -> Client:
    """Register a calling system to a department (idempotent), with its system accounts."""
    if not well_formed(client):
        raise Invalid(
            "A client is INSTANCE/CLASS/MEMBER/SUBSYSTEM (letters, digits, _ and -).",
            errors=[FieldError("client", "not INSTANCE/CLASS/MEMBER/SUBSYSTEM")],
        )
    department = identity.get_department_by_code(session, code=department_code)
    row = session.scalar(select(GovstackClient).where(GovstackClient.client == client))
    if row is None:
        handler = _system_account(
            session,
            username=_system_username("gs-op", client),
            role=Role.OFFICIAL,
            department_code=department.code,
            region_code=department.region_code,
            display_name=f"GovStack {client.rsplit('/', 1)[-1]}"[:100],
            settings=settings,
        )
        desk = _system_account(
            session,
            username=_system_username("gs-desk", client),
            role=Role.CITIZEN,
            department_code=None,
            region_code=None,
            display_name=f"GovStack {client.rsplit('/', 1)[-1]} uploads"[:100],
            settings=settings,
        )
        row = GovstackClient(
            client=client,
            department_id=department.id,
            handler_id=handler,
            desk_id=desk,
            is_default=False,
            active=True,
        )
        session.add(row)
        session.flush()
        events.record(
            session,
            action="govstack.client.registered",
            resource_type="govstack_client",
            resource_id=str(row.id),
            channel=events.Channel.CLI,
            data={"department": department.code, "default": default},
            private={"client": client},
        )
    if default and not row.is_default:
        for other in session.scalars(select(GovstackClient).where(GovstackClient.is_default)):
            other.is_default = False
        row.is_default = True
        session.flush()
    return _client(session, row)


def _system_account(
    session: Session,
    *,
    username: str,
    role: Role,
    department_code: str | None,
    region_code: str | None,
    display_name: str,
    settings: Settings,
) -> int:
    """An account nobody logs in to (its password is random and never kept)."""
    found = identity.find_account_by_username(session, username=username)
    if found is not None:
        return found.id
    return identity.create_account(
        session,
        username=username,
        password=secrets.token_urlsafe(32),
        role=role,
        settings=settings,
        department_code=department_code,
        region_code=region_code,
        display_name=display_name,
    ).id


def list_clients(session: Session) -> list[Client]:
    """Every registered client, oldest first."""
    rows = session.scalars(select(GovstackClient).order_by(GovstackClient.id)).all()
    return [_client(session, row) for row in rows]


def resolve_client(session: Session, *, header: str | None, required: bool) -> Client:
    """The registered client the header names.

    Where the header is `required` (statistics), anything but a well-formed registered
    client is Invalid (400). Elsewhere a call without the header is the default client's
    (Forbidden when there is none), and one naming an unregistered client is Forbidden.
    """
    if required and not well_formed(header):
        raise Invalid(
            f"The {HEADER} header must be INSTANCE/CLASS/MEMBER/SUBSYSTEM.",
            errors=[FieldError(HEADER, "missing or malformed")],
        )
    if not header:
        row = session.scalar(
            select(GovstackClient).where(GovstackClient.is_default, GovstackClient.active)
        )
        if row is None:
            raise Forbidden(f"Send the {HEADER} header of a registered client.")
        return _client(session, row)
    row = session.scalar(
        select(GovstackClient).where(GovstackClient.client == header, GovstackClient.active)
    )
    if row is None:
        if required:
            raise Invalid(
                f"{header!r} is not a client registered on this node.",
                errors=[FieldError(HEADER, "not a registered client")],
            )
        raise Forbidden(f"{header!r} is not a client registered on this node.")
    return _client(session, row)


def record_call(
    session: Session,
    *,
    client: Client,
    operation: str,
    data: dict[str, Any] | None = None,
    private: dict[str, Any] | None = None,
    personal: dict[str, Any] | None = None,
) -> None:
    """Record one answered call as an event (and so in the ledger), the client as actor."""
    events.record(
        session,
        action=f"govstack.{operation}",
        resource_type="govstack_client",
        resource_id=str(client.id),
        channel=events.Channel.API,
        actor_id=client.handler.account_id,
        actor_role=client.handler.role.value,
        data={"client": client.id, **(data or {})},
        private={"client": client.client, **(private or {})},
        personal=personal,
    )
