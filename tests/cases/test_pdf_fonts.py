"""The PDFs' font (cases/pdf_fonts.py, issue #14): an embedded TrueType CJK font when the
machine has one (PDF/UA asks every font be embedded), the configured one first, and
STSong-Light with a warning when there is none; the day list embeds it too."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy.orm import Session

from tests.cases.conftest import World, page_login, submit_pension
from tests.cases.test_receipt_pdf import check_tagged, unembedded_fonts
from tongban.cases import pdf_fonts, receipts
from tongban.platform.config import Settings

FACTS = {
    "number": "440305-20261130-ABCDEFGH",
    "item": "城乡居民养老保险关系转移接续",
    "authority": "深圳市南山区社会保险基金管理局",
    "applicant": "李建国",
    "received": "2026-11-30",
    "state": "received",
    "materials": ["居民身份证"],
}
URL = "https://tongban.example.gov.cn/track/t/x"


def _installed() -> str:
    """The first TrueType CJK font of the usual places on this machine (make test installs one)."""
    for spec in pdf_fonts._candidates():
        if pdf_fonts._load(spec) is not None:
            return spec
    pytest.fail("no TrueType CJK font: make test installs fonts-wqy-microhei")


@pytest.fixture
def fresh_font() -> Iterator[None]:
    """Each test chooses the font anew, and leaves the usual choice behind."""
    pdf_fonts.font.cache_clear()
    yield
    pdf_fonts.use("")
    pdf_fonts.font.cache_clear()


def test_without_a_truetype_font_the_pdfs_fall_back_to_stsong_and_say_so(
    fresh_font: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(pdf_fonts, "CANDIDATES", ())
    pdf_fonts.use("/nowhere/missing.ttf")
    with caplog.at_level(logging.WARNING, logger=pdf_fonts.__name__):
        chosen = pdf_fonts.font()
    assert chosen == pdf_fonts.PdfFont(cjk="STSong-Light", latin="Helvetica", embedded=False)
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "/nowhere/missing.ttf cannot be used" in messages
    assert "STSong-Light, not embedded" in messages
    pdf = receipts.receipt_pdf(FACTS, url=URL)
    reader = check_tagged(pdf, lang="zh-CN", title=f"接件回执 {FACTS['number']}")
    assert b"/FontFile2" not in pdf and unembedded_fonts(reader)
    assert "城乡居民养老保险关系转移接续" in reader.pages[0].extract_text()


def test_the_configured_font_comes_first(fresh_font: None, settings: Settings, app: Any) -> None:
    path = _installed()
    assert pdf_fonts.font().path == path
    # A face of a collection by its index; the app applies the setting when it is built.
    from tongban.shell.app import create_app

    settings.pdf_font = f"{path.partition('#')[0]}#0"
    create_app(settings)
    assert pdf_fonts.font().path == settings.pdf_font and pdf_fonts.font().embedded


def test_the_receipt_embeds_a_subset_and_reads_in_order(fresh_font: None) -> None:
    _installed()
    for locale, title in (("zh_CN", "接件回执"), ("en", "Receipt of application")):
        pdf = receipts.receipt_pdf(FACTS, url=URL, locale=locale)
        lang = "en" if locale == "en" else "zh-CN"
        reader = check_tagged(pdf, lang=lang, title=f"{title} {FACTS['number']}")
        assert unembedded_fonts(reader) == [] and len(pdf) < 120_000
        text = reader.pages[0].extract_text()
        pieces = [title, FACTS["number"], "城乡居民养老保险关系转移接续", "李建国", URL]
        positions = [text.index(p) for p in pieces]
        assert positions == sorted(positions), text


def test_the_day_list_embeds_the_font(
    fresh_font: None, db: Session, world: World, settings: Settings, app: Any
) -> None:
    _installed()
    counter = submit_pension(db, world, settings)
    r = page_login(app, "t-official").get("/work/day-list.pdf")
    assert r.status_code == 200
    reader = PdfReader(io.BytesIO(r.content))
    assert unembedded_fonts(reader) == [] and b"/FontFile2" in r.content
    text = "".join(p.extract_text() for p in reader.pages)
    assert counter.number in text.replace("\n", "") and "李**" in text
