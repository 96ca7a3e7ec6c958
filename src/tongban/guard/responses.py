"""The automatic responses to an alert: notify the operators (in the console and by SMS),
require re-authentication, block a client address, block an account's logins for a while,
lock an account pending review, suspend an API token. Each is an event
(`guard.response_taken`) and each block is reversible by an admin with a reason
(`guard.response_reversed`, and identity's `security.block_lifted`).

The stops themselves live in identity (identity_blocks), where the request path reads them.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from tongban.adapters.sms import load_gateway
from tongban.events import service as events
from tongban.guard import rules as R
from tongban.guard.models import GuardResponse
from tongban.identity import service as identity
from tongban.platform.config import Settings
from tongban.platform.db import uow, utcnow
from tongban.platform.errors import Conflict, Invalid, NotFound

log = logging.getLogger(__name__)

# Which target kinds each action applies to.
_APPLIES: dict[str, frozenset[str]] = {
    R.NOTIFY: frozenset({"*"}),
    R.REAUTHENTICATE: frozenset({"account"}),
    R.BLOCK_ADDRESS: frozenset({"client"}),
    R.BLOCK_ACCOUNT_LOGINS: frozenset({"account"}),
    R.LOCK_ACCOUNT: frozenset({"account"}),
    R.SUSPEND_TOKEN: frozenset({"token"}),
}
_BLOCK_KIND = {
    R.BLOCK_ADDRESS: "client_address",
    R.BLOCK_ACCOUNT_LOGINS: "account",
    R.LOCK_ACCOUNT: "account",
    R.SUSPEND_TOKEN: "token",
}
# Temporary blocks last this long unless the rule says otherwise (overrides.block_minutes).
DEFAULT_BLOCK_MINUTES = 30


def _record(
    session: Session, *, alert_id: int, action: str, outcome: str, block_id: int | None
) -> None:
    data: dict[str, Any] = {"alert_id": alert_id, "response": action, "outcome": outcome}
    if block_id is not None:
        data["block_id"] = block_id
    events.record(
        session,
        action="guard.response_taken",
        resource_type="guard_alert",
        resource_id=str(alert_id),
        channel="system",
        data=data,
    )


def respond(
    session: Session,
    *,
    settings: Settings,
    alert_id: int,
    kind: str,
    severity: str,
    actions: tuple[str, ...] | list[str],
    targets: list[tuple[str, str]],
    block_minutes: int = DEFAULT_BLOCK_MINUTES,
    notify: bool = True,
) -> list[GuardResponse]:
    """Take the rule's actions against the alert's targets; each one stored and recorded."""
    taken: list[GuardResponse] = []
    until = utcnow() + timedelta(minutes=block_minutes)
    for action in actions:
        applies = _APPLIES.get(action, frozenset())
        if action == R.NOTIFY:
            if notify:
                taken.append(
                    _notify(
                        session, settings=settings, alert_id=alert_id, kind=kind, severity=severity
                    )
                )
            continue
        for target_kind, key in targets:
            if target_kind not in applies:
                continue
            block_id: int | None = None
            outcome = "done"
            try:
                if action == R.REAUTHENTICATE:
                    identity.require_reauthentication(session, account_id=int(key))
                else:
                    block = identity.place_block(
                        session,
                        kind=_BLOCK_KIND[action],
                        key=key,
                        reason=f"guard:{kind}"[:64],
                        until=None if action in (R.LOCK_ACCOUNT, R.SUSPEND_TOKEN) else until,
                        alert_id=alert_id,
                    )
                    block_id = block.id
            except (NotFound, Invalid, ValueError):
                outcome = "skipped"
            row = GuardResponse(
                alert_id=alert_id,
                action=action,
                block_id=block_id,
                target=f"{target_kind}:{key}"[:80],
                outcome=outcome,
                created_at=utcnow(),
            )
            session.add(row)
            session.flush()
            _record(session, alert_id=alert_id, action=action, outcome=outcome, block_id=block_id)
            taken.append(row)
    return taken


def _notify(
    session: Session, *, settings: Settings, alert_id: int, kind: str, severity: str
) -> GuardResponse:
    """In the console the alert is listed at once; by SMS to the operators' numbers
    (TONGBAN_GUARD_SMS_TO), through the node's gateway, once the alert is committed."""
    phones = [p.strip() for p in (settings.guard_sms_to or "").split(",") if p.strip()]
    gateway_path = settings.sms_gateway
    outcome = "done"
    if phones and gateway_path and severity in ("high", "critical"):
        text = f"【通办安全】{severity} 告警 #{alert_id}（{kind}），请登录安全控制台处理。"

        def send() -> None:
            gateway = load_gateway(gateway_path)
            for phone in phones:
                gateway.send(phone, text)

        uow.after_commit(session, send)
    row = GuardResponse(
        alert_id=alert_id,
        action=R.NOTIFY,
        target="operators",
        outcome=outcome,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    _record(session, alert_id=alert_id, action=R.NOTIFY, outcome=outcome, block_id=None)
    return row


def reverse(
    session: Session, *, response_id: int, actor: identity.Actor, reason: str
) -> GuardResponse:
    """An admin takes back an automatic block with a reason (`guard.response_reversed`)."""
    row = session.get(GuardResponse, response_id)
    if row is None:
        raise NotFound("No such response.")
    if row.reversed_at is not None:
        raise Conflict("This response was reversed already.")
    if row.block_id is None:
        raise Conflict("Only blocks can be reversed; this response placed none.")
    if not reason.strip():
        raise Invalid("Give the reason for reversing the response.")
    block = identity.get_block(session, block_id=row.block_id)
    if block.lifted_at is None:
        identity.lift_block(session, block_id=row.block_id, actor=actor, reason=reason)
    row.reversed_at = utcnow()
    row.reversed_by = actor.account_id
    row.outcome = "reversed"
    session.flush()
    events.record(
        session,
        action="guard.response_reversed",
        resource_type="guard_alert",
        resource_id=str(row.alert_id),
        channel="online",
        actor_id=actor.account_id,
        actor_role=actor.role,
        reason=reason.strip()[:500],
        data={"alert_id": row.alert_id, "response": row.action, "block_id": row.block_id},
    )
    return row
