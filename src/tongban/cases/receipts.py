"""Receipts (受理回执) and result notices (办理结果告知书): tagged PDFs with a QR code to
track the case (the printable page is the case page's receipt template).

The PDFs are tagged (PDF/UA: language, title, structure in reading order, the QR code's
alternative text; see pdf_tags.py) and written in the reader's language, with the words of
the pages (the state as the case page says it), in an embedded TrueType CJK font when the
machine has one (pdf_fonts.py). The receipt page embeds the QR code as inline SVG (no
JavaScript, no images). Both QR codes come from segno and point at the node's public address
when one is configured.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import segno
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from tongban.cases.links import tracking_link
from tongban.cases.pdf_tags import TaggedPage
from tongban.platform.config import Settings
from tongban.platform.web import i18n


def tracking_url(base: str, number: str, *, settings: Settings) -> str:
    """Where the QR code points: the case's signed tracking link (no login, no name asked)
    under the node's public address (`public_base_url`), or under `base`, the address the
    request came to, when none is set."""
    return tracking_link(base=settings.public_base_url or base, number=number, settings=settings)


def qr_svg(url: str) -> str:
    """The QR code of a URL as an inline <svg> element."""
    buffer = io.BytesIO()
    segno.make(url, error="m").save(
        buffer, kind="svg", scale=4, xmldecl=False, svgns=True, title="QR", nl=False
    )
    return buffer.getvalue().decode("utf-8")


def receipt_title(facts: dict[str, Any]) -> str:
    """接件回执 (the application was received) until the case is accepted, then 受理回执."""
    return "受理回执" if facts.get("accepted") else "接件回执"


def _words(locale: str) -> Callable[[str], str]:
    translations = i18n.translations(locale if locale in i18n.LOCALES else i18n.DEFAULT_LOCALE)
    return translations.gettext


def _state(facts: dict[str, Any], gettext: Callable[[str], str]) -> str:
    """The case's state in words, as the case page says it (never the code "received"); a
    decision in its item type's words (`state_words`, results.state_words: 准予许可 only for
    a licence)."""
    from tongban.cases.pages.common import STATES  # the pages' words; a late import: no cycle

    state = str(facts.get("state") or "")
    words = {**STATES, **(facts.get("state_words") or {})}
    return gettext(words[state]) if state in words else state


def _document(
    *,
    title: str,
    intro: str,
    rows: list[tuple[str, str, bool]],
    url: str,
    locale: str,
    author: str,
) -> bytes:
    """A one-page tagged A4 document: heading, a sentence, a table of facts, the QR code
    with the link it encodes. `rows` are (label, value, is Chinese data)."""
    gettext = _words(locale)
    lang = i18n.BCP47.get(locale, "zh-CN")
    data_lang = "zh-CN" if lang != "zh-CN" else None  # Chinese names on an English page
    page = TaggedPage(title=title, lang=lang, author=author)
    doc = page.root
    left, label_width = 20 * mm, 45 * mm
    value_x = left + label_width
    value_width = page.width - value_x - 20 * mm
    y = page.height - 25 * mm
    y = page.text(doc, "H1", title, x=left, y=y, size=20, width=page.width - 2 * left)
    y = page.text(doc, "P", intro, x=left, y=y - 2 * mm, size=11, width=page.width - 2 * left)
    table = page.element(doc, "Table")
    y -= 4 * mm
    for label, value, chinese in rows:
        row = page.element(table, "TR")
        top = y
        below_label = page.text(
            row, "TH", label, x=left, y=top, size=10, width=label_width - 3 * mm, scope="Row"
        )
        below_value = page.text(
            row,
            "TD",
            value or "—",
            x=value_x,
            y=top,
            size=12,
            width=value_width,
            lang=data_lang if chinese else None,
        )
        y = min(below_label, below_value) - 2 * mm
    size = 40 * mm
    y -= 4 * mm
    figure = page.element(doc, "Figure", alt=gettext("QR code of the link below"))
    with page.marked(figure):
        _draw_qr(page.canvas, url, x=left, y=y - size, size=size)
    y -= size + 6 * mm
    caption = gettext("Scan to follow the case:")
    y = page.text(doc, "P", caption, x=left, y=y, size=10, width=page.width - 2 * left)
    page.link(doc, url, url, x=left, y=y, size=9, width=page.width - 2 * left)
    return page.finish()


def _draw_qr(canvas: Canvas, url: str, *, x: float, y: float, size: float) -> None:
    """The QR code (segno, like the page's) as one filled path of its dark modules."""
    code = segno.make(url, error="m")
    matrix = code.matrix
    quiet = 2
    modules = len(matrix) + 2 * quiet
    unit = size / modules
    path = canvas.beginPath()
    for r, row in enumerate(matrix):
        for c, dark in enumerate(row):
            if dark:
                path.rect(x + (c + quiet) * unit, y + size - (r + quiet + 1) * unit, unit, unit)
    canvas.setFillColorRGB(0, 0, 0)
    canvas.drawPath(path, stroke=0, fill=1)


def receipt_pdf(facts: dict[str, Any], *, url: str, locale: str = i18n.DEFAULT_LOCALE) -> bytes:
    """A one-page A4 receipt, a tagged PDF (PDF/UA) in the reader's language."""
    gettext = _words(locale)
    accepted = facts.get("accepted")
    title = gettext("Acceptance receipt") if accepted else gettext("Receipt of application")
    applicant = " ".join(str(facts.get(k) or "") for k in ("applicant", "applicant_id")).strip()
    rows = [
        (gettext("Case number"), str(facts["number"]), False),
        (gettext("Service"), str(facts.get("item") or ""), True),
        (gettext("Decided by"), str(facts.get("authority") or ""), True),
        (gettext("Applicant"), applicant, True),
        (gettext("Received on"), str(facts.get("received") or ""), False),
        (gettext("Status"), _state(facts, gettext), False),
        (gettext("Acceptance by"), str(facts.get("acceptance_due") or ""), False),
        (gettext("Promised by"), str(facts.get("promised_due") or ""), False),
        (gettext("Legal limit"), str(facts.get("statutory_due") or ""), False),
        (gettext("Service point"), str(facts.get("service_point") or ""), True),
        (gettext("Papers received"), "、".join(facts.get("materials") or []), True),
    ]
    return _document(
        title=f"{title} {facts['number']}",
        intro=gettext(
            "Keep this receipt. The case number lets you follow your case online or by phone."
        ),
        rows=[r for r in rows if r[1] or r[0] == gettext("Papers received")],
        url=url,
        locale=locale,
        author=str(facts.get("authority") or ""),
    )


def decision_pdf(facts: dict[str, Any], *, url: str, locale: str = i18n.DEFAULT_LOCALE) -> bytes:
    """The notice of a case's result (办理结果告知书), a tagged PDF like the receipt: what was
    decided, when, by whom and why; the authority's own decision document stays on the case."""
    gettext = _words(locale)
    title = gettext("Notice of the result")
    applicant = " ".join(str(facts.get(k) or "") for k in ("applicant", "applicant_id")).strip()
    rows = [
        (gettext("Case number"), str(facts["number"]), False),
        (gettext("Service"), str(facts.get("item") or ""), True),
        (gettext("Decided by"), str(facts.get("authority") or ""), True),
        (gettext("Applicant"), applicant, True),
        (gettext("Received on"), str(facts.get("received") or ""), False),
        (gettext("Decided on"), str(facts.get("decided") or ""), False),
        (gettext("Result"), _state(facts, gettext), False),
        (gettext("Decision"), str(facts.get("decision_text") or ""), True),
        (gettext("Reason"), str(facts.get("reason") or ""), True),
    ]
    return _document(
        title=f"{title} {facts['number']}",
        intro=gettext(
            "This notice tells the result of your application. Scan the code to see the case "
            "and its documents online."
        ),
        rows=[r for r in rows if r[1]],
        url=url,
        locale=locale,
        author=str(facts.get("authority") or ""),
    )
