"""Settings an installed node depends on across upgrades."""

from __future__ import annotations

from pathlib import Path

from tongban.platform.config import Settings


def test_the_embedded_database_keeps_its_file_name(tmp_path: Path) -> None:
    # A node upgraded in place must find the SQLite file it has always used.
    url = Settings(data_dir=tmp_path).resolved_database_url()
    assert url == f"sqlite:///{(tmp_path / 'tongban.db').resolve()}"
