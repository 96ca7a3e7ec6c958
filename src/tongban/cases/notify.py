"""Notifications: in-app messages (rows, same transaction) and a pluggable SMS gateway.

The gateway is chosen by `TONGBAN_SMS_GATEWAY=module:Class` (docs/sms-gateway.md). SMS is sent
once the transaction has committed (a text about a change that was rolled back never goes out),
best effort: a failing gateway is logged and never breaks the case transition.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from tongban.adapters.sms import load_gateway, mask_phone
from tongban.cases import clocks, links
from tongban.cases.models import Case, Message
from tongban.platform.config import Settings
from tongban.platform.db.fastpath.rows import insert_now, new_row
from tongban.platform.db.uow import after_commit
from tongban.platform.errors import NotFound

log = logging.getLogger(__name__)


# Texts per event, zh-CN (the applicant's language on the SMS channel).
TEXTS = {
    "submitted": "您的办件 {number}（{item}）已接件，受理期限 {due}。",
    "accepted": "您的办件 {number}（{item}）已受理，承诺办结日期 {due}。",
    "not_accepted": "您的办件 {number}（{item}）不予受理：{reason}",
    "supplement_requested": "您的办件 {number}（{item}）需补正材料：{missing}。补正前时限暂停。",
    "supplemented": "您的办件 {number}（{item}）补正材料已收到，时限恢复计算。",
    "special_started": "您的办件 {number}（{item}）进入特别程序：{reason}",
    "special_ended": "您的办件 {number}（{item}）特别程序结束，时限恢复计算。",
    # {granted} / {refused}: the decision's words by the item's type (cases/decisions.py).
    "approved": "您的办件 {number}（{item}）已{granted}。",
    "rejected": "您的办件 {number}（{item}）{refused}：{reason}",
    "completed": "您的办件 {number}（{item}）已办结。",
    "withdrawn": "您的办件 {number}（{item}）已撤回。",
}


# Said to the principal when an agent filed under their authorisation: they learn of every use
# of it, and how to stop one they did not want.
BY_PROXY = "此件由您授权的亲友代办提交；如非您本人同意，请在“亲友代办授权”中撤销授权。"


def _text(kind: str, case: Case, extra: dict[str, str]) -> str:
    due = case.due_date.isoformat() if case.due_date else ""
    values = {"number": case.number, "item": case.item_name, "due": due}
    values.update({"reason": "", "missing": "", "granted": "准予办理", "refused": "不予办理"})
    values.update(extra)
    text = TEXTS[kind].format(**values)
    if kind == "submitted" and case.channel == "proxy":
        text += BY_PROXY
    return text


@dataclass(frozen=True)
class Notice:
    """The messages of one change, and the SMS to send once it has committed."""

    messages: list[Message]
    sms: Callable[[], None] | None


def compose(
    *,
    case: Case,
    kind: str,
    phones: dict[int, str | None],
    gateway_path: str,
    extra: dict[str, str] | None = None,
    settings: Settings | None = None,
    walk_in_phone: str | None = None,
) -> Notice:
    """The applicant's and the filer's messages about a change, and the applicant's SMS (with
    the case's tracking link when `settings` name the node's public address); an applicant
    without an account gets it at `walk_in_phone` (given at the counter)."""
    text = _text(kind, case, extra or {})
    recipients = [a for a in dict.fromkeys((case.applicant_id, case.filed_by_id)) if a]
    now = clocks.now()
    messages = [
        new_row(
            Message, account_id=a, case_number=case.number, kind=kind, text=text, created_at=now
        )
        for a in recipients
    ]
    phone = phones.get(case.applicant_id) if case.applicant_id else walk_in_phone
    if not phone:
        return Notice(messages, None)
    number = case.number
    link = links.sms_link(number=number, settings=settings) if settings is not None else None
    sms_text = f"{text}查询进度：{link}" if link else text

    def send() -> None:
        try:
            load_gateway(gateway_path).send(phone, sms_text)
        except Exception:
            # Why: the decision stands even when the SMS provider is down.
            log.exception("sms to %s failed for case %s", mask_phone(phone), number)

    return Notice(messages, send)


def deliver(session: Session, notice: Notice) -> list[Message]:
    """Store the messages in the caller's transaction; the SMS goes after its commit."""
    for message in notice.messages:
        insert_now(session, message)
    text_after_commit(session, notice)
    return notice.messages


def text_after_commit(session: Session, notice: Notice) -> None:
    """Send the notice's SMS once the caller's transaction has committed (never otherwise)."""
    if notice.sms is not None:
        after_commit(session, notice.sms)


def notify_case(
    session: Session,
    *,
    case: Case,
    kind: str,
    phones: dict[int, str | None],
    gateway_path: str,
    extra: dict[str, str] | None = None,
    settings: Settings | None = None,
) -> list[Message]:
    """Message the applicant and whoever filed for them; SMS to the applicant's phone."""
    notice = compose(
        case=case,
        kind=kind,
        phones=phones,
        gateway_path=gateway_path,
        extra=extra,
        settings=settings,
    )
    return deliver(session, notice)


def list_messages(
    session: Session,
    *,
    account_id: int,
    unread_only: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> tuple[Sequence[Message], int]:
    """An account's messages, newest first, and the number unread."""
    stmt = select(Message).where(Message.account_id == account_id)
    if unread_only:
        stmt = stmt.where(Message.read_at.is_(None))
    rows = session.scalars(stmt.order_by(Message.id.desc()).limit(limit).offset(offset)).all()
    unread = session.scalar(
        select(func.count())
        .select_from(Message)
        .where(Message.account_id == account_id, Message.read_at.is_(None))
    )
    return rows, int(unread or 0)


def mark_read(
    session: Session, *, account_id: int, message_ids: Sequence[int] | None = None
) -> int:
    """Mark some (or all) of an account's messages read; returns how many changed."""
    now: datetime = clocks.now()
    stmt = update(Message).where(Message.account_id == account_id, Message.read_at.is_(None))
    if message_ids is not None:
        if not message_ids:
            return 0
        stmt = stmt.where(Message.id.in_(list(message_ids)))
    result = session.execute(stmt.values(read_at=now))
    count = int(getattr(result, "rowcount", 0) or 0)
    if message_ids is not None and count == 0:
        owned = session.scalar(
            select(func.count())
            .select_from(Message)
            .where(Message.account_id == account_id, Message.id.in_(list(message_ids)))
        )
        if not owned:
            raise NotFound("No such message.")
    session.flush()
    return count


def message_account(
    session: Session, *, account_id: int, case_number: str, kind: str, text: str
) -> None:
    """One in-app message to one account about a case (e.g. the outcome of a rectification)."""
    message = new_row(
        Message,
        account_id=account_id,
        case_number=case_number,
        kind=kind[:32],
        text=text,
        created_at=clocks.now(),
    )
    insert_now(session, message)
