"""Fetching at acceptance: the government-held papers of a case, without asking the applicant.

When an official accepts a case, each checklist material whose source is `government` and that
an active resource stands in for is fetched under that official's authority for that case, but
only where an agreement of their department covering the item (or the 无条件共享 attribute)
allows: a fetch nobody agreed to is not tried, so acceptance does not fill the ledger with
refusals nobody asked for. The shell registers `fetch_at_acceptance` in cases' after-accept
hooks (cases never import exchange).

The fetch does not run inside the acceptance (a slow provider would hold it, and on SQLite the
write lock, for up to remote.TIMEOUT): the hook only QUEUES it (`exchange_pending_fetches`, an
outbox written in the acceptance's transaction, with an `exchange.fetch_queued` event), and
`run_due` runs the queue after the commit, each fetch in its own units of work:

1. claim: pending -> running with a lease (one short write; two workers never run one fetch);
2. fetch: the fetch (exchange/fetch.py, every check again) and the row's outcome commit
   together: done with its fetch, or back to pending with a later attempt (provider
   unavailable; RETRY_AFTER), or failed (a refusal, or the last attempt). A refusal keeps its
   event; an unexpected error leaves nothing of the fetch and is retried like a provider down.

The case's checklist shows the line as being fetched (正在获取) or failed (with the fetch
button to retry: a fetch by hand settles the queued one). `tongban serve` runs the queue in a
thread woken when an acceptance commits (exchange/worker.py); `tongban exchange run-fetches`
runs it once.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from tongban.cases import service as cases
from tongban.catalog import service as catalog
from tongban.events import service as events
from tongban.exchange import fetch
from tongban.exchange.catalogue import channel_of
from tongban.exchange.errors import ProviderUnavailable
from tongban.exchange.models import Agreement, DataFetch, DataResource, PendingFetch
from tongban.exchange.requests import agreement_status
from tongban.exchange.schemas import Sharing
from tongban.identity import service as identity
from tongban.identity.service import Actor, Role
from tongban.platform.config import Settings
from tongban.platform.db import Database, uow, utcnow
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
    """Queue what sharing allows for a case being accepted (in the acceptance's transaction);
    the codes queued. Never raises: acceptance stands whatever happens here."""
    del settings  # the worker has its own
    if actor.role is not Role.OFFICIAL:
        return []
    step = uow.savepoint(session)
    try:
        case = cases.get_case(session, number=case_number)
        codes = [r.code for r in candidates(session, actor=actor, case=case)]
        if codes:
            _queue(session, actor=actor, case_number=case_number, codes=codes)
    except Exception:
        step.undo()
        log.exception("automatic fetch: could not queue the fetches of %s", case_number)
        return []
    step.keep()
    if codes:
        uow.after_commit(session, wake)
    return codes


def _queue(session: Session, *, actor: Actor, case_number: str, codes: list[str]) -> None:
    now = utcnow()
    known = {
        row.resource_code: row
        for row in session.scalars(
            select(PendingFetch).where(PendingFetch.case_number == case_number)
        )
    }
    for code in codes:
        row = known.get(code)
        if row is None:
            session.add(
                PendingFetch(
                    case_number=case_number,
                    resource_code=code,
                    actor_id=actor.account_id,
                    state="pending",
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                    updated_at=now,
                )
            )
        elif row.state != "done":  # accepted again (after a 补正): try again now
            row.state, row.attempts, row.next_attempt_at = "pending", 0, now
            row.actor_id, row.problem, row.lease_until, row.updated_at = (
                actor.account_id,
                None,
                None,
                now,
            )
    session.flush()
    events.record(
        session,
        action="exchange.fetch_queued",
        resource_type="case_data",
        resource_id=case_number,
        channel=channel_of(actor),
        actor_id=actor.account_id,
        actor_role=actor.role.value,
        data={"resources": codes, "department": actor.department_code, "outcome": "queued"},
    )


# --- the queue's runner -----------------------------------------------------------------------

# Waits before the 2nd, 3rd and 4th attempt when the provider did not answer; then failed.
RETRY_AFTER = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30))
MAX_ATTEMPTS = len(RETRY_AFTER) + 1
# How long a claimed fetch is a worker's: past it (the worker died), another takes it over.
LEASE = timedelta(minutes=2)
BATCH = 50

_wake = threading.Event()


def wake() -> None:
    """Tell the worker thread that fetches were queued (after the acceptance commits)."""
    _wake.set()


def take_wake() -> None:
    """A round starts: wake-ups before now are answered by it (one after it is kept)."""
    _wake.clear()


def wait_for_work(timeout: float) -> bool:
    """Sleep until woken or `timeout` s; whether woken (the worker thread's wait)."""
    return _wake.wait(timeout)


@dataclass
class RunReport:
    """What one run of the queue did: fetches done, put back for a retry, failed."""

    done: int = 0
    retry: int = 0
    failed: int = 0

    @property
    def total(self) -> int:
        """Fetches the run took."""
        return self.done + self.retry + self.failed


def _due(now: datetime):  # type: ignore[no-untyped-def]
    return or_(
        (PendingFetch.state == "pending") & (PendingFetch.next_attempt_at <= now),
        (PendingFetch.state == "running") & (PendingFetch.lease_until < now),
    )


def run_due(
    database: Database, settings: Settings, *, now: datetime | None = None, limit: int = BATCH
) -> RunReport:
    """Run the queued fetches that are due (oldest first), each in its own units of work."""
    report = RunReport()
    with database.session_scope() as session:
        ids = list(
            session.scalars(
                select(PendingFetch.id)
                .where(_due(now or utcnow()))
                .order_by(PendingFetch.id)
                .limit(limit)
            )
        )
    for pending_id in ids:
        outcome = run_one(database, settings, pending_id=pending_id, now=now)
        if outcome == "done":
            report.done += 1
        elif outcome == "pending":
            report.retry += 1
        elif outcome == "failed":
            report.failed += 1
    return report


def _claim(database: Database, *, pending_id: int, now: datetime) -> bool:
    with database.session_scope() as session:
        claimed = session.execute(
            update(PendingFetch)
            .where(PendingFetch.id == pending_id, _due(now))
            .values(
                state="running",
                attempts=PendingFetch.attempts + 1,
                lease_until=now + LEASE,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(claimed, "rowcount", 0) == 1)


def _actor(session: Session, account_id: int) -> Actor | None:
    try:
        view = identity.get_account(session, account_id=account_id)
    except NotFound:
        return None
    if not view.active or view.role != Role.OFFICIAL.value:
        return None
    return Actor(
        account_id=view.id,
        username=view.username,
        role=Role.OFFICIAL,
        department_id=view.department_id,
        department_code=view.department_code,
        jurisdiction=view.region_code,
        display_name=view.display_name,
        identity_verified=view.identity_verified,
    )


def _settle(row: PendingFetch, *, state: str, problem: str | None, now: datetime) -> str:
    if state == "pending" and row.attempts >= MAX_ATTEMPTS:
        state = "failed"
    row.state, row.problem, row.lease_until, row.updated_at = state, problem, None, now
    if state == "pending":
        row.next_attempt_at = now + RETRY_AFTER[min(row.attempts, len(RETRY_AFTER)) - 1]
    return state


def run_one(
    database: Database, settings: Settings, *, pending_id: int, now: datetime | None = None
) -> str | None:
    """Claim and run one queued fetch; its new state (None: not due, or another worker's)."""
    now = now or utcnow()
    if not _claim(database, pending_id=pending_id, now=now):
        return None
    try:
        with database.session_scope() as session:
            return _attempt(session, settings, pending_id=pending_id, now=now)
    except Exception:  # nothing of the attempt stays; the queue row says so, retried later
        log.exception("automatic fetch %s failed", pending_id)
        with database.session_scope() as session:
            row = session.get(PendingFetch, pending_id)
            assert row is not None
            return _settle(row, state="pending", problem="internal-error", now=utcnow())


def _attempt(session: Session, settings: Settings, *, pending_id: int, now: datetime) -> str:
    row = session.get(PendingFetch, pending_id)
    assert row is not None
    already = session.scalar(
        select(DataFetch.id)
        .where(
            DataFetch.case_number == row.case_number,
            DataFetch.resource_code == row.resource_code,
            DataFetch.found.is_(True),
        )
        .limit(1)
    )
    if already is not None:  # fetched by hand meanwhile
        row.fetch_id = already
        return _settle(row, state="done", problem=None, now=now)
    actor = _actor(session, row.actor_id)
    if actor is None:
        return _settle(row, state="failed", problem="official-gone", now=now)
    step = uow.savepoint(session)
    try:
        made = fetch.fetch_for_case(
            session,
            actor=actor,
            case_number=row.case_number,
            resource_code=row.resource_code,
            fields=None,
            purpose=PURPOSE,
            settings=settings,
        )
    except ProviderUnavailable:
        step.keep()  # its refusal event and the message log stay
        return _settle(row, state="pending", problem="provider-unavailable", now=now)
    except AppError as exc:
        step.keep()  # a refusal (revoked since, case closed …): its event stays
        return _settle(row, state="failed", problem=getattr(exc, "refusal", "refused"), now=now)
    step.keep()
    row.fetch_id = made.id
    return _settle(row, state="done", problem=None, now=now)


def queued_of_case(session: Session, *, case_number: str) -> list[PendingFetch]:
    """A case's queued fetches not done yet (pending, running or failed)."""
    return list(
        session.scalars(
            select(PendingFetch)
            .where(PendingFetch.case_number == case_number, PendingFetch.state != "done")
            .order_by(PendingFetch.id)
        )
    )


def retry_failed(session: Session, *, case_number: str) -> int:
    """Put a case's failed fetches back in the queue, due now; how many."""
    result = session.execute(
        update(PendingFetch)
        .where(PendingFetch.case_number == case_number, PendingFetch.state == "failed")
        .values(
            state="pending", attempts=0, next_attempt_at=utcnow(), problem=None, updated_at=utcnow()
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
