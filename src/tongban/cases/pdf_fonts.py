"""The one font the platform's PDFs (receipts, result notices, day lists) are drawn in.

PDF/UA (ISO 14289-1, 7.21.4.1) asks that every font be embedded, so that the document reads
the same on any reader, and a screen reader knows each glyph's character. ReportLab embeds
TrueType fonts (subset: only the glyphs drawn, a few dozen kilobytes), including a face of a
.ttc collection, but not the CFF outlines of Noto CJK. So the PDFs use the first TrueType CJK
font that loads: the configured one (setting ``TONGBAN_PDF_FONT``, a path, ``path.ttc#1`` for
a face of a collection), then the common Debian ones (fonts-wqy-microhei, fonts-wqy-zenhei,
fonts-arphic-*). It draws Latin text too: one embedded font for the whole document.

Without one, they fall back to ReportLab's STSong-Light, a standard Adobe CJK font every PDF
reader has (text still extracts as Unicode), with Helvetica for Latin text, neither embedded;
a warning says so once.
"""

from __future__ import annotations

import glob
import logging
from dataclasses import dataclass
from functools import lru_cache

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont

log = logging.getLogger(__name__)

EMBEDDED = "TongbanCJK"
CID = "STSong-Light"
CID_LATIN = "Helvetica"
# Where Debian's TrueType CJK font packages put their files, best first: WenQuanYi Micro Hei
# (a sans serif close to the pages' system fonts), Zen Hei, then AR PL (serif).
CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/*.ttf",
    "/usr/share/fonts/truetype/arphic/*.ttc",
    "/usr/share/fonts/truetype/arphic-gbsn00lp/*.ttf",
)

_configured = {"path": ""}


@dataclass(frozen=True)
class PdfFont:
    """The registered font names to draw with, and whether they are embedded."""

    cjk: str  # for text with Chinese characters
    latin: str  # for text in ASCII only
    embedded: bool
    path: str = ""


def use(path: str) -> None:
    """The configured font file (settings.pdf_font; the shell sets it at startup); empty for
    the search of the usual places."""
    if path != _configured["path"]:
        _configured["path"] = path
        font.cache_clear()


def _candidates() -> list[str]:
    found = [_configured["path"]] if _configured["path"] else []
    for pattern in CANDIDATES:
        found += sorted(glob.glob(pattern)) if "*" in pattern else [pattern]
    return found


def _load(spec: str) -> TTFont | None:
    path, _, index = spec.partition("#")
    try:
        return TTFont(EMBEDDED, path, subfontIndex=int(index or 0))
    except Exception as error:  # a missing file, or outlines ReportLab cannot embed (CFF)
        if spec == _configured["path"]:
            log.warning("PDF font %s cannot be used (%s)", spec, error)
        return None


@lru_cache(maxsize=1)
def font() -> PdfFont:
    """The font to draw with, registered with ReportLab (once per process and setting)."""
    for spec in _candidates():
        loaded = _load(spec)
        if loaded is not None:
            pdfmetrics.registerFont(loaded)
            return PdfFont(cjk=EMBEDDED, latin=EMBEDDED, embedded=True, path=spec)
    log.warning(
        "no TrueType CJK font found (set TONGBAN_PDF_FONT or install fonts-wqy-microhei): "
        "PDFs use STSong-Light, not embedded, which PDF/UA does not allow"
    )
    if CID not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CID))
    return PdfFont(cjk=CID, latin=CID_LATIN, embedded=False)


def font_for(text: str) -> str:
    """The font name for a piece of text: the embedded font for everything, or, in the
    fallback, Helvetica for Latin text (STSong's Latin letters are cramped), STSong-Light
    otherwise."""
    chosen = font()
    return chosen.latin if text.isascii() else chosen.cjk
