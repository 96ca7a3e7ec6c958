"""Catalog rules as other domains use them: items, implementations and bundles as Read
schemas (never rows), search, import/export (search.py, importing.py, exporting.py) and the
national basic catalog's snapshot (national.py)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tongban.catalog import queries, views
from tongban.catalog.exporting import (
    dump_json,
    dump_yaml,
    export_document,
    export_file,
    export_workbook,
    record_export,
)
from tongban.catalog.importing import (
    SEED_PATH,
    import_bytes,
    import_document,
    import_file,
    import_workbook,
    load_seed,
)
from tongban.catalog.names import display_name, english_names
from tongban.catalog.national import (
    apply_national_items,
    catalog_fingerprint,
    is_withdrawn,
    items_digest,
    national_items,
    withdraw_item,
)
from tongban.catalog.placement import PICKER_THRESHOLD, offers_online, order_by_place, places
from tongban.catalog.schemas import BundleRead, ImplementationRead, ItemRead
from tongban.catalog.search import ItemHit, current_revision, search_items
from tongban.catalog.validation import limit_exceeds

__all__ = [
    "PICKER_THRESHOLD",
    "SEED_PATH",
    "BundleRead",
    "ImplementationRead",
    "ItemHit",
    "ItemRead",
    "apply_national_items",
    "catalog_fingerprint",
    "current_revision",
    "display_name",
    "dump_json",
    "dump_yaml",
    "english_names",
    "export_document",
    "export_file",
    "export_workbook",
    "get_bundle",
    "get_implementation",
    "get_item",
    "implementations_for_region",
    "import_bytes",
    "import_document",
    "import_file",
    "import_workbook",
    "is_withdrawn",
    "item_name",
    "items_digest",
    "limit_exceeds",
    "list_bundles",
    "load_seed",
    "national_items",
    "offers_online",
    "order_by_place",
    "places",
    "record_export",
    "search_items",
    "withdraw_item",
]


def get_item(session: Session, *, code: str, region: str | None = None) -> ItemRead:
    """A basic item with its implementations, optionally only those serving `region`."""
    return views.item_read(queries.get_item(session, code=code, region=region))


def item_name(session: Session, code: str) -> str | None:
    """A basic item's name, or None when there is no such item."""
    return queries.item_name(session, code=code)


def get_implementation(session: Session, *, code: str) -> ImplementationRead:
    """One implementation with its materials, fees and co-handlers."""
    return views.implementation_read(queries.get_implementation(session, code=code))


def implementations_for_region(
    session: Session, *, region: str, item_code: str | None = None, range: str | None = None
) -> list[ImplementationRead]:
    """Implementations serving residents of `region` (it and its ancestors), by item code."""
    return [
        views.implementation_read(impl)
        for impl in queries.implementations_for_region(
            session, region=region, item_code=item_code, range=range
        )
    ]


def get_bundle(session: Session, *, code: str) -> BundleRead:
    """A one-thing bundle with its components in order."""
    return views.bundle_read(queries.get_bundle(session, code=code))


def list_bundles(session: Session, *, region: str | None = None) -> list[BundleRead]:
    """Bundles, optionally those offered to residents of `region` (it and its ancestors)."""
    return [views.bundle_read(b) for b in queries.list_bundles(session, region=region)]
