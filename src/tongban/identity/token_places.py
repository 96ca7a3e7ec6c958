"""Where API tokens are used: the first time a token is used from an address (by its keyed
pseudonym, never in clear) the pair is stored and `identity.token_new_place` recorded, so the
security brain can ask whether a stolen long-lived token turns up somewhere new at night
(guard rule `token.new_place_odd_hour`).

The request path pays almost nothing for a place it knows: a process-wide set of (token,
address) pairs answers without the database, and the pseudonym of an address is computed once
per process. A pair the set does not know costs one INSERT .. ON CONFLICT DO NOTHING (the
same on SQLite and PostgreSQL: two processes seeing the same new place race harmlessly, only
the one whose row went in records the event).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tongban.events import service as events
from tongban.identity.blocks import client_key
from tongban.identity.models import TokenPlace
from tongban.platform.config import Settings
from tongban.platform.db import uow, utcnow

# Bound of the process cache (cleared whole when full: it only saves work).
_MAX_KNOWN = 100_000
# (node data directory, token id, address pseudonym) known to be stored.
_known: set[tuple[str, int, str]] = set()


def _remember(pair: tuple[str, int, str]) -> None:
    if len(_known) >= _MAX_KNOWN:
        _known.clear()
    _known.add(pair)


def forget_known() -> None:
    """Empty the process cache (tests; the table stays the truth)."""
    _known.clear()


def note_token_place(
    session: Session, *, settings: Settings, token_id: int, account_id: int, client_ip: str
) -> bool:
    """Note that the token is used from this address; True when the address is new to the
    token (then stored, with its `identity.token_new_place` event)."""
    key = client_key(settings, client_ip)
    pair = (str(settings.data_dir), token_id, key)
    if pair in _known:
        return False
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement: Any = (
        insert(TokenPlace)
        .values(token_id=token_id, client_key=key, first_seen_at=utcnow())
        .on_conflict_do_nothing(index_elements=["token_id", "client_key"])
        .returning(TokenPlace.token_id)
    )
    inserted = session.execute(statement).first()
    if inserted is None:  # another request or process noted it first
        _remember(pair)
        return False
    # Remembered once committed: a rolled-back request must not hide the place for good.
    uow.after_commit(session, lambda: _remember(pair))
    seen_elsewhere = session.scalar(
        select(exists().where(TokenPlace.token_id == token_id, TokenPlace.client_key != key))
    )
    events.record(
        session,
        action="identity.token_new_place",
        resource_type="api_token",
        resource_id=str(token_id),
        channel="api",
        actor_id=account_id,
        # `first`: the token's first place ever (its owner setting it up), not a move.
        data={"token_id": token_id, "first": not seen_elsewhere},
        personal={"client_key": key},
    )
    return True
