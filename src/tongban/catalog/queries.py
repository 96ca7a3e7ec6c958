"""Reading the catalog as rows, for the catalog's own routes and pages; other domains get
the same answers as Read schemas through service.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from tongban.catalog.models import BasicItem, Bundle, BundleComponent, Implementation
from tongban.catalog.search import region_scope
from tongban.platform.errors import NotFound

_IMPL_LOAD = (
    selectinload(Implementation.materials),
    selectinload(Implementation.fees),
    selectinload(Implementation.co_handlers),
)


@dataclass(frozen=True)
class ItemDetail:
    """A basic item and its implementations (all, or those serving one region)."""

    item: BasicItem
    implementations: list[Implementation]


def item_name(session: Session, *, code: str) -> str | None:
    """A basic item's name, or None when there is no such item."""
    return session.scalar(select(BasicItem.name).where(BasicItem.code == code))


def get_item(session: Session, *, code: str, region: str | None = None) -> ItemDetail:
    """A basic item with its implementations, optionally only those serving `region`."""
    item = session.scalar(select(BasicItem).where(BasicItem.code == code))
    if item is None:
        raise NotFound(f"No catalog item {code}.")
    stmt = (
        select(Implementation)
        .where(Implementation.item_id == item.id)
        .options(*_IMPL_LOAD, selectinload(Implementation.item))
        .order_by(Implementation.region_code, Implementation.code)
    )
    if region is not None:
        stmt = stmt.where(Implementation.region_code.in_(region_scope(session, region)))
    return ItemDetail(item=item, implementations=list(session.scalars(stmt)))


def get_implementation(session: Session, *, code: str) -> Implementation:
    """One implementation with its materials, fees and co-handlers."""
    impl = session.scalar(
        select(Implementation)
        .where(Implementation.code == code)
        .options(*_IMPL_LOAD, selectinload(Implementation.item))
    )
    if impl is None:
        raise NotFound(f"No implementation {code}.")
    return impl


def implementations_for_region(
    session: Session, *, region: str, item_code: str | None = None, range: str | None = None
) -> Sequence[Implementation]:
    """Implementations serving residents of `region` (it and its ancestors), by item code."""
    stmt = (
        select(Implementation)
        .join(BasicItem, Implementation.item_id == BasicItem.id)
        .where(Implementation.region_code.in_(region_scope(session, region)))
        .options(*_IMPL_LOAD, selectinload(Implementation.item))
        .order_by(BasicItem.code, Implementation.region_code, Implementation.code)
    )
    if item_code is not None:
        stmt = stmt.where(BasicItem.code == item_code)
    if range is not None:
        stmt = stmt.where(Implementation.tongban_range == range)
    return session.scalars(stmt).all()


def get_bundle(session: Session, *, code: str) -> Bundle:
    """A one-thing bundle with its components in order."""
    bundle = session.scalar(
        select(Bundle)
        .where(Bundle.code == code)
        .options(
            selectinload(Bundle.components)
            .selectinload(BundleComponent.implementation)
            .selectinload(Implementation.item)
        )
    )
    if bundle is None:
        raise NotFound(f"No bundle {code}.")
    return bundle


def list_bundles(session: Session, *, region: str | None = None) -> Sequence[Bundle]:
    """Bundles, optionally those offered to residents of `region` (it and its ancestors)."""
    stmt = (
        select(Bundle)
        .options(
            selectinload(Bundle.components)
            .selectinload(BundleComponent.implementation)
            .selectinload(Implementation.item)
        )
        .order_by(Bundle.code)
    )
    if region is not None:
        stmt = stmt.where(Bundle.region_code.in_(region_scope(session, region)))
    return session.scalars(stmt).all()
