"""Write the tour's sample materials (one-page PDFs, marked as samples) next to this file.

The PDFs are committed; run this only to change them: `.venv/bin/python docs/tour/make_samples.py`.
They are byte-identical on every run (reportlab's invariant mode) and embed no font: the Chinese
text uses the reader's built-in STSong-Light (Adobe-GB1).
"""

from __future__ import annotations

from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

HERE = Path(__file__).resolve().parent
FONT = "STSong-Light"

SAMPLES = {
    "id-card.pdf": (
        "居民身份证（样例）",
        [
            "姓名：王建国",
            "公民身份号码：5116**********0119",
            "住址：四川省广安市广安区",
            "",
            "SAMPLE for the Tongban README tour: not a real identity document.",
        ],
    ),
    "application.pdf": (
        "基本养老保险关系转移接续申请表（样例）",
        [
            "申请人：王建国",
            "转出地：四川省广安市广安区",
            "转入地：广东省深圳市南山区",
            "",
            "SAMPLE for the Tongban README tour: not a real application form.",
        ],
    ),
}


def write(path: Path, title: str, lines: list[str]) -> None:
    """One A4 page with a title and a few lines."""
    canvas = Canvas(str(path), pagesize=A4, invariant=True)
    canvas.setTitle(title)
    canvas.setFont(FONT, 18)
    canvas.drawString(72, 760, title)
    canvas.setFont(FONT, 12)
    for n, line in enumerate(lines):
        canvas.drawString(72, 720 - 20 * n, line)
    canvas.showPage()
    canvas.save()


def main() -> None:
    """Write every sample."""
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    for name, (title, lines) in SAMPLES.items():
        write(HERE / name, title, lines)
        print(f"wrote {HERE / name}")


if __name__ == "__main__":
    main()
