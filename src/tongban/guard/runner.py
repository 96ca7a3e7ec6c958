"""The detector's runner: reads the events after its cursor (the events table is the durable
queue), feeds the rules, stores alerts and responses and moves the cursor in one unit of
work; and the thread `tongban serve` runs it in."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tongban.events import service as events
from tongban.guard import responses
from tongban.guard import rules as R
from tongban.guard.anomaly import BehaviourModel
from tongban.guard.console import CURSOR, as_utc, list_rules
from tongban.guard.detector import AccountFacts, Detector, Draft, Seen
from tongban.guard.models import GuardAlert, GuardCursor
from tongban.identity import service as identity
from tongban.platform.config import Settings
from tongban.platform.db import Database, uow, utcnow
from tongban.platform.errors import NotFound

log = logging.getLogger(__name__)


# How far back a starting detector replays events to refill its windows.
WARM_UP = timedelta(hours=24)
BATCH = 5000
# Seconds between reads of the rules operators edit.
RULES_TTL = 30.0

# --- reading the events -----------------------------------------------------------------------


def read_events(session: Session, *, after_id: int, limit: int = BATCH) -> list[Seen]:
    """The events after `after_id`, in order (at most `limit`)."""
    table = events.events_table()
    c = table.c
    rows = session.execute(
        select(
            c.id,
            c.uid,
            c.occurred_at,
            c.action,
            c.actor_id,
            c.actor_role,
            c.on_behalf_of_id,
            c.resource_type,
            c.resource_id,
            c.data,
            c.personal,
            c.private,
        )
        .where(c.id > after_id)
        .order_by(c.id)
        .limit(limit)
    )
    return [
        Seen(
            id=r.id,
            uid=r.uid,
            at=as_utc(r.occurred_at),
            action=r.action,
            actor_id=r.actor_id,
            actor_role=r.actor_role,
            on_behalf_of_id=r.on_behalf_of_id,
            resource_type=r.resource_type,
            resource_id=r.resource_id,
            data=r.data or {},
            personal=r.personal or {},
            private=r.private or {},
        )
        for r in rows
    ]


def _first_id_since(session: Session, since: datetime) -> int:
    table = events.events_table()
    found = session.scalar(select(func.min(table.c.id)).where(table.c.occurred_at >= since))
    return int(found) - 1 if found else 0


# --- the runner -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunReport:
    """One pass of the detector: events read, alerts raised, the lag and the cursor."""

    events: int
    alerts: list[int]
    lag_seconds: float | None
    cursor: int


class Guard:
    """The detector over the events of one database, with its cursor and state.

    One pass (`run_once`) reads a batch after the cursor, feeds it to the rules, stores the
    alerts and their responses and moves the cursor, in one unit of work: a pass that fails
    leaves the cursor and is read again (the state is then rebuilt from the events)."""

    def __init__(self, database: Database, settings: Settings, *, anomaly: bool = True) -> None:
        self.database = database
        self.settings = settings
        self.anomaly = anomaly
        self.detector: Detector | None = None
        self.specs: dict[str, R.RuleSpec] = {}
        self.rules_read = 0.0
        self.lock = threading.Lock()
        self.events_total = 0
        self.alerts_total: Counter[str] = Counter()
        self.lag_seconds: float | None = None
        self._session: Session | None = None

    def _facts(self, account_id: int) -> AccountFacts:
        assert self._session is not None
        try:
            account = identity.get_account(self._session, account_id=account_id)
        except NotFound:
            return AccountFacts(None, None)
        return AccountFacts(account.role, account.region_code)

    def _build(self, session: Session, cursor: int) -> Detector:
        specs = [r.spec() for r in list_rules(session)]
        self.specs = {s.kind: s for s in specs}
        anomaly = self.specs.get("behaviour.anomaly")
        model = None
        if self.anomaly and anomaly is not None and anomaly.enabled:
            model = BehaviourModel(threshold=float(anomaly.overrides.get("score", 0.8)))
        detector = Detector(specs, account_facts=self._facts, model=model)
        # Warm up: replay the recent past into the windows; what it would raise was raised.
        newest = session.scalar(
            select(events.events_table().c.occurred_at).where(events.events_table().c.id == cursor)
        )
        if newest is not None:
            start = _first_id_since(session, as_utc(newest) - WARM_UP)
            while start < cursor:
                batch = read_events(session, after_id=start, limit=min(BATCH, cursor - start))
                if not batch:
                    break
                for event in batch:
                    if event.id > cursor:
                        break
                    detector.feed(event)
                start = batch[-1].id
        # Open alerts keep answering their subjects (follow-ups), not raising anew.
        for row in session.scalars(
            select(GuardAlert).where(GuardAlert.state != "closed").order_by(GuardAlert.id)
        ):
            spec = self.specs.get(row.kind)
            window = spec.window_seconds if spec else 3600
            until = as_utc(row.last_event_at).timestamp() + window
            known = detector.raised.get((row.kind, row.subject))
            if known is None or known[0] < until:
                detector.raised[(row.kind, row.subject)] = (until, known[1] if known else set())
        detector.last_id = cursor
        self.rules_read = time.monotonic()
        return detector

    def _cursor(self, session: Session) -> GuardCursor:
        row = session.scalars(
            select(GuardCursor).where(GuardCursor.name == CURSOR).with_for_update()
        ).first()
        if row is None:
            row = GuardCursor(name=CURSOR, last_event_id=0, updated_at=utcnow())
            session.add(row)
            session.flush()
        return row

    def _reread_rules(self, session: Session, detector: Detector) -> None:
        """Operators' edits: new thresholds and actions, the windows kept."""
        specs = [r.spec() for r in list_rules(session)]
        self.specs = {s.kind: s for s in specs}
        detector.specs = dict(self.specs)
        self.rules_read = time.monotonic()

    def reload(self) -> None:
        """Forget the state: the next pass reads the rules and warms up again."""
        with self.lock:
            self.detector = None

    def run_once(self, *, limit: int = BATCH, now: datetime | None = None) -> RunReport:
        """Read one batch of events after the cursor and act on them."""
        with self.lock:
            try:
                return self._run(limit=limit, now=now)
            except BaseException:
                self.detector = None  # rebuilt from the events on the next pass
                raise

    def _run(self, *, limit: int, now: datetime | None) -> RunReport:
        with uow.unit(self.database) as session:
            self._session = session
            try:
                cursor = self._cursor(session)
                if self.detector is None or self.detector.last_id != cursor.last_event_id:
                    self.detector = self._build(session, cursor.last_event_id)
                elif time.monotonic() - self.rules_read > RULES_TTL:
                    self._reread_rules(session, self.detector)
                detector = self.detector
                batch = read_events(session, after_id=cursor.last_event_id, limit=limit)
                drafts: list[Draft] = []
                for event in batch:
                    if event.action == "guard.rule_changed":
                        # An operator's edit in the stream: the events after it obey it.
                        self._reread_rules(session, detector)
                    drafts += detector.feed(event)
                drafts += detector.tick(now or utcnow())
                alerts = [self._store(session, d) for d in drafts]
                raised = [a for a in alerts if a is not None]
                lag = None
                if batch:
                    cursor.last_event_id = batch[-1].id
                    lag = max(0.0, ((now or utcnow()) - batch[-1].at).total_seconds())
                    cursor.lag_seconds = lag
                    self.lag_seconds = lag
                else:
                    self.lag_seconds = 0.0
                cursor.updated_at = utcnow()
                detector.last_id = cursor.last_event_id
                self.events_total += len(batch)
                session.flush()
                return RunReport(len(batch), raised, lag, cursor.last_event_id)
            finally:
                self._session = None

    def _store(self, session: Session, draft: Draft) -> int | None:
        spec = self.specs[draft.kind]
        if draft.follow_up:
            row = session.scalars(
                select(GuardAlert)
                .where(
                    GuardAlert.kind == draft.kind,
                    GuardAlert.subject == draft.subject,
                    GuardAlert.state != "closed",
                )
                .order_by(GuardAlert.id.desc())
            ).first()
            if row is not None:
                known = {e["id"] for e in row.evidence or []}
                extra = [{"id": i, "uid": u} for i, u in draft.evidence if i not in known]
                row.evidence = [*(row.evidence or []), *extra][-100:]
                row.last_event_at = draft.last_at
                row.facts = {**(row.facts or {}), **draft.facts}
                row.updated_at = utcnow()
                session.flush()
                responses.respond(
                    session,
                    settings=self.settings,
                    alert_id=row.id,
                    kind=row.kind,
                    severity=row.severity,
                    actions=spec.actions,
                    targets=draft.targets,
                    block_minutes=int(spec.overrides.get("block_minutes", 30)),
                    notify=False,
                )
                return None
        zh, en = R.explain(
            draft.kind, {**draft.facts, "threshold": draft.facts.get("threshold", spec.threshold)}
        )
        now = utcnow()
        row = GuardAlert(
            kind=draft.kind,
            severity=draft.severity,
            state="open",
            subject=draft.subject[:80],
            region_code=draft.region,
            accounts=draft.accounts,
            regions=draft.regions,
            nodes=draft.nodes,
            evidence=[{"id": i, "uid": u} for i, u in draft.evidence],
            facts=draft.facts,
            explanation_zh=zh,
            explanation_en=en,
            first_event_at=draft.first_at,
            last_event_at=draft.last_at,
            raised_at=now,
            updated_at=now,
        )
        session.add(row)
        session.flush()
        events.record(
            session,
            action="guard.alert_raised",
            resource_type="guard_alert",
            resource_id=str(row.id),
            channel="system",
            data={
                "kind": row.kind,
                "severity": row.severity,
                "region": row.region_code,
                "evidence": [i for i, _ in draft.evidence][:MAX_EVIDENCE_IDS],
                "completed_by": draft.completed_by,
            },
            private={"subject": row.subject, "accounts": row.accounts, "nodes": row.nodes},
        )
        responses.respond(
            session,
            settings=self.settings,
            alert_id=row.id,
            kind=row.kind,
            severity=row.severity,
            actions=spec.actions,
            targets=draft.targets,
            block_minutes=int(spec.overrides.get("block_minutes", 30)),
        )
        self.alerts_total[row.kind] += 1
        return row.id

    def run_until_idle(self, *, deadline: float | None = None) -> int:
        """Passes until no event is left (or the deadline, a monotonic time); events read."""
        total = 0
        while deadline is None or time.monotonic() < deadline:
            report = self.run_once()
            total += report.events
            if report.events == 0:
                break
        return total


MAX_EVIDENCE_IDS = 50


def worker_starter(
    every: float = 1.0, *, on_guard: Callable[[Guard], None] | None = None
) -> Callable[[Any], Callable[[], None]]:
    """A create_app background starter: the detector in a thread, a pass every `every`
    seconds (at once again while events are waiting). Failures are logged, never raised."""

    def start(app: Any) -> Callable[[], None]:
        guard = Guard(app.state.database, app.state.settings)
        app.state.guard = guard
        if on_guard is not None:
            on_guard(guard)
        stop = threading.Event()

        def run() -> None:
            while not stop.is_set():
                try:
                    report = guard.run_once()
                    if report.events >= BATCH:
                        continue
                except Exception:
                    log.exception("guard: a detector pass failed")
                if stop.wait(every):
                    return

        thread = threading.Thread(target=run, name="guard-detector", daemon=True)
        thread.start()

        def stopper() -> None:
            stop.set()
            thread.join(timeout=10)

        return stopper

    return start
