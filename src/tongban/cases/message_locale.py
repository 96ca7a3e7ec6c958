"""Messages in the reader's language: a message is stored as the Chinese text that went out
(and as SMS, which is always Chinese), with its code (`kind`). The page shows it in the
reader's language by code and parameters, where the platform knows the code.

The parameters are read back from the stored text by matching it against its code's Chinese
template (notify.TEXTS): the templates are fixed, so the match is exact, and messages stored
before this module existed read in English too. The item is shown by its catalog English name;
what a person wrote (a reason, the papers missing) stays as written and is marked as Chinese.
A message whose code the platform does not know, or whose text does not match (a template
changed since), is shown as stored.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from sqlalchemy.orm import Session

from tongban.cases.decisions import ALL_WORDS
from tongban.cases.notify import BY_PROXY, TEXTS
from tongban.catalog import service as catalog

# The same codes and parameters as notify.TEXTS, in English.
TEXTS_EN: dict[str, str] = {
    "submitted": "Your case {number} ({item}) is received; it is accepted or not by {due}.",
    "accepted": "Your case {number} ({item}) is accepted; it is promised by {due}.",
    "not_accepted": "Your case {number} ({item}) is not accepted: {reason}",
    "supplement_requested": (
        "Your case {number} ({item}) needs more papers: {missing}. The clock stops until you "
        "supply them."
    ),
    "supplemented": (
        "The missing papers of your case {number} ({item}) are received; the clock runs again."
    ),
    "special_started": "Your case {number} ({item}) is in a special procedure: {reason}",
    "special_ended": (
        "The special procedure of your case {number} ({item}) has ended; the clock runs again."
    ),
    "approved": "Your case {number} ({item}): {granted}.",
    "rejected": "Your case {number} ({item}): {refused}. {reason}",
    "completed": "Your case {number} ({item}) is completed.",
    "withdrawn": "Your case {number} ({item}) is withdrawn.",
}
BY_PROXY_EN = (
    " A relative you authorised filed this for you; if you did not agree, withdraw the "
    "authorisation under “Family authorisations”."
)
# The decision words (cases/decisions.py) in English; 不予批准 is what refusals said before the
# words depended on the item's type.
GRANTED = {w.granted_zh: w.approved for w in ALL_WORDS}
REFUSED = {w.refused_zh: w.rejected for w in ALL_WORDS} | {"不予批准": "Not granted"}
# Parameters that carry what a person wrote: shown as written, in Chinese.
WRITTEN = frozenset({"reason", "missing"})
_FIELD = re.compile(r"\{(\w+)\}")


class StoredMessage(Protocol):
    """What a reading needs of a stored message."""

    id: int
    kind: str
    text: str


@dataclass(frozen=True)
class Part:
    """A piece of a message as shown: its text, and whether it is Chinese on an English page."""

    text: str
    chinese: bool = False


@lru_cache(maxsize=len(TEXTS))
def _pattern(kind: str) -> re.Pattern[str]:
    """TEXTS[kind] as a regular expression with one named group per parameter."""
    choices = {"granted": GRANTED, "refused": REFUSED}
    pieces = _FIELD.split(TEXTS[kind])
    out = []
    for i, piece in enumerate(pieces):
        if i % 2 == 0:
            out.append(re.escape(piece))
        elif piece in choices:
            words = "|".join(map(re.escape, sorted(choices[piece], key=len, reverse=True)))
            out.append(f"(?P<{piece}>{words})")
        else:
            out.append(f"(?P<{piece}>.*?)" if i < len(pieces) - 2 else f"(?P<{piece}>.*)")
    return re.compile("".join(out), re.DOTALL)


def parameters(kind: str, text: str) -> tuple[dict[str, str], bool] | None:
    """The parameters a stored text was made with, and whether it carries the proxy note; None
    when the code is unknown or the text is not its template's."""
    if kind not in TEXTS or kind not in TEXTS_EN:
        return None
    proxy = kind == "submitted" and text.endswith(BY_PROXY)
    body = text.removesuffix(BY_PROXY) if proxy else text
    found = _pattern(kind).fullmatch(body)
    if found is None:
        return None
    return found.groupdict(), proxy


def read_in(
    session: Session | None,
    *,
    kind: str,
    text: str,
    locale: str,
    gettext: Callable[[str], str] = str,
) -> list[Part]:
    """One stored message as a reader in `locale` reads it (see the module docstring)."""
    if locale != "en":
        return [Part(text)]
    found = parameters(kind, text)
    if found is None:
        return [Part(text, chinese=True)]
    values, proxy = found
    parts: list[Part] = []
    for i, piece in enumerate(_FIELD.split(TEXTS_EN[kind])):
        if i % 2 == 0:
            if piece:
                parts.append(Part(piece))
            continue
        value = values.get(piece, "")
        if piece == "item":
            shown = catalog.display_name(session, name=value, locale=locale)
            parts.append(Part(shown, chinese=shown == value and not value.isascii()))
        elif piece == "granted":
            parts.append(Part(gettext(GRANTED[value])))
        elif piece == "refused":
            parts.append(Part(gettext(REFUSED[value])))
        elif piece in WRITTEN:
            parts.append(Part(value, chinese=not value.isascii()))
        else:
            parts.append(Part(value))
    if proxy:
        parts.append(Part(BY_PROXY_EN))
    return parts


def readings(
    session: Session | None,
    messages: Iterable[StoredMessage],
    *,
    locale: str,
    gettext: Callable[[str], str] = str,
) -> dict[int, list[Part]]:
    """Each message's parts in the reader's language, by message id (for the messages page)."""
    return {
        m.id: read_in(session, kind=m.kind, text=m.text, locale=locale, gettext=gettext)
        for m in messages
    }
