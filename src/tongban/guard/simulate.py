"""Attack simulation: normal use and attacks replayed against a running node over HTTP
(loopback only, bounded in time), and the guard's detection measured on it.

The node sees each simulated client at its own address: the simulator sends
`X-Forwarded-For`, which uvicorn takes from a loopback peer (its default
`forwarded_allow_ips`), as it would from a reverse proxy on the same machine.

Normal use: registered citizens log in (one in ten mistypes first), read their account and
log out; most from their own address, some from a shared service hall. Attacks:

- **brute force**: one victim's password guessed from 16 addresses, one guess each (below
  every per-address and per-username-at-address limit);
- **spraying**: three addresses try one password on many usernames (below the per-address
  limit);
- **probing**: a logged-in citizen tries routes outside its powers again and again.

Insider attacks, once each, by the demo staff accounts (`--insiders`, on by default; skipped
when the node has no such account):

- **outside the jurisdiction**: the demo official asks for another province's figures;
- **fetch without a case**: the official fetches shared data for case numbers that do not
  exist (the exchange refuses: unknown case);
- **bulk reveals**: the official reveals the full resident ID of a case in its queue 35 times
  (only when its queue holds a case, as on `tongban demo`);
- **bulk export**: the steward exports the catalog through an API token again and again;
- **a token moving at night**: the steward's new API token, used at its home address, then
  from an address new to it.

Two rules are set by the operator for the run and put back after (the simulation says so):
the token rule's night is widened to the present hour (a run by day has no night), and the
steward's export bar is scaled down to the node (an empty catalog exports one row).

An attack is detected when an alert names it (its account, or, for spraying, when its
addresses are stopped); a normal session is a false positive when its account is named in
an alert or its login is refused. Latency: from the attack's last request to the alert.
"""

from __future__ import annotations

import random
import statistics
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import httpx

from tongban.identity import service as identity

LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")
SHANGHAI = ZoneInfo("Asia/Shanghai")
# Routes a citizen may not use (the probing attack).
PROBES = (
    "/api/v1/accounts",
    "/api/v1/guard/alerts",
    "/api/v1/exchange/requests",
    "/api/v1/exchange/agreements",
    "/api/v1/guard/rules",
    "/api/v1/accounts/1",
)


@dataclass(frozen=True)
class SimulationConfig:
    """What to replay and against which node."""

    url: str
    seed: int = 1
    users: int = 40
    attacks: int = 2
    timeout: float = 60.0
    admin: str = "admin"
    password: str = "tongban-demo"
    # Hard bound on the whole run (seconds).
    budget: float = 600.0
    # The insider attacks by the demo staff accounts (official, steward).
    insiders: bool = True
    staff_password: str = "tongban-demo"
    # The proxy attack (代办 for many principals), when the node offers PROXY_ITEM.
    proxies: bool = True


@dataclass
class Attack:
    """One injected attack and what detecting it means."""

    kind: str
    account_id: int | None
    addresses: list[str]
    finished_at: datetime
    detected_at: datetime | None = None
    stopped: bool | None = None
    # The alert's subject when the account alone does not name the attack (a token).
    subject: str | None = None

    @property
    def latency(self) -> float | None:
        """Seconds from the attack's last request to its alert."""
        if self.detected_at is None:
            return None
        return max(0.0, (self.detected_at - self.finished_at).total_seconds())


@dataclass
class SimulationResult:
    """Attacks, normal sessions and the figures."""

    attacks: list[Attack] = field(default_factory=list)
    sessions: int = 0
    disturbed: int = 0
    seconds: float = 0.0
    alerts: int = 0
    # Statuses of normal logins that were refused (401: a wrong password, 429: stopped).
    refusals: dict[int, int] = field(default_factory=dict)
    # Cases normal users filed for a relative (one principal each: never alerted).
    family_filings: int = 0

    def detection_rate(self) -> float:
        """Share of attacks an alert named."""
        return sum(a.detected_at is not None for a in self.attacks) / max(len(self.attacks), 1)

    def false_positive_rate(self) -> float:
        """Share of normal sessions named in an alert or refused."""
        return self.disturbed / max(self.sessions, 1)

    def latencies(self) -> list[float]:
        """Each detected attack's latency (seconds)."""
        return [lat for a in self.attacks if (lat := a.latency) is not None]

    def meets_targets(self) -> bool:
        """≥ 95 % detected, ≤ 1 % of normal sessions alerted, every alert within 5 s."""
        lat = self.latencies()
        return (
            self.detection_rate() >= 0.95
            and self.false_positive_rate() <= 0.01
            and bool(lat)
            and max(lat) <= 5.0
        )

    def summary(self) -> dict[str, Any]:
        """The figures, for the CLI and docs/benchmarks.md."""
        lat = self.latencies()
        by_kind: dict[str, list[int]] = {}
        for a in self.attacks:
            counts = by_kind.setdefault(a.kind, [0, 0, 0])
            counts[0] += 1
            counts[1] += a.detected_at is not None
            counts[2] += bool(a.stopped)
        return {
            "attacks": len(self.attacks),
            "detected": sum(a.detected_at is not None for a in self.attacks),
            "detection_rate": round(self.detection_rate(), 4),
            "by_kind": {
                k: {"injected": v[0], "detected": v[1], "stopped": v[2]} for k, v in by_kind.items()
            },
            "normal_sessions": self.sessions,
            "normal_sessions_alerted_or_refused": self.disturbed,
            "false_positive_rate": round(self.false_positive_rate(), 4),
            "latency_s_median": round(statistics.median(lat), 2) if lat else None,
            "latency_s_max": round(max(lat), 2) if lat else None,
            "alerts": self.alerts,
            "normal_logins_refused": self.refusals,
            "family_proxy_filings": self.family_filings,
            "seconds": round(self.seconds, 1),
            "meets_targets": self.meets_targets(),
        }


@dataclass
class _User:
    username: str
    password: str
    account_id: int
    home: str
    login_name: str = ""


class _Node:
    """The running node, spoken to over loopback HTTP as clients at many addresses."""

    def __init__(self, url: str) -> None:
        host = urlparse(url).hostname or ""
        if host not in LOOPBACK:
            raise ValueError("The simulation runs against a node on this machine only.")
        self.http = httpx.Client(base_url=url.rstrip("/"), timeout=15.0)

    def post(self, path: str, address: str, **kwargs: Any) -> httpx.Response:
        headers = {"X-Forwarded-For": address, "User-Agent": "tongban-guard-simulate"}
        headers.update(kwargs.pop("headers", {}))
        return self.http.post(path, headers=headers, **kwargs)

    def get(self, path: str, address: str, token: str | None = None) -> httpx.Response:
        headers = {"X-Forwarded-For": address, "User-Agent": "tongban-guard-simulate"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.http.get(path, headers=headers)

    def put(self, path: str, address: str, token: str, body: Any) -> httpx.Response:
        headers = {
            "X-Forwarded-For": address,
            "User-Agent": "tongban-guard-simulate",
            "Authorization": f"Bearer {token}",
        }
        return self.http.put(path, headers=headers, json=body)

    def login(self, username: str, password: str, address: str) -> tuple[int, str | None]:
        r = self.post(
            "/api/v1/auth/token", address, json={"username": username, "password": password}
        )
        token = r.json().get("access_token") if r.status_code == 200 else None
        return r.status_code, token

    def logout(self, token: str, address: str) -> None:
        self.post("/api/v1/auth/logout", address, headers={"Authorization": f"Bearer {token}"})


def _register(node: _Node, rng: random.Random, seed: int, index: int, hall: str) -> _User:
    sequence = (seed * 1000 + index) % 999 + 1
    resident = identity.make_resident_id(
        region_code="511602",
        birth=date(1960 + index % 40, 1 + index % 12, 1 + index % 28),
        sequence=sequence,
    )
    phone = f"13{seed % 10}{(seed * 7919 + index) % 10**8:08d}"
    password = f"sim-{seed}-{index}-passphrase"
    # One user in five is served at the hall (an elderly citizen helped at the counter, say),
    # registered there too: people log in from where they usually are.
    home = hall if rng.random() < 0.2 else f"10.{seed % 200}.{index // 200}.{index % 200 + 20}"
    r = node.post(
        "/api/v1/auth/register",
        home,
        json={
            "resident_id": resident,
            "phone": phone,
            "password": password,
            "display_name": "模拟用户",
        },
    )
    if r.status_code not in (201, 409, 422):
        raise RuntimeError(f"registration failed: {r.status_code} {r.text[:200]}")
    status, token = node.login(phone, password, home)
    if token is None:
        raise RuntimeError(f"a simulated user could not log in ({status})")
    me = node.get("/api/v1/me", home, token).json()
    node.logout(token, home)
    return _User(phone, password, int(me["id"]), home, str(me["username"]))


def run_simulation(config: SimulationConfig) -> SimulationResult:
    """Replay the mix against the node; wait for the alerts; the figures."""
    started = time.monotonic()
    deadline = started + config.budget
    rng = random.Random(config.seed)
    node = _Node(config.url)
    result = SimulationResult()
    hall = f"10.250.{config.seed % 200}.1"
    count = config.users + 2 * config.attacks + 1
    users = [_register(node, rng, config.seed, i, hall) for i in range(count)]
    victims, insiders, witness, normal = (
        users[: config.attacks],
        users[config.attacks : 2 * config.attacks],
        users[2 * config.attacks],
        users[2 * config.attacks + 1 :],
    )
    # The proxies (代办), when the node offers the enrolment they file: per attack an agent
    # and its principals, registered after everyone else (their own addresses).
    agents: list[tuple[_User, list[_User]]] = []
    if config.proxies and _offers(node, PROXY_ITEM):
        for a in range(config.attacks):
            first = count + a * (PRINCIPALS + 1)
            group = [
                _register(node, rng, config.seed, first + i, hall) for i in range(PRINCIPALS + 1)
            ]
            agents.append((group[0], group[1:]))
    refused: set[int] = set()
    sessions: list[_User] = []

    def normal_session(user: _User) -> None:
        address = user.home
        if rng.random() < 0.1:
            node.login(user.username, user.password + "x", address)
        status, token = node.login(user.username, user.password, address)
        sessions.append(user)
        if token is None:
            refused.add(len(sessions) - 1)
            result.refusals[status] = result.refusals.get(status, 0) + 1
            return
        node.get("/api/v1/me", address, token)
        node.logout(token, address)

    plan: list[tuple[str, Any]] = [("normal", u) for u in normal for _ in range(rng.randint(1, 3))]
    plan += [("bruteforce", v) for v in victims]
    plan += [("spray", i) for i in range(config.attacks)]
    plan += [("probe", u) for u in insiders]
    plan += [("proxy", pair) for pair in agents]
    # Families: one normal user in four files once for a parent or spouse (one principal).
    if agents:
        helpers = [u for u in normal if rng.random() < 0.25]
        for helper in helpers:
            principal = rng.choice([u for u in normal if u is not helper])
            plan.append(("family", (helper, principal)))
    rng.shuffle(plan)
    restore: list[tuple[str, dict[str, Any]]] = []
    staff = _Staff.of(node, config) if config.insiders else None
    if staff is not None:
        restore = _rules_for_the_run(node, config)
        # Spread through the normal use, as insiders work among everyone else.
        for kind in INSIDER_ATTACKS:
            plan.insert(rng.randrange(len(plan) + 1), ("insider", kind))
    try:
        _replay(
            node,
            config,
            result,
            plan,
            rng,
            victims,
            users,
            witness,
            insiders,
            staff,
            normal_session,
            deadline,
        )
    finally:
        _restore_rules(node, config, restore)
    result.sessions = len(sessions)
    _await_alerts(node, config, result, deadline)
    # Stopped? The victim's right password, and a real user at a sprayer's address, refused;
    # a moved token answered as anonymous.
    for attack in result.attacks:
        if attack.kind == "token.new_place_odd_hour" and staff is not None and staff.moved:
            r = node.get("/api/v1/me", attack.addresses[-1], staff.moved)
            attack.stopped = r.status_code == 401
        if attack.kind == "login.bruteforce" and attack.account_id is not None:
            victim = next(u for u in victims if u.account_id == attack.account_id)
            attack.stopped = node.login(victim.username, victim.password, "192.0.2.200")[0] == 429
    named = _alerted_accounts(node, config)
    attacked = {u.account_id for u in [*victims, *insiders, witness]}
    attacked |= {u.account_id for agent, principals in agents for u in [agent, *principals]}
    result.disturbed = sum(
        1
        for i, user in enumerate(sessions)
        if user.account_id not in attacked and (i in refused or user.account_id in named)
    )
    result.seconds = time.monotonic() - started
    return result


def _replay(
    node: _Node,
    config: SimulationConfig,
    result: SimulationResult,
    plan: list[tuple[str, Any]],
    rng: random.Random,
    victims: list[_User],
    users: list[_User],
    witness: _User,
    insiders: list[_User],
    staff: _Staff | None,
    normal_session: Any,
    deadline: float,
) -> None:
    """Play the plan in order, within the budget."""
    for step, subject in plan:
        if time.monotonic() > deadline:
            break
        if step == "normal":
            normal_session(subject)
        elif step == "bruteforce":
            result.attacks.append(_bruteforce(node, subject, rng))
        elif step == "spray":
            attack = _spray(node, users, subject, config.seed, rng)
            _until_stopped(node, attack, witness, config.timeout)
            result.attacks.append(attack)
        elif step == "proxy":
            result.attacks.append(_many_principals(node, *subject))
        elif step == "family":
            result.family_filings += _file_for(node, *subject, relation="parent")
        elif step == "insider":
            assert staff is not None
            found = INSIDER_ATTACKS[subject](node, staff, rng)
            if found is not None:
                result.attacks.append(found)
        else:
            result.attacks.append(_probe(node, subject))


def _now() -> datetime:
    return datetime.now(UTC)


def _bruteforce(node: _Node, victim: _User, rng: random.Random) -> Attack:
    base = rng.randint(1, 200)
    addresses = [f"203.0.{base % 250}.{i + 1}" for i in range(16)]
    for i, address in enumerate(addresses):
        node.login(victim.username, f"guess-{rng.randint(0, 10**9)}-{i}", address)
    return Attack("login.bruteforce", victim.account_id, addresses, _now())


def _spray(node: _Node, users: list[_User], index: int, seed: int, rng: random.Random) -> Attack:
    addresses = [f"198.51.{(seed + index) % 250}.{i + 10}" for i in range(3)]
    names = [u.username for u in rng.sample(users, min(8, len(users)))]
    names += [f"1390000{rng.randint(1000, 9999)}" for _ in range(12)]
    for i, name in enumerate(names):
        node.login(name, "Password123", addresses[i % len(addresses)])
    return Attack("login.spray", None, addresses, _now())


def _until_stopped(node: _Node, attack: Attack, witness: _User, timeout: float) -> None:
    """Spraying is detected when its addresses are stopped (the alert's response): a real
    user's right password from a sprayer's address refused. Polled right after the spray."""
    until = time.monotonic() + timeout
    while time.monotonic() < until:
        if node.login(witness.username, witness.password, attack.addresses[-1])[0] == 429:
            attack.detected_at, attack.stopped = _now(), True
            return
        time.sleep(0.2)


def _probe(node: _Node, insider: _User) -> Attack:
    _status, token = node.login(insider.username, insider.password, insider.home)
    for path in PROBES * 2:
        node.get(path, insider.home, token)
    if token:
        node.logout(token, insider.home)
    return Attack("access.out_of_jurisdiction", insider.account_id, [insider.home], _now())


# --- proxies (代办): one agent acting for many principals --------------------------------------

# What the agent files: a resident's medical insurance enrolment in 广安区 (the seed catalog's,
# as on `tongban demo`), which a relative may file for a parent: its materials are fetched
# from the government, its form is two fields.
PROXY_ITEM = "511602-102110002000-01"
# Principals per agent: one more than the rule's default threshold (5 in a day).
PRINCIPALS = 6


def _offers(node: _Node, implementation: str) -> bool:
    """Whether the node's catalog holds this implementation (an empty node has none)."""
    return (
        node.get(f"/api/v1/catalog/implementations/{implementation}", "127.0.0.1").status_code
        == 200
    )


def _file_for(node: _Node, agent: _User, principal: _User, *, relation: str) -> bool:
    """The principal authorises the agent (all items), the agent confirms, then files the
    enrolment on the principal's behalf; whether the case was filed."""
    _status, mine = node.login(principal.username, principal.password, principal.home)
    _status, theirs = node.login(agent.username, agent.password, agent.home)
    if mine is None or theirs is None:
        return False
    r = node.post(
        "/api/v1/me/proxies",
        principal.home,
        headers={"Authorization": f"Bearer {mine}"},
        json={"agent": agent.login_name, "relation": relation, "scope": "all"},
    )
    node.logout(mine, principal.home)
    if r.status_code != 201:
        return False
    node.post(
        f"/api/v1/me/proxies/{r.json()['id']}/confirm",
        agent.home,
        headers={"Authorization": f"Bearer {theirs}"},
    )
    filed = node.post(
        "/api/v1/cases",
        agent.home,
        headers={"Authorization": f"Bearer {theirs}"},
        json={
            "implementation": PROXY_ITEM,
            "form": {"insured_person": "模拟参保人", "category": "成年居民"},
            "on_behalf_of": principal.account_id,
        },
    )
    node.logout(theirs, agent.home)
    return filed.status_code == 201


def _many_principals(node: _Node, agent: _User, principals: list[_User]) -> Attack:
    """One account made agent of many strangers, filing for each in a day (a broker selling
    accounts, or a hijacked one): one more principal than the rule allows."""
    for principal in principals:
        _file_for(node, agent, principal, relation="other")
    return Attack("proxy.many_principals", agent.account_id, [agent.home], _now())


def _admin_token(node: _Node, config: SimulationConfig) -> str:
    status, token = node.login(config.admin, config.password, "127.0.0.1")
    if token is None:
        raise RuntimeError(f"the operator account could not log in ({status})")
    return token


def _alerts(node: _Node, token: str) -> list[dict[str, Any]]:
    r = node.get("/api/v1/guard/alerts?limit=500", "127.0.0.1", token)
    r.raise_for_status()
    found: list[dict[str, Any]] = r.json()
    return found


def _await_alerts(
    node: _Node,
    config: SimulationConfig,
    result: SimulationResult,
    deadline: float,
) -> None:
    """Poll until every attack is named by an alert (spraying: until its addresses are
    stopped, which the alert's response does) or the timeout."""
    token = _admin_token(node, config)
    until = min(time.monotonic() + config.timeout, deadline)
    while True:
        alerts = _alerts(node, token)
        result.alerts = len(alerts)
        for attack in result.attacks:
            if attack.detected_at is not None:
                continue
            if attack.kind == "login.spray":
                continue  # measured right after the spray (_until_stopped)
            for alert in alerts:
                if attack.subject is not None and alert["subject"] != attack.subject:
                    continue
                if alert["kind"] == attack.kind and attack.account_id in alert["accounts"]:
                    raised = datetime.fromisoformat(alert["raised_at"])
                    attack.detected_at = raised if raised.tzinfo else raised.replace(tzinfo=UTC)
                    break
        if all(a.detected_at is not None for a in result.attacks) or time.monotonic() > until:
            return
        time.sleep(0.25)


def _alerted_accounts(node: _Node, config: SimulationConfig) -> set[int]:
    token = _admin_token(node, config)
    return {int(a) for alert in _alerts(node, token) for a in alert["accounts"]}


# --- insiders: the demo staff accounts --------------------------------------------------------

OFFICE = "10.251.0.10"  # where the staff usually work
TOKEN_HOME = "10.251.0.20"  # where the steward's program runs
# The steward's export bar for the run: an empty catalog exports one row at a time.
EXPORT_BAR = 30


@dataclass
class _Staff:
    """The demo official and steward. Each attack logs in anew: a response to an earlier
    attack (re-authentication after bulk reveals) ends the sessions it had."""

    node: _Node
    password: str
    official_id: int
    steward_id: int
    moved: str | None = None  # the steward's token that moved (for "stopped")

    @classmethod
    def of(cls, node: _Node, config: SimulationConfig) -> _Staff | None:
        """The staff, or None when the node has no such accounts."""
        ids: list[int] = []
        for username in ("official", "steward"):
            _status, token = node.login(username, config.staff_password, OFFICE)
            if token is None:
                return None
            ids.append(int(node.get("/api/v1/me", OFFICE, token).json()["id"]))
            node.logout(token, OFFICE)
        return cls(node, config.staff_password, ids[0], ids[1])

    @property
    def official(self) -> str:
        """A new session of the official, at the office."""
        return self._login("official")

    @property
    def steward(self) -> str:
        """A new session of the steward, at the office."""
        return self._login("steward")

    def _login(self, username: str) -> str:
        status, token = self.node.login(username, self.password, OFFICE)
        if token is None:
            raise RuntimeError(f"the demo {username} could not log in ({status})")
        return token


def _rules_for_the_run(node: _Node, config: SimulationConfig) -> list[tuple[str, dict[str, Any]]]:
    """Widen the token rule's night to the present hour and scale the steward's export bar
    to the node; the rules as they were, to put back."""
    token = _admin_token(node, config)
    rules = {r["kind"]: r for r in node.get("/api/v1/guard/rules", "127.0.0.1", token).json()}
    hour = datetime.now(SHANGHAI).hour
    changes = {
        "token.new_place_odd_hour": {"night": [hour, hour + 1]},
        "export.bulk": {
            **(rules["export.bulk"].get("overrides") or {}),
            "role": {
                **((rules["export.bulk"].get("overrides") or {}).get("role") or {}),
                "steward": EXPORT_BAR,
            },
        },
    }
    before = []
    for kind, overrides in changes.items():
        rule = rules[kind]
        body = {k: rule[k] for k in ("enabled", "severity", "threshold", "window_seconds")}
        body["actions"] = rule["actions"]
        before.append((kind, {**body, "overrides": rule.get("overrides") or {}}))
        r = node.put(
            f"/api/v1/guard/rules/{kind}", "127.0.0.1", token, {**body, "overrides": overrides}
        )
        r.raise_for_status()
    return before


def _restore_rules(
    node: _Node, config: SimulationConfig, before: list[tuple[str, dict[str, Any]]]
) -> None:
    if not before:
        return
    token = _admin_token(node, config)
    for kind, body in before:
        node.put(f"/api/v1/guard/rules/{kind}", "127.0.0.1", token, body)


def _outside(node: _Node, staff: _Staff, rng: random.Random) -> Attack:
    """The official asks for another province's figures again and again (refused: outside
    the jurisdiction)."""
    session = staff.official
    for code in ("440305", "350200", "110101", "310101", "440300", "350203"):
        node.get(f"/api/v1/insight/indicators?region={code}", OFFICE, session)
    return Attack("access.out_of_jurisdiction", staff.official_id, [OFFICE], _now())


def _fetch_without_case(node: _Node, staff: _Staff, rng: random.Random) -> Attack:
    """The official fetches shared data for cases that do not exist."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    session = staff.official
    for _ in range(4):
        number = "511602-20261130-" + "".join(rng.choice(alphabet) for _ in range(12))
        node.post(
            f"/api/v1/cases/{number}/data-fetches",
            OFFICE,
            headers={"Authorization": f"Bearer {session}"},
            json={"resource": "RS-HJ-001", "purpose": "核对户籍信息"},
        )
    return Attack("exchange.fetch_without_case", staff.official_id, [OFFICE], _now())


def _bulk_reveal(node: _Node, staff: _Staff, rng: random.Random) -> Attack | None:
    """The official reveals the full resident ID of a case in its queue, 35 times (skipped
    when the queue is empty)."""
    session = staff.official
    queue = node.get("/api/v1/queue", OFFICE, session)
    items = queue.json().get("items", []) if queue.status_code == 200 else []
    if not items:
        return None
    number = items[0]["number"]
    for _ in range(35):
        node.post(
            f"/api/v1/cases/{number}/applicant-id",
            OFFICE,
            headers={"Authorization": f"Bearer {session}"},
            json={"purpose": "核对申请人身份"},
        )
    return Attack("identity.bulk_reveal", staff.official_id, [OFFICE], _now())


def _issue_token(node: _Node, staff: _Staff, name: str) -> tuple[int, str]:
    r = node.post(
        "/api/v1/me/tokens",
        OFFICE,
        headers={"Authorization": f"Bearer {staff.steward}"},
        json={"name": name},
    )
    r.raise_for_status()
    body = r.json()
    return int(body["id"]), str(body["token"])


def _bulk_export(node: _Node, staff: _Staff, rng: random.Random) -> Attack:
    """The steward's program exports the catalog through an API token, again and again."""
    _token_id, token = _issue_token(node, staff, "sim-export")
    for _ in range(EXPORT_BAR + 2):
        node.get("/api/v1/catalog/export", TOKEN_HOME, token)
    return Attack("export.bulk", staff.steward_id, [TOKEN_HOME], _now())


def _token_moves(node: _Node, staff: _Staff, rng: random.Random) -> Attack:
    """A new token used where its program runs, then from an address it never came from."""
    token_id, token = _issue_token(node, staff, "sim-etl")
    node.get("/api/v1/me", TOKEN_HOME, token)
    far = f"192.0.2.{rng.randint(10, 250)}"
    node.get("/api/v1/me", far, token)
    staff.moved = token
    attack = Attack("token.new_place_odd_hour", staff.steward_id, [far], _now())
    attack.subject = f"token:{token_id}"
    return attack


INSIDER_ATTACKS: dict[str, Any] = {
    "outside": _outside,
    "fetch": _fetch_without_case,
    "reveal": _bulk_reveal,
    "export": _bulk_export,
    "token": _token_moves,
}
