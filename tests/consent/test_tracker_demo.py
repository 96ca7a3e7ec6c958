"""The tracker's demo (issue #16): after the demo is loaded, 王建国 finds a fetch of his 参保
record for his pension transfer, an official's look at his full resident ID and a use of the
consent he granted, each made through the services; loading again adds nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from tongban.consent.tracker import note_event
from tongban.consent.tracker_demo import ID_PURPOSE
from tongban.consent.tracker_models import DataUse
from tongban.events.service import on_stored
from tongban.identity import service as identity
from tongban.platform.config import Settings
from tongban.platform.db import Database
from tongban.shell.cli import load_demo_data


def test_the_demo_citizen_sees_a_fetch_an_id_look_and_a_consent_use_once(
    fresh_database: Database, settings: Settings
) -> None:
    on_stored(note_event)  # as the CLI and the app register it
    first = load_demo_data(fresh_database, settings=settings)
    assert first["tracker_demo_cases"] == 1
    with fresh_database.session_scope() as session:
        citizen = identity.find_account_by_username(session, username="citizen")
        assert citizen is not None
        lines = {
            row.kind: row
            for row in session.scalars(select(DataUse).where(DataUse.subject_id == citizen.id))
        }
        assert set(lines) == {"fetch", "id_view", "consent_use"}
        fetch, look, use = lines["fetch"], lines["id_view"], lines["consent_use"]
        assert (fetch.action, fetch.outcome) == ("exchange.fetched", "fetched")
        assert fetch.department_code == "12511602MB8188247W"  # 广安区社保局, the agreement's
        assert "paid_months" in fetch.fields and "account_balance" not in fetch.fields
        assert look.case_number == fetch.case_number and look.purpose == ID_PURPOSE
        assert look.actor_name_masked and look.actor_name_masked.endswith("*")
        assert (use.action, use.outcome) == ("consent.used", "allowed")
        assert use.department_code == "11511600MB01744074"  # 广安市民政局, whom he consented to
        total = session.scalar(select(func.count()).select_from(DataUse))
    again = load_demo_data(fresh_database, settings=settings)
    assert again["tracker_demo_cases"] == 0
    with fresh_database.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(DataUse)) == total
