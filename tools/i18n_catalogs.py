"""Refresh the web catalogs: extract messages from pages and templates, merge into the .po files.

Usage: python tools/i18n_catalogs.py [--check]
--check exits 1 when a message lacks its Chinese translation (CI runs the same check as a test).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT / "src" / "tongban" / "platform" / "web"


def extract() -> Catalog:
    """Messages in every pages.py, web/*.py and template (marked with _, N_, gettext…)."""
    pot = ROOT / "var" / "messages.pot"
    pot.parent.mkdir(exist_ok=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            str(WEB / "babel.cfg"),
            "-k",
            "N_",
            "--no-location",
            "--omit-header",
            "-o",
            str(pot),
            str(ROOT / "src" / "tongban"),
        ],
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as fh:
        return read_po(fh)


def merge(template: Catalog, locale: str) -> list[str]:
    """Update one locale's catalog from the template; the ids still untranslated."""
    path = WEB / "locale" / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    catalog.update(template, no_fuzzy_matching=True)
    with path.open("wb") as fh:
        write_po(fh, catalog, omit_header=False, no_location=True, ignore_obsolete=True, width=100)
    return [
        str(m.id)
        for m in catalog
        if m.id and not (m.string if isinstance(m.string, str) else all(m.string))
    ]


def main() -> int:
    """Extract, merge and report missing Chinese translations."""
    template = extract()
    missing = merge(template, "zh_CN")
    merge(template, "en")
    for message in missing:
        print(f"untranslated (zh_CN): {message}")
    return 1 if missing and "--check" in sys.argv else 0


if __name__ == "__main__":
    raise SystemExit(main())
