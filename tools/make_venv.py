"""Build the project's virtual environment and install the package into it, fast.

Usage: python3 tools/make_venv.py VENV REQUIREMENT   (e.g. .venv -e ".[dev]")

pip resolves and downloads one package at a time: a fresh `make demo` spent 80-130 s of its
first run here installing the ~40 pinned dependencies. uv installs the same pins in about 20 s
from an empty cache. So: uv when it is on PATH; otherwise pip installs uv into the new venv
(about 5 s) and uv installs the rest. TONGBAN_NO_UV=1 installs with pip alone.

uv does not read pip's configuration. The index, extra indexes and find-links pip is set up
with (pip.conf or PIP_* variables, e.g. a mirror inside China) are passed to uv, so both
installers fetch from the same places.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

# pip's settings that say where packages come from, and uv's options for them.
_SOURCES = {
    "index-url": "--index-url",
    "extra-index-url": "--extra-index-url",
    "find-links": "--find-links",
}


def pip_sources(python: str) -> list[str]:
    """uv options for the package sources pip is configured with (any scope)."""
    listed = subprocess.run(
        [python, "-m", "pip", "config", "list"], capture_output=True, text=True, check=False
    ).stdout
    options: list[str] = []
    seen: set[tuple[str, str]] = set()
    for line in listed.splitlines():
        name, _, value = line.partition("=")
        key = name.rsplit(".", 1)[-1]
        if key not in _SOURCES:
            continue
        for item in value.strip().strip("'\"").split():
            if (key, item) not in seen:
                seen.add((key, item))
                options += [_SOURCES[key], item]
    if any(key == "extra-index-url" for key, _ in seen):
        # pip takes the best version from all its indexes; uv only looks past the first index
        # that has a package when told to do as pip does.
        options += ["--index-strategy", "unsafe-best-match"]
    return options


def main(argv: list[str]) -> int:
    """Create VENV when missing, then install the requirement into it."""
    venv, requirement = Path(argv[0]), argv[1:]
    python = str(venv / "bin" / "python")
    uv = shutil.which("uv")
    if not venv.exists():
        if uv:
            subprocess.run(
                [uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True
            )
        else:
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    if os.environ.get("TONGBAN_NO_UV") == "1":
        subprocess.run([python, "-m", "ensurepip", "--upgrade"], check=True, capture_output=True)
        pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, "--no-compile", *requirement], check=True)
        return 0
    if not uv:
        own = venv / "bin" / "uv"
        if not own.exists():
            subprocess.run(
                [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "uv"],
                check=True,
            )
        uv = str(own)
    sources = pip_sources(sys.executable)
    subprocess.run(
        [uv, "pip", "install", "--quiet", "--python", python, *sources, *requirement], check=True
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
