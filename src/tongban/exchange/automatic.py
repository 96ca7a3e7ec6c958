"""Fetching at acceptance: the government-held papers of a case, without asking the applicant.

When an official accepts a case, each checklist material whose source is `government` and that
an active resource stands in for is fetched under that official's authority for that case, but
only where an agreement of their department covering the item (or the 无条件共享 attribute)
allows: a fetch nobody agreed to is not tried, so acceptance does not fill the ledger with
refusals nobody asked for. The shell registers `fetch_at_acceptance` in cases' after-accept
hooks (cases never import exchange).

Acceptance must never fail because of sharing: each fetch runs in its own savepoint. A refusal
(no resident ID, a provider down …) keeps its refusal event and nothing else; an unexpected
error rolls its savepoint back and is logged. The checklist line then stays as it was (the
official can fetch by hand, or ask for the paper).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.cases import service as cases
from tongban.catalog import service as catalog
from tongban.exchange import fetch
from tongban.exchange.models import Agreement, DataResource
from tongban.exchange.requests import agreement_status
from tongban.exchange.schemas import Sharing
from tongban.identity.service import Actor, Role
from tongban.platform.config import Settings
from tongban.platform.db import uow, utcnow
from tongban.platform.errors import AppError, NotFound

log = logging.getLogger(__name__)

# The purpose recorded with an automatic fetch (beside its event, never in the ledger leaf).
PURPOSE = "受理时自动共享获取（政务数据共享，免于申请人重复提交）"


def _government_materials(session: Session, case: cases.CaseView) -> set[str]:
    """The case's checklist lines whose source is government (held by a department)."""
    if not case.implementation_code:
        return set()
    try:
        impl = catalog.get_implementation(session, code=case.implementation_code)
    except NotFound:  # the item left the catalog since: nothing to go by
        return set()
    return {m.name for m in impl.materials if m.source == "government"}


def _allowed(
    session: Session, *, resource: DataResource, department_id: int, item: str, now: datetime
) -> bool:
    """Whether a fetch stands a chance: 无条件共享, or an active agreement covering the item."""
    if resource.sharing == Sharing.UNCONDITIONAL.value:
        return True
    if resource.sharing == Sharing.NONE.value:
        return False
    agreements = session.scalars(
        select(Agreement).where(
            Agreement.consumer_department_id == department_id,
            Agreement.resource_id == resource.id,
        )
    )
    return any(
        agreement_status(a, now=now) == "active" and item in a.item_codes for a in agreements
    )


def candidates(session: Session, *, actor: Actor, case: cases.CaseView) -> list[DataResource]:
    """The resources to fetch for an accepted case (by code; one per resource)."""
    wanted = _government_materials(session, case)
    if not wanted or actor.department_id is None:
        return []
    now = utcnow()
    found = []
    active = select(DataResource).where(DataResource.active.is_(True))
    for resource in list(session.scalars(active.order_by(DataResource.code))):
        if not wanted.intersection(resource.materials or []):
            continue
        if _allowed(
            session,
            resource=resource,
            department_id=actor.department_id,
            item=case.item_code or "",
            now=now,
        ):
            found.append(resource)
    return found


def fetch_at_acceptance(
    session: Session, *, actor: Actor, case_number: str, settings: Settings
) -> list[str]:
    """Fetch what sharing allows for a case just accepted; the codes fetched (never raises)."""
    if actor.role is not Role.OFFICIAL:
        return []
    try:
        case = cases.get_case(session, number=case_number)
        resources = candidates(session, actor=actor, case=case)
    except Exception:  # acceptance goes on whatever happens here
        log.exception("automatic fetch: could not list resources for %s", case_number)
        return []
    fetched = []
    for resource in resources:
        step = uow.savepoint(session)
        try:
            fetch.fetch_for_case(
                session,
                actor=actor,
                case_number=case_number,
                resource_code=resource.code,
                fields=None,
                purpose=PURPOSE,
                settings=settings,
            )
        except AppError:
            step.keep()  # a refusal: its event stays, nothing else was written
            continue
        except Exception:
            step.undo()
            log.exception("automatic fetch of %s for %s failed", resource.code, case_number)
            continue
        step.keep()
        fetched.append(resource.code)
    return fetched
