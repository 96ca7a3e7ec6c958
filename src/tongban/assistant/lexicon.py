"""The assistant's lexicon: the seed YAML shipped in the package plus what operators added
(synonyms and FAQ entries in the database). Pure data; no database access here."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

PLACE_ROLES = ("here", "from", "to", "home")


@dataclass(frozen=True, slots=True)
class Person:
    """A person named in a question (我爸): the tag the answer uses and the words it implies."""

    tag: str
    words: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Intent:
    """A rule of the intent layer: words that, when present, add words or prefer a kind."""

    name: str
    when: tuple[str, ...]
    add: tuple[str, ...] = ()
    kind: str | None = None
    weight: float = 0.5


@dataclass(frozen=True, slots=True)
class Choice:
    """One case of an ambiguous question: the item it means and the words that name it."""

    code: str
    label: str
    words: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Clarify:
    """A question with several answers (户口迁移): the question asked back and its choices."""

    name: str
    question: str
    choices: tuple[Choice, ...]

    def codes(self) -> frozenset[str]:
        """The item codes of the group."""
        return frozenset(c.code for c in self.choices)


@dataclass(frozen=True, slots=True)
class Faq:
    """A question answered by pointing at catalog items or bundle families."""

    question: str
    targets: tuple[str, ...]
    answer: str = ""
    faq_id: int | None = None  # set for the operators' entries


@dataclass(frozen=True)
class Lexicon:
    """Everything the assistant knows about how people ask, seed and operators' together."""

    synonyms: dict[str, str]
    english: dict[str, str]
    persons: dict[str, Person]
    here_words: tuple[str, ...]
    there_words: tuple[str, ...]
    intents: tuple[Intent, ...]
    clarify: tuple[Clarify, ...]
    fill_places: dict[str, tuple[str, ...]]
    fill_choices: dict[str, tuple[str, ...]]
    faq: tuple[Faq, ...]
    version: str = "seed"
    operator_synonyms: dict[str, str] = field(default_factory=dict)


def fold(text: str) -> str:
    """Full-width to half-width, lower case, without spaces at the ends (NFKC)."""
    return unicodedata.normalize("NFKC", text).lower().strip()


@lru_cache(maxsize=1)
def seed_document() -> dict[str, Any]:
    """The shipped lexicon.yaml as parsed YAML (read once)."""
    text = resources.files("tongban.assistant.data").joinpath("lexicon.yaml").read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def build(
    *,
    extra_synonyms: dict[str, str] | None = None,
    extra_faq: list[Faq] | None = None,
    version: str = "seed",
) -> Lexicon:
    """The seed lexicon merged with operators' synonyms and FAQ entries."""
    doc = seed_document()
    synonyms = {fold(k): fold(v) for k, v in (doc.get("synonyms") or {}).items()}
    operator = {fold(k): fold(v) for k, v in (extra_synonyms or {}).items() if fold(k)}
    synonyms.update(operator)
    places = doc.get("places") or {}
    return Lexicon(
        synonyms=synonyms,
        english={fold(k): v for k, v in (doc.get("english") or {}).items()},
        persons={
            k: Person(tag=v["tag"], words=tuple(v.get("words") or ()))
            for k, v in (doc.get("persons") or {}).items()
        },
        here_words=tuple(places.get("here") or ()),
        there_words=tuple(places.get("there") or ()),
        intents=tuple(
            Intent(
                name=i["name"],
                when=tuple(i["when"]),
                add=tuple(i.get("add") or ()),
                kind=i.get("kind"),
                weight=float(i.get("weight", 0.5)),
            )
            for i in doc.get("intents") or ()
        ),
        clarify=tuple(
            Clarify(
                name=c["name"],
                question=c["question"],
                choices=tuple(
                    Choice(code=str(x["code"]), label=x["label"], words=tuple(x.get("words") or ()))
                    for x in c["choices"]
                ),
            )
            for c in doc.get("clarify") or ()
        ),
        fill_places={k: tuple(v) for k, v in (doc.get("fill_places") or {}).items()},
        fill_choices={k: tuple(v) for k, v in (doc.get("fill_choices") or {}).items()},
        faq=tuple(
            Faq(question=f["question"], targets=tuple(str(t) for t in f["targets"]))
            for f in doc.get("faq") or ()
        )
        + tuple(extra_faq or ()),
        version=version,
        operator_synonyms=operator,
    )
