"""Values sealed for the browser (e.g. the service desk's applicant) are secret and tamper-proof."""

from __future__ import annotations

import time
from pathlib import Path

from tests.support import identity_internals as identity
from tongban.platform.config import Settings


def test_sealed_value_round_trips_and_hides_the_resident_id(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    sealed = identity.seal('{"resident_id": "511602195003150119"}', settings=settings)
    assert "511602195003150119" not in sealed
    opened = identity.unseal(sealed, max_age_seconds=60, settings=settings)
    assert opened == '{"resident_id": "511602195003150119"}'


def test_tampered_foreign_or_expired_values_are_refused(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "a")
    sealed = identity.seal("x", settings=settings)
    flipped = sealed[:-5] + ("A" if sealed[-5] != "A" else "B") + sealed[-4:]
    assert identity.unseal(flipped, max_age_seconds=60, settings=settings) is None
    assert identity.unseal("not a token", max_age_seconds=60, settings=settings) is None
    other_node = Settings(data_dir=tmp_path / "b")
    assert identity.unseal(sealed, max_age_seconds=60, settings=other_node) is None
    time.sleep(1.1)
    assert identity.unseal(sealed, max_age_seconds=0, settings=settings) is None
