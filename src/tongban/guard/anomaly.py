"""The statistical detector: what no rule names. Each account's events are counted per hour
by family (logins refused, authorizations refused, full-ID reveals and file openings, data
fetches, exports, acting for others, the rest); when the hour ends, an online Half-Space
Trees model (river, trained on this platform's own history as it streams by) scores the hour
and then learns it. A high score means an hour unlike the platform's past hours.

Features are log-scaled into [0, 1] with a fixed cap (Half-Space Trees need a bounded space;
a min-max scaler fitted online would stretch to an outlier and hide it). Hours that score as
anomalies are not learnt, so an attacker cannot teach the model that bulk reveals are normal.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from river.anomaly import HalfSpaceTrees

if TYPE_CHECKING:
    from tongban.guard.detector import Seen

FAMILIES = (
    "login_refused",
    "login",
    "refused",
    "reveal",
    "fetch",
    "fetch_refused",
    "export",
    "proxy",
    "other",
)
# Counts above this in an hour all look alike (the top of the scale).
CAP = 500
# Account-hours learnt before any score counts.
MIN_TRAINED = 200
_LOG_CAP = math.log1p(CAP)


def family(event: Seen) -> str:
    """The feature an event counts in."""
    action = event.action
    if action in ("auth.login_failed", "auth.login_locked"):
        return "login_refused"
    if action == "auth.login":
        return "login"
    if action == "auth.refused":
        return "refused"
    if action in ("case.applicant_id_viewed", "case.material_viewed"):
        return "reveal"
    if action == "exchange.fetched":
        return "fetch"
    if action == "exchange.fetch_refused":
        return "fetch_refused"
    if action.endswith("exported"):
        return "export"
    if event.on_behalf_of_id is not None:
        return "proxy"
    return "other"


@dataclass
class _Bucket:
    hour: int
    counts: Counter[str] = field(default_factory=Counter)
    actions: Counter[str] = field(default_factory=Counter)
    events: list[tuple[int, str]] = field(default_factory=list)
    last_ts: float = 0.0


@dataclass(frozen=True)
class ClosedHour:
    """One account-hour, scored."""

    account_id: int
    hour: int
    score: float
    total: int
    top_actions: list[tuple[str, int]]
    events: list[tuple[int, str]]
    last_ts: float


class BehaviourModel:
    """Per-account hourly behaviour, scored by river's Half-Space Trees."""

    def __init__(self, *, seed: int = 20, threshold: float = 0.8) -> None:
        self.model = HalfSpaceTrees(n_trees=25, height=8, window_size=250, seed=seed)
        self.threshold = threshold
        self.trained = 0
        self.buckets: dict[int, _Bucket] = {}

    @staticmethod
    def features(counts: Counter[str], hour: int) -> dict[str, float]:
        """The hour's counts, log-scaled into [0, 1], and whether it was night (00-06)."""
        x = {name: min(math.log1p(counts.get(name, 0)) / _LOG_CAP, 1.0) for name in FAMILIES}
        x["night"] = 1.0 if (hour + 8) % 24 < 6 else 0.0  # Beijing time
        return x

    def observe(self, event: Seen) -> list[ClosedHour]:
        """Count the event in its account-hour; the hour it closed, scored (if any)."""
        assert event.actor_id is not None
        ts = event.at.timestamp()
        hour = int(ts // 3600)
        closed: list[ClosedHour] = []
        bucket = self.buckets.get(event.actor_id)
        if bucket is not None and bucket.hour != hour:
            closed.append(self._close(event.actor_id, bucket))
            bucket = None
        if bucket is None:
            bucket = self.buckets[event.actor_id] = _Bucket(hour)
        bucket.counts[family(event)] += 1
        bucket.actions[event.action] += 1
        if len(bucket.events) < 50:
            bucket.events.append((event.id, event.uid))
        bucket.last_ts = ts
        return closed

    def close_before(self, now: datetime) -> list[ClosedHour]:
        """Close the account-hours that ended before `now`."""
        hour = int(now.timestamp() // 3600)
        ended = [account for account, b in self.buckets.items() if b.hour < hour]
        return [self._close(account, self.buckets[account]) for account in ended]

    def _close(self, account_id: int, bucket: _Bucket) -> ClosedHour:
        self.buckets.pop(account_id, None)
        x = self.features(bucket.counts, bucket.hour % 24)
        raw = float(self.model.score_one(x))
        score = raw if self.trained >= MIN_TRAINED else 0.0
        if score < self.threshold:
            self.model.learn_one(x)
            self.trained += 1
        return ClosedHour(
            account_id=account_id,
            hour=bucket.hour,
            score=score,
            total=sum(bucket.counts.values()),
            top_actions=bucket.actions.most_common(3),
            events=bucket.events,
            last_ts=bucket.last_ts,
        )

    def state(self) -> dict[str, Any]:
        """What the console shows of the model."""
        return {"trained_hours": self.trained, "open_hours": len(self.buckets)}
