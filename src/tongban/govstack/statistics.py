"""GovStack statistics: the counts of the files' case outcomes (issue #21)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.cases import service as cases
from tongban.govstack.applications import _status
from tongban.govstack.clients import Client, record_call
from tongban.govstack.models import (
    GovstackApplication,
    GovstackService,
)
from tongban.govstack.steps import _with_cases
from tongban.platform.errors import NotFound


def statistics(
    session: Session,
    *,
    client: Client,
    start: date | None,
    end: date | None,
    registration_name: str | None,
    operator: str | None,
    role: str | None,
    timeframe: str | None,
) -> list[dict[str, Any]]:
    """Processed, approved, sent back and rejected application files, by registration."""
    stmt = select(GovstackApplication)
    if registration_name:
        service = session.scalar(
            select(GovstackService).where(
                GovstackService.registration_name == registration_name[:64]
            )
        )
        if service is None:
            raise NotFound(f"No registration named {registration_name[:64]!r}.")
        stmt = stmt.where(GovstackApplication.service_id == service.service_id)
    counts = {"processed": 0, "approved": 0, "sentBack": 0, "rejected": 0}
    rows = [
        row
        for row in session.scalars(stmt).all()
        if not (start and cases.local_date(row.registered_at) < start)
        and not (end and cases.local_date(row.registered_at) > end)
    ]
    for _, case in _with_cases(session, rows)[0]:
        code = _status(case)["code"]
        if code == "SENDBACK":
            counts["sentBack"] += 1
        if case.decision is not None or case.state in cases.FINAL_STATES:
            counts["processed"] += 1
            counts["approved"] += code == "APPROVED"
            counts["rejected"] += code == "REJECTED"
    record_call(session, client=client, operation="statistics.read", data=dict(counts))
    references = {
        "startDate": start.isoformat() if start else "",
        "endDate": end.isoformat() if end else "",
        "registrationName": registration_name or "",
        "operator": operator or "",
        "role": role or "",
        "timeframeDay": timeframe == "day",
        "timeframeWeek": timeframe == "week",
        "timeframeMonth": timeframe == "month",
        "timeframeYear": timeframe == "year",
    }
    return [{**counts, "references": references}]
