"""Locale negotiation (cookie > account > Accept-Language) and gettext catalogs via Babel."""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT_LOCALE = "zh_CN"
LOCALES = ("zh_CN", "en")
LOCALE_COOKIE = "tb_lang"
# The HTML `lang` value and the identity account setting use BCP 47; catalogs use POSIX names.
BCP47 = {"zh_CN": "zh-CN", "en": "en"}
FROM_BCP47 = {v: k for k, v in BCP47.items()}


def normalize(value: str | None) -> str | None:
    """Map a language tag or locale name (zh, zh-CN, zh_Hans, en-GB…) to a catalog, or None."""
    if not value:
        return None
    tag = value.strip().replace("_", "-").lower()
    if not tag:
        return None
    if tag.startswith("zh"):
        return "zh_CN"
    if tag == "en" or tag.startswith("en-"):
        return "en"
    return None


def parse_accept_language(header: str | None) -> str | None:
    """The best supported locale in an Accept-Language header, honouring q-values."""
    if not header:
        return None
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        pieces = part.strip().split(";")
        locale = normalize(pieces[0])
        if locale is None:
            continue
        quality = 1.0
        for param in pieces[1:]:
            name, _, val = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(val)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            ranked.append((-quality, position, locale))
    return min(ranked)[2] if ranked else None


def negotiate(
    *, cookie: str | None, account_locale: str | None, accept_language: str | None
) -> str:
    """The user's choice (cookie), else the account setting, else the browser's, else Chinese."""
    return (
        normalize(cookie)
        or normalize(account_locale)
        or parse_accept_language(accept_language)
        or DEFAULT_LOCALE
    )


def catalog_path(locale: str) -> Path:
    """Where the .po catalog of a locale lives."""
    return LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"


@lru_cache(maxsize=len(LOCALES))
def translations(locale: str) -> Translations:
    """The compiled catalog of a locale.

    The .po file is the single source of truth and is compiled in memory once per process,
    so a clean clone works without a build step and no stale .mo can shadow an edit.
    """
    if locale not in LOCALES:
        raise ValueError(f"unsupported locale {locale!r}")
    with catalog_path(locale).open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer, domain="messages")
