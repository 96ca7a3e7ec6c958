"""The fast paths give what the plain ones give: a batch issue (`issue_many`) makes the same
licences, rows and events as `issue` one by one; the process's status list array, updated in
place on a committed status change, equals the array rebuilt from the database (and a rolled
back or foreign change is never served)."""

from __future__ import annotations

from typing import Any

from joserfc.jwk import OKPKey
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from tests.credentials.conftest import World

from tongban.credentials import licences, sdjwt, status, statuslist
from tongban.credentials import service as credentials
from tongban.credentials.issuing import status_list_uri
from tongban.credentials.models import Credential, StatusListRow
from tongban.events.models import Event
from tongban.platform.config import Settings

KIND = licences.for_item("101110006000")
VARYING = {"id", "licence_id", "list_index", "sd_jwt", "issued_at", "updated_at", "case_number"}


def _row(db: Session, credential_id: int) -> dict[str, Any]:
    row = db.get(Credential, credential_id)
    assert row is not None
    names = [column.name for column in Credential.__table__.columns]
    return {c: getattr(row, c) for c in names if c not in VARYING}


def _payload(token: str) -> dict[str, Any]:
    payload = dict(sdjwt.parse(token).payload)
    for name in ("iat", "licence_id", "_sd"):
        payload.pop(name)
    payload["status"]["status_list"].pop("idx")
    return payload


def test_issue_many_same_as_issue(db: Session, settings: Settings, world: World) -> None:
    assert KIND is not None
    holder, department = world.accounts["citizen"].id, world.departments["demo"].id
    plain = credentials.issue(
        db, kind=KIND, holder_id=holder, department_id=department, form={"bank": "农行"},
        settings=settings, case_number="C-1",
    )  # fmt: skip
    grants = [
        credentials.Grant(holder_id=holder, form={"bank": "农行"}, case_number=f"C-{n}")
        for n in (2, 3)
    ]
    batch = credentials.issue_many(
        db, kind=KIND, department_id=department, grants=grants, settings=settings
    )
    assert [b.type_code for b in batch] == [plain.type_code] * 2
    rows = [db.get(Credential, v.id) for v in (plain, *batch)]
    assert [r.list_index for r in rows if r] == [rows[0].list_index + n for n in range(3)]  # type: ignore[union-attr]
    assert [r.case_number for r in rows if r] == ["C-1", "C-2", "C-3"]
    for made in batch:
        assert _row(db, made.id) == _row(db, plain.id)
    tokens = [r.sd_jwt or "" for r in rows if r]
    for token in tokens[1:]:
        assert _payload(token) == _payload(tokens[0])
        shown = sorted((name, value) for name, value, _ in sdjwt.holder_view(token))
        assert shown == sorted((name, value) for name, value, _ in sdjwt.holder_view(tokens[0]))
    for token, made in zip(tokens, (plain, *batch), strict=True):
        verdict = credentials.check_here(db, text=token, settings=settings)
        assert verdict.valid and verdict.status == "valid", verdict
        assert verdict.claims["licence_id"] == made.licence_id
    events = db.scalars(
        select(Event).where(Event.action == "credential.issued").order_by(Event.id)
    ).all()
    assert [e.resource_id for e in events] == [m.licence_id for m in (plain, *batch)]
    first = events[0]
    for later, index in zip(events[1:], (1, 2), strict=True):
        assert later.data == {
            **first.data,
            "case": f"C-{index + 1}",
            "idx": first.data["idx"] + index,
        }
        assert later.personal == first.personal and later.channel == first.channel


def _fetch(db: Session, settings: Settings, list_id: int) -> statuslist.StatusList:
    token = credentials.list_token(db, list_id=list_id, settings=settings)
    jwks = credentials.issuer_metadata(db, settings=settings)["jwks"]["keys"]
    key = OKPKey.import_key(next(k for k in jwks if k["kid"] == statuslist.unverified_kid(token)))
    return statuslist.check_token(token, key=key, uri=status_list_uri(settings, list_id))


def test_status_array_follows_changes(db: Session, settings: Settings, world: World) -> None:
    assert KIND is not None
    made = credentials.issue_many(
        db,
        kind=KIND,
        department_id=world.departments["demo"].id,
        grants=[credentials.Grant(holder_id=world.accounts["citizen"].id, form={})] * 3,
        settings=settings,
    )
    db.commit()
    rows = [db.get(Credential, m.id) for m in made]
    a, b, c = (r for r in rows if r)
    list_id = a.list_id
    assert _fetch(db, settings, list_id).status(a.list_index) == "valid"
    official = world.actor("official")

    def change(row: Credential, action: str) -> None:
        credentials.change_status(
            db, actor=official, credential_id=row.id, action=action, reason="核查中"
        )

    # Committed changes of this process: applied in place, no rebuild, same as the database.
    for row, action, expected in (
        (a, "suspend", "suspended"),
        (b, "revoke", "revoked"),
        (a, "reinstate", "valid"),
    ):
        change(row, action)
        db.commit()
        before = status.rebuilds
        assert _fetch(db, settings, list_id).status(row.list_index) == expected
        assert status.rebuilds == before
        cached = status.cached_array(db, list_id=list_id)
        assert cached == status.rebuilt_array(db, list_id=list_id)
    assert _fetch(db, settings, list_id).status(b.list_index) == "revoked"

    # A rolled back change is never served.
    change(c, "suspend")
    db.rollback()
    assert _fetch(db, settings, list_id).status(c.list_index) == "valid"
    assert status.cached_array(db, list_id=list_id) == status.rebuilt_array(db, list_id=list_id)

    # Another process's change (the version moved without this process): rebuilt.
    db.execute(update(Credential).where(Credential.id == c.id).values(status="suspended"))
    db.execute(
        update(StatusListRow)
        .where(StatusListRow.id == list_id)
        .values(version=StatusListRow.version + 1)
    )
    db.commit()
    before = status.rebuilds
    assert _fetch(db, settings, list_id).status(c.list_index) == "suspended"
    assert status.rebuilds == before + 1
    assert status.cached_array(db, list_id=list_id) == status.rebuilt_array(db, list_id=list_id)


def test_batch_spans_a_full_list(db: Session, settings: Settings, world: World) -> None:
    assert KIND is not None
    holder, department = world.accounts["citizen"].id, world.departments["demo"].id
    first = credentials.issue(
        db, kind=KIND, holder_id=holder, department_id=department, form={}, settings=settings
    )
    row = db.get(Credential, first.id)
    assert row is not None
    listing = db.get(StatusListRow, row.list_id)
    assert listing is not None
    listing.next_index = listing.size - 1
    db.flush()
    made = credentials.issue_many(
        db,
        kind=KIND,
        department_id=department,
        grants=[credentials.Grant(holder_id=holder, form={})] * 3,
        settings=settings,
    )
    rows = [db.get(Credential, m.id) for m in made]
    slots = [(r.list_id, r.list_index) for r in rows if r]
    assert slots[0] == (listing.id, listing.size - 1)
    assert slots[1][0] == slots[2][0] != listing.id and [s[1] for s in slots[1:]] == [0, 1]
    assert len({m.licence_id for m in made}) == 3
    for r in rows:
        assert r is not None
        assert credentials.check_here(db, text=r.sd_jwt or "", settings=settings).valid
