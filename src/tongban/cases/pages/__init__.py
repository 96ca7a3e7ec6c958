"""HTML pages of the cases domain: the citizen's application (apply), a case and its actions
(case), the service-point desk (desk, 代收代办) and the official's workbench. Every flow is
plain forms: no JavaScript needed."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter

from tongban.cases.pages import apply, bundle, case, desk, help, payout, track, workbench
from tongban.platform.web.rendering import add_templates

add_templates(Path(__file__).resolve().parents[1] / "templates")

router = APIRouter(tags=["cases pages"], include_in_schema=False)
for _part in (apply, bundle, case, desk, help, payout, track, workbench):
    router.include_router(_part.router)
