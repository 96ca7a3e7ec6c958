"""The assistant's pages: the chat (a form that posts and re-renders the conversation, no
JavaScript; the conversation travels in the form, nothing is kept on the server) and the
operators' page of questions that found nothing, where they add synonyms and FAQ entries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Query
from starlette.responses import Response

from tongban.assistant import service as assistant
from tongban.identity import service as identity
from tongban.identity.deps import PageUi
from tongban.platform.db import MAX_ROW_ID, uow
from tongban.platform.errors import Conflict, Invalid
from tongban.platform.web.deps import AppSettings, DbSession, RowId
from tongban.platform.web.rendering import N_, NOTICES, FormState, Ui, add_templates

router = APIRouter()
add_templates(Path(__file__).parent / "templates")

NOTICES.update(
    synonym_added=N_("The word is added: the assistant understands it from now on."),
    faq_added=N_("The FAQ entry is added."),
    unanswered_closed=N_("The question is marked as dealt with."),
)
ALREADY_KNOWN = N_("This word is already known.")
# Field messages of the services, marked for the catalogs.
SERVICE_MESSAGES = (
    N_("Give a word and the catalog's word for it."),
    N_("Check the FAQ entry."),
)
MAX_TURNS = 6


def _history(raw: str) -> list[dict[str, str]]:
    """The earlier turns carried by the form (question and short answer), bounded."""
    try:
        data = json.loads(raw) if raw else []
    except ValueError:
        return []
    if not isinstance(data, list):
        return []
    turns = []
    for turn in data[-MAX_TURNS:]:
        if isinstance(turn, dict):
            turns.append({k: str(turn.get(k, ""))[:300] for k in ("q", "a")})
    return turns


def _home(ui: Ui, session: DbSession, settings: AppSettings) -> str | None:
    actor = ui.actor
    if actor is None:
        return None
    return (
        identity.household_region(session, account_id=actor.account_id, settings=settings)
        or identity.get_account(session, account_id=actor.account_id).region_code
    )


def _chat(
    ui: Ui,
    session: DbSession,
    settings: AppSettings,
    *,
    q: str,
    state: str = "",
    choice: str = "",
    history: list[dict[str, str]] | None = None,
) -> Response:
    turns = list(history or [])
    result = None
    said = q
    if q or choice:
        result = assistant.answer(
            session,
            q=q,
            state=state or None,
            choice=choice or None,
            home_region=_home(ui, session, settings),
            gettext=ui.gettext,
        )
        if choice and not q:
            said = _chosen(choice, result)
    carried = turns + ([{"q": said, "a": _short(result)}] if result else [])
    return ui.render(
        "assistant/chat.html",
        title=ui.gettext("Ask the service assistant"),
        turns=turns,
        said=said,
        result=result,
        hotline=assistant.HOTLINE,
        history=json.dumps(carried[-MAX_TURNS:], ensure_ascii=False),
        why_labels=WHY_LABELS,
    )


def _short(result: assistant.Answer) -> str:
    """What an earlier turn shows of the answer: the question asked back, or the service."""
    if result.ask is not None and result.ask.kind == "choice":
        return result.ask.question
    return result.items[0].name if result.items else ""


def _chosen(choice: str, result: assistant.Answer) -> str:
    """What the person chose, in words: the region's or the service's name."""
    if choice.isdigit() and result.region_name and len(choice) in (6, 12):
        return result.region_name
    names = {s.code: s.name for s in result.items}
    return names.get(choice, choice)


WHY_LABELS = {
    "words": N_("words"),
    "synonym": N_("understood as"),
    "faq": N_("common question"),
    "place": N_("place"),
    "intent": N_("intent"),
}


@router.get("/assistant")
def chat_page(
    ui: PageUi,
    session: DbSession,
    settings: AppSettings,
    q: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """The assistant's chat page (public); `q` answers a question from the search box."""
    return _chat(ui, session, settings, q=q)


@router.post("/assistant")
def chat_turn(
    ui: PageUi,
    session: DbSession,
    settings: AppSettings,
    q: Annotated[str, Form(max_length=200)] = "",
    state: Annotated[str, Form(max_length=2000)] = "",
    choice: Annotated[str, Form(max_length=40)] = "",
    history: Annotated[str, Form(max_length=4000)] = "",
    restart: Annotated[str, Form(max_length=1)] = "",
) -> Response:
    """One turn: the question typed, or the choice answering the question back."""
    if restart:
        return _chat(ui, session, settings, q="")
    return _chat(ui, session, settings, q=q, state=state, choice=choice, history=_history(history))


# --- operators ------------------------------------------------------------------------------


def _operators_page(
    ui: Ui,
    session: DbSession,
    form: FormState,
    *,
    status_code: int = 200,
    picked: int | None = None,
) -> Response:
    actor = ui.require_actor()
    identity.authorize(actor, "assistant.manage")
    rows = assistant.list_unanswered(session)
    chosen = next((r for r in rows if r.id == picked), None)
    if chosen is not None:
        form.values.setdefault("question", chosen.text)
        form.values.setdefault("unanswered", str(chosen.id))
    return ui.render(
        "assistant/unanswered.html",
        title=ui.gettext("Questions the assistant could not answer"),
        rows=rows,
        chosen=chosen,
        synonyms=assistant.list_synonyms(session)[:50],
        faq=assistant.list_faq(session)[:50],
        form=form,
        status_code=status_code,
    )


@router.get("/assistant/unanswered")
def unanswered_page(
    ui: PageUi,
    session: DbSession,
    picked: Annotated[int | None, Query(alias="for", ge=1, le=MAX_ROW_ID)] = None,
) -> Response:
    """The questions that found nothing (anonymised), with forms to teach the assistant;
    `for` fills the forms for one of them (which it closes once taught)."""
    return _operators_page(ui, session, ui.restored_form() or FormState(), picked=picked)


def _refused(ui: Ui, form: FormState, exc: Invalid | Conflict, default: str) -> FormState:
    if isinstance(exc, Invalid) and exc.errors:
        for error in exc.errors:
            form.add(error.field, ui.gettext(exc.detail))
    else:
        form.add(default, ui.gettext(exc.detail))
    return form


@router.post("/assistant/synonyms")
def add_synonym(
    ui: PageUi,
    session: DbSession,
    word: Annotated[str, Form(max_length=40)] = "",
    canonical: Annotated[str, Form(max_length=80)] = "",
    unanswered: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Teach the assistant a word (退休金 means 养老金)."""
    actor = ui.require_actor()
    identity.authorize(actor, "assistant.manage")
    form = FormState(values={"word": word, "canonical": canonical, "unanswered": unanswered})
    try:
        with uow.attempt(session):
            assistant.add_synonym(
                session,
                actor=actor,
                word=word,
                canonical=canonical,
                unanswered_id=_row_id(unanswered),
            )
    except (Invalid, Conflict) as exc:
        return _operators_page(ui, session, _refused(ui, form, exc, "word"), status_code=422)
    return ui.redirect("/assistant/unanswered", notice="synonym_added")


@router.post("/assistant/faq")
def add_faq(
    ui: PageUi,
    session: DbSession,
    question: Annotated[str, Form(max_length=200)] = "",
    targets: Annotated[str, Form(max_length=400)] = "",
    answer: Annotated[str, Form(max_length=1000)] = "",
    unanswered: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Add a FAQ entry pointing at catalog items or bundles."""
    actor = ui.require_actor()
    identity.authorize(actor, "assistant.manage")
    form = FormState(
        values={
            "question": question,
            "targets": targets,
            "answer": answer,
            "unanswered": unanswered,
        }
    )
    codes = [c for c in targets.replace("，", ",").replace(" ", ",").split(",") if c]
    try:
        with uow.attempt(session):
            assistant.add_faq(
                session,
                actor=actor,
                question=question,
                targets=codes,
                answer_text=answer,
                unanswered_id=_row_id(unanswered),
            )
    except (Invalid, Conflict) as exc:
        return _operators_page(ui, session, _refused(ui, form, exc, "question"), status_code=422)
    return ui.redirect("/assistant/unanswered", notice="faq_added")


@router.post("/assistant/unanswered/{unanswered_id}/close")
def close_unanswered(ui: PageUi, session: DbSession, unanswered_id: RowId) -> Response:
    """Mark a question as dealt with."""
    actor = ui.require_actor()
    identity.authorize(actor, "assistant.manage")
    assistant.close_unanswered(session, actor=actor, unanswered_id=unanswered_id)
    return ui.redirect("/assistant/unanswered", notice="unanswered_closed")


def _row_id(value: str) -> int | None:
    return int(value) if value.isdigit() and 0 < int(value) <= MAX_ROW_ID else None
