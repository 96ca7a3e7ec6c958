"""Receipts (受理回执): a PDF and a printable HTML page, each with a QR code to track the case.

The PDF uses ReportLab's built-in CID font STSong-Light for Chinese, so no font file ships and
no web font is needed; the page embeds the QR code as inline SVG (no JavaScript, no images).
"""

from __future__ import annotations

import html
import io
from typing import Any

import segno
from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from tongban.cases.links import tracking_link
from tongban.platform.config import Settings

_FONT = "STSong-Light"
_LABELS = (
    ("number", "办件编号 Case number"),
    ("item", "事项 Item"),
    ("authority", "办理机关 Authority"),
    ("applicant", "申请人 Applicant"),
    ("applicant_id", "证件号码 ID"),
    ("received", "接件日期 Received"),
    ("state", "状态 State"),
    ("acceptance_due", "受理期限 Acceptance by"),
    ("promised_due", "承诺办结 Promised by"),
    ("statutory_due", "法定办结 Statutory by"),
    ("service_point", "代收地 Service point"),
)


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


def receipt_pdf(facts: dict[str, Any], *, url: str) -> bytes:
    """A one-page A4 receipt."""
    if _FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(_FONT))
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4)
    page.setTitle(f"{receipt_title(facts)} {facts['number']}")
    width, height = A4
    page.setFont(_FONT, 20)
    page.drawString(20 * mm, height - 25 * mm, f"政务服务{receipt_title(facts)}")
    y = height - 40 * mm
    for key, label in _LABELS:
        value = str(facts.get(key) or "—")
        page.setFont(_FONT, 10)
        page.drawString(20 * mm, y, label)
        page.setFont(_FONT, 12)
        page.drawString(75 * mm, y, value[:60])
        y -= 8 * mm
    materials = "、".join(facts.get("materials") or []) or "—"
    page.setFont(_FONT, 10)
    page.drawString(20 * mm, y, "材料 Materials")
    page.drawString(75 * mm, y, materials[:70])
    widget = QrCodeWidget(url)
    x0, y0, x1, y1 = widget.getBounds()
    size = 40 * mm
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    renderPDF.draw(drawing, page, width - 20 * mm - size, height - 30 * mm - size)
    page.setFont(_FONT, 9)
    page.drawString(20 * mm, 20 * mm, f"扫码查询办理进度 Scan to track: {url}")
    page.showPage()
    page.save()
    return buffer.getvalue()


def receipt_html(facts: dict[str, Any], *, url: str) -> str:
    """A printable receipt page (server-rendered, no JavaScript)."""
    rows = "".join(
        f"<tr><th scope='row'>{html.escape(label)}</th>"
        f"<td>{html.escape(str(facts.get(key) or '—'))}</td></tr>"
        for key, label in _LABELS
    )
    materials = "".join(f"<li>{html.escape(m)}</li>" for m in facts.get("materials") or [])
    return (
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{receipt_title(facts)} {html.escape(facts['number'])}</title>"
        "<style>body{font-family:system-ui,sans-serif;font-size:18px;line-height:1.5;"
        "max-width:48rem;margin:1rem auto;padding:0 1rem;color:#111}"
        "th{text-align:left;padding-right:1rem;font-weight:600}td,th{padding:.3rem 0}"
        "@media print{a{display:none}}</style></head><body><main>"
        f"<h1>政务服务{receipt_title(facts)} <span lang='en'>Case receipt</span></h1>"
        f"<table>{rows}</table><h2>材料 Materials</h2><ul>{materials or '<li>—</li>'}</ul>"
        f"<figure>{qr_svg(url)}<figcaption>扫码查询办理进度 Scan to track: "
        f"<a href='{html.escape(url)}'>{html.escape(url)}</a></figcaption></figure>"
        "</main></body></html>"
    )
