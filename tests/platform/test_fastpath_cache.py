"""The fast path's statement caches are bounded, and forgetting a statement changes nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.events.models import Event
from tongban.platform.db import utcnow
from tongban.platform.db.fastpath import direct_sql, rows
from tongban.platform.db.fastpath.cache import BoundedCache
from tongban.platform.db.fastpath.rows import insert_now, insert_together, new_row
from tongban.workdays.models import CalendarDay


def test_the_least_recently_used_entry_goes_first() -> None:
    cache: BoundedCache[int] = BoundedCache(size=3)
    built: list[str] = []

    def build(key: str) -> int:
        built.append(key)
        return len(built)

    for key in "abc":
        cache.get(key, lambda key=key: build(key))
    assert cache.get("a", lambda: build("again")) == 1  # a hit: "a" is now the newest
    cache.get("d", lambda: build("d"))
    assert [key for key, _ in cache.items()] == ["c", "a", "d"]  # "b" was the oldest
    assert len(cache) == 3 and built == ["a", "b", "c", "d"]
    cache.get("b", lambda: build("b"))
    assert built[-1] == "b" and "c" not in dict(cache.items())


@pytest.fixture
def tiny_caches() -> Iterator[None]:
    """Every statement cache of the fast path holds one entry: each use evicts the last."""
    caches = (rows._INSERTS, rows._DIRECT, rows._TOGETHER, direct_sql._QUERIES)
    sizes = [cache.size for cache in caches]
    for cache in caches:
        cache.size = 1
        cache.clear()
    try:
        yield
    finally:
        for cache, size in zip(caches, sizes, strict=True):
            cache.size = size
            cache.clear()


def _event(uid: str) -> Event:
    return new_row(
        Event,
        uid=uid,
        occurred_at=utcnow(),
        actor_id=None,
        actor_role=None,
        on_behalf_of_id=None,
        action="test.cache",
        resource_type="test",
        resource_id=uid,
        channel="system",
        service_point=None,
        reason=None,
        data={"uid": uid},
        personal=None,
        personal_salt=None,
        personal_commitment=None,
    )


def test_statements_rebuilt_after_eviction_store_the_same(db: Session, tiny_caches: None) -> None:
    # Two tables and three statement shapes in turn, each evicting the one before.
    for n in range(3):
        assert insert_now(db, _event(f"cache-{n}"))
        day = CalendarDay(day=utcnow().date().replace(year=2100 + n), is_workday=True, name="x")
        day.created_at = utcnow()
        assert insert_now(db, day)
        assert insert_together(
            db, _event(f"cache-t{n}"), [_event(f"cache-f{n}")], unless_duplicate=("uid",)
        )
        assert not insert_now(db, _event(f"cache-{n}"), unless_duplicate=("uid",))
    stored = db.scalars(select(Event.uid).where(Event.action == "test.cache")).all()
    assert sorted(stored) == sorted(
        [f"cache-{n}" for n in range(3)]
        + [f"cache-t{n}" for n in range(3)]
        + [f"cache-f{n}" for n in range(3)]
    )
    assert db.scalar(select(Event.data).where(Event.uid == "cache-f2")) == {"uid": "cache-f2"}
    assert all(len(cache) <= 1 for cache in (rows._INSERTS, rows._DIRECT, rows._TOGETHER))
