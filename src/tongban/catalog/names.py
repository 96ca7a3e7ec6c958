"""The name of an item or bundle in the reader's language: the one place that chooses it.

Cases, receipts and messages keep the Chinese name the item had when the case was filed (a
snapshot: it is what the decision was about). Pages in English mode show the catalog's English
name instead, found by that Chinese name; a name the catalog does not know (renamed since, or
without an English name) is shown as it is.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.catalog.models import BasicItem, Bundle
from tongban.catalog.search import current_revision

_CACHE_SIZE = 4
_cache: OrderedDict[str, dict[str, str]] = OrderedDict()
_lock = threading.Lock()


def _load(session: Session) -> dict[str, str]:
    names: dict[str, str] = {}
    for model in (Bundle, BasicItem):  # an item's name wins over a bundle of the same name
        for name, name_en in session.execute(
            select(model.name, model.name_en).where(model.name_en.is_not(None))
        ):
            if name_en:  # the query asks for set names; the type says Optional
                names[name] = name_en
    return names


def english_names(session: Session) -> dict[str, str]:
    """Chinese name -> English name of every item and bundle that has one (kept per catalog
    revision: a page with twenty cases reads the catalog once, not twenty times)."""
    token = current_revision(session)
    if token is None:
        return _load(session)
    with _lock:
        known = _cache.get(token)
        if known is not None:
            _cache.move_to_end(token)
            return known
    names = _load(session)
    with _lock:
        _cache[token] = names
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return names


def display_name(
    session: Session | None, *, name: str, locale: str, name_en: str | None = None
) -> str:
    """`name` (Chinese) as a reader in `locale` should see it: the English name in English
    mode when there is one (`name_en`, or the catalog's for that Chinese name), else `name`."""
    if locale != "en" or not name:
        return name
    if name_en:
        return name_en
    if session is None:
        return name
    return english_names(session).get(name, name)
