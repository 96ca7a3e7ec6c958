"""Tagged PDF (PDF/UA-1) for the documents the platform prints: receipts and decision notices.

A screen reader reads a PDF through its structure tree, not its drawing: without one, a
receipt is a picture of text in no particular order, with no language and no title. No
maintained Python library writes a full structure tree for text: ReportLab (5.1) draws the
page, writes /Lang and the Info title, but tags nothing; fpdf2 tags images and outlines only;
borb is AGPL. So this is a thin layer of our own over two libraries we already use:

- ReportLab draws; each piece of content is wrapped, as it is drawn, in a marked-content
  sequence (``/P <</MCID 3>> BDC … EMC``, through the public ``Canvas.addLiteral``), and the
  structure element it belongs to is recorded here (Document → H1, P, Table → TR → TH/TD,
  Figure with its alternative text, Link with its annotation);
- pypdf then adds what a tagged PDF needs around the drawing: the StructTreeRoot and its
  ParentTree (MCID → element), /MarkInfo /Marked, the page's /StructParents and /Tabs /S, the
  Link annotation's /StructParent, /ViewerPreferences /DisplayDocTitle and XMP metadata with
  dc:title and the PDF/UA identifier (pdfuaid:part 1).

The drawing order is the reading order, so text extraction follows it too. The font is
pdf_fonts.py's: an embedded TrueType CJK font (subset) when the machine has one, else
ReportLab's STSong-Light with Helvetica for Latin text, which PDF/UA does not allow (not
embedded) but every reader shows; either way the text extracts as Unicode.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import cast
from xml.sax.saxutils import escape

from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    BooleanObject,
    DictionaryObject,
    FloatObject,
    IndirectObject,
    NameObject,
    NumberObject,
    StreamObject,
    TextStringObject,
)
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen import canvas

from tongban.cases import pdf_fonts
from tongban.cases.pdf_fonts import font_for

# What a line may not be broken inside: a run of printable ASCII (a word, a number, a link)
# with the space after it; any other character stands alone.
_ATOM = re.compile(r"[!-~]+ ?|.", re.S)


@dataclass
class Element:
    """A structure element: its role, its kids (sub-elements or MCIDs on the one page), and
    what a reader needs beyond the text: alternative text, language, a header's scope."""

    role: str
    kids: list[Element | int] = field(default_factory=list)
    alt: str | None = None
    lang: str | None = None
    scope: str | None = None
    annotation: int | None = None  # index into TaggedPage.links (Link elements)


@dataclass
class _Link:
    rect: tuple[float, float, float, float]
    uri: str
    contents: str


def wrap(text: str, *, font: str, size: float, width: float) -> list[str]:
    """The text cut into lines no wider than `width`: between Chinese characters (Chinese
    has no spaces) and between Latin words; a word longer than a line (a link) by character."""
    lines: list[str] = []
    line = ""

    def fits(piece: str) -> bool:
        return pdfmetrics.stringWidth(piece.rstrip(), font, size) <= width

    for atom in _ATOM.findall(text):
        if line and not fits(line + atom):
            if line.strip():
                lines.append(line.rstrip())
            line = ""
        while not line and len(atom) > 1 and not fits(atom):
            cut = len(atom) - 1
            while cut > 1 and not fits(atom[:cut]):
                cut -= 1
            lines.append(atom[:cut])
            atom = atom[cut:]
        line += atom
    return [*lines, line.rstrip()] if line or not lines else lines


class TaggedPage:
    """One A4 page drawn with ReportLab whose content is tagged as it is drawn."""

    def __init__(self, *, title: str, lang: str, author: str = "") -> None:
        chosen = pdf_fonts.font()  # registers the font, too
        self.embedded = chosen.embedded
        self.title = title
        self.lang = lang
        self._buffer = io.BytesIO()
        # The canvas's initial font is in the page's resources too: the embedded one, never
        # an unembedded Helvetica that draws nothing.
        self.canvas = canvas.Canvas(
            self._buffer, pagesize=A4, lang=lang, initialFontName=chosen.latin
        )
        self.canvas.setTitle(title)
        self.canvas.setAuthor(author)
        self.canvas.setSubject(title)
        self.canvas.setCreator("Tongban")
        self.width, self.height = A4
        self.root = Element("Document")
        self.links: list[_Link] = []
        self._mcid = 0

    def element(self, parent: Element, role: str, **attributes: str | None) -> Element:
        """A structure element under `parent` that holds other elements (Table, TR, L…)."""
        child = Element(role, **attributes)  # type: ignore[arg-type]
        parent.kids.append(child)
        return child

    @contextmanager
    def marked(self, element: Element) -> Iterator[None]:
        """Whatever is drawn inside is one marked-content sequence belonging to `element`."""
        mcid = self._mcid
        self._mcid += 1
        element.kids.append(mcid)
        self.canvas.addLiteral(f"/{element.role} <</MCID {mcid}>> BDC")
        yield
        self.canvas.addLiteral("EMC")

    def text(
        self,
        parent: Element,
        role: str,
        text: str,
        *,
        x: float,
        y: float,
        size: float,
        width: float,
        lang: str | None = None,
        scope: str | None = None,
    ) -> float:
        """Draw `text` wrapped to `width` from (x, y) down as one element; the y below it."""
        element = self.element(parent, role, lang=lang, scope=scope)
        font = font_for(text)
        self.canvas.setFont(font, size)
        with self.marked(element):
            for line in wrap(text, font=font, size=size, width=width):
                self.canvas.drawString(x, y, line)
                y -= size * 1.4
        return y

    def link(
        self,
        parent: Element,
        text: str,
        uri: str,
        *,
        x: float,
        y: float,
        size: float,
        width: float,
    ) -> float:
        """Text that is also a link (a Link element: the text and its annotation), wrapped
        to `width`; the y below it."""
        element = self.element(parent, "Link")
        font = font_for(text)
        lines = wrap(text, font=font, size=size, width=width)
        self.canvas.setFont(font, size)
        top = y + size
        with self.marked(element):
            for line in lines:
                self.canvas.drawString(x, y, line)
                y -= size * 1.4
        widest = max(pdfmetrics.stringWidth(line, font, size) for line in lines)
        element.annotation = len(self.links)
        self.links.append(_Link((x, y + size * 1.15, x + widest, top), uri, text))
        return y

    def finish(self) -> bytes:
        """The PDF: the page drawn, then its structure tree and metadata added."""
        self.canvas.showPage()
        self.canvas.save()
        writer = PdfWriter(clone_from=PdfReader(io.BytesIO(self._buffer.getvalue())))
        _tag(writer, self)
        out = io.BytesIO()
        writer.write(out)
        return out.getvalue()


def _tag(writer: PdfWriter, page: TaggedPage) -> None:
    pdf_page = writer.pages[0]
    page_ref = pdf_page.indirect_reference
    assert page_ref is not None
    writer.pdf_header = "%PDF-1.7"  # PDF/UA-1 is built on PDF 1.7 (ISO 32000-1)
    root = writer.root_object
    tree = DictionaryObject({NameObject("/Type"): NameObject("/StructTreeRoot")})
    tree_ref = writer._add_object(tree)
    by_mcid: dict[int, IndirectObject] = {}
    annotations: list[tuple[IndirectObject, IndirectObject]] = []
    document = _element(writer, page.root, tree_ref, page_ref, page, by_mcid, annotations)
    tree[NameObject("/K")] = ArrayObject([document])
    # The parent tree maps the page's MCIDs (key 0) and each annotation (keys 1…) back to
    # their structure element: how a reader goes from what is on the page to its meaning.
    nums: list[NumberObject | IndirectObject | ArrayObject] = [
        NumberObject(0),
        ArrayObject(by_mcid[m] for m in sorted(by_mcid)),
    ]
    for key, (annotation, element) in enumerate(annotations, start=1):
        cast(DictionaryObject, annotation.get_object())[NameObject("/StructParent")] = NumberObject(
            key
        )
        nums += [NumberObject(key), element]
    tree[NameObject("/ParentTree")] = writer._add_object(
        DictionaryObject({NameObject("/Nums"): ArrayObject(nums)})
    )
    tree[NameObject("/ParentTreeNextKey")] = NumberObject(len(annotations) + 1)
    root[NameObject("/StructTreeRoot")] = tree_ref
    root[NameObject("/MarkInfo")] = DictionaryObject({NameObject("/Marked"): BooleanObject(True)})
    root[NameObject("/Lang")] = TextStringObject(page.lang)
    pdf_page[NameObject("/StructParents")] = NumberObject(0)
    pdf_page[NameObject("/Tabs")] = NameObject("/S")  # tab through links in reading order
    # The viewer shows the title, not the file name (ViewerPreferences is a dictionary).
    writer.create_viewer_preferences()[NameObject("/DisplayDocTitle")] = BooleanObject(True)
    writer.add_metadata({"/Title": page.title})
    writer.xmp_metadata = _xmp(page.title, page.lang).encode("utf-8")
    metadata = cast(StreamObject, root["/Metadata"].get_object())
    metadata[NameObject("/Type")] = NameObject("/Metadata")
    metadata[NameObject("/Subtype")] = NameObject("/XML")


def _element(
    writer: PdfWriter,
    element: Element,
    parent_ref: IndirectObject,
    page_ref: IndirectObject,
    page: TaggedPage,
    by_mcid: dict[int, IndirectObject],
    annotations: list[tuple[IndirectObject, IndirectObject]],
) -> IndirectObject:
    node = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/StructElem"),
            NameObject("/S"): NameObject(f"/{element.role}"),
            NameObject("/P"): parent_ref,
            NameObject("/Pg"): page_ref,
        }
    )
    ref = writer._add_object(node)
    if element.alt:
        node[NameObject("/Alt")] = TextStringObject(element.alt)
    if element.lang:
        node[NameObject("/Lang")] = TextStringObject(element.lang)
    if element.scope:
        node[NameObject("/A")] = DictionaryObject(
            {
                NameObject("/O"): NameObject("/Table"),
                NameObject("/Scope"): NameObject(f"/{element.scope}"),
            }
        )
    kids = ArrayObject()
    for kid in element.kids:
        if isinstance(kid, int):
            by_mcid[kid] = ref
            kids.append(NumberObject(kid))
        else:
            kids.append(_element(writer, kid, ref, page_ref, page, by_mcid, annotations))
    if element.annotation is not None:
        annotation = _annotation(writer, page.links[element.annotation], page_ref)
        annotations.append((annotation, ref))
        kids.append(
            DictionaryObject(
                {
                    NameObject("/Type"): NameObject("/OBJR"),
                    NameObject("/Obj"): annotation,
                    NameObject("/Pg"): page_ref,
                }
            )
        )
    node[NameObject("/K")] = kids
    return ref


def _annotation(writer: PdfWriter, link: _Link, page_ref: IndirectObject) -> IndirectObject:
    annotation = writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Annot"),
                NameObject("/Subtype"): NameObject("/Link"),
                NameObject("/Rect"): ArrayObject(FloatObject(v) for v in link.rect),
                NameObject("/Border"): ArrayObject([NumberObject(0)] * 3),
                NameObject("/F"): NumberObject(4),  # printed with the page
                NameObject("/Contents"): TextStringObject(link.contents),
                NameObject("/P"): page_ref,
                NameObject("/A"): DictionaryObject(
                    {
                        NameObject("/S"): NameObject("/URI"),
                        NameObject("/URI"): TextStringObject(link.uri),
                    }
                ),
            }
        )
    )
    pdf_page = cast(DictionaryObject, page_ref.get_object())
    annots = pdf_page.get("/Annots")
    if annots is None:
        pdf_page[NameObject("/Annots")] = ArrayObject([annotation])
    else:
        cast(ArrayObject, annots.get_object()).append(annotation)
    return annotation


def _xmp(title: str, lang: str) -> str:
    """XMP metadata: the title (dc:title) and the claim of PDF/UA-1 (pdfuaid:part)."""
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about=""'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' xmlns:pdfuaid="http://www.aiim.org/pdfua/ns/id/">'
        f'<dc:title><rdf:Alt><rdf:li xml:lang="x-default">{escape(title)}</rdf:li>'
        "</rdf:Alt></dc:title>"
        f"<dc:language><rdf:Bag><rdf:li>{escape(lang)}</rdf:li></rdf:Bag></dc:language>"
        "<pdfuaid:part>1</pdfuaid:part>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
        '<?xpacket end="w"?>'
    )
