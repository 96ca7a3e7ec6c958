"""Following a case without logging in (进度查询): by its number and the applicant's name as
filed, or through a signed tracking link (the receipt's QR code, the SMS notices).

What anyone holding the number and the name (or the link) learns is what the applicant was told
at the counter anyway: the case's state, its steps as codes and dates (never who took them, never
a reason or a note), and its deadlines (which stop while the clock is paused, 补正 or 特别程序).

Guessing is made useless and slow:

- a wrong name and an unknown number get the same answer, word for word, after the same work
  (the name is compared with a stand-in when there is no case): the number alone tells nothing;
- names are compared in constant time after normalisation (NFKC, no spaces, one middle dot,
  case-folded), so `王 建国` and `王建国`, full- and half-width letters match;
- each failed look-up counts against the client address (identity's throttle counters, keyed
  by a pseudonym of the address): `tracking_max_failures` free, then delays from a minute up to
  an hour (429 with Retry-After).

A tracking link (`/track/t/{token}`, cases/links.py) is signed by the node for one case and
expires (`tracking_link_days`): it shows the same view without asking for the name.

Walk-in cases: a case a clerk files for someone keeps the keyed hash of their resident ID; when
that number is bound to an account (identity verified at a counter, by the real-name service or
by an operator), `link_walk_in_cases` gives the account the cases filed for it that have none
(identity calls it through `on_bound`, in the binding's transaction).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.cases import clocks
from tongban.cases.handling import current_clock
from tongban.cases.links import TrackLinkInvalid, number_of_token
from tongban.cases.models import Case
from tongban.cases.states import PAUSED_STATES
from tongban.events import service as events
from tongban.events.service import Channel
from tongban.identity import service as identity
from tongban.platform.config import Settings
from tongban.platform.errors import NotFound, TooManyRequests
from tongban.workdays.service import load_calendar

NO_MATCH = "No case matches this case number and name."
# The steps shown, in the words of the case's timeline (never notes, reasons or who).
PUBLIC_STEPS = frozenset(
    {
        "case.submitted",
        "case.accept",
        "case.refuse",
        "case.request-supplement",
        "case.supplement",
        "case.review-supplement",
        "case.start-special",
        "case.end-special",
        "case.co-handle",
        "case.approve",
        "case.reject",
        "case.complete",
        "case.withdraw",
    }
)
_NUMBER = re.compile(r"^[0-9A-Z]{6}(?:\d{6})?-\d{8}-[0-9A-Z]{12}(?:-\d{2})?$")
_DOTS = str.maketrans({c: "·" for c in "•‧∙⋅・･•．."})
# Compared against when there is no case, so that an unknown number costs what a wrong name does.
_STAND_IN = "\u3007" * 8


class TrackNotFound(NotFound):
    """No case matches the number and the name (or the number is unknown: the same answer).
    The failed look-up is counted, and the count committed (`keeps_writes`)."""

    keeps_writes = True


class TrackLimited(TooManyRequests):
    """Too many failed look-ups from this address: wait `retry_after` seconds."""

    keeps_writes = True

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"Too many case look-ups that did not match; try again in {retry_after} seconds.",
            headers={"Retry-After": str(retry_after)},
        )
        self.retry_after = retry_after


# --- what the tracking view shows ---------------------------------------------------------------


class TrackIn(BaseModel):
    """A case number and the applicant's name as filed."""

    number: str = Field(min_length=1, max_length=40, pattern=r"^[0-9A-Za-z -]+$")
    name: str = Field(min_length=1, max_length=100)


class TrackStep(BaseModel):
    """One step of the case: what happened (a timeline code) and on which day."""

    action: str
    on: date


class TrackDeadlines(BaseModel):
    """The case's deadlines as they stand today; while `paused` they move with the pause."""

    acceptance: date | None
    promised: date | None
    statutory: date | None
    current: date | None
    paused: bool


class TrackPart(BaseModel):
    """A part (sub-case) of a bundle: its number, service and state."""

    number: str
    item_name: str
    state: str


class TrackRead(BaseModel):
    """What a case's tracking view shows: no names, no ID numbers, no reasons, no notes."""

    number: str
    item_name: str
    authority_name: str
    state: str
    received_on: date
    steps: list[TrackStep]
    deadlines: TrackDeadlines
    parts: list[TrackPart]


def describe(session: Session, *, case: Case, settings: Settings) -> TrackRead:
    """The tracking view of a case."""
    calendar = load_calendar(session)
    today = clocks.local_date(clocks.now())
    clock = current_clock(
        case, calendar, today=today, warn_days=settings.deadline_warning_working_days
    )
    timeline = events.for_resource(session, resource_type="case", resource_id=case.number)
    parts = (
        session.scalars(select(Case).where(Case.parent_id == case.id).order_by(Case.number)).all()
        if case.kind == "bundle"
        else []
    )
    return TrackRead(
        number=case.number,
        item_name=case.item_name,
        authority_name=case.authority_name,
        state=case.state,
        received_on=clocks.local_date(case.received_at),
        steps=[
            TrackStep(action=e.action, on=clocks.local_date(e.occurred_at))
            for e in timeline
            if e.action in PUBLIC_STEPS
        ],
        deadlines=TrackDeadlines(
            acceptance=clock["acceptance"],
            promised=clock["promised"],
            statutory=clock["statutory"],
            current=clock["current"],
            paused=case.state in PAUSED_STATES,
        ),
        parts=[TrackPart(number=p.number, item_name=p.item_name, state=p.state) for p in parts],
    )


# --- by number and name -----------------------------------------------------------------------


def normalize_name(name: str) -> str:
    """A name as compared: NFKC, without any spaces, one kind of middle dot, case-folded."""
    value = unicodedata.normalize("NFKC", name or "").translate(_DOTS)
    return "".join(value.split()).casefold()


def names_match(given: str, filed: str) -> bool:
    """Whether two names are the same person's name as filed, compared in constant time."""
    a = hashlib.sha256(normalize_name(given).encode("utf-8")).digest()
    b = hashlib.sha256(normalize_name(filed).encode("utf-8")).digest()
    return hmac.compare_digest(a, b) and bool(normalize_name(given))


def normalize_number(number: str) -> str:
    """A case number as typed (spaces, lower case) in its canonical form."""
    return "".join((number or "").split()).upper()


def track_by_name(
    session: Session,
    *,
    number: str,
    name: str,
    client_ip: str,
    settings: Settings,
    now: datetime | None = None,
) -> TrackRead:
    """The tracking view of the case with this number filed for this name; TrackNotFound for a
    wrong name or an unknown number alike (counted against the address), TrackLimited while
    the address must wait."""
    at = now or clocks.now()
    counter = identity.tracking_counter(settings, client_ip=client_ip)
    refusal = identity.tracking_refused(session, counter=counter, now=at, settings=settings)
    if refusal is not None:
        raise TrackLimited(refusal.retry_after)
    wanted = normalize_number(number)
    case = (
        session.scalar(select(Case).where(Case.number == wanted)) if _NUMBER.match(wanted) else None
    )
    matched = names_match(name, case.applicant_name if case is not None else _STAND_IN)
    if case is None or not matched:
        refusal = identity.tracking_failed(session, counter=counter, now=at, settings=settings)
        if refusal is not None:
            raise TrackLimited(refusal.retry_after)
        raise TrackNotFound(NO_MATCH)
    return describe(session, case=case, settings=settings)


def track_by_token(
    session: Session, *, token: str, settings: Settings, now: datetime | None = None
) -> TrackRead:
    """The tracking view of the case a tracking link was made for."""
    number = number_of_token(token, settings=settings, now=now)
    case = session.scalar(select(Case).where(Case.number == number))
    if case is None:  # made by this node, for a case that is gone (a database restored)
        raise TrackLinkInvalid(expired=False)
    return describe(session, case=case, settings=settings)


# --- walk-in cases join the account once the number is bound ----------------------------------


@dataclass(frozen=True)
class Linked:
    """The cases given to an account when its number was bound."""

    numbers: tuple[str, ...]


def link_walk_in_cases(session: Session, account_id: int, resident_id_hash: str) -> Linked:
    """Give the account the cases filed at a counter for its (now bound) number that have no
    account yet; each gets a `case.applicant_linked` step (who, in its private part)."""
    rows = session.scalars(
        select(Case)
        .where(
            Case.applicant_resident_id_hash == resident_id_hash,
            Case.applicant_id.is_(None),
        )
        .order_by(Case.id)
    ).all()
    for case in rows:
        case.applicant_id = account_id
        case.updated_at = clocks.now()
        events.record(
            session,
            action="case.applicant_linked",
            resource_type="case",
            resource_id=case.number,
            channel=Channel.SYSTEM,
            data={"state": case.state},
            private={"account_id": account_id},
        )
    if rows:
        session.flush()
    return Linked(tuple(c.number for c in rows))


def _on_bound(session: Session, account_id: int, resident_id_hash: str) -> None:
    link_walk_in_cases(session, account_id, resident_id_hash)


identity.on_bound(_on_bound)
