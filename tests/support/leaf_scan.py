"""The privacy scan of public ledger leaves (issue #12): what the public may read of an event.

A leaf may carry only codes, ids that reveal nothing, dates, states, counts and the salted
commitment (docs/ledger.md). `LeafScan` watches every event the code base makes (it wraps
`events.service.new_event`), builds each event's leaf with the ledger's own `leaf_data`, and
collects what it finds wrong:

- a key outside the leaf's shape, or one that names a person or links people (`actor_id`,
  `on_behalf_of_id`, `principal_id`, `agent_id`, `account_id`, `reason`, `note`, ...);
- a string that is not a code (`CODE`): free text written by people, names, sentences;
- a phone number, a resident ID number (full, with a valid check digit, or masked);
- anything an event kept in its personal part (usernames, display names, phone numbers,
  resident IDs, applicant names...), harvested from every event of the session.

tests/conftest.py installs one scan for the whole session (each xdist worker has its own) and
fails the session's last test at teardown if any leaf carried something it must not.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

# A code: ASCII letters, digits and a few separators, no spaces (item and region codes, case
# numbers, USCC codes, states, dates and timestamps, hex digests).
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:+/-]{0,79}$")
PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
MASKED = re.compile(r"\d\*{2,}|\*{2,}\d")
HEX = re.compile(
    r"^[0-9a-f]{32,64}$|^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
)
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?)?$")

# The keys of a leaf (format 2), and keys that must appear nowhere in it.
LEAF_KEYS = frozenset(
    {
        "v",
        "uid",
        "occurred_at",
        "action",
        "resource_type",
        "resource_id",
        "actor_role",
        "channel",
        "service_point",
        "data",
        "commitment",
    }
)
PERSONAL_KEYS = frozenset(
    {
        "actor_id",
        "on_behalf_of_id",
        "account_id",
        "applicant_id",
        "principal_id",
        "agent_id",
        "rater_id",
        "username",
        "display_name",
        "name",
        "phone",
        "resident_id",
        "resident_id_masked",
        "reason",
        "purpose",
        "note",
        "comment",
        "description",
        "source",
        "personal",
    }
)
# Leaf fields whose values are random or fixed vocabulary: not searched for secrets.
_OPAQUE = frozenset({"uid", "commitment", "personal_commitment", "occurred_at"})
# Harvested values made only of lowercase letters and underscores are codes, not people's data
# (a demo account is called "citizen", which is also a role; a refused login keeps which limit
# refused it, e.g. "client_address", in its personal part so that the public cannot tell the
# causes apart): not searched as secrets.
_VOCABULARY = re.compile(r"^[a-z_]{1,24}$")


def _resident_id_valid(number: str) -> bool:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(d) * w for d, w in zip(number[:17], weights, strict=True))
    return "10X98765432"[total % 11] == number[17].upper()


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, int) and not isinstance(value, bool):
        yield str(value)


def _keys(value: Any) -> Iterator[str]:
    # A key whose value is a flag (`"display_name": true`: it changed) says nothing personal.
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(v, bool):
                yield str(k)
            yield from _keys(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _keys(v)


@dataclass
class Finding:
    """One thing a leaf must not carry."""

    action: str
    rule: str
    value: str

    def __str__(self) -> str:
        shown = self.value if len(self.value) <= 60 else self.value[:57] + "..."
        return f"{self.action}: {self.rule}: {shown!r}"


def check_leaf(leaf: dict[str, Any], secrets: Secrets | None = None) -> list[Finding]:
    """What is wrong with one leaf (empty when it is fine)."""
    action = str(leaf.get("action"))
    found: list[Finding] = []
    for key in leaf:
        if key not in LEAF_KEYS and key not in PERSONAL_KEYS:
            found.append(Finding(action, "key outside the leaf's shape", key))
    for key in _keys(leaf):
        if key in PERSONAL_KEYS:
            found.append(Finding(action, "key that names or links people", key))
    if leaf.get("resource_type") == "account" and leaf.get("resource_id") is not None:
        found.append(Finding(action, "account id as resource", str(leaf["resource_id"])))
    for key, value in leaf.items():
        if key in _OPAQUE:
            continue
        for text in _strings(value):
            if HEX.match(text) or DATE.match(text):
                continue
            if not CODE.match(text):
                found.append(Finding(action, f"free text in {key}", text))
            if PHONE.search(text):
                found.append(Finding(action, f"phone number in {key}", text))
            for number in RESIDENT_ID.findall(text):
                if _resident_id_valid(number):
                    found.append(Finding(action, f"resident ID in {key}", text))
            if MASKED.search(text):
                found.append(Finding(action, f"masked number in {key}", text))
            if secrets is not None and secrets.within(text):
                found.append(Finding(action, f"personal value in {key}", text))
    return found


@dataclass
class Secrets:
    """Values events kept in their personal part; `within` finds one inside a text."""

    values: set[str] = field(default_factory=set)
    _lengths: set[int] = field(default_factory=set)
    _memo: dict[str, bool] = field(default_factory=dict)

    def add(self, text: str) -> None:
        """Remember one value."""
        if text not in self.values:
            self.values.add(text)
            self._lengths.add(len(text))
            self._memo.clear()

    def within(self, text: str) -> bool:
        """Whether `text` is, or contains (for values of 4 characters or more), a value."""
        known = self._memo.get(text)
        if known is None:
            known = self._memo[text] = text in self.values or any(
                text[start : start + n] in self.values
                for n in self._lengths
                if n >= 4
                for start in range(len(text) - n + 1)
            )
        return known


@dataclass
class LeafScan:
    """Watches the events made while installed; `findings` says what their leaves leaked."""

    leaves: list[bytes] = field(default_factory=list)
    secrets: Secrets = field(default_factory=Secrets)
    _restore: Callable[[], None] | None = None

    def install(self) -> LeafScan:
        """Wrap `events.service.new_event` (record and insert_with_events call it)."""
        from tongban.events import service as events
        from tongban.ledger.integrator import leaf_data

        original = events.new_event

        def new_event(**fields: Any) -> Any:
            event = original(**fields)
            if not str(event.action).startswith("test."):
                self.leaves.append(leaf_data(event))
                self.harvest(event.personal)
            return event

        events.new_event = new_event  # type: ignore[assignment]

        def restore() -> None:
            events.new_event = original  # type: ignore[assignment]

        self._restore = restore
        return self

    def uninstall(self) -> None:
        """Put `new_event` back."""
        if self._restore is not None:
            self._restore()
            self._restore = None

    def harvest(self, personal: Any) -> None:
        """Remember the strings of an event's personal part: no leaf may carry them."""
        for text in _strings(personal):
            text = text.strip()
            if HEX.match(text) or _VOCABULARY.match(text) or len(text) < 2:
                continue  # keyed pseudonyms, code-like words, single characters
            if text.isdigit() and len(text) < 11:
                continue  # ids and counts (account ids are checked by key)
            self.secrets.add(text)

    def findings(self) -> list[Finding]:
        """Everything wrong with the leaves seen so far."""
        import json

        out: list[Finding] = []
        for data in dict.fromkeys(self.leaves):
            out.extend(check_leaf(json.loads(data), self.secrets))
        return out

    def report(self, limit: int = 40) -> str:
        """A readable summary: counts by rule, then distinct examples."""
        found = self.findings()
        if not found:
            return ""
        by_rule: dict[str, int] = {}
        for f in found:
            by_rule[f.rule] = by_rule.get(f.rule, 0) + 1
        examples: list[str] = []
        seen: set[tuple[str, str]] = set()
        # The worst first: personal values, numbers and free text, then the shape.
        order = ("personal value", "phone", "resident ID", "masked", "free text", "account id")
        found.sort(key=lambda f: next((i for i, o in enumerate(order) if f.rule.startswith(o)), 9))
        for f in found:
            if (f.action, f.rule) not in seen:
                seen.add((f.action, f.rule))
                examples.append(f"  {f}")
        lines = [
            f"{len(found)} findings in {len(self.leaves)} ledger leaves:",
            *(f"  {n} x {rule}" for rule, n in sorted(by_rule.items(), key=lambda r: -r[1])),
            "examples (one per action and rule):",
            *examples[:limit],
        ]
        if len(examples) > limit:
            lines.append(f"  ... and {len(examples) - limit} more")
        return "\n".join(lines)
