"""The detector: reads events in order and keeps, per rule, sliding windows keyed by account,
address, username or node; a window past its threshold yields an alert draft. Pure Python
over plain values (no database): the service feeds it batches and stores what it yields.

Time is the events' own (`occurred_at`), so a replay of history gives the same alerts as
the live run did, and a warm-up from the recent past restores the windows after a restart.
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from tongban.guard import rules as R
from tongban.guard.anomaly import BehaviourModel

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Evidence kept per alert (the newest events that completed the pattern).
MAX_EVIDENCE = 50
# An address takes part in spraying when it failed on this many usernames in the window,
# more than it logged in well (a service hall's typos come with many good logins).
SPRAY_MIN_USERNAMES = 3


@dataclass(frozen=True, slots=True)
class Seen:
    """One event as the detector reads it (the personal/private parts only for keys)."""

    id: int
    uid: str
    at: datetime
    action: str
    actor_id: int | None
    actor_role: str | None
    on_behalf_of_id: int | None
    resource_type: str
    resource_id: str
    data: dict[str, Any]
    personal: dict[str, Any]
    private: dict[str, Any]

    @property
    def ts(self) -> float:
        """Seconds since the epoch."""
        return self.at.timestamp()


@dataclass
class Draft:
    """An alert the detector wants raised, with the targets of its responses."""

    kind: str
    severity: str
    subject: str
    facts: dict[str, Any]
    evidence: list[tuple[int, str]]
    first_at: datetime
    last_at: datetime
    completed_by: int
    accounts: list[int] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    nodes: list[str] = field(default_factory=list)
    region: str | None = None
    # (target kind, key): "client" (address pseudonym), "account", "token"
    targets: list[tuple[str, str]] = field(default_factory=list)
    # True when an alert of this kind and subject is already open: only new targets.
    follow_up: bool = False


@dataclass(frozen=True, slots=True)
class AccountFacts:
    """What the detector knows of an account: its role and region (jurisdiction)."""

    role: str | None
    region: str | None


_Entry = tuple[float, int, str, Any]


class _Window:
    """The events of one key within a rule's window, oldest first."""

    __slots__ = ("entries",)

    def __init__(self) -> None:
        self.entries: deque[_Entry] = deque()

    def add(self, ts: float, event: Seen, value: Any, span: float) -> None:
        self.entries.append((ts, event.id, event.uid, value))
        limit = ts - span
        while self.entries and self.entries[0][0] < limit:
            self.entries.popleft()

    def evidence(self) -> list[tuple[int, str]]:
        return [(e[1], e[2]) for e in list(self.entries)[-MAX_EVIDENCE:]]

    def first_at(self) -> datetime:
        return datetime.fromtimestamp(self.entries[0][0], tz=UTC)


class Detector:
    """The rules over a stream of events; `feed` returns the drafts each event completes."""

    def __init__(
        self,
        specs: Iterable[R.RuleSpec],
        *,
        account_facts: Callable[[int], AccountFacts],
        model: BehaviourModel | None = None,
    ) -> None:
        self.specs = {spec.kind: spec for spec in specs}
        self.account_facts = account_facts
        self._facts_cache: dict[int, AccountFacts] = {}
        self.windows: dict[tuple[str, str], _Window] = defaultdict(_Window)
        # (kind, subject) -> (until ts, targets already answered)
        self.raised: dict[tuple[str, str], tuple[float, set[tuple[str, str]]]] = {}
        # identity.bulk_reveal baselines: per account, EWMA of completed hours' counts.
        self.hour_counts: dict[int, tuple[int, int]] = {}
        self.baseline: dict[int, float] = {}
        # login.new_place_odd_hour: addresses each account logged in from.
        self.known_places: dict[str, set[str]] = defaultdict(set)
        # login.spray: good logins per address (a hall's typos are not a sprayer's guesses).
        self.successes: dict[str, deque[float]] = defaultdict(deque)
        self.model = model
        self.last_id = 0
        self.events_seen = 0

    # --- helpers ----------------------------------------------------------------------------

    def facts(self, account_id: int | None) -> AccountFacts:
        """The role and region of an account (cached)."""
        if account_id is None:
            return AccountFacts(None, None)
        cached = self._facts_cache.get(account_id)
        if cached is None:
            cached = self.account_facts(account_id)
            self._facts_cache[account_id] = cached
        return cached

    def spec(self, kind: str) -> R.RuleSpec | None:
        """The rule of a kind, when it is enabled."""
        spec = self.specs.get(kind)
        return spec if spec is not None and spec.enabled else None

    def _draft(
        self,
        spec: R.RuleSpec,
        event: Seen,
        *,
        subject: str,
        window: _Window | None,
        facts: dict[str, Any],
        targets: list[tuple[str, str]],
        accounts: list[int] | None = None,
        region: str | None = None,
        regions: list[str] | None = None,
        nodes: list[str] | None = None,
        evidence: list[tuple[int, str]] | None = None,
    ) -> Draft | None:
        key = (spec.kind, subject)
        ts = event.ts
        known = self.raised.get(key)
        if known is not None and known[0] > ts:
            fresh = [t for t in targets if t not in known[1]]
            if not fresh:
                return None
            known[1].update(fresh)
            follow = True
        else:
            self.raised[key] = (ts + spec.window_seconds, set(targets))
            fresh, follow = targets, False
        first = window.first_at() if window is not None and window.entries else event.at
        return Draft(
            kind=spec.kind,
            severity=spec.severity,
            subject=subject,
            facts={"subject": subject, "minutes": spec.window_seconds // 60, **facts},
            evidence=evidence if evidence is not None else (window.evidence() if window else []),
            first_at=first,
            last_at=event.at,
            completed_by=event.id,
            accounts=accounts or [],
            regions=regions or ([region] if region else []),
            nodes=nodes or [],
            region=region,
            targets=fresh,
            follow_up=follow,
        )

    # --- the stream -------------------------------------------------------------------------

    def feed(self, event: Seen) -> list[Draft]:
        """Read one event (in id order); the drafts it completes."""
        self.last_id = max(self.last_id, event.id)
        self.events_seen += 1
        action = event.action
        if action.startswith(("guard.", "security.")):
            return []
        drafts: list[Draft | None] = []
        if action in R.LOGIN_REFUSED:
            drafts += self._bruteforce(event)
            if action == "auth.login_failed":
                drafts += self._spray(event)
        elif action in R.LOGIN_OK:
            client = event.personal.get("client_key")
            if client:
                self.successes[client].append(event.ts)
            drafts += self._new_place(event)
        elif action in R.REVEALS:
            drafts += self._bulk_reveal(event)
        elif action in R.TOKEN_NEW_PLACE:
            drafts += self._token_new_place(event)
        elif action in R.REFUSED:
            drafts += self._out_of_jurisdiction(event)
        elif action in R.FETCH_REFUSED:
            drafts += self._fetch_without_case(event)
        elif action in R.NODE_REFUSED:
            drafts += self._foreign_region(event)
        elif action.endswith(".exported") or action.endswith("_exported"):
            drafts += self._export(event)
        if event.on_behalf_of_id is not None and event.actor_id is not None:
            drafts += self._many_principals(event)
        if self.model is not None and event.actor_id is not None:
            drafts += self._anomaly(event)
        return [d for d in drafts if d is not None]

    def tick(self, now: datetime) -> list[Draft]:
        """Close the behaviour model's account-hours that ended before `now` (idle accounts)."""
        if self.model is None:
            return []
        return [d for d in (self._anomaly_draft(c) for c in self.model.close_before(now)) if d]

    # --- the rules --------------------------------------------------------------------------

    def _bruteforce(self, event: Seen) -> list[Draft | None]:
        spec = self.spec("login.bruteforce")
        username = str(event.personal.get("username_key") or "")
        if spec is None or not username:
            return []
        account_id = event.personal.get("account_id")
        window = self.windows[(spec.kind, username)]
        value = (event.personal.get("client_key"), account_id)
        window.add(event.ts, event, value, spec.window_seconds)
        known_account = next((v[1] for _, _, _, v in window.entries if v[1]), None)
        facts = self.facts(int(known_account) if known_account else None)
        threshold = spec.threshold_for(role=facts.role, region=facts.region)
        if len(window.entries) < threshold:
            return []
        addresses = {v[0] for _, _, _, v in window.entries if v[0]}
        if known_account:
            subject = f"account:{known_account}"
            targets = [("account", str(known_account))]
            accounts = [int(known_account)]
        else:  # a username that does not exist: stop the addresses guessing at it
            subject = f"username:{username[:12]}"
            targets = [("client", a) for a in sorted(addresses)]
            accounts = []
        return [
            self._draft(
                spec,
                event,
                subject=subject,
                window=window,
                facts={"count": len(window.entries), "addresses": len(addresses)},
                targets=targets,
                accounts=accounts,
                region=facts.region,
            )
        ]

    def _spray(self, event: Seen) -> list[Draft | None]:
        spec = self.spec("login.spray")
        username = event.personal.get("username_key")
        client = event.personal.get("client_key")
        if spec is None or not username or not client:
            return []
        window = self.windows[(spec.kind, "*")]
        window.add(event.ts, event, (client, username), spec.window_seconds)
        per_client: dict[str, set[str]] = defaultdict(set)
        for _, _, _, (c, u) in window.entries:
            per_client[c].add(u)
        since = event.ts - spec.window_seconds
        suspicious = {
            c: names
            for c, names in per_client.items()
            if len(names) >= SPRAY_MIN_USERNAMES and self._successes(c, since) < len(names)
        }
        if client not in suspicious:
            return []
        usernames = set().union(*suspicious.values())
        if len(usernames) < spec.threshold:
            return []
        evidence = [(e[1], e[2]) for e in window.entries if e[3][0] in suspicious][-MAX_EVIDENCE:]
        return [
            self._draft(
                spec,
                event,
                subject="login-spray",
                window=window,
                facts={"usernames": len(usernames), "addresses": len(suspicious)},
                targets=[("client", c) for c in sorted(suspicious)],
                evidence=evidence,
            )
        ]

    def _successes(self, client: str, since: float) -> int:
        """Good logins from the address since a moment (older ones forgotten)."""
        found = self.successes.get(client)
        if not found:
            return 0
        while found and found[0] < since:
            found.popleft()
        return len(found)

    def _per_actor(
        self, kind: str, event: Seen, value: Any = 1, *, region: str | None = None
    ) -> tuple[R.RuleSpec, _Window, AccountFacts, int] | None:
        spec = self.spec(kind)
        if spec is None or event.actor_id is None:
            return None
        window = self.windows[(kind, str(event.actor_id))]
        window.add(event.ts, event, value, spec.window_seconds)
        facts = self.facts(event.actor_id)
        threshold = spec.threshold_for(role=facts.role, region=region or facts.region)
        return spec, window, facts, threshold

    def _bulk_reveal(self, event: Seen) -> list[Draft | None]:
        if event.actor_id is None:
            return []
        own = self._count_hour(event)
        found = self._per_actor("identity.bulk_reveal", event)
        if found is None:
            return []
        spec, window, facts, threshold = found
        count = len(window.entries)
        if count < threshold:
            return []
        peers = self._peer_baseline(facts.role, exclude=event.actor_id)
        factor = float(spec.overrides.get("factor", 4))
        hours = spec.window_seconds / 3600
        if count < factor * max(own, peers, 1.0) * hours:
            return []
        return [
            self._draft(
                spec,
                event,
                subject=f"account:{event.actor_id}",
                window=window,
                facts={"count": count, "own": round(own, 1), "peers": round(peers, 1)},
                targets=[("account", str(event.actor_id))],
                accounts=[event.actor_id],
                region=facts.region,
            )
        ]

    def _count_hour(self, event: Seen) -> float:
        """Count the reveal in its hour; when an hour ends, fold it into the baseline (an
        EWMA of hourly counts). The baseline before this hour."""
        assert event.actor_id is not None
        hour = int(event.ts // 3600)
        current = self.hour_counts.get(event.actor_id)
        base = self.baseline.get(event.actor_id)
        if current is not None and current[0] != hour:
            # The hours between were quiet: they pull the baseline down.
            gap = min(hour - current[0] - 1, 48)
            folded = current[1] if base is None else 0.8 * base + 0.2 * current[1]
            folded *= 0.8**gap
            self.baseline[event.actor_id] = folded
            base = folded
            current = None
        self.hour_counts[event.actor_id] = (hour, (current[1] if current else 0) + 1)
        return base or 0.0

    def _peer_baseline(self, role: str | None, *, exclude: int) -> float:
        values = [
            b
            for account, b in self.baseline.items()
            if account != exclude and self.facts(account).role == role
        ]
        return sum(values) / len(values) if values else 0.0

    def _simple(self, kind: str, event: Seen, *, value: Any = 1) -> list[Draft | None]:
        found = self._per_actor(kind, event, value)
        if found is None:
            return []
        spec, window, facts, threshold = found
        if len(window.entries) < threshold:
            return []
        regions = sorted({str(v) for *_, v in window.entries if isinstance(v, str)})
        return [
            self._draft(
                spec,
                event,
                subject=f"account:{event.actor_id}",
                window=window,
                facts={"count": len(window.entries), "threshold": threshold},
                targets=[("account", str(event.actor_id))],
                accounts=[event.actor_id] if event.actor_id is not None else [],
                region=facts.region,
                regions=regions or None,
            )
        ]

    def _out_of_jurisdiction(self, event: Seen) -> list[Draft | None]:
        # A refusal hidden behind a 404 (someone else's case, another jurisdiction's
        # consent) counts whatever its reason: the actor reached for what is not theirs.
        why = event.data.get("why")
        if why not in ("jurisdiction", "department", "owner", "role") and not event.data.get(
            "hidden"
        ):
            return []
        return self._simple("access.out_of_jurisdiction", event, value=event.data.get("region"))

    def _fetch_without_case(self, event: Seen) -> list[Draft | None]:
        if event.data.get("refusal") not in R.NO_CASE_REFUSALS:
            return []
        return self._simple("exchange.fetch_without_case", event)

    def _export(self, event: Seen) -> list[Draft | None]:
        rows = event.data.get("count", event.data.get("rows", event.data.get("records", 1)))
        try:
            amount = max(int(rows), 1)
        except (TypeError, ValueError):
            amount = 1
        found = self._per_actor("export.bulk", event, amount)
        if found is None:
            return []
        spec, window, facts, threshold = found
        total = sum(int(v) for *_, v in window.entries)
        if total < threshold:
            return []
        token = event.data.get("token_id")
        targets = [("token", str(token))] if token else [("account", str(event.actor_id))]
        return [
            self._draft(
                spec,
                event,
                subject=f"account:{event.actor_id}",
                window=window,
                facts={"count": total, "threshold": threshold},
                targets=targets,
                accounts=[event.actor_id] if event.actor_id is not None else [],
                region=facts.region,
            )
        ]

    def _new_place(self, event: Seen) -> list[Draft | None]:
        spec = self.spec("login.new_place_odd_hour")
        client = event.personal.get("client_key")
        account = event.resource_id
        if not client:
            return []
        places = self.known_places[account]
        new = bool(places) and client not in places
        places.add(client)
        if spec is None or not new:
            return []
        hour = event.at.astimezone(SHANGHAI).hour
        if not _at_night(spec, hour):
            return []
        account_id = int(account) if account.isdigit() else None
        facts = self.facts(account_id)
        return [
            self._draft(
                spec,
                event,
                subject=f"account:{account}",
                window=None,
                facts={"hour": hour, "count": 1},
                targets=[("account", account)],
                accounts=[account_id] if account_id else [],
                region=facts.region,
                evidence=[(event.id, event.uid)],
            )
        ]

    def _token_new_place(self, event: Seen) -> list[Draft | None]:
        spec = self.spec("token.new_place_odd_hour")
        token = event.data.get("token_id")
        # A token's first place is where its owner set it up: only a move is a signal.
        if spec is None or not token or event.data.get("first"):
            return []
        hour = event.at.astimezone(SHANGHAI).hour
        if not _at_night(spec, hour):
            return []
        facts = self.facts(event.actor_id)
        return [
            self._draft(
                spec,
                event,
                subject=f"token:{token}",
                window=None,
                facts={"hour": hour, "count": 1, "account": event.actor_id},
                targets=[("token", str(token))],
                accounts=[event.actor_id] if event.actor_id is not None else [],
                region=facts.region,
                evidence=[(event.id, event.uid)],
            )
        ]

    def _many_principals(self, event: Seen) -> list[Draft | None]:
        found = self._per_actor("proxy.many_principals", event, event.on_behalf_of_id)
        if found is None:
            return []
        spec, window, facts, threshold = found
        principals = {v for *_, v in window.entries}
        if len(principals) < threshold:
            return []
        return [
            self._draft(
                spec,
                event,
                subject=f"account:{event.actor_id}",
                window=window,
                facts={"count": len(principals), "threshold": threshold},
                targets=[("account", str(event.actor_id))],
                accounts=[event.actor_id] if event.actor_id is not None else [],
                region=facts.region,
            )
        ]

    def _foreign_region(self, event: Seen) -> list[Draft | None]:
        spec = self.spec("node.foreign_region")
        code = event.data.get("refusal") or event.data.get("reason")
        node = event.data.get("client_node") or event.data.get("node") or event.data.get("sender")
        if not node and event.action == "federation.message_refused":
            node = event.resource_id  # the federation names the sending node there
        if spec is None or code not in R.REGION_REFUSALS or not node:
            return []
        window = self.windows[(spec.kind, str(node))]
        window.add(event.ts, event, event.data.get("region"), spec.window_seconds)
        if len(window.entries) < spec.threshold:
            return []
        regions = sorted({str(v) for *_, v in window.entries if v})
        return [
            self._draft(
                spec,
                event,
                subject=f"node:{node}",
                window=window,
                facts={"count": len(window.entries)},
                targets=[],
                nodes=[str(node)],
                regions=regions,
                region=regions[0] if regions else None,
            )
        ]

    def _anomaly(self, event: Seen) -> list[Draft | None]:
        assert self.model is not None and event.actor_id is not None
        return [self._anomaly_draft(c) for c in self.model.observe(event)]

    def _anomaly_draft(self, closed: Any) -> Draft | None:
        spec = self.spec("behaviour.anomaly")
        if spec is None or closed.score < float(spec.overrides.get("score", 0.8)):
            return None
        facts = self.facts(closed.account_id)
        last = closed.events[-1]
        at = datetime.fromtimestamp(closed.hour * 3600, tz=SHANGHAI)
        fake = Seen(
            id=last[0],
            uid=last[1],
            at=datetime.fromtimestamp(closed.last_ts, tz=UTC),
            action="",
            actor_id=closed.account_id,
            actor_role=None,
            on_behalf_of_id=None,
            resource_type="",
            resource_id="",
            data={},
            personal={},
            private={},
        )
        summary = ", ".join(f"{name} x{count}" for name, count in closed.top_actions)
        return self._draft(
            spec,
            fake,
            subject=f"account:{closed.account_id}",
            window=None,
            facts={
                "hour": at.hour,
                "score": round(closed.score, 3),
                "actions": summary,
                "count": closed.total,
            },
            targets=[("account", str(closed.account_id))],
            accounts=[closed.account_id],
            region=facts.region,
            evidence=[(i, u) for i, u in closed.events[-MAX_EVIDENCE:]],
        )


def _at_night(spec: R.RuleSpec, hour: int) -> bool:
    """True when the hour (Beijing time) is one of the rule's odd hours (overrides.night)."""
    start, end = spec.overrides.get("night") or R.NIGHT
    start, end = int(start), int(end)
    return start <= hour < end if start <= end else hour >= start or hour < end


def finite(value: float) -> float:
    """The value, or 0 when it is not a finite number."""
    return value if math.isfinite(value) else 0.0
