"""The official's day list (今日工作清单) as a PDF to download: phones cannot press Ctrl+P.

One landscape A4 table per page run: number, item, applicant, state, deadline, channel and
service point. The paper leaves the office, so applicants are masked (李**, 1101**********1234):
the list says which case to pick up, the case page says whose it is. Drawn in the receipts'
font (pdf_fonts.py): an embedded TrueType CJK font when the machine has one, else STSong-Light.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from tongban.cases import pdf_fonts
from tongban.cases.schemas import QueueRow

# Column widths (mm) of the landscape page's 267 mm: number, item, applicant, state, deadline,
# channel, service point.
_WIDTHS = (56, 58, 32, 35, 28, 22, 36)


@dataclass(frozen=True)
class DayListWords:
    """The list's words in the reader's language (the page translates them)."""

    title: str
    subtitle: str
    headers: Sequence[str]
    states: Mapping[str, str]
    row_states: Mapping[str, str]  # by case number: a decided case in its item type's words
    channels: Mapping[str, str]
    urgency: Mapping[str, str]
    empty: str
    lang: str


def mask_name(name: str) -> str:
    """A name with all but its first character hidden (李建国 -> 李**)."""
    name = name.strip()
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


def _cell(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


def day_list_pdf(rows: Sequence[QueueRow], *, words: DayListWords) -> bytes:
    """The rows as a paginated PDF table, with its title and language set."""
    face = pdf_fonts.font().cjk  # one face for the whole table: cells mix Chinese and Latin
    body = ParagraphStyle("cell", fontName=face, fontSize=9, leading=12, wordWrap="CJK")
    head = ParagraphStyle("head", parent=body, fontSize=9)
    title = ParagraphStyle("title", fontName=face, fontSize=16, leading=22)
    note = ParagraphStyle("note", fontName=face, fontSize=10, leading=14)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=words.title,
        author="Tongban",
        subject=words.subtitle,
        lang=words.lang,
        initialFontName=face,  # no unembedded Helvetica in the resources
    )
    table: list[list[Paragraph]] = [[_cell(h, head) for h in words.headers]]
    for r in rows:
        deadline = r.due_date.isoformat() if r.due_date else "—"
        flag = words.urgency.get(r.urgency, "")
        applicant = mask_name(r.applicant_name)
        if r.applicant_id_masked:
            applicant += f" {r.applicant_id_masked}"
        place = r.service_point_name or r.service_point or "—"
        table.append(
            [
                _cell(r.number, body),
                _cell(r.item_name, body),
                _cell(applicant, body),
                _cell(words.row_states.get(r.number) or words.states.get(r.state, r.state), body),
                _cell(f"{deadline} {flag}".strip(), body),
                _cell(words.channels.get(r.channel, r.channel), body),
                _cell(place, body),
            ]
        )
    story: list[object] = [
        Paragraph(escape(words.title), title),
        Paragraph(escape(words.subtitle), note),
        Spacer(1, 4 * mm),
    ]
    if rows:
        grid = Table(table, colWidths=[w * mm for w in _WIDTHS], repeatRows=1)
        grid.setStyle(
            TableStyle(
                [
                    ("FONTNAME", (0, 0), (-1, -1), face),  # else the table sets Helvetica
                    ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        story.append(grid)
    else:
        story.append(Paragraph(escape(words.empty), note))
    doc.build(story)
    return buffer.getvalue()
