"""The rows a fetch writes at once (a cached INSERT instead of the unit of work's flush: the
fetch, its tracker line, the message log; a Core UPDATE of a queued fetch; the resource and its
agreements read in one statement) are the rows the ORM path wrote: the same fetch done both
ways, on both databases, stores the same values."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.exchange.conftest import World, make_case

from tongban.consent import tracker
from tongban.consent.tracker_models import DataUse
from tongban.events import service as events_service
from tongban.events.models import Event
from tongban.exchange import fetch, remote, serving
from tongban.exchange.models import Agreement, DataFetch, DataResource, PendingFetch
from tongban.platform.config import Settings
from tongban.platform.db import utcnow

# Columns that differ between any two fetches: keys, moments, the case and random ids.
_VARYING = {
    *("id", "fetched_at", "event_id", "event_uid", "occurred_at", "case_number", "fetch_id"),
    *("created_at", "updated_at", "next_attempt_at"),
}


def _orm_way(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the code did before: build with the constructor, session.add, flush."""

    def insert_now(session: Session, obj: Any, **_: Any) -> bool:
        session.add(obj)
        session.flush()
        return True

    for module in (fetch, tracker, remote, serving):
        monkeypatch.setattr(module, "insert_now", insert_now)
        monkeypatch.setattr(module, "new_row", lambda cls, /, **values: cls(**values))


def _values(row: Any) -> dict[str, Any]:
    return {
        column.key: getattr(row, column.key)
        for column in row.__table__.columns
        if column.key not in _VARYING
    }


def _one_fetch(db: Session, world: World, settings: Settings) -> dict[str, Any]:
    case = make_case(db, world)
    db.add(
        PendingFetch(
            case_number=case.number,
            resource_code="RS-YLBX-001",
            actor_id=world.accounts["official"].id,
            state="failed",
            problem="provider-unavailable",
            next_attempt_at=utcnow(),
        )
    )
    db.flush()
    row = fetch.fetch_for_case(
        db,
        actor=world.actor("official"),
        case_number=case.number,
        resource_code="RS-YLBX-001",
        fields=None,
        purpose="核验参保缴费情况",
        settings=settings,
    )
    db.expire_all()
    stored = db.get(DataFetch, row.id)
    event = db.scalars(
        select(Event).where(Event.action == "exchange.fetched").order_by(Event.id.desc())
    ).first()
    assert stored is not None and event is not None
    line = db.scalar(select(DataUse).where(DataUse.event_id == event.id))
    pending = db.scalar(select(PendingFetch).where(PendingFetch.case_number == case.number))
    assert line is not None and pending is not None
    assert pending.fetch_id == stored.id and line.case_number == case.number
    assert pending.updated_at == stored.fetched_at
    data = dict(event.data)
    data.pop("fetch")
    return {
        "fetch": _values(stored),
        "line": _values(line),
        "pending": _values(pending),
        "event": (event.action, event.resource_type, data, event.private),
    }


def test_a_fetch_stores_what_the_orm_stored(
    db: Session, world: World, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    events_service.on_stored(tracker.note_event)  # as the shell sets it (idempotent)
    fast = _one_fetch(db, world, settings)
    with monkeypatch.context() as patch:
        _orm_way(patch)
        slow = _one_fetch(db, world, settings)
    assert fast == slow
    assert fast["fetch"]["found"] is True and fast["pending"]["state"] == "done"
    assert fast["line"]["department_name"] and fast["line"]["field_labels"]


def _columns(row: Any) -> dict[str, Any]:
    return {column.key: getattr(row, column.key) for column in row.__table__.columns}


def test_the_resource_and_its_agreements_read_as_the_orm_loads_them(
    db: Session, world: World
) -> None:
    # One statement built once, its rows made into objects without the ORM's loading: every
    # column as the ORM loads it (JSON lists, zoned timestamps, NULLs), agreements oldest
    # first, for each way a consumer is named; no agreement, and no resource.
    department = world.accounts["official"].department_id
    agreed = db.scalars(select(Agreement).where(Agreement.consumer_department_id == department))
    assert agreed.first() is not None  # the demo's approved agreement
    for resource in db.scalars(select(DataResource).order_by(DataResource.code)):
        mine = db.scalars(
            select(Agreement)
            .where(Agreement.resource_id == resource.id)
            .where(Agreement.consumer_department_id == department)
            .order_by(Agreement.id)
        ).all()
        found, agreements = fetch.resource_and_agreements(
            db, code=resource.code, department_id=department
        )
        assert found is not None and _columns(found) == _columns(resource)
        assert [_columns(a) for a in agreements] == [_columns(a) for a in mine]
        for agreement in mine:
            by_code, theirs = fetch.resource_and_agreements(
                db, code=resource.code, consumer_code=agreement.consumer_code
            )
            assert by_code is not None and _columns(by_code) == _columns(resource)
            assert _columns(agreement) in [_columns(a) for a in theirs]
    assert fetch.resource_and_agreements(db, code="RS-NONE-001", department_id=1) == (None, [])


def test_the_statements_of_a_fetch_run_directly_on_both_databases() -> None:
    # Each statement a fetch or a served query runs every time is built with every value a
    # parameter, so it takes the driver's cursor (a constant built in would send it back
    # through SQLAlchemy's execution without anyone noticing).
    from sqlalchemy.dialects.postgresql import psycopg
    from sqlalchemy.dialects.sqlite import pysqlite

    from tongban.cases import service as cases_service
    from tongban.consent import checks
    from tongban.exchange import nodes, providers
    from tongban.identity import accounts, cards, departments
    from tongban.platform.db.fastpath import direct_sql

    reads = {
        cases_service._VIEW_BY_NUMBER: ("number",),
        accounts._RESIDENT_ID: ("account_id",),
        cards._CARD: ("account_id",),
        departments._NAME_BY_CODE: ("code",),
        checks._REQUIREMENTS: ("resource_code",),
        nodes._LISTED: ("node_id",),
        serving._NODE_AND_SEEN: ("node_id", "message_id", "inbound"),
        providers._RECORD: ("resource", "subject"),
        fetch._BY_DEPARTMENT: ("code", "consumer"),
        fetch._BY_CONSUMER_CODE: ("code", "consumer"),
    }
    pending = ("for_case", "for_resource", "pending", "failed", "done", "done_by", "no_problem")
    for dialect in (pysqlite.SQLiteDialect_pysqlite(), psycopg.PGDialect_psycopg()):
        for statement, names in reads.items():
            assert direct_sql._direct_query(statement, names, dialect) is not None, statement
        update = fetch._PENDING_DONE.compile(dialect=dialect)
        assert direct_sql.compiled_direct(update, (*pending, "done_at"), dialect) is not None
