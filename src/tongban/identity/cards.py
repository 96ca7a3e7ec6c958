"""Account cards: the few facts an application copies from its applicant's account."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from tongban.identity.models import Account
from tongban.platform.db.fastpath.direct_sql import fetch_one
from tongban.platform.db.uow import transaction_memo
from tongban.platform.errors import NotFound


@dataclass(frozen=True)
class AccountCard:
    """What an application copies from its applicant's account."""

    id: int
    display_name: str
    resident_id_masked: str | None
    phone: str | None


# Built once: a card is read on every filing and for every line of the data tracker.
_CARD = select(Account.id, Account.display_name, Account.resident_id_masked, Account.phone).where(
    Account.id == bindparam("account_id")
)


def remember_card(session: Session, card: AccountCard) -> None:
    """Keep an account's card for the rest of the transaction (it was read anyway)."""
    transaction_memo(session)[f"account_card:{card.id}"] = card


def account_card(session: Session, *, account_id: int) -> AccountCard:
    """The applicant facts of an account (one narrow query, no ORM load), or NotFound."""
    known: AccountCard | None = transaction_memo(session).get(f"account_card:{account_id}")
    if known is not None:
        return known
    row = fetch_one(session, _CARD, {"account_id": account_id})
    if row is None:
        raise NotFound(f"No account {account_id}.")
    return AccountCard(*row)
