"""Sharing agreements as Cedar policies (cedarpy): compiling one, and deciding a fetch.

Why a policy engine: an agreement is a contract between two departments that auditors must be
able to read and re-check without our code. Each agreement compiles to one Cedar `permit`
whose text (and SHA-256) goes into the ledger; a fetch is allowed only when Cedar says so:

- principal = the consumer department (its unified social credit code),
- action    = fetch,
- resource  = the data resource (its code),
- conditions: the case's item is one the agreement serves, the fields asked are a subset of the
  agreed ones, and now lies within the validity. A revoked agreement is not in the policy set.

A 无条件共享 resource gets a resource-wide permit (any department, its fields); a 不予共享 one a
`forbid`, which overrides any permit. Python still checks the case (open, in the caller's
department) first: purpose binding is about the case, not the agreement.

Parsed policy sets are kept by their text (bounded): parsing costs ~100 µs, deciding ~20 µs.
Decisions are kept too (bounded), for the span of time they hold: the policies compare
`context.now` only with constants (`context.now >= from`, `context.now < until`), so between two
consecutive such constants every decision on the same request is the same; a kept decision is
used only while `now` lies in the span it was made in (a policy set that uses `context.now`
otherwise is always asked). Cedar through cedarpy costs ~0.2-0.4 ms of CPU per decision on a
fetch (its JSON request and answer), on both nodes; tests/exchange/test_policy_cache.py shows
the kept decisions equal Cedar's.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import cedarpy

NAMESPACE = "Tongban"
_CACHE_SIZE = 512
_cache: dict[str, cedarpy.PolicySet] = {}
_cache_lock = threading.Lock()


def _quote(value: str) -> str:
    # JSON string escaping is Cedar's string escaping for the characters codes may hold.
    return json.dumps(value, ensure_ascii=False)


def _set(values: Sequence[str]) -> str:
    return "[" + ", ".join(_quote(v) for v in sorted(values)) + "]"


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def agreement_policy(
    *,
    agreement_id: int,
    consumer: str,
    resource: str,
    fields: Sequence[str],
    items: Sequence[str],
    valid_from: datetime,
    valid_until: datetime,
) -> str:
    """The Cedar text of one agreement (deterministic: its hash identifies it)."""
    return (
        f'@id("agreement-{agreement_id}")\n'
        f"permit(\n"
        f"  principal == {NAMESPACE}::Department::{_quote(consumer)},\n"
        f'  action == {NAMESPACE}::Action::"fetch",\n'
        f"  resource == {NAMESPACE}::Resource::{_quote(resource)}\n"
        f") when {{\n"
        f"  {_set(items)}.contains(context.item) &&\n"
        f"  {_set(fields)}.containsAll(context.fields) &&\n"
        f"  context.now >= {_epoch(valid_from)} &&\n"
        f"  context.now < {_epoch(valid_until)}\n"
        f"}};\n"
    )


def open_policy(*, resource: str, fields: Sequence[str]) -> str:
    """The permit of a 无条件共享 resource: any department, for any item, its listed fields."""
    return (
        f'@id("open-{resource}")\n'
        f"permit(\n"
        f"  principal,\n"
        f'  action == {NAMESPACE}::Action::"fetch",\n'
        f"  resource == {NAMESPACE}::Resource::{_quote(resource)}\n"
        f") when {{ {_set(fields)}.containsAll(context.fields) }};\n"
    )


def closed_policy(*, resource: str) -> str:
    """The forbid of a 不予共享 resource: it overrides every permit."""
    return (
        f'@id("closed-{resource}")\n'
        f"forbid(principal, action, resource == {NAMESPACE}::Resource::{_quote(resource)});\n"
    )


def sha256(text: str) -> str:
    """The hex SHA-256 of a policy's UTF-8 text (what the ledger holds)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _policy_set(text: str) -> cedarpy.PolicySet:
    with _cache_lock:
        found = _cache.get(text)
    if found is not None:
        return found
    parsed = cedarpy.PolicySet.from_str(text)
    with _cache_lock:
        if len(_cache) >= _CACHE_SIZE:
            _cache.pop(next(iter(_cache)))
        _cache[text] = parsed
    return parsed


@dataclass(frozen=True, slots=True)
class Decision:
    """Cedar's answer: allowed or not, and the ids of the policies that decided."""

    allowed: bool
    policies: tuple[str, ...]


# Where a policy reads the clock: only a whole condition `context.now >= c` or `context.now < c`
# (between `{`, `(`, `&&` or `||` and `&&`, `||`, `)` or `}`: no arithmetic around it) keeps a
# decision; a text with any other use of `context.now` is asked every time.
_NOW = re.compile(r"context\.now")
_NOW_BOUND = re.compile(
    r"(?:[{(]|&&|\|\|)\s*context\.now (?:>=|<) (-?[0-9]{1,15})(?=\s*(?:&&|\|\||[)}]))"
)
_DECISIONS_SIZE = 4096
# (policy text, consumer, resource, item, fields) -> (from, until, decision): the decision
# holds for every epoch second in [from, until).
_decisions: dict[tuple[str, str, str, str, tuple[str, ...]], tuple[float, float, Decision]] = {}
_bounds_of: dict[str, tuple[int, ...] | None] = {}


def _time_bounds(text: str) -> tuple[int, ...] | None:
    """The sorted constants `context.now` is compared with, or None when the text reads the
    clock in any other way (its decisions are then never kept)."""
    with _cache_lock:
        if text in _bounds_of:
            return _bounds_of[text]
    found = _NOW_BOUND.findall(text)
    bounds = (
        tuple(sorted({int(v) for v in found})) if len(found) == len(_NOW.findall(text)) else None
    )
    with _cache_lock:
        if len(_bounds_of) >= _CACHE_SIZE:
            _bounds_of.pop(next(iter(_bounds_of)))
        _bounds_of[text] = bounds
    return bounds


def decide(
    *,
    policies: Sequence[str],
    consumer: str,
    resource: str,
    item: str,
    fields: Sequence[str],
    now: datetime,
) -> Decision:
    """Whether the consumer department may fetch these fields of the resource for the item now
    (Cedar's decision, kept for the span of time it holds)."""
    text = "\n".join(policies)
    bounds = _time_bounds(text)
    if bounds is None:
        return evaluate(
            policies=policies,
            consumer=consumer,
            resource=resource,
            item=item,
            fields=fields,
            now=now,
        )
    key = (text, consumer, resource, item, tuple(sorted(fields)))
    epoch = _epoch(now)
    with _cache_lock:
        kept = _decisions.get(key)
    if kept is not None and kept[0] <= epoch < kept[1]:
        return kept[2]
    decision = evaluate(
        policies=policies, consumer=consumer, resource=resource, item=item, fields=fields, now=now
    )
    # The span of constants around `epoch` in which the decision cannot change.
    at = bisect.bisect_right(bounds, epoch)
    start = bounds[at - 1] if at > 0 else float("-inf")
    end = bounds[at] if at < len(bounds) else float("inf")
    with _cache_lock:
        if key not in _decisions and len(_decisions) >= _DECISIONS_SIZE:
            _decisions.pop(next(iter(_decisions)))
        _decisions[key] = (start, end, decision)
    return decision


def evaluate(
    *,
    policies: Sequence[str],
    consumer: str,
    resource: str,
    item: str,
    fields: Sequence[str],
    now: datetime,
) -> Decision:
    """Cedar's decision, asked every time (decide keeps it; the benchmark measures this)."""
    text = "\n".join(policies)
    if not text.strip():
        return Decision(False, ())
    request = {
        "principal": f"{NAMESPACE}::Department::{_quote(consumer)}",
        "action": f'{NAMESPACE}::Action::"fetch"',
        "resource": f"{NAMESPACE}::Resource::{_quote(resource)}",
        "context": {"item": item, "fields": sorted(fields), "now": _epoch(now)},
    }
    result = cedarpy.is_authorized(request, _policy_set(text), [])
    # Cedar names the deciding policies in no fixed order: in the set's order here ("policy2"
    # before "policy10"), so that the same question always gets the same answer.
    reasons = sorted(result.diagnostics.reasons, key=lambda name: (len(name), name))
    return Decision(result.decision == cedarpy.Decision.Allow, tuple(reasons))
