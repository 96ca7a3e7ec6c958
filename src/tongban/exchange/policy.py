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
"""

from __future__ import annotations

import hashlib
import json
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


def decide(
    *,
    policies: Sequence[str],
    consumer: str,
    resource: str,
    item: str,
    fields: Sequence[str],
    now: datetime,
) -> Decision:
    """Whether the consumer department may fetch these fields of the resource for the item now."""
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
    return Decision(result.decision == cedarpy.Decision.Allow, tuple(result.diagnostics.reasons))
