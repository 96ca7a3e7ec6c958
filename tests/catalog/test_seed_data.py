"""The seed catalog's data files (tools/seed_catalog/) and the shipped seed_catalog.yaml agree.

`seed_catalog.yaml` is generated from the data files by tools/build_seed_catalog.py. These
tests run the generator into a temporary directory (never into the source tree) and compare,
so an edit to the data files without regenerating, or a hand edit of the YAML, fails here.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tools" / "build_seed_catalog.py"
DATA = ROOT / "tools" / "seed_catalog"
SHIPPED = ROOT / "src" / "tongban" / "catalog" / "data" / "seed_catalog.yaml"


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    """tools/build_seed_catalog.py as a module (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location("build_seed_catalog", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_catalog_equals_the_shipped_one(generator: ModuleType, tmp_path: Path) -> None:
    out = tmp_path / "seed_catalog.yaml"
    generator.write(out, DATA)
    assert out.read_bytes() == SHIPPED.read_bytes(), (
        "seed_catalog.yaml differs from what tools/seed_catalog/ generates; "
        "run .venv/bin/python tools/build_seed_catalog.py"
    )


@pytest.mark.parametrize(
    ("path", "old", "new"),
    [
        ("items.yaml", "    visits: 0\n", "    vists: 0\n"),  # misspelt item key
        ("items.yaml", "{甘肃省: 1, 辽宁省: 1}", "{甘肃: 1, 辽宁省: 1}"),  # unknown province
        ("items.yaml", ", source: government}", ", sorce: government}"),  # misspelt material key
        ("items.yaml", "type: date, required: false}", "type: date, requird: false}"),  # field key
        ("co_handlers.yaml", "西湖区: 城关区", "西湖区: 城关"),  # unknown region
    ],
)
def test_a_typo_in_the_data_files_is_refused(
    generator: ModuleType, tmp_path: Path, path: str, old: str, new: str
) -> None:
    data = tmp_path / "seed_catalog"
    shutil.copytree(DATA, data)
    text = (data / path).read_text(encoding="utf-8")
    assert old in text
    (data / path).write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(AssertionError):
        generator.Seed(data)
