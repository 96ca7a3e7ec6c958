"""JSON routes of the assistant under /api/v1 (public): one answer, or one turn of a
conversation whose state travels as a token (for phone lines, WeChat, kiosks)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from tongban.assistant import service as assistant
from tongban.identity import service as identity
from tongban.identity.deps import OptionalActor
from tongban.platform.web import i18n
from tongban.platform.web.deps import AppSettings, DbSession

router = APIRouter(tags=["assistant"])


class WhyOut(BaseModel):
    """Why an answer matched."""

    kind: str = Field(description="words | synonym | faq | place | intent")
    value: str


class ItemOut(BaseModel):
    """One ranked answer: a catalog item or a 一件事 bundle."""

    code: str = Field(description="Item code as in the catalog, or bundle code.")
    name: str
    kind: Literal["item", "bundle"]
    score: float
    why: list[WhyOut]
    implementation: str | None = Field(description="The implementation for the region.")
    region: str | None
    guide_url: str = Field(description="The service guide (the source of the answer).")
    apply_url: str | None = Field(description="Apply online, the form pre-filled.")
    help_url: str = Field(description="Ask a clerk at the nearest station to do it (帮办).")
    prefill: dict[str, str]


class ChoiceOut(BaseModel):
    """One choice of a question back."""

    value: str
    label: str


class AskOut(BaseModel):
    """A question back: send the chosen value as `choice` with the `state` token."""

    kind: Literal["choice", "region"]
    question: str
    choices: list[ChoiceOut]


class PlaceOut(BaseModel):
    """A place named in the question."""

    code: str
    name: str
    role: str = Field(description="here | from | to | home")


class AnswerOut(BaseModel):
    """The assistant's answer (built only from the catalog, its guides and the FAQ)."""

    reply: str
    lines: list[tuple[str, str]]
    items: list[ItemOut]
    ask: AskOut | None
    found: bool
    hotline: str
    region: str | None
    region_name: str | None
    places: list[PlaceOut]
    persons: list[str]
    state: str = Field(description="Send back as `state` with the next turn.")


class TurnIn(BaseModel):
    """One turn of a conversation."""

    q: str = Field(default="", max_length=200)
    region: str | None = Field(default=None, max_length=12)
    state: str | None = Field(default=None, max_length=2000)
    choice: str | None = Field(default=None, max_length=40)
    lang: Literal["zh_CN", "en"] = "zh_CN"


def _out(result: assistant.Answer) -> AnswerOut:
    return AnswerOut(
        reply=result.reply,
        lines=result.lines,
        items=[
            ItemOut(
                code=s.code,
                name=s.name,
                kind="bundle" if s.kind == "bundle" else "item",
                score=s.score,
                why=[WhyOut(kind=w.kind, value=w.value) for w in s.why],
                implementation=s.implementation,
                region=s.region_code,
                guide_url=s.guide_url,
                apply_url=s.apply_url,
                help_url=s.help_url,
                prefill=s.prefill,
            )
            for s in result.items
        ],
        ask=AskOut(
            kind="region" if result.ask.kind == "region" else "choice",
            question=result.ask.question,
            choices=[ChoiceOut(value=v, label=label) for v, label in result.ask.choices],
        )
        if result.ask
        else None,
        found=result.found,
        hotline=assistant.HOTLINE,
        region=result.region,
        region_name=result.region_name,
        places=[PlaceOut(code=p.code, name=p.name, role=p.role) for p in result.places],
        persons=result.persons,
        state=result.state,
    )


def _home(session: DbSession, actor: identity.Actor | None, settings: AppSettings) -> str | None:
    if actor is None:
        return None
    return (
        identity.household_region(session, account_id=actor.account_id, settings=settings)
        or identity.get_account(session, account_id=actor.account_id).region_code
    )


def _turn(
    session: DbSession, actor: identity.Actor | None, settings: AppSettings, turn: TurnIn
) -> AnswerOut:
    result = assistant.answer(
        session,
        q=turn.q,
        region=turn.region,
        state=turn.state,
        choice=turn.choice,
        home_region=_home(session, actor, settings),
        gettext=i18n.translations(turn.lang).gettext,
    )
    return _out(result)


@router.get("/assistant/answer", response_model=AnswerOut)
def answer(
    session: DbSession,
    actor: OptionalActor,
    settings: AppSettings,
    q: Annotated[str, Query(max_length=200, description="The question, in plain words.")] = "",
    region: Annotated[str | None, Query(max_length=12, description="Region code.")] = None,
    state: Annotated[str | None, Query(max_length=2000, description="Last turn's state.")] = None,
    choice: Annotated[str | None, Query(max_length=40, description="A choice's value.")] = None,
    lang: Annotated[Literal["zh_CN", "en"], Query()] = "zh_CN",
) -> AnswerOut:
    """Answer a question (public): the best items or bundles first, why, and what to do."""
    turn = TurnIn(q=q, region=region, state=state, choice=choice, lang=lang)
    return _turn(session, actor, settings, turn)


@router.post("/assistant/conversation", response_model=AnswerOut)
def conversation(
    session: DbSession, actor: OptionalActor, settings: AppSettings, turn: TurnIn
) -> AnswerOut:
    """One turn of a conversation (public): the state token of the last answer comes back."""
    return _turn(session, actor, settings, turn)
