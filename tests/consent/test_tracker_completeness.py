"""The tracker is complete: every event type the platform writes that carries a data subject is
in the tracker's table (a use, or why not), derived from the code itself; and every use in the
ledger has its line in the tracker (built from the same events, in the same transaction)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

import tongban
from tests.consent import tracker_world
from tests.consent.tracker_world import World, fetch, make_case
from tongban.consent import tracker
from tongban.consent.tracker_models import DataUse
from tongban.events.models import Event
from tongban.ledger import service as ledger
from tongban.platform.config import Settings

seeds_by_fixture = tracker_world.seeds_by_fixture
world = tracker_world.world

SOURCE = Path(tongban.__file__).parent


def _constant(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _action_of(node: ast.expr) -> list[str]:
    """The event types an `action=` argument may take: a string, either branch of a
    conditional, or an f-string's constant prefix followed by `*`."""
    if (text := _constant(node)) is not None:
        return [text]
    if isinstance(node, ast.IfExp):
        return _action_of(node.body) + _action_of(node.orelse)
    if isinstance(node, ast.JoinedStr) and node.values:
        prefix = _constant(node.values[0])  # type: ignore[arg-type]
        if prefix and prefix.endswith("."):
            return [prefix + "*"]
    return []


EVENT_TYPE = re.compile(r"^[a-z_]+\.[a-z_.-]+$")
# Resource kinds that are a person's, for event types a helper writes (its resource_type is a
# parameter): the account's, the case's (its applicant's) and a consent's (its subject's).
PERSON_PREFIXES = ("account.", "case.", "consent.")


def _helper_written(tree: ast.AST) -> set[str]:
    """Event types handed to a helper that records them: a positional string argument of a
    call to a function named like `*record*` or `*event*`, or the default of a parameter named
    like `*action`."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if "record" in name or "event" in name:
                for arg in node.args:
                    text = _constant(arg)
                    if text and EVENT_TYPE.match(text):
                        found.add(text)
            for keyword in node.keywords:
                text = _constant(keyword.value)
                if keyword.arg and keyword.arg.endswith("action") and text:
                    found.update([text] if EVENT_TYPE.match(text) else [])
        if isinstance(node, ast.arguments):
            named = [*node.posonlyargs, *node.args]
            with_defaults = named[len(named) - len(node.defaults) :]
            for arg, default in zip(with_defaults, node.defaults, strict=True):
                text = _constant(default)
                if arg.arg.endswith("action") and text and EVENT_TYPE.match(text):
                    found.add(text)
            for arg, kw_default in zip(node.kwonlyargs, node.kw_defaults, strict=True):
                text = _constant(kw_default)
                if arg.arg.endswith("action") and text and EVENT_TYPE.match(text):
                    found.add(text)
    return found


def event_types_with_a_subject(*, every: bool = False) -> dict[str, str]:
    """Every event type written in the source whose event carries a data subject: written
    with `action=` and a resource that is a person's (a case, its data, an account, an
    objection) or a `personal` part, or handed to a recording helper under a person's prefix
    (account., case.). With `every`, all event types written. Event type -> where."""
    found: dict[str, str] = {}
    for path in sorted(SOURCE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = str(path.relative_to(SOURCE))
        for text in sorted(_helper_written(tree)):
            if every or text.startswith(PERSON_PREFIXES):
                found.setdefault(text, where)
        for node in ast.walk(tree):
            # An event is written with keywords (`events.record(action=...)`) or as a dict of
            # them (`{"action": ..., "personal": ...}` handed to a bulk insert).
            if isinstance(node, ast.Call):
                keywords = {k.arg: k.value for k in node.keywords if k.arg}
            elif isinstance(node, ast.Dict):
                keywords = {
                    key.value: value
                    for key, value in zip(node.keys, node.values, strict=True)
                    if isinstance(key, ast.Constant) and isinstance(key.value, str)
                }
            else:
                continue
            if "action" not in keywords or ("resource_type" not in keywords and not every):
                continue
            resource = _constant(keywords.get("resource_type"))
            personal = keywords.get("personal")
            has_personal = personal is not None and not (
                isinstance(personal, ast.Constant) and personal.value is None
            )
            if not every and resource not in tracker.SUBJECT_RESOURCES and not has_personal:
                continue
            for action in _action_of(keywords["action"]):
                if "." not in action:
                    continue  # not an event type (e.g. a blank stand-in built by a detector)
                found.setdefault(action, f"{where}:{node.lineno}")
    return found


def test_the_derivation_finds_the_known_uses() -> None:
    found = event_types_with_a_subject()
    # A check of the check: the uses the issue names are found in the code.
    for action in (
        "exchange.fetched",
        "exchange.fetch_refused",
        "case.applicant_id_viewed",
        "case.material_viewed",
        "case.result_viewed",
        "case.submitted",
    ):
        assert action in found, action
    assert len(found) >= 15


def test_every_event_type_with_a_data_subject_is_in_the_tracker_table() -> None:
    unknown = {
        action: where
        for action, where in event_types_with_a_subject().items()
        if action not in tracker.USES and action not in tracker.NOT_USES
    }
    assert not unknown, (
        "These event types carry a data subject but the tracker (consent/tracker.py) does not "
        f"say whether they are a use of the person's data (USES) or why not (NOT_USES): {unknown}"
    )
    # And no entry of the table is stale (names an event type nobody writes any more).
    written = set(event_types_with_a_subject(every=True))
    stale = (set(tracker.USES) | set(tracker.NOT_USES)) - written
    assert not stale, f"The tracker's table names event types nobody writes: {stale}"


def test_every_use_in_the_ledger_is_a_line_of_the_tracker(
    client: TestClient, db: Session, world: World, settings: Settings
) -> None:
    case = make_case(db, world)
    fetch(client, world, case.number)
    client.post(
        f"/api/v1/cases/{case.number}/applicant-id",
        json={"purpose": "核对身份"},
        headers=world.h("official"),
    )
    ledger.integrate_pending(db, settings=settings)
    leaves = [
        client.get(f"/api/v1/ledger/entries/{index}").json()["entry"]
        for index in range(int(ledger.latest_checkpoint(db).size))
    ]
    uses = [leaf for leaf in leaves if leaf and leaf["action"] in tracker.USES]
    assert {leaf["action"] for leaf in uses} == {"exchange.fetched", "case.applicant_id_viewed"}
    lines = set(db.scalars(select(DataUse.event_uid)))
    for leaf in uses:
        assert leaf["uid"] in lines, leaf
    assert tracker.missing_lines(db) == []

    # A line lost (say, deleted by hand) is found missing against the events.
    uid = uses[0]["uid"]
    db.execute(delete(DataUse).where(DataUse.event_uid == uid))
    assert tracker.missing_lines(db) == [uid]


def test_a_case_joined_to_its_applicant_later_gets_its_earlier_lines(
    client: TestClient, db: Session, world: World
) -> None:
    case = make_case(db, world)
    fetch(client, world, case.number)
    event = db.scalars(select(Event).where(Event.action == "exchange.fetched")).one()
    # As if the case had been filed at a counter for someone without an account: no line.
    db.execute(delete(DataUse))
    applicant = case.applicant_id
    case.applicant_id = None
    db.flush()
    assert tracker.missing_lines(db) == []  # no account: nobody's tracker to miss it
    assert tracker.backfill_case(db, case_number=case.number) == 0
    # The case joins the applicant's account: the earlier use gets its line, once.
    case.applicant_id = applicant
    db.flush()
    assert tracker.missing_lines(db) == [event.uid]
    assert tracker.backfill_case(db, case_number=case.number) == 1
    line = db.scalars(select(DataUse)).one()
    assert line.event_id == event.id and line.subject_id == applicant
    assert tracker.backfill_case(db, case_number=case.number) == 0
    assert tracker.missing_lines(db) == []
