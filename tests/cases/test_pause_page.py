"""Why a case's clock is stopped, on its page (issue #14): a special procedure (特别程序) shows
its reason, since when and its expected end; a 补正 shows since when and that the clock runs
again once the papers are supplied — not one sentence about missing papers for both."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tests.cases.conftest import Clock, World, page_login, service_act, submit_pension
from tongban.platform.config import Settings


def test_a_special_procedure_shows_its_reason_and_expected_end(
    db: Session, world: World, settings: Settings, app: Any, clock: Clock
) -> None:
    clock.set(2026, 3, 2)
    case = submit_pension(db, world, settings)
    case = service_act(db, world, settings, "official", case, "accept")
    clock.set(2026, 3, 4)
    service_act(
        db,
        world,
        settings,
        "official",
        case,
        "start-special",
        reason="需现场核查",
        expected_end="2026-03-20",
    )
    clock.set(2026, 3, 6)
    for who in ("t-official", "t-clerk"):
        page = page_login(app, who).get(f"/cases/{case.number}")
        assert page.status_code == 200
        assert "为什么暂停计时" in page.text
        assert "特别程序" in page.text and "需现场核查" in page.text
        assert "2026-03-04" in page.text  # since
        assert "2026-03-20" in page.text  # expected end
        assert "至今 2 个工作日" in page.text
        assert "补正期间暂停计时" not in page.text
        assert "所有补正材料提交后" not in page.text
    # Past its expected end, the page says so.
    clock.set(2026, 3, 23)
    page = page_login(app, "t-official").get(f"/cases/{case.number}")
    assert "已过期" in page.text


def test_a_supplement_pause_runs_again_when_the_papers_come(
    db: Session, world: World, settings: Settings, app: Any, clock: Clock
) -> None:
    clock.set(2026, 3, 2)
    case = submit_pension(db, world, settings)
    service_act(
        db,
        world,
        settings,
        "official",
        case,
        "request-supplement",
        missing=["户口簿"],
        reason="缺户口簿",
    )
    clock.set(2026, 3, 3)
    page = page_login(app, "t-clerk").get(f"/cases/{case.number}")
    assert page.status_code == 200
    assert "等待补正材料" in page.text
    assert "2026-03-02" in page.text
    assert "所有补正材料提交后立即恢复计时" in page.text
    assert "预计结束日期" not in page.text
