"""Receipts and result notices are tagged PDFs (PDF/UA, issue #14): language, title, a
structure tree in reading order whose marked content is on the page, the QR code's
alternative text, every font embedded when the machine has a TrueType CJK font (pdf_fonts.py),
and a QR code and link under the configured public address; `tongban demo` warns when there is
none.

veraPDF (the PDF/UA validator) is a Java program not available offline here; these checks
read the PDF's objects with pypdf instead.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
import segno
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pypdf import PdfReader
from pypdf.generic import ContentStream, DictionaryObject
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.cases.conftest import PNG_BYTES, World, page_login, pension_request
from tongban.cases import decisions, pdf_fonts, results
from tongban.cases.models import Case
from tongban.cases.pdf_tags import wrap
from tongban.platform.config import Settings
from tongban.platform.web import i18n
from tongban.shell.cli import app as cli
from tongban.shell.cli import serve

PUBLIC = "https://tongban.example.gov.cn"
TEMPLATE = Path(results.__file__).parent / "templates" / "cases" / "_case_result.html"


def _file(client: TestClient, world: World) -> str:
    sha = client.post(
        "/api/v1/uploads", headers=world.h("clerk"), files={"file": ("id.png", PNG_BYTES)}
    ).json()["sha256"]
    body = pension_request(
        materials=[{"name": "居民身份证", "sha256": sha}, {"name": "转移申请表", "sha256": sha}]
    )
    r = client.post("/api/v1/cases", headers=world.h("clerk"), json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["number"])


def _act(client: TestClient, world: World, number: str, action: str, **body: object) -> None:
    version = client.get(f"/api/v1/cases/{number}", headers=world.h("official")).json()["version"]
    r = client.post(
        f"/api/v1/cases/{number}/actions/{action}",
        headers=world.h("official"),
        json={"version": version, **body},
    )
    assert r.status_code == 200, r.text


def _elements(node: Any) -> list[DictionaryObject]:
    """The structure elements under a node, depth first (document order)."""
    found: list[DictionaryObject] = []
    kids = node.get("/K")
    kids = kids.get_object() if kids is not None else []
    for kid in kids if isinstance(kids, list) else [kids]:
        kid = kid.get_object()
        if isinstance(kid, DictionaryObject) and kid.get("/Type") == "/StructElem":
            found += [kid, *_elements(kid)]
    return found


def _mcids(element: DictionaryObject) -> list[int]:
    kids = element.get("/K", [])
    return [int(k) for k in kids if isinstance(k, int)]


def _marked_content(reader: PdfReader) -> dict[int, str]:
    """MCID -> tag of each BDC operator in the page's content stream."""
    content = ContentStream(reader.pages[0].get_contents(), reader)
    found: dict[int, str] = {}
    for operands, operator in content.operations:
        if operator == b"BDC":
            tag, properties = operands
            found[int(properties["/MCID"])] = str(tag)
    return found


PAINTING = {b"Tj", b"TJ", b"'", b'"', b"f", b"F", b"f*", b"S", b"s", b"B", b"b", b"Do", b"sh"}


def _untagged_painting(reader: PdfReader) -> list[bytes]:
    """Operators that paint outside any marked content (PDF/UA: all content is tagged or an
    artifact)."""
    content = ContentStream(reader.pages[0].get_contents(), reader)
    depth, found = 0, []
    for _, operator in content.operations:
        if operator in (b"BDC", b"BMC"):
            depth += 1
        elif operator == b"EMC":
            depth -= 1
        elif operator in PAINTING and depth == 0:
            found.append(operator)
    return found


def _qr_payload_matches(reader: PdfReader, url: str) -> bool:
    """Whether the QR code drawn in the Figure's marked content is segno's code of `url`."""
    content = ContentStream(reader.pages[0].get_contents(), reader)
    inside, rects = False, []
    for operands, operator in content.operations:
        if operator == b"BDC":
            inside = operands[0] == "/Figure"
        elif operator == b"EMC":
            inside = False
        elif inside and operator == b"re":
            rects.append([float(v) for v in operands])
    unit = rects[0][2]
    left = min(r[0] for r in rects)
    top = max(r[1] + r[3] for r in rects)
    drawn = {(round((top - y - h) / unit), round((x - left) / unit)) for x, y, _, h in rects}
    matrix = segno.make(url, error="m").matrix
    dark = {(r, c) for r, row in enumerate(matrix) for c, v in enumerate(row) if v}
    first_row, first_col = min(r for r, _ in dark), min(c for _, c in dark)
    return drawn == {(r - first_row, c - first_col) for r, c in dark}


def unembedded_fonts(reader: PdfReader) -> list[str]:
    """The fonts of the pages' resources without an embedded font program (PDF/UA 7.21.4.1):
    a TrueType font carries it as /FontFile2 in its descriptor (a Type0 font, in its
    descendant's)."""
    missing = []
    for page in reader.pages:
        for name, ref in page["/Resources"].get("/Font", {}).items():
            font = ref.get_object()
            if font.get("/Subtype") == "/Type0":
                font = font["/DescendantFonts"][0].get_object()
            descriptor = font.get("/FontDescriptor")
            files = ("/FontFile", "/FontFile2", "/FontFile3")
            if descriptor is None or not any(f in descriptor.get_object() for f in files):
                missing.append(f"{name} {font.get('/BaseFont')}")
    return missing


def check_tagged(pdf: bytes, *, lang: str, title: str) -> PdfReader:
    """The PDF/UA essentials, read from the file; returns the reader for more checks."""
    reader = PdfReader(io.BytesIO(pdf))
    root = reader.trailer["/Root"]
    assert root["/Lang"] == lang
    assert pdf.startswith(b"%PDF-1.7")  # PDF/UA-1 is built on PDF 1.7 (ISO 32000-1)
    assert bool(root["/MarkInfo"]["/Marked"]) is True
    assert bool(root["/ViewerPreferences"]["/DisplayDocTitle"]) is True
    assert reader.metadata is not None and reader.metadata.title == title
    xmp = root["/Metadata"].get_object()
    assert xmp["/Subtype"] == "/XML"
    text = xmp.get_data().decode("utf-8")
    assert f'<rdf:li xml:lang="x-default">{title}</rdf:li>' in text
    assert "<pdfuaid:part>1</pdfuaid:part>" in text
    page = reader.pages[0]
    assert page["/Tabs"] == "/S" and page["/StructParents"] == 0
    if pdf_fonts.font().embedded:
        assert unembedded_fonts(reader) == []

    tree = root["/StructTreeRoot"]
    (document,) = [k.get_object() for k in tree["/K"]]
    assert document["/S"] == "/Document"
    elements = _elements(document)
    roles = [str(e["/S"]) for e in elements]
    assert roles[0] == "/H1" and roles.count("/H1") == 1
    assert {"/P", "/Table", "/TR", "/TH", "/TD", "/Figure", "/Link"} <= set(roles)
    assert all(
        e["/A"]["/Scope"] == "/Row" for e in elements if e["/S"] == "/TH"
    )  # each row's header
    # Every MCID in the tree is marked on the page with its element's role, once, and the
    # parent tree leads back from each to its element.
    marked = _marked_content(reader)
    in_tree = {m: str(e["/S"]) for e in elements for m in _mcids(e)}
    assert in_tree == marked and sorted(marked) == list(range(len(marked)))
    assert _untagged_painting(reader) == []
    parents = tree["/ParentTree"]["/Nums"]
    assert parents[0] == 0
    assert [str(p.get_object()["/S"]) for p in parents[1]] == [marked[m] for m in sorted(marked)]
    # The QR code has its alternative text; the link is tagged with its annotation.
    (figure,) = [e for e in elements if e["/S"] == "/Figure"]
    assert str(figure["/Alt"]).strip()
    (link,) = [e for e in elements if e["/S"] == "/Link"]
    objr = [k.get_object() for k in link["/K"] if not isinstance(k, int)]
    annotation = objr[0]["/Obj"].get_object()
    assert annotation["/Subtype"] == "/Link" and annotation["/StructParent"] == 1
    assert annotation["/Contents"] == annotation["/A"]["/URI"]
    return reader


def _uri(reader: PdfReader) -> str:
    (annotation,) = [a.get_object() for a in reader.pages[0]["/Annots"]]
    return str(annotation["/A"]["/URI"])


def test_the_receipt_is_a_tagged_pdf_with_the_public_address(
    client: TestClient, world: World, settings: Settings
) -> None:
    settings.public_base_url = PUBLIC
    number = _file(client, world)
    r = client.get(f"/api/v1/cases/{number}/receipt.pdf", headers=world.h("migrant"))
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    reader = check_tagged(r.content, lang="zh-CN", title=f"接件回执 {number}")
    # The text comes out in reading order, in Chinese, with the state in words.
    text = reader.pages[0].extract_text()
    order = ["接件回执", "请保存好回执", f"办件编号\n{number}", "状态\n已接件，等待受理", "扫码"]
    positions = [text.index(piece) for piece in order]
    assert positions == sorted(positions), text
    assert "received" not in text
    # The QR code and the printed link go to the node's public address, not localhost.
    url = _uri(reader)
    assert url.startswith(f"{PUBLIC}/track/t/{number}.") and url in text
    assert "testserver" not in text and _qr_payload_matches(reader, url)


def test_the_receipt_speaks_the_readers_language(
    client: TestClient, world: World, settings: Settings
) -> None:
    number = _file(client, world)
    r = client.get(
        f"/api/v1/cases/{number}/receipt.pdf", headers=world.h("migrant", Cookie="tb_lang=en")
    )
    reader = check_tagged(r.content, lang="en", title=f"Receipt of application {number}")
    text = reader.pages[0].extract_text()
    assert "Received, waiting for acceptance" in text and "Case number" in text
    # Chinese case data on an English receipt says it is Chinese.
    cells = _elements(reader.trailer["/Root"]["/StructTreeRoot"]["/K"][0].get_object())
    item = [e for e in cells if e["/S"] == "/TD" and e.get("/Lang") == "zh-CN"]
    assert item, "the item's name is marked zh-CN"
    # Without a public address, the QR code goes where the request came.
    assert _uri(reader).startswith(f"http://testserver/track/t/{number}.")


def test_a_decided_case_has_its_result_notice(
    app: FastAPI, client: TestClient, db: Session, world: World, settings: Settings
) -> None:
    settings.public_base_url = PUBLIC
    number = _file(client, world)
    url = f"/api/v1/cases/{number}/result-notice.pdf"
    link = f'href="{url}"'
    applicant = page_login(app, "t-migrant")
    assert client.get(url, headers=world.h("migrant")).status_code == 404
    assert link not in applicant.get(f"/cases/{number}").text
    _act(client, world, number, "accept")
    _act(client, world, number, "approve", decision_text="准予转移养老保险关系")
    r = client.get(url, headers=world.h("migrant"))
    assert r.status_code == 200 and r.headers["cache-control"] == "private, no-store"
    reader = check_tagged(r.content, lang="zh-CN", title=f"办理结果告知书 {number}")
    text = reader.pages[0].extract_text()
    assert "准予转移养老保险关系" in text
    # The result in the words of the item's type (准予许可 only for a licence), as on the page.
    item_code = db.scalar(select(Case.item_code).where(Case.number == number))
    granted = decisions.words_of_item(db, item_code).approved
    assert f"\n{i18n.translations('zh_CN').gettext(granted)}\n" in text
    assert _uri(reader).startswith(f"{PUBLIC}/track/t/")
    assert link in applicant.get(f"/cases/{number}").text
    assert client.get(url, headers=world.h("stranger")).status_code in (403, 404)
    assert client.get(url).status_code == 401


def test_a_refusal_notice_gives_the_reason(client: TestClient, world: World) -> None:
    number = _file(client, world)
    _act(client, world, number, "refuse", reason="不属于本机关职权")
    r = client.get(f"/api/v1/cases/{number}/result-notice.pdf", headers=world.h("migrant"))
    reader = check_tagged(r.content, lang="zh-CN", title=f"办理结果告知书 {number}")
    text = reader.pages[0].extract_text()
    assert "不予受理" in text and "不属于本机关职权" in text


def test_the_case_page_offers_the_notice_in_the_decided_states() -> None:
    states = set(re.findall(r'"(\w+)"', TEMPLATE.read_text().split("case.state in", 1)[1]))
    assert {str(s) for s in results.DECIDED_STATES} <= states


def test_the_font_is_embedded_when_the_machine_has_one(client: TestClient, world: World) -> None:
    chosen = pdf_fonts.font()
    if not chosen.embedded:
        pytest.fail("no TrueType CJK font: make test installs fonts-wqy-microhei")
    number = _file(client, world)
    r = client.get(f"/api/v1/cases/{number}/receipt.pdf", headers=world.h("migrant"))
    reader = check_tagged(r.content, lang="zh-CN", title=f"接件回执 {number}")
    assert b"/FontFile2" in r.content and unembedded_fonts(reader) == []
    (font,) = [f.get_object() for f in reader.pages[0]["/Resources"]["/Font"].values()]
    assert font["/Subtype"] == "/TrueType" and "/ToUnicode" in font  # text extracts
    # Subset: only the glyphs drawn, not the font's megabytes.
    assert len(r.content) < 120_000, len(r.content)


def test_lines_break_between_words_and_chinese_characters() -> None:
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    english = "This notice tells the result of your application. Scan the code to see it."
    lines = wrap(english, font="Helvetica", size=11, width=200)
    assert len(lines) > 1 and " ".join(lines) == english
    assert all(word in english.split() for line in lines for word in line.split())
    link = "https://tongban.example.gov.cn/track/t/440300-20261201-41TQR8XXAERM.u83n9r.abc"
    assert "".join(wrap(link, font="Helvetica", size=12, width=100)) == link
    chinese = "经审查，申请人提交的材料不符合《城乡居民基本养老保险经办规程》的规定"
    lines = wrap(chinese, font="STSong-Light", size=12, width=150)
    assert len(lines) > 1 and "".join(lines) == chinese
    assert wrap("", font="STSong-Light", size=12, width=150) == [""]
    assert wrap("x", font="Helvetica", size=12, width=1) == ["x"]


@pytest.mark.parametrize("public", ["", PUBLIC])
def test_demo_warns_without_a_public_address(
    public: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path, database_url="sqlite://", public_base_url=public)
    monkeypatch.setattr(serve, "load_settings", lambda: settings)
    monkeypatch.setattr(serve, "upgrade_database", lambda url: None)
    monkeypatch.setattr(serve, "opened", lambda s: _Nothing())
    monkeypatch.setattr(serve, "load_demo_data", lambda database, settings: {})
    result = CliRunner().invoke(cli, ["demo", "--load-only", "--port", "8080"])
    assert result.exit_code == 0, result.output
    warned = "TONGBAN_PUBLIC_BASE_URL is not set" in result.output
    assert warned is not bool(public)
    if not public:
        assert "QR codes on receipts will point at http://127.0.0.1:8080" in result.output
        assert result.output.index("TONGBAN_PUBLIC_BASE_URL") < result.output.index("demo data")


class _Nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
