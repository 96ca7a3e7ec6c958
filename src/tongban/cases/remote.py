"""Cases handled on another node (issue #18), as cases sees them.

A case filed here for an authority another node serves lives there; this node keeps a tracking
copy. The applicant's side (the applicant, their agent, the filing clerk) still acts here: a
withdrawal on the copy (or the papers a 补正 asked for, cases/remote_supplement.py) is not
applied to it but sent to the authority's node, which applies it through its own state
machine and reports back. Federation (a higher domain) does the sending; the shell hands its
hooks in: `handling.on_forward` takes an action on a copy (True: sent), `view` tells the case
page which node handles the case and the requests waiting for its answer.

The other way round, `relayed_action` applies here, to a case this node handles for another
node, an action that node's applicant side took: the same transition table and checks as any
action (handling.act), with the filing node's authorization standing for the person's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tongban.cases import remote_supplement
from tongban.cases.handling import act, get_case
from tongban.cases.schemas import ActionIn
from tongban.cases.states import TRANSITIONS, Action, Party
from tongban.events.service import Channel
from tongban.identity.service import Actor, Role
from tongban.platform.config import Settings
from tongban.platform.errors import Forbidden

# The applicant side's actions (states.py): the only ones a filing node may relay.
APPLICANT_ACTIONS = frozenset(
    a.value for (_, a), t in TRANSITIONS.items() if t.parties == frozenset({Party.APPLICANT})
)


@dataclass(frozen=True, slots=True)
class RemoteRequest:
    """An action sent to the authority's node, and its answer so far."""

    action: str
    state: str  # pending | applied | refused
    sent_at: datetime
    answer: str | None = None  # refused: <code>:<state there>; applied: the state there

    @property
    def state_there(self) -> str | None:
        """The case's state on the authority's node when it answered."""
        return self.answer.rsplit(":", 1)[-1] if self.answer else None


@dataclass(frozen=True, slots=True)
class RemoteView:
    """A case handled on another node: which one, and the requests sent to it."""

    node: str
    requests: list[RemoteRequest] = field(default_factory=list)
    # The actions this node sends there (the rest cannot be taken here).
    actions: frozenset[str] = frozenset()

    @property
    def pending(self) -> list[RemoteRequest]:
        """The requests still waiting for the authority's answer."""
        return [r for r in self.requests if r.state == "pending"]


Viewer = Callable[..., RemoteView | None]
_viewer: list[Viewer] = []


def on_view(viewer: Viewer) -> None:
    """Register the reader of a case's remote handling, called with (session, number=)."""
    _viewer[:] = [viewer]


def view(session: Session, *, number: str) -> RemoteView | None:
    """The node handling this case and the requests sent to it, or None (handled here)."""
    for viewer in _viewer:
        found = viewer(session, number=number)
        if found is not None:
            return found
    return None


def relayed_action(
    session: Session,
    *,
    number: str,
    action: str,
    body: dict[str, Any],
    from_node: str,
    settings: Settings,
) -> str:
    """Apply an action the filing node relayed for its applicant side; the state after.

    Only the applicant side's actions are relayed (anything else is Forbidden). The request
    acts on the case as it is now: it crossed nodes, and the state machine, not the version
    the applicant saw, decides whether it still stands (a withdrawal after the acceptance is
    allowed, after the decision it is not: a Conflict).
    """
    if action not in APPLICANT_ACTIONS:
        raise Forbidden(f"{action} is not the applicant's to take from another node.")
    case = get_case(session, number=number)
    if action == Action.SUPPLEMENT:
        fields = remote_supplement.incoming(session, case=case, body=body, settings=settings)
    else:
        fields = {k: v for k, v in body.items() if k in ("reason", "note")}
    done = act(
        session,
        actor=_relay_actor(from_node, case.service_point),
        number=number,
        action=Action(action).value,
        body=ActionIn(version=case.version, **fields),
        settings=settings,
        relayed_from=from_node,
    )
    return done.state


def _relay_actor(node: str, service_point: str | None) -> Actor:
    # Stands for the filing node's applicant side inside act(), which checks parties, not
    # this account: a relayed action is recorded with no actor and the node it came from.
    return Actor(
        account_id=0,
        username=node[:64],
        role=Role.CLERK,
        service_point=service_point,
        via=Channel.SYSTEM,
    )
