"""补正 as 一次性告知: a request is a list of items (checklist lines the official picked, and named
extra items), each with a note; the applicant answers item by item, in as many rounds as they
need (files, or an explanation the official accepts); the request clears, and the clock runs
again, only when every item is answered.

`handling.act` calls these: the `validate_*` functions check a body against the case's current
request before anything changes (Invalid, naming the field), the `apply_*` ones change rows.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.cases.checks import owned_uploads
from tongban.cases.models import Case, CaseMaterial, CaseSupplementItem, Upload
from tongban.cases.offers import find_offer
from tongban.cases.schemas import ActionIn
from tongban.platform.errors import FieldError, Invalid

REQUESTED = "requested"
ANSWERED = "answered"
ACCEPTED = "accepted"


def _invalid(field_name: str, message: str) -> Invalid:
    return Invalid(message, errors=[FieldError(field_name, message)])


def checklist_names(session: Session, case: Case) -> list[str]:
    """The material lines of the case's implementation, in catalog order."""
    if case.implementation_code is None:
        return []
    try:
        offer = find_offer(session, implementation=case.implementation_code, item=None, region=None)
    except Invalid:
        return []
    return [m.name for m in offer.materials]


def current_items(case: Case) -> list[CaseSupplementItem]:
    """The items of the case's latest 补正 request (none before the first)."""
    if not case.supplement_items:
        return []
    latest = max(i.request_no for i in case.supplement_items)
    return [i for i in case.supplement_items if i.request_no == latest]


def is_done(item: CaseSupplementItem) -> bool:
    """An item is answered for good: by a file, or by an explanation the official accepted."""
    return item.state == ACCEPTED or (item.state == ANSWERED and bool(item.files))


def complete(case: Case) -> bool:
    """Every item of the current request is answered (a request without items: legacy)."""
    return all(is_done(i) for i in current_items(case))


def still_missing(case: Case) -> list[str]:
    """The names of the current request's items not answered for good yet."""
    return [i.name for i in current_items(case) if not is_done(i)]


# --- the official's request -------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One line of a request, checked."""

    name: str
    origin: str
    note: str | None


def validate_request(session: Session, case: Case, body: ActionIn) -> list[Line]:
    """The request's lines: checklist lines must be on the checklist, names not repeated."""
    names = checklist_names(session, case)
    lines: list[Line] = []
    if body.items:
        for index, item in enumerate(body.items):
            if item.origin == "checklist" and item.name not in names:
                raise _invalid(
                    f"items[{index}].name",
                    f"{item.name!r} is not on the checklist; ask for it as an extra item.",
                )
            lines.append(Line(item.name, item.origin, item.note))
    else:
        # `missing`: names only; a name on the checklist is that line, any other an extra item.
        for name in body.missing or []:
            lines.append(Line(name, "checklist" if name in names else "extra", None))
    if not lines:
        raise _invalid("items", "List what is missing (补正 must say what to supply).")
    seen: set[str] = set()
    for index, line in enumerate(lines):
        if line.name in seen:
            raise _invalid(f"items[{index}].name", f"{line.name!r} is asked for twice.")
        seen.add(line.name)
    return lines


def apply_request(case: Case, lines: list[Line], *, now: datetime) -> None:
    """Store the request's items (a new request number) and what is missing."""
    request_no = 1 + max((i.request_no for i in case.supplement_items), default=0)
    for position, line in enumerate(lines):
        case.supplement_items.append(
            CaseSupplementItem(
                request_no=request_no,
                position=position,
                name=line.name,
                origin=line.origin,
                note=line.note,
                state=REQUESTED,
                files=[],
                requested_at=now,
            )
        )
    case.missing = [line.name for line in lines]


# --- the applicant's answers --------------------------------------------------------------------


@dataclass
class Answer:
    """One item's answer in this round, checked."""

    item: CaseSupplementItem
    uploads: list[Upload] = field(default_factory=list)
    explanation: str | None = None


def _not_asked(field_name: str, what: str) -> Invalid:
    return _invalid(field_name, f"{what} was not asked for in this 补正 request.")


def validate_answers(
    session: Session, case: Case, body: ActionIn, *, owners: Collection[int] | None
) -> list[Answer]:
    """Each answer names an item of the current request still open, with files the caller
    (or the person they act for) uploaded, or an explanation."""
    items = current_items(case)
    open_items = {i.id: i for i in items if i.state != ACCEPTED}
    answers: dict[int, Answer] = {}
    shas = [sha for a in body.answers for sha in a.files] + [m.sha256 for m in body.materials]
    owned = owned_uploads(session, shas=shas, owners=owners)
    for index, given in enumerate(body.answers):
        item = open_items.get(given.item)
        if item is None:
            raise _not_asked(f"answers[{index}].item", f"Item {given.item}")
        if given.item in answers:
            raise _invalid(f"answers[{index}].item", f"Item {given.item} is answered twice.")
        if not given.files and not given.explanation:
            raise _invalid(
                f"answers[{index}]", f"Item {given.item}: attach a file or write an explanation."
            )
        answer = Answer(item, explanation=given.explanation)
        for n, sha in enumerate(given.files):
            row = owned.get(sha.lower())
            if row is None:
                raise _invalid(f"answers[{index}].files[{n}]", "No such upload; upload it first.")
            answer.uploads.append(row)
        answers[item.id] = answer
    by_name = {i.name: i for i in open_items.values()}
    for index, ref in enumerate(body.materials):
        # Files by material name: the requested item of that name.
        item = by_name.get(ref.name)
        if item is None:
            raise _not_asked(f"materials[{index}].name", repr(ref.name))
        row = owned.get(ref.sha256.lower())
        if row is None:
            raise _invalid(f"materials[{index}].sha256", "No such upload; upload it first.")
        answers.setdefault(item.id, Answer(item)).uploads.append(row)
    if not answers and body.note:
        # A note alone (e.g. "handed in on paper at the counter") explains every open item;
        # the official accepts it or asks again.
        for item in open_items.values():
            if not is_done(item):
                answers[item.id] = Answer(item, explanation=body.note)
    if not answers:
        raise _invalid("materials", "Attach the missing materials (or explain in a note).")
    return list(answers.values())


def apply_answers(case: Case, answers: list[Answer], *, actor_id: int | None, now: datetime) -> int:
    """Attach the round's files (as case materials of the item's name), keep explanations;
    returns the round number."""
    round_no = 1 + max((m.round for m in case.materials), default=0)
    for answer in answers:
        item = answer.item
        files = list(item.files or [])
        for row in answer.uploads:
            case.materials.append(
                CaseMaterial(
                    name=item.name,
                    sha256=row.sha256,
                    media_type=row.media_type,
                    size=row.size,
                    pages=row.pages,
                    round=round_no,
                    added_by_id=actor_id,
                    added_at=now,
                )
            )
            if row.sha256 not in files:
                files.append(row.sha256)
        item.files = files
        if answer.explanation:
            item.explanation = answer.explanation
        item.state = ANSWERED
        item.answered_at = now
        item.answered_by_id = actor_id
    case.missing = still_missing(case)
    return round_no


def answers_data(case: Case, answers: list[Answer], round_no: int) -> dict[str, Any]:
    """Codes and counts of a round, for the event's public `data`."""
    return {
        "round": round_no,
        "answered_count": len(answers),
        "file_count": sum(len(a.uploads) for a in answers),
        "explained_count": sum(1 for a in answers if a.explanation),
        "open_count": len(still_missing(case)),
    }


def answers_private(answers: list[Answer]) -> list[dict[str, Any]]:
    """What a round said (names, files, explanations): the event's `private` part."""
    return [
        {
            "item": a.item.id,
            "name": a.item.name,
            "files": [u.sha256 for u in a.uploads],
            **({"explanation": a.explanation} if a.explanation else {}),
        }
        for a in answers
    ]


# --- the official's review -----------------------------------------------------------------------


@dataclass(frozen=True)
class Review:
    """One item's review, checked."""

    item: CaseSupplementItem
    decision: str
    note: str | None


def validate_reviews(case: Case, body: ActionIn) -> list[Review]:
    """Each review names an answered item of the current request (accept) or an answered or
    accepted one (ask again)."""
    items = {i.id: i for i in current_items(case)}
    reviews: list[Review] = []
    seen: set[int] = set()
    for index, given in enumerate(body.reviews):
        item = items.get(given.item)
        if item is None:
            raise _not_asked(f"reviews[{index}].item", f"Item {given.item}")
        if given.item in seen:
            raise _invalid(f"reviews[{index}].item", f"Item {given.item} is reviewed twice.")
        seen.add(given.item)
        if item.state == REQUESTED:
            raise _invalid(
                f"reviews[{index}].item", f"Item {given.item} has not been answered yet."
            )
        if given.decision == "accept" and item.state != ANSWERED:
            raise _invalid(f"reviews[{index}].decision", f"Item {given.item} is accepted already.")
        reviews.append(Review(item, given.decision, given.note))
    if not reviews:
        raise _invalid("reviews", "Accept an answer or ask for an item again.")
    return reviews


def apply_reviews(case: Case, reviews: list[Review], *, now: datetime) -> None:
    """Accept answers, or put items back to `requested` (with the new note, files cleared)."""
    for review in reviews:
        item = review.item
        item.reviewed_at = now
        if review.decision == "accept":
            item.state = ACCEPTED
        else:
            item.state = REQUESTED
            item.files = []
            item.explanation = None
            if review.note:
                item.note = review.note
    case.missing = still_missing(case)


def reviews_data(case: Case, reviews: list[Review]) -> dict[str, Any]:
    """Counts of a review, for the event's public `data`."""
    return {
        "accepted_count": sum(1 for r in reviews if r.decision == "accept"),
        "again_count": sum(1 for r in reviews if r.decision == "again"),
        "open_count": len(still_missing(case)),
    }


def reviews_private(reviews: list[Review]) -> list[dict[str, Any]]:
    """What a review said: the event's `private` part."""
    return [
        {
            "item": r.item.id,
            "name": r.item.name,
            "decision": r.decision,
            **({"note": r.note} if r.note else {}),
        }
        for r in reviews
    ]


def progress(session: Session, *, numbers: Collection[str]) -> dict[str, tuple[int, int, int]]:
    """For cases waiting for 补正: (items done, items asked, answers the official must check)
    of each case's latest request, by case number."""
    if not numbers:
        return {}
    rows = session.execute(
        select(Case.number, CaseSupplementItem)
        .join(CaseSupplementItem, CaseSupplementItem.case_id == Case.id)
        .where(Case.number.in_(sorted(numbers)))
    ).all()
    latest: dict[str, int] = {}
    for number, item in rows:
        latest[number] = max(latest.get(number, 0), item.request_no)
    result: dict[str, tuple[int, int, int]] = {}
    for number, item in rows:
        if item.request_no != latest[number]:
            continue
        done, total, to_check = result.get(number, (0, 0, 0))
        result[number] = (
            done + is_done(item),
            total + 1,
            to_check + (item.state == ANSWERED and not item.files),
        )
    return result
