"""The detection rules as data: each alert kind with its severity, window, threshold, the
actions that answer it, and what it watches. Operators edit the stored copy (guard_rules) on
the console; these are the defaults a node starts with. Overrides per role and per region
(a region code prefix) make a threshold stricter or looser where work differs: a county
hall's clerks act for many principals, a citizen does not.

Event types are consumed by name, as data: a domain that adds a signal (consent use,
federation messages) is watched once its action is listed here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Severities, gravest last.
SEVERITIES = ("low", "medium", "high", "critical")

# Response codes (guard/responses.py).
NOTIFY = "notify"
REAUTHENTICATE = "require_reauthentication"
BLOCK_ADDRESS = "block_address"
SUSPEND_TOKEN = "suspend_token"
LOCK_ACCOUNT = "lock_account"
BLOCK_ACCOUNT_LOGINS = "block_account_logins"
ACTIONS = (NOTIFY, REAUTHENTICATE, BLOCK_ADDRESS, SUSPEND_TOKEN, LOCK_ACCOUNT, BLOCK_ACCOUNT_LOGINS)

# What the rules read (event actions).
LOGIN_REFUSED = frozenset({"auth.login_failed", "auth.login_locked"})
LOGIN_OK = frozenset({"auth.login"})
REVEALS = frozenset({"case.applicant_id_viewed", "case.material_viewed"})
REFUSED = frozenset({"auth.refused"})
# An API token used from an address new to it (identity/token_places.py).
TOKEN_NEW_PLACE = frozenset({"identity.token_new_place"})
# The odd hours (Beijing time, from inclusive, to exclusive) of the new-place rules, unless a
# rule's overrides say otherwise ({"night": [0, 6]}).
NIGHT = (0, 6)
FETCH_REFUSED = frozenset({"exchange.fetch_refused"})
# A fetch refused because no open case backs it.
NO_CASE_REFUSALS = frozenset({"no-case", "unknown-case", "case-closed"})
# Cross-node messages refused: ours (exchange) and the federation's, by name.
NODE_REFUSED = frozenset(
    {"exchange.message_refused", "federation.message_refused", "federation.refused"}
)
# Refusal codes that mean "a node spoke for a region it does not serve" (the federation's
# `forged_region`: a case, request or answer from a node that does not serve its region).
REGION_REFUSALS = frozenset(
    {
        "forged_region",
        "region_not_served",
        "region-not-served",
        "wrong-region",
        "not-served",
        "foreign-region",
    }
)


@dataclass(frozen=True)
class RuleSpec:
    """One rule: the alert kind, its severity, window (seconds), threshold, overrides and
    the actions taken when it fires."""

    kind: str
    severity: str
    window_seconds: int
    threshold: int
    actions: tuple[str, ...]
    overrides: dict[str, Any] = field(default_factory=dict)
    enabled: bool = True

    def threshold_for(self, *, role: str | None, region: str | None) -> int:
        """The threshold for an actor of this role in this region: the longest region prefix
        that has one, else the role's, else the rule's."""
        regions = self.overrides.get("region") or {}
        if region:
            for prefix in sorted(regions, key=len, reverse=True):
                if region.startswith(str(prefix)):
                    return int(regions[prefix])
        roles = self.overrides.get("role") or {}
        if role and role in roles:
            return int(roles[role])
        return self.threshold


DEFAULT_RULES: tuple[RuleSpec, ...] = (
    # One account's password guessed from anywhere: failures on it across every address.
    RuleSpec("login.bruteforce", "high", 600, 15, (BLOCK_ACCOUNT_LOGINS, NOTIFY)),
    # Password spraying: many usernames failing, from one address or spread over many.
    RuleSpec("login.spray", "high", 600, 12, (BLOCK_ADDRESS, NOTIFY)),
    # Full resident IDs revealed / files opened far above the official's own and peers' rate.
    RuleSpec(
        "identity.bulk_reveal",
        "high",
        3600,
        30,
        (NOTIFY, REAUTHENTICATE),
        overrides={"factor": 4},
    ),
    # Attempts on cases, accounts or data outside the actor's jurisdiction or department.
    RuleSpec("access.out_of_jurisdiction", "medium", 3600, 5, (NOTIFY,)),
    # Data fetched without an open case (refused by the exchange).
    RuleSpec("exchange.fetch_without_case", "medium", 3600, 3, (NOTIFY,)),
    # Bulk exports: rows exported by one account in an hour. Per role: an official's or a
    # clerk's day list is up to 500 rows and is printed again at each hand-over or change of
    # filter, so 5,000 would catch a busy hall's ten prints; 10,000 is twenty full lists an
    # hour, more than anyone prints by hand and less than a script pulling them. A citizen
    # has nothing to export in bulk (their own downloads are not counted).
    RuleSpec(
        "export.bulk",
        "high",
        3600,
        5000,
        (NOTIFY, SUSPEND_TOKEN),
        overrides={"role": {"official": 10000, "clerk": 10000, "citizen": 500}},
    ),
    # A session opened from an address new to the account at an odd hour (00-06).
    RuleSpec("login.new_place_odd_hour", "medium", 86400, 1, (NOTIFY, REAUTHENTICATE)),
    # An API token (long-lived, for programs) used from an address new to it at an odd hour:
    # a stolen token at work. Suspended until an admin lifts it.
    RuleSpec("token.new_place_odd_hour", "high", 86400, 1, (NOTIFY, SUSPEND_TOKEN)),
    # One account acting for many principals (代办) in a day.
    RuleSpec(
        "proxy.many_principals",
        "medium",
        86400,
        5,
        (NOTIFY,),
        overrides={"role": {"clerk": 400}},
    ),
    # A node sending messages for regions it does not serve.
    RuleSpec("node.foreign_region", "high", 3600, 3, (NOTIFY,)),
    # What no rule names: an account-hour far from the platform's own history (river).
    RuleSpec("behaviour.anomaly", "low", 3600, 1, (NOTIFY,), overrides={"score": 0.8}),
)

KINDS = tuple(rule.kind for rule in DEFAULT_RULES)

# Plain-language explanations: {facts} are filled from the alert's figures.
EXPLANATIONS: dict[str, tuple[str, str]] = {
    "login.bruteforce": (
        "账号 {subject} 在 {minutes} 分钟内登录失败 {count} 次，"
        "来自 {addresses} 个地址：疑似暴力破解密码。",
        "Account {subject} failed to log in {count} times in {minutes} minutes from "
        "{addresses} addresses: its password is probably being guessed.",
    ),
    "login.spray": (
        "{minutes} 分钟内 {usernames} 个不同用户名登录失败，"
        "来自 {addresses} 个地址：疑似密码喷洒。",
        "{usernames} different usernames failed to log in within {minutes} minutes from "
        "{addresses} addresses: probably password spraying.",
    ),
    "identity.bulk_reveal": (
        "账号 {subject} 在 {minutes} 分钟内查看完整身份证号或打开材料 {count} 次，"
        "远高于本人平时（{own}）和同岗位人员（{peers}）的水平。",
        "Account {subject} revealed full resident IDs or opened files {count} times in "
        "{minutes} minutes, far above its own usual rate ({own}) and its peers' ({peers}).",
    ),
    "access.out_of_jurisdiction": (
        "账号 {subject} 在 {minutes} 分钟内 {count} 次尝试访问"
        "辖区或部门以外的办件或数据，均被拒绝。",
        "Account {subject} tried {count} times in {minutes} minutes to reach cases or data "
        "outside its jurisdiction or department; each attempt was refused.",
    ),
    "exchange.fetch_without_case": (
        "账号 {subject} 在 {minutes} 分钟内 {count} 次在没有在办办件的情况下调取共享数据。",
        "Account {subject} tried {count} times in {minutes} minutes to fetch shared data "
        "without an open case.",
    ),
    "export.bulk": (
        "账号 {subject} 在 {minutes} 分钟内导出 {count} 条记录，超过阈值 {threshold}。",
        "Account {subject} exported {count} records in {minutes} minutes, above the "
        "threshold of {threshold}.",
    ),
    "login.new_place_odd_hour": (
        "账号 {subject} 在夜间时段（{hour} 点）从一个从未用过的地址登录。",
        "Account {subject} logged in during the night hours ({hour} o'clock) from an address "
        "it had never used.",
    ),
    "token.new_place_odd_hour": (
        "接口令牌 {subject}（账号 {account}）在夜间时段（{hour} 点）从一个从未用过的地址被使用。",
        "API token {subject} (account {account}) was used during the night hours ({hour} "
        "o'clock) from an address it had never been used from.",
    ),
    "proxy.many_principals": (
        "账号 {subject} 在一天内代 {count} 个不同的人办事，超过阈值 {threshold}。",
        "Account {subject} acted for {count} different people in one day, above the "
        "threshold of {threshold}.",
    ),
    "node.foreign_region": (
        "节点 {subject} 在 {minutes} 分钟内 {count} 次为其不服务的地区发送消息，均被拒绝。",
        "Node {subject} sent {count} messages in {minutes} minutes for regions it does not "
        "serve; each was refused.",
    ),
    "behaviour.anomaly": (
        "账号 {subject} 在 {hour} 点这一小时的行为与平台历史明显不同"
        "（异常分 {score}）：{actions}。",
        "Account {subject} behaved unlike the platform's history in the hour from {hour} "
        "o'clock (anomaly score {score}): {actions}.",
    ),
}


def explain(kind: str, facts: dict[str, Any]) -> tuple[str, str]:
    """The alert's explanation in Chinese and English."""
    zh, en = EXPLANATIONS[kind]

    class _Facts(dict[str, Any]):
        def __missing__(self, key: str) -> str:
            return "?"

    values = _Facts(facts)
    return zh.format_map(values), en.format_map(values)
