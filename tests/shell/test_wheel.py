"""A built wheel, installed where no checkout is, migrates its database and loads its demo.

The wheel is built from a copy of this checkout (pyproject.toml, README.md, src/) with the
pinned build backend, as a release would be, and installed with `--no-deps` into a fresh venv
that sees neither the system's site-packages nor this repository. Its dependencies are this
test's own: a .pth file in the new venv names the running venv's site-packages. Installing the
~40 pinned dependencies from the registry into the fresh venv took one to three minutes here
(downloads, most of the time) and would test the registry rather than the wheel; the .pth keeps
the test around half a minute and still imports nothing of tongban from outside the wheel
(the running venv's editable install of tongban is a .pth file there, which Python does not
read through a path line), as the test asserts.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 600


def _run(
    args: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        args, capture_output=True, text=True, timeout=TIMEOUT, cwd=cwd, env=env, check=False
    )
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result


def _installer() -> tuple[list[str], Callable[[Path], list[str]]]:
    """How to build a wheel, and to install into a venv: this venv's pip, or uv (a venv that uv
    made has no pip)."""
    if subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True).returncode:
        uv = shutil.which("uv")
        if uv is None:
            pytest.skip("neither pip in this venv nor uv on PATH")
        build = [uv, "build", "--quiet", "--wheel", "--out-dir"]
        return build, lambda python: [uv, "pip", "install", "--python", str(python)]
    pip = [sys.executable, "-m", "pip"]
    build = [*pip, "wheel", "--quiet", "--no-deps", "--wheel-dir"]
    return build, lambda python: [*pip, "--python", str(python), "install"]


def _build(base: Path) -> Path:
    """The wheel built from a copy of this checkout."""
    project = base / "project"
    project.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, project / name)
    shutil.copytree(
        ROOT / "src",
        project / "src",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"),
    )
    build, _ = _installer()
    out = base / "dist"
    _run([*build, str(out), str(project)], cwd=base)
    (built,) = out.glob("tongban-*.whl")
    return built


def _check_contents(wheel: Path) -> None:
    """Every file of the package is in the wheel, and nothing else but its metadata."""
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    package = ROOT / "src"
    expected = {
        path.relative_to(package).as_posix()
        for path in (package / "tongban").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }
    assert expected - names == set()
    # Named here because the wheel is useless without them, whatever package-data says:
    for pattern in (
        r"tongban/platform/migrations/versions/0001_\w+\.py",
        r"tongban/platform/migrations/script\.py\.mako",
        r"tongban/platform/migrations/env\.py",
        r"tongban/.+/templates/.+\.html",
        r"tongban/.+/static/.+\.css",
        r"tongban/.+\.po",
        r"tongban/regions/data/.+\.csv",
        r"tongban/catalog/data/seed_catalog\.yaml",
    ):
        assert any(re.fullmatch(pattern, name) for name in names), pattern
    dist_info = f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.dist-info/"
    assert {n for n in names if not n.startswith(("tongban/", dist_info))} == set()


# One test, not two: under pytest-xdist two tests could each build the wheel on a worker.
def test_an_installed_wheel_migrates_and_loads_its_demo(tmp_path: Path) -> None:
    wheel = _build(tmp_path)
    _check_contents(wheel)
    _, install = _installer()
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    _run([*install(python), "--quiet", "--no-deps", str(wheel)])
    site = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
        ).stdout.strip()
    )
    ours = dict.fromkeys(sysconfig.get_paths()[key] for key in ("purelib", "platlib"))
    (site / "tongban_test_dependencies.pth").write_text("\n".join(ours) + "\n", encoding="utf-8")

    work = tmp_path / "elsewhere"  # an empty directory: no checkout, no ./var
    work.mkdir()
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TONGBAN_", "PYTHON"))}
    env["TONGBAN_DATA_DIR"] = str(data)

    where = _run(
        [
            str(python),
            "-c",
            "import tongban; from tongban.platform.db import migrations_dir; "
            "print(tongban.__file__); print(migrations_dir())",
        ],
        cwd=work,
        env=env,
    ).stdout.split()
    assert all(Path(p).is_relative_to(site) for p in where), where

    tongban = str(venv / "bin" / "tongban")
    assert "database at revision head" in _run([tongban, "db", "upgrade"], cwd=work, env=env).stdout
    loaded = _run([tongban, "demo", "--load-only"], cwd=work, env=env).stdout
    assert "demo data: regions=3348, catalog_items=45, accounts=7" in loaded
    assert "citizen, relative, clerk, official, official2, steward, admin" in loaded

    (database,) = data.glob("*.db")
    with closing(sqlite3.connect(database)) as db:
        count = {
            table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("regions", "catalog_items", "accounts")
        }
        (version,) = db.execute("SELECT version_num FROM alembic_version").fetchone()
    assert count == {"regions": 3348, "catalog_items": 45, "accounts": 7}
    newest = max((ROOT / "src/tongban/platform/migrations/versions").glob("[0-9]*.py"))
    assert version == newest.stem
    assert list(work.iterdir()) == []
