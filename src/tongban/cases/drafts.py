"""Drafts (save and resume): an application not sent yet, kept on the server for its account.

Nothing of a form stays in the browser, so the next person who logs in on a shared phone sees
nothing of it; a draft is read only by its own account. An account keeps at most `DRAFT_MAX`
drafts (saving another forgets the oldest), and a draft untouched for `DRAFT_DAYS` is gone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tongban.cases import clocks
from tongban.cases.models import CaseDraft
from tongban.platform.errors import Conflict

DRAFT_MAX = 3
DRAFT_DAYS = 30
_UNSET: Any = object()


def _oldest_kept(now: datetime) -> datetime:
    return now - timedelta(days=DRAFT_DAYS)


def list_drafts(session: Session, *, account_id: int) -> Sequence[CaseDraft]:
    """The account's drafts still kept, the most recently changed first."""
    return session.scalars(
        select(CaseDraft)
        .where(
            CaseDraft.account_id == account_id,
            CaseDraft.updated_at > _oldest_kept(clocks.now()),
        )
        .order_by(CaseDraft.updated_at.desc(), CaseDraft.id.desc())
    ).all()


def get_draft(session: Session, *, account_id: int, implementation_code: str) -> CaseDraft | None:
    """The account's draft for this implementation, or None (none, or expired)."""
    row = session.scalar(
        select(CaseDraft).where(
            CaseDraft.account_id == account_id,
            CaseDraft.implementation_code == implementation_code,
        )
    )
    if row is None or row.updated_at <= _oldest_kept(clocks.now()):
        return None
    return row


def save_draft(
    session: Session,
    *,
    account_id: int,
    implementation_code: str,
    form_values: dict[str, Any] = _UNSET,
    typed_values: dict[str, Any] = _UNSET,
    on_behalf_of_id: int | None = _UNSET,
    materials: list[list[str]] = _UNSET,
) -> CaseDraft:
    """Create or change the account's draft for an implementation (what is not given stays).

    Expired drafts of the account are dropped, and the oldest beyond `DRAFT_MAX`.
    """
    now = clocks.now()
    session.execute(
        delete(CaseDraft).where(
            CaseDraft.account_id == account_id, CaseDraft.updated_at <= _oldest_kept(now)
        )
    )
    row = session.scalar(
        select(CaseDraft).where(
            CaseDraft.account_id == account_id,
            CaseDraft.implementation_code == implementation_code,
        )
    )
    if row is None:
        row = CaseDraft(
            account_id=account_id,
            implementation_code=implementation_code,
            form_values={},
            typed_values={},
            on_behalf_of_id=None,
            materials=[],
            updated_at=now,
        )
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
        except IntegrityError:
            # The same account saved the same draft at the same moment (a double click).
            raise Conflict("The draft was saved at the same moment; try again.") from None
    if form_values is not _UNSET:
        row.form_values = dict(form_values)
    if typed_values is not _UNSET:
        row.typed_values = dict(typed_values)
    if on_behalf_of_id is not _UNSET:
        row.on_behalf_of_id = on_behalf_of_id
    if materials is not _UNSET:
        row.materials = [[str(name), str(sha)] for name, sha in materials]
    row.updated_at = now
    session.flush()
    others = session.scalars(
        select(CaseDraft.id)
        .where(CaseDraft.account_id == account_id, CaseDraft.id != row.id)
        .order_by(CaseDraft.updated_at.desc(), CaseDraft.id.desc())
        .offset(DRAFT_MAX - 1)
    ).all()
    if others:
        session.execute(delete(CaseDraft).where(CaseDraft.id.in_(others)))
    return row


def drop_draft(session: Session, *, account_id: int, implementation_code: str) -> None:
    """Forget the account's draft for an implementation (sent, or abandoned)."""
    session.execute(
        delete(CaseDraft).where(
            CaseDraft.account_id == account_id,
            CaseDraft.implementation_code == implementation_code,
        )
    )
