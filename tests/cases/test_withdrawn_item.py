"""An item the national catalog withdrew takes no new applications, while the cases filed
before it go on (a station's case filed offline and arriving later included)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests.cases.conftest import World, service_act, submit_pension
from tongban.catalog import service as catalog
from tongban.platform.config import Settings
from tongban.platform.errors import Invalid


def test_a_withdrawn_item_takes_no_new_case_and_the_earlier_one_goes_on(
    db: Session, world: World, settings: Settings
) -> None:
    earlier = submit_pension(db, world, settings)
    item = catalog.get_implementation(db, code=earlier.implementation_code).item_code
    assert catalog.withdraw_item(db, code=item)

    with pytest.raises(Invalid) as refused, db.begin_nested():
        submit_pension(db, world, settings)
    assert "withdrawn from the national catalog" in refused.value.errors[0].message
    assert refused.value.errors[0].field == "implementation"

    accepted = service_act(db, world, settings, "official", earlier, "accept")
    assert accepted.state == "accepted"

    # Listed again, it takes applications again.
    assert catalog.withdraw_item(db, code=item, withdrawn=False)
    assert submit_pension(db, world, settings).state == "received"
