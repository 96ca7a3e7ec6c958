"""The assistant's rules as the shell and its pages use them: answer a turn of a
conversation, keep the questions that found nothing (anonymised), and let operators extend
the lexicon (synonyms, FAQ entries). Returns dataclasses, never rows."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tongban.assistant import answering
from tongban.assistant.answering import Answer, Ask, Suggestion, Why, decode_state, encode_state
from tongban.assistant.lexicon import fold
from tongban.assistant.models import FaqEntry, Synonym, Unanswered
from tongban.events import service as events
from tongban.events.service import Channel
from tongban.identity.service import Actor
from tongban.platform.db import uow, utcnow
from tongban.platform.errors import Conflict, FieldError, Invalid, NotFound

__all__ = [
    "HOTLINE",
    "Answer",
    "Ask",
    "FaqView",
    "Suggestion",
    "SynonymView",
    "UnansweredView",
    "Why",
    "add_faq",
    "add_synonym",
    "anonymise",
    "answer",
    "close_unanswered",
    "decode_state",
    "encode_state",
    "list_faq",
    "list_synonyms",
    "list_unanswered",
    "warmer_starter",
]

# Open unanswered questions kept at most: beyond, new ones are not stored (a flood of made-up
# questions must not fill the table or the event log); operators close what they dealt with.
MAX_OPEN_UNANSWERED = 5000
HOTLINE = answering.HOTLINE

# What must never be stored from a question: resident ID numbers (18 digits, the last may be
# X; or the old 15), mobile and landline numbers, other long numbers (bank cards, account
# numbers), e-mail addresses, and names people give (我叫张三, 王先生).
_ID = re.compile(r"(?<!\d)(\d{17}[\dXx]|\d{15})(?![\dXx])")
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)0\d{2,3}[- ]?\d{7,8}(?!\d)")
_LONG_NUMBER = re.compile(r"\d{6,}")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_NAME_SAID = re.compile(
    r"(我叫|我是|名叫|叫做|名字叫|名字是|姓名是|姓名|本人)\s*[\u4e00-\u9fff·]{2,4}?"
    r"(?=[，,。.！!？?；;\s的]|$|身份证|电话|手机|今年|住在|在|想|要|家)"
)
_SURNAME_TITLE = re.compile(
    r"[\u4e00-\u9fff](?=(先生|女士|小姐|师傅|阿姨|大爷|大妈|大娘|老师|老板))"
)
_SURNAME = re.compile(r"(?<=姓)(?!名)[\u4e00-\u9fff]")


def anonymise(text: str) -> str:
    """The question without resident IDs, phone numbers, other long numbers, e-mail addresses
    or the names people give; what remains says what they asked about."""
    out = _ID.sub("[身份证号]", text)
    out = _MOBILE.sub("[电话]", out)
    out = _LANDLINE.sub("[电话]", out)
    out = _LONG_NUMBER.sub("[号码]", out)
    out = _EMAIL.sub("[邮箱]", out)
    out = _NAME_SAID.sub(lambda m: m.group(1) + "[姓名]", out)
    out = _SURNAME_TITLE.sub("某", out)
    out = _SURNAME.sub("某", out)
    return out.strip()


@dataclass(frozen=True)
class UnansweredView:
    """A question that found nothing, as operators see it (already anonymised)."""

    id: int
    text: str
    region_code: str | None
    count: int
    first_at: datetime
    last_at: datetime


@dataclass(frozen=True)
class SynonymView:
    """An operator's synonym."""

    id: int
    word: str
    canonical: str


@dataclass(frozen=True)
class FaqView:
    """An operator's FAQ entry."""

    id: int
    question: str
    targets: list[str]
    answer: str


def answer(
    session: Session,
    *,
    q: str,
    region: str | None = None,
    state: str | None = None,
    choice: str | None = None,
    home_region: str | None = None,
    gettext: answering.Gettext = lambda s: s,
    record: bool = True,
) -> Answer:
    """Answer one turn; a question that found nothing is kept, anonymised, for operators."""
    result = answering.answer(
        session,
        q=q,
        region=region,
        state=state,
        choice=choice,
        home_region=home_region,
        gettext=gettext,
    )
    if record and not result.found and result.question:
        _record_unanswered(session, text=result.question, region=result.region)
    return result


def _record_unanswered(session: Session, *, text: str, region: str | None) -> None:
    clean = anonymise(text)[:200]
    if not clean:
        return
    now = utcnow()
    row = session.scalar(select(Unanswered).where(Unanswered.text == clean))
    if row is None:
        open_rows = session.scalar(
            select(func.count()).select_from(Unanswered).where(Unanswered.closed.is_(False))
        )
        if (open_rows or 0) >= MAX_OPEN_UNANSWERED:
            return  # a flood of new questions is not kept; those already listed still count
        try:
            with uow.attempt(session):
                row = Unanswered(text=clean, region_code=region, count=1, first_at=now, last_at=now)
                session.add(row)
                session.flush()
        except IntegrityError:
            # The same question, asked at the same moment elsewhere: count it there.
            row = session.scalar(select(Unanswered).where(Unanswered.text == clean))
            if row is None:
                return
        else:
            _logged(session, row, region)
            return
    row.count += 1
    row.last_at = now
    row.closed = False
    session.flush()


def _logged(session: Session, row: Unanswered, region: str | None) -> None:
    events.record(
        session,
        action="assistant.unanswered",
        resource_type="assistant_unanswered",
        resource_id=str(row.id),
        channel=Channel.SYSTEM,
        data={"region": region},
        private={"text": row.text},
    )


def list_unanswered(session: Session, *, limit: int = 100) -> list[UnansweredView]:
    """Open unanswered questions, the most asked first."""
    rows = session.scalars(
        select(Unanswered)
        .where(Unanswered.closed.is_(False))
        .order_by(Unanswered.count.desc(), Unanswered.last_at.desc())
        .limit(limit)
    )
    return [
        UnansweredView(r.id, r.text, r.region_code, r.count, r.first_at, r.last_at) for r in rows
    ]


def _channel(actor: Actor) -> Channel:
    return Channel.API if actor.token_id is not None else Channel.ONLINE


def close_unanswered(session: Session, *, actor: Actor, unanswered_id: int) -> None:
    """Mark an unanswered question as dealt with."""
    row = session.get(Unanswered, unanswered_id)
    if row is None:
        raise NotFound("No such question.")
    row.closed = True
    session.flush()
    events.record(
        session,
        action="assistant.unanswered.closed",
        resource_type="assistant_unanswered",
        resource_id=str(row.id),
        channel=_channel(actor),
        actor_id=actor.account_id,
        actor_role=actor.role.value,
        data={"count": row.count},
    )


def _close_if(session: Session, unanswered_id: int | None) -> None:
    if unanswered_id is not None:
        row = session.get(Unanswered, unanswered_id)
        if row is not None:
            row.closed = True


def add_synonym(
    session: Session,
    *,
    actor: Actor,
    word: str,
    canonical: str,
    unanswered_id: int | None = None,
) -> SynonymView:
    """Teach the assistant a word people say for a catalog word (退休金 -> 养老金)."""
    word, canonical = fold(word), fold(canonical)
    errors = []
    if not 1 <= len(word) <= 40:
        errors.append(FieldError("word", "1 to 40 characters"))
    if not 1 <= len(canonical) <= 80:
        errors.append(FieldError("canonical", "1 to 80 characters"))
    if word and word == canonical:
        errors.append(FieldError("canonical", "must differ from the word"))
    if errors:
        raise Invalid("Give a word and the catalog's word for it.", errors=errors)
    if session.scalar(select(Synonym.id).where(Synonym.word == word)) is not None:
        raise Conflict("This word is already known.")
    row = Synonym(word=word, canonical=canonical, created_by=actor.account_id)
    session.add(row)
    _close_if(session, unanswered_id)
    session.flush()
    events.record(
        session,
        action="assistant.synonym.added",
        resource_type="assistant_synonym",
        resource_id=str(row.id),
        channel=_channel(actor),
        actor_id=actor.account_id,
        actor_role=actor.role.value,
        data={"unanswered": unanswered_id},
        private={"word": word, "canonical": canonical},
    )
    return SynonymView(row.id, row.word, row.canonical)


def add_faq(
    session: Session,
    *,
    actor: Actor,
    question: str,
    targets: list[str],
    answer_text: str = "",
    unanswered_id: int | None = None,
) -> FaqView:
    """Add a FAQ entry: a question and the catalog items or bundle families it points to."""
    question = question.strip()
    answer_text = answer_text.strip()
    codes = list(dict.fromkeys(t.strip() for t in targets if t.strip()))
    errors = []
    if not 2 <= len(question) <= 200:
        errors.append(FieldError("question", "2 to 200 characters"))
    if len(answer_text) > 1000:
        errors.append(FieldError("answer", "at most 1000 characters"))
    known = answering.engine_for(session).names
    unknown = [c for c in codes if answering.family_of(c) not in known]
    if not codes or unknown or len(codes) > 10:
        errors.append(FieldError("targets", "name 1 to 10 catalog item or bundle codes"))
    if errors:
        raise Invalid("Check the FAQ entry.", errors=errors)
    row = FaqEntry(
        question=question,
        targets=[answering.family_of(c) for c in codes],
        answer=answer_text,
        created_by=actor.account_id,
    )
    session.add(row)
    _close_if(session, unanswered_id)
    session.flush()
    events.record(
        session,
        action="assistant.faq.added",
        resource_type="assistant_faq",
        resource_id=str(row.id),
        channel=_channel(actor),
        actor_id=actor.account_id,
        actor_role=actor.role.value,
        data={"targets": row.targets, "unanswered": unanswered_id},
        private={"question": question, "answer": answer_text},
    )
    return FaqView(row.id, row.question, list(row.targets), row.answer)


def list_synonyms(session: Session) -> list[SynonymView]:
    """The operators' synonyms, newest first."""
    rows = session.scalars(select(Synonym).order_by(Synonym.id.desc()))
    return [SynonymView(r.id, r.word, r.canonical) for r in rows]


def list_faq(session: Session) -> list[FaqView]:
    """The operators' FAQ entries, newest first."""
    rows = session.scalars(select(FaqEntry).order_by(FaqEntry.id.desc()))
    return [FaqView(r.id, r.question, list(r.targets), r.answer) for r in rows]


log = logging.getLogger(__name__)


def warmer_starter() -> Callable[[Any], Callable[[], None]]:
    """A create_app background starter: builds the assistant's index once, at start, in a
    thread, so that the first question after a start does not wait for it (~3 s here, most of
    it jieba's dictionary). A failure is logged; the first question then builds it."""

    def start(app: Any) -> Callable[[], None]:
        def run() -> None:
            try:
                with app.state.database.sessions() as session:
                    answering.index_for(session)
            except Exception:
                log.exception("assistant: building the index at start failed")

        thread = threading.Thread(target=run, name="assistant-warmer", daemon=True)
        thread.start()
        return lambda: thread.join(timeout=30)

    return start
