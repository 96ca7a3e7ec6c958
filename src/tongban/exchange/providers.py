"""Providers: where a fetch's data comes from.

Local: a table of this node (`exchange_provider_records`) keyed by the keyed lookup hash of the
resident ID (identity's keys, as accounts hold it), so the provider's table never holds the
number. Remote: another node over signed HTTP (exchange/remote.py), found in the node directory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from tongban.exchange.models import DataResource, ProviderRecord
from tongban.identity import service as identity
from tongban.platform.config import Settings
from tongban.platform.db import utcnow
from tongban.platform.db.fastpath.direct_sql import read_one


@dataclass(frozen=True, slots=True)
class Answer:
    """What a provider answered: the record's asked fields (or not found), and from where."""

    found: bool
    data: dict[str, Any] = field(default_factory=dict)
    source: str = "local"
    message_id: str | None = None
    # From another node: the SHA-256 of the request and of the response (the message log's),
    # which go into the ledger with the fetch's event.
    message_hashes: tuple[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Query:
    """One question to a provider: the resource, the fields, whose record, for which case."""

    resource: str
    fields: tuple[str, ...]
    resident_id: str
    case_number: str
    purpose: str
    client: str  # the consumer department's code
    item: str = ""  # the catalog item of the case (the provider checks its own agreements)


# A remote provider's client: (session, node id, query, settings) -> Answer. Set by the shell
# (exchange/remote.py registers itself), so that fetch.py does not know HTTP.
RemoteClient = Callable[[Session, str, Query, Settings], Answer]
_remote: list[RemoteClient] = []


def register_remote(client: RemoteClient) -> None:
    """Use this client for resources whose endpoint is another node."""
    _remote[:] = [client]


def ask(session: Session, *, resource: DataResource, query: Query, settings: Settings) -> Answer:
    """Ask the resource's provider: this node's table, or the remote node it names."""
    if resource.endpoint == "local":
        return local_answer(session, query=query, settings=settings)
    if not _remote:
        from tongban.exchange import remote  # registers the HTTP client

        assert remote is not None
    return _remote[0](session, resource.endpoint, query, settings)


# Built once: read on every query served.
_RECORD = select(ProviderRecord.data).where(
    ProviderRecord.resource_code == bindparam("resource"),
    ProviderRecord.subject_hash == bindparam("subject"),
)


def local_answer(session: Session, *, query: Query, settings: Settings) -> Answer:
    """The record of this node's table for the person, only the asked fields."""
    subject = identity.resident_id_lookup_hash(query.resident_id, settings=settings)
    found = read_one(session, _RECORD, {"resource": query.resource, "subject": subject})
    data = None if found is None else found.data
    if data is None:
        return Answer(found=False)
    return Answer(found=True, data={name: data.get(name) for name in query.fields})


def put_record(
    session: Session,
    *,
    resource: str,
    resident_id: str,
    data: dict[str, Any],
    settings: Settings,
) -> bool:
    """Store (or replace) a local provider's record for a person; True when new."""
    subject = identity.resident_id_lookup_hash(resident_id, settings=settings)
    row = session.scalar(
        select(ProviderRecord).where(
            ProviderRecord.resource_code == resource, ProviderRecord.subject_hash == subject
        )
    )
    if row is None:
        session.add(ProviderRecord(resource_code=resource, subject_hash=subject, data=data))
        return True
    row.data = dict(data)
    row.updated_at = utcnow()
    return False


def only(fields: Sequence[str], data: dict[str, Any]) -> dict[str, Any]:
    """The asked fields of a record (a provider never sends more than was asked)."""
    return {name: data.get(name) for name in fields}
