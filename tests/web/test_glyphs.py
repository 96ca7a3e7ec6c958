"""Every character a page can show is one a Chinese phone's font has: ASCII or GB 2312.

Phones without an emoji or symbol font showed ⏸ and ⏰ as empty boxes. The check reads the
templates, the stylesheets and scripts, and both translation catalogs (what pages say comes
from there); tests/web/test_reflow.py checks the text of every page it visits as well.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

import tongban

PACKAGE = Path(tongban.__file__).parent
WEB = PACKAGE / "platform" / "web"


def outside_gb2312(text: str) -> set[str]:
    """The characters of the text a phone's Chinese font may lack: not ASCII and not in
    GB 2312 (as GBK/CP936 maps it: Python's gb2312 codec maps · and — to other characters)."""
    found = set()
    for char in set(text):
        if char.isascii():
            continue
        try:
            code = char.encode("gbk")
        except UnicodeEncodeError:
            found.add(char)
            continue
        if not (len(code) == 2 and 0xA1 <= code[0] <= 0xF7 and 0xA1 <= code[1] <= 0xFE):
            found.add(char)
    return found


def _shown_texts() -> dict[str, str]:
    """What pages are made of, by file: templates, static files, translations."""
    texts = {
        str(path.relative_to(PACKAGE)): path.read_text(encoding="utf-8")
        for pattern in ("**/templates/**/*.html", "platform/web/static/*")
        for path in PACKAGE.glob(pattern)
        if path.is_file()
    }
    for catalog in (WEB / "locale").glob("*/LC_MESSAGES/messages.po"):
        with catalog.open("rb") as file:
            strings = [m.string for m in read_po(file) if m.id]
        texts[str(catalog.relative_to(PACKAGE))] = "\n".join(
            str(part)
            for string in strings
            for part in (string if isinstance(string, (tuple, list)) else (string or "",))
        )
    return texts


def test_outside_gb2312_finds_what_phones_lack() -> None:
    assert outside_gb2312("办件 · 2026—12 √ ‖ ● ▲ × ＞ → ← “引号” …") == set()
    assert outside_gb2312("⏸ ⏰ ✓ ✗ ↗ › – 😀") == set("⏸⏰✓✗↗›–😀")


def test_pages_use_only_characters_every_chinese_phone_font_has() -> None:
    texts = _shown_texts()
    assert any(name.endswith(".po") for name in texts) and len(texts) > 40
    found = {name: outside_gb2312(text) for name, text in texts.items()}
    lacking = {name: " ".join(sorted(chars)) for name, chars in found.items() if chars}
    assert not lacking, f"characters a phone's font may lack: {lacking}"
