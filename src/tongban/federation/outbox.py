"""Putting a message in the outbox: one function for every module that sends (outbound's
transfers and state changes, requests' relayed actions and answers, co-handling's steps and
results), so none of them imports another to reach it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tongban.federation.models import Outgoing
from tongban.platform.db import utcnow


def queue(
    session: Session, *, kind: str, target: str, number: str, message_id: str, body: dict
) -> None:
    """Put one message in the outbox (a message id is made once: a case is submitted once,
    and each version of it exists once); the worker publishes it after commit."""
    session.add(
        Outgoing(
            message_id=message_id,
            kind=kind,
            target_node=target,
            case_number=number,
            body=body,
            created_at=utcnow(),
        )
    )
