"""Catalog names in the reader's language, for templates: `{{ case.item_name|local_name }}`.

Cases, receipts and messages keep the Chinese name of the item they are about. On pages in
English mode the filter shows the catalog's English name for it; a name without one stays
Chinese and is marked lang="zh-CN" (screen readers then read it in Chinese). The kit knows no
catalog: the shell hands it the catalog's lookup (`set_name_lookup`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup
from sqlalchemy.orm import Session

# (session, Chinese name, locale) -> the name to show.
NameLookup = Callable[[Session | None, str, str], str]
_lookup: list[NameLookup] = [lambda _session, name, _locale: name]


def set_name_lookup(lookup: NameLookup) -> None:
    """Install the catalog's name lookup (the shell does, when it mounts the pages)."""
    _lookup[0] = lookup


def shown_name(ui: Any, name: str, name_en: str | None = None) -> Markup:
    """`name` as the page's reader should see it (see the module docstring)."""
    if not name:
        return Markup("")
    locale = getattr(ui, "locale", "zh_CN")
    if locale != "en":
        return Markup("{}").format(name)
    shown = name_en or _lookup[0](getattr(ui, "session", None), name, locale)
    if shown == name:
        return Markup('<span lang="zh-CN">{}</span>').format(name)
    return Markup("{}").format(shown)


@pass_context
def local_name(context: Context, name: str | None, name_en: str | None = None) -> Markup:
    """The Jinja filter: `{{ hit.name|local_name(hit.name_en) }}`."""
    return shown_name(context.get("ui"), name or "", name_en)
