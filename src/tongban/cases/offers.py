"""What the catalog offers a case: an implementation's authority, limits, checklist and form,
read once per catalog revision (find_offer)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from tongban.catalog import service as catalog
from tongban.identity import service as identity
from tongban.platform.errors import FieldError, Invalid, NotFound
from tongban.platform.web.rendering import N_

# Pages show it in the reader's language (field_message translates a known message).
WITHDRAWN = N_(
    "This service was withdrawn from the national catalog: it takes no new applications."
)

# --- what the catalog offers -----------------------------------------------------------------


@dataclass(frozen=True)
class MaterialSpec:
    """One line of an implementation's checklist."""

    name: str
    required: str
    source: str
    condition: str | None = None


@dataclass(frozen=True)
class Offer:
    """The facts of an implementation a case needs, copied at submission."""

    code: str
    item_code: str
    item_name: str
    region_code: str
    authority_name: str
    authority_code: str
    department_id: int | None
    case_type: str
    promised: tuple[int, str]
    statutory: tuple[int, str]
    materials: list[MaterialSpec] = field(default_factory=list)
    co_handlers: list[tuple[str, str, str]] = field(default_factory=list)
    form_fields: list[dict[str, Any]] = field(default_factory=list)
    # The national catalog withdrew the item: no new applications, while cases filed before
    # (one filed at a station offline, arriving later, included) go on being handled.
    withdrawn: bool = False


def _offer_of(session: Session, impl: catalog.ImplementationRead) -> Offer:
    """An Offer from the catalog's implementation."""
    department_id = impl.department_id
    if department_id is None:
        try:
            department_id = identity.get_department_by_code(session, code=impl.authority_code).id
        except NotFound:
            department_id = None
    return Offer(
        code=impl.code,
        item_code=impl.item_code,
        item_name=impl.item_name,
        region_code=impl.region_code,
        authority_name=impl.authority_name,
        authority_code=impl.authority_code,
        department_id=department_id,
        case_type=impl.case_type,
        promised=(int(impl.promised_limit.value or 0), str(impl.promised_limit.unit)),
        statutory=(int(impl.statutory_limit.value or 0), str(impl.statutory_limit.unit)),
        materials=[
            MaterialSpec(name=m.name, required=m.required, source=m.source, condition=m.condition)
            for m in impl.materials
        ],
        co_handlers=[(c.authority_name, c.authority_code, c.region_code) for c in impl.co_handlers],
        form_fields=list(impl.form_fields),
        withdrawn=catalog.is_withdrawn(session, code=impl.item_code),
    )


def _invalid(field_name: str, message: str) -> Invalid:
    return Invalid(message, errors=[FieldError(field_name, message)])


# Offers by (catalog revision, implementation code): every submission and every read of a case
# needs its implementation, and loading one with its materials takes five queries. An import
# makes a new revision; the TTL bounds staleness after edits that make none.
_OFFER_TTL_SECONDS = 60.0
_offers: dict[tuple[str, str], tuple[float, Offer]] = {}
_offers_lock = threading.Lock()


def _offer_by_code(session: Session, code: str) -> Offer:
    revision = catalog.current_revision(session) or ""
    key = (revision, code)
    hit = _offers.get(key)
    if hit is not None and time.monotonic() - hit[0] < _OFFER_TTL_SECONDS:
        return hit[1]
    offer = _offer_of(session, catalog.get_implementation(session, code=code))
    if offer.department_id is not None:
        with _offers_lock:
            if len(_offers) > 10_000:
                _offers.clear()
            _offers[key] = (time.monotonic(), offer)
    return offer


def find_offer(
    session: Session, *, implementation: str | None, item: str | None, region: str | None
) -> Offer:
    """The implementation named, or the one of `item` for `region` (nearest region first)."""
    if implementation:
        try:
            return _offer_by_code(session, implementation)
        except NotFound:
            raise _invalid(
                "implementation", f"There is no implementation {implementation!r} in the catalog."
            ) from None
    if not item:
        raise _invalid("implementation", "Name an implementation (or an item and a region).")
    try:
        basic = catalog.get_item(session, code=item)
    except NotFound:
        raise _invalid("item", f"There is no item {item!r} in the catalog.") from None
    impls = basic.implementations
    if not impls:
        raise _invalid("item", f"Item {item!r} is not offered in any region yet.")
    candidates = impls
    if region:
        from tongban.regions import service as regions

        chain = [*regions.ancestor_codes(region), regions.validate_code(region, field="region")]
        ranked = [(chain.index(i.region_code), i) for i in impls if i.region_code in chain]
        if not ranked:
            raise _invalid("region", f"Item {item!r} has no implementation for region {region}.")
        candidates = [max(ranked, key=lambda pair: pair[0])[1]]
    elif len(impls) > 1:
        raise _invalid("region", f"Item {item!r} has several implementations: give a region.")
    return _offer_by_code(session, candidates[0].code)
