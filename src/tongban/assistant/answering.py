"""Answering: rank, pick the region, build the reply ONLY from the catalog's implementation
(materials, fees, time limits, channels, address), the bundle, or an operator's FAQ text; ask
back when the question is ambiguous or the region is unknown; carry the conversation in a
state token (no server-side conversation: the page's form and the API hand it back)."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tongban.assistant import lexicon as lexicons
from tongban.assistant.engine import Engine, Hit, Place, Source, cjk_words
from tongban.assistant.models import FaqEntry, Synonym
from tongban.catalog import service as catalog
from tongban.platform.errors import AppError, NotFound
from tongban.regions import service as regions

Gettext = Callable[[str], str]
HOTLINE = "12345"
# Below this BM25 score the best match is too weak to show as an answer (measured on the
# evaluation set: correct answers score 8 and more; small talk scores 0-3).
MIN_SCORE = 5.0
MAX_QUESTION = 200
BUNDLE_PREFIX = "BUNDLE-"


def N_(message: str) -> str:
    """Mark a message for the catalogs (translated when the reply is built)."""
    return message


# Texts of the replies (translated by the caller's gettext).
T = {
    "bring": N_("What to bring"),
    "shared": N_("No need to bring (the departments share it)"),
    "fees": N_("Fees"),
    "free": N_("Free of charge"),
    "limit": N_("Time limit"),
    "on_the_spot": N_("done on the spot"),
    "days": N_("%(n)s working days"),
    "natural_days": N_("%(n)s days"),
    "how": N_("How"),
    "where": N_("Where"),
    "helpers": N_("Help"),
    "clerk": N_("A clerk at the nearest service station can do it for you (帮办)."),
    "relative": N_("A relative can apply for them once authorised (代办)."),
    "cross": N_("It can be filed from any place in the country (跨省通办)."),
    "nothing": N_(
        "I found no service for this question. Call the %(hotline)s hotline or ask a clerk "
        "at a service station; your question is passed on so that I learn it."
    ),
    "empty": N_("Ask me about a service in your own words, for example: 社保卡丢了怎么办."),
    "where_ask": N_("Where do you want to do it?"),
    "bundle": N_("One application for all of these: %(parts)s."),
    "faq": N_("Answer written by the service centre"),
    "source": N_("From the service guide of %(authority)s"),
}


@dataclass(frozen=True)
class Why:
    """One reason an answer matched: words, a colloquial word, a FAQ entry, a place, a person."""

    kind: str  # words | synonym | faq | place | person | intent
    value: str


@dataclass
class Suggestion:
    """One ranked answer: an item or a 一件事 bundle, with links to act on it."""

    code: str
    name: str
    kind: str  # item | bundle
    score: float
    why: list[Why] = field(default_factory=list)
    implementation: str | None = None
    region_code: str | None = None
    guide_url: str = ""
    apply_url: str | None = None
    help_url: str = ""
    prefill: dict[str, str] = field(default_factory=dict)


@dataclass
class Ask:
    """A question back, with its choices (value, label)."""

    kind: str  # choice | region
    question: str
    choices: list[tuple[str, str]]


@dataclass
class Answer:
    """The assistant's answer to one turn of a conversation."""

    question: str
    reply: str
    lines: list[tuple[str, str]]
    items: list[Suggestion]
    ask: Ask | None
    found: bool
    region: str | None
    region_name: str | None
    state: str
    places: list[Place] = field(default_factory=list)
    persons: list[str] = field(default_factory=list)
    intents: list[str] = field(default_factory=list)
    faq_answer: str | None = None


# --- the index, per catalog revision and lexicon version ---------------------------------


@dataclass(frozen=True)
class Index:
    """The engine with what choosing an implementation or a bundle needs, without queries:
    each item's implementations (region, code) and each bundle family's bundles."""

    engine: Engine
    implementations: dict[str, list[tuple[str, str]]]
    bundles: dict[str, list[tuple[str, str]]]


_lock = threading.Lock()
_indexes: dict[tuple[str | None, str], Index] = {}


def _lexicon_version(session: Session) -> str:
    parts = []
    for model in (Synonym, FaqEntry):
        count, top = session.execute(select(func.count(), func.max(model.id))).one()
        parts.append(f"{count}.{top or 0}")
    return ":".join(parts)


def _build(session: Session, version: str) -> Index:
    """Read the catalog once: items with descriptions and implementations, bundle families."""
    hits, total = catalog.search_items(session, limit=100)
    while len(hits) < total:
        more, _total = catalog.search_items(session, limit=100, offset=len(hits))
        if not more:
            break
        hits += more
    sources: list[Source] = []
    implementations: dict[str, list[tuple[str, str]]] = {}
    for hit in hits:
        item = catalog.get_item(session, code=hit.code)
        implementations[hit.code] = [(i.region_code, i.code) for i in item.implementations]
        sources.append(
            Source(
                key=hit.code,
                kind="item",
                name=hit.name,
                name_en=hit.name_en,
                keywords=tuple(hit.keywords),
                description=item.description or "",
                department=hit.department,
            )
        )
    bundles: dict[str, list[tuple[str, str]]] = {}
    first: dict[str, catalog.BundleRead] = {}
    for bundle in catalog.list_bundles(session):
        family = family_of(bundle.code)
        bundles.setdefault(family, []).append((bundle.region_code, bundle.code))
        first.setdefault(family, bundle)
    for key, bundle in first.items():
        sources.append(
            Source(
                key=key,
                kind="bundle",
                name=bundle.name,
                name_en=bundle.name_en,
                keywords=(),
                description=bundle.description or "",
                parts=tuple(c.item_name for c in bundle.components),
            )
        )
    engine = Engine(
        sources=sources,
        lexicon=operator_lexicon(session, version),
        regions=regions.builtin_rows(),
    )
    return Index(engine=engine, implementations=implementations, bundles=bundles)


def index_for(session: Session) -> Index:
    """The index of the current catalog revision and lexicon (built once, kept in memory)."""
    key = (catalog.current_revision(session), _lexicon_version(session))
    index = _indexes.get(key)
    if index is not None:
        return index
    with _lock:
        index = _indexes.get(key)
        if index is None:
            index = _build(session, key[1])
            _indexes.clear()
            _indexes[key] = index
    return index


def engine_for(session: Session) -> Engine:
    """The engine of the current catalog revision and lexicon."""
    return index_for(session).engine


def family_of(code: str) -> str:
    """A bundle's family (BUNDLE-NEWBORN-350200 -> BUNDLE-NEWBORN); other codes unchanged."""
    if code.startswith(BUNDLE_PREFIX) and code.count("-") >= 2:
        return code.rsplit("-", 1)[0]
    return code


def operator_lexicon(session: Session, version: str) -> lexicons.Lexicon:
    """The seed lexicon with the operators' synonyms and FAQ entries."""
    synonyms = {row.word: row.canonical for row in session.scalars(select(Synonym))}
    faq = [
        lexicons.Faq(
            question=row.question, targets=tuple(row.targets), answer=row.answer, faq_id=row.id
        )
        for row in session.scalars(select(FaqEntry).order_by(FaqEntry.id))
    ]
    return lexicons.build(extra_synonyms=synonyms, extra_faq=faq, version=version)


# --- the conversation state -----------------------------------------------------------------


def encode_state(data: dict[str, Any]) -> str:
    """The conversation state as a URL-safe token (what was asked, where, what is pending)."""
    raw = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_state(token: str | None) -> dict[str, Any]:
    """The state of a token; an empty state for a missing or damaged one."""
    if not token or len(token) > 2000:
        return {}
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw.decode())
    except (ValueError, UnicodeDecodeError):
        return {}
    if not isinstance(data, dict):
        return {}
    out: dict[str, Any] = {}
    if isinstance(data.get("q"), str):
        out["q"] = data["q"][:MAX_QUESTION]
    for key in ("r", "k", "c"):
        if isinstance(data.get(key), str) and len(data[key]) <= 40:
            out[key] = data[key]
    return out


# --- regions ------------------------------------------------------------------------------


def _region_name(session: Session, code: str | None) -> str | None:
    if not code:
        return None
    try:
        return regions.get(session, code=code).name
    except AppError:
        return None


def _valid_region(session: Session, code: str | None) -> str | None:
    if not code:
        return None
    try:
        return regions.get(session, code=code).code
    except AppError:
        return None


def _within(ancestor: str, code: str) -> bool:
    try:
        return bool(regions.contains(ancestor=ancestor, code=code))
    except AppError:
        return False


def _province(code: str) -> str:
    return code[:2] + "0000"


# --- building the reply ---------------------------------------------------------------------


def _limit_text(limit: Any, case_type: str, _: Gettext) -> str:
    if case_type == "即办件":
        return _(T["on_the_spot"])
    if limit.value is None:
        return ""
    key = "days" if limit.unit == "working_days" else "natural_days"
    return _(T[key]) % {"n": limit.value}


def _implementation_lines(
    impl: catalog.ImplementationRead, persons: list[str], _: Gettext
) -> list[tuple[str, str]]:
    bring = [
        m.name + (f"（{m.condition}）" if m.condition else "")
        for m in impl.materials
        if m.source == "applicant" and m.required in ("yes", "conditional")
    ]
    shared = [m.name for m in impl.materials if m.source == "government"]
    lines: list[tuple[str, str]] = []
    if bring:
        lines.append((_(T["bring"]), "、".join(bring)))
    if shared:
        lines.append((_(T["shared"]), "、".join(shared)))
    fees = "；".join(f"{f.name} {f.amount:g} 元" for f in impl.fees) or _(T["free"])
    lines.append((_(T["fees"]), fees))
    limit = _limit_text(impl.promised_limit, impl.case_type, _)
    if limit:
        lines.append((_(T["limit"]), limit))
    lines.append((_(T["how"]), "、".join(impl.handling_forms)))
    where = "，".join(x for x in (impl.authority_name, impl.address, impl.hours, impl.phone) if x)
    lines.append((_(T["where"]), where))
    helpers = [_(T["clerk"])]
    if "elderly" in persons or "child" in persons:
        helpers.append(_(T["relative"]))
    if impl.tongban_range in ("跨省", "全国"):
        helpers.append(_(T["cross"]))
    lines.append((_(T["helpers"]), " ".join(helpers)))
    return lines


def _prefill(
    engine: Engine, question: str, places: list[Place], impl: catalog.ImplementationRead
) -> dict[str, str]:
    """Form values the question already gives: places by role, choices by their words."""
    by_role: dict[str, str] = {}
    for place in places:
        by_role.setdefault(place.role, place.name)
    values: dict[str, str] = {}
    lex = engine.lexicon
    for spec in impl.form_fields:
        name = str(spec.get("name", ""))
        if spec.get("type") == "choice":
            for choice in spec.get("choices") or []:
                hints = lex.fill_choices.get(choice, ())
                if choice in question or any(h in question for h in hints):
                    values[name] = choice
                    break
        elif name in lex.fill_places:
            for role in lex.fill_places[name]:
                if role in by_role:
                    values[name] = by_role[role]
                    break
    return values


def _why(hit: Hit, u: Any) -> list[Why]:
    out = [Why("synonym", f"{a} → {b}") for a, b in u.synonyms_used]
    # Words as people read them: jieba's words of the question, not the character pairs.
    said = set(cjk_words(u.rewritten))
    words = [w for w in hit.matched if w in said]
    english = [w[2:] for w in hit.matched if w.startswith("e:")]
    if words or english:
        out.append(Why("words", "、".join(dict.fromkeys(words + english))))
    if hit.via_faq:
        out.append(Why("faq", hit.via_faq))
    out += [Why("place", p.name) for p in u.places]
    return out


def _help_url(region: str | None, topic: str) -> str:
    query = {"topic": topic[:100]}
    if region:
        query["region"] = region
    return "/help?" + urlencode(query)


def _apply_url(impl_code: str, values: dict[str, str]) -> str:
    query = urlencode({f"form.{k}": v for k, v in values.items()})
    return f"/apply/{impl_code}" + (f"?{query}" if query else "")


def _pick_region(
    *, explicit: str | None, places: list[Place], home: str | None, remembered: str | None
) -> str | None:
    if explicit:
        return explicit
    for role in ("here", "from"):
        for place in places:
            if place.role == role:
                return place.code
    if home:
        return home
    if remembered:
        return remembered
    for place in places:
        return place.code
    return None


def _serving(places: list[tuple[str, str]], region: str | None) -> tuple[str | None, list[str]]:
    """Of (region, code) pairs: the code serving `region` (it or its nearest ancestor, or
    the only one inside it), else the region codes to choose from (provinces first)."""
    if region:
        above = set(regions.ancestor_codes(region)) | {region}
        serving = sorted((p for p in places if p[0] in above), key=lambda p: -len(p[0].rstrip("0")))
        if serving:
            return serving[0][1], []
    inside = [p for p in places if region and _within(region, p[0])]
    if len(inside) == 1:
        return inside[0][1], []
    if inside:
        return None, sorted({p[0] for p in inside})
    provinces = sorted({_province(p[0]) for p in places})
    if len(provinces) == 1 and len(places) > 1:
        return None, sorted({p[0] for p in places})
    if len(places) == 1:
        return places[0][1], []
    return None, provinces


def _region_choices(session: Session, codes: list[str]) -> list[tuple[str, str]]:
    return [(c, _region_name(session, c) or c) for c in codes]


def answer(
    session: Session,
    *,
    q: str,
    region: str | None = None,
    state: str | None = None,
    choice: str | None = None,
    home_region: str | None = None,
    gettext: Gettext = lambda s: s,
    limit: int = 5,
) -> Answer:
    """One turn: the question (or the choice answering the last question back) -> an answer."""
    _ = gettext
    q = (q or "").strip()[:MAX_QUESTION]
    choice = (choice or "").strip()[:40] or None
    remembered = decode_state(state)
    pending = remembered.get("k")
    asked = remembered.get("q", "")
    forced: str | None = None
    chosen_region = _valid_region(session, region)
    if pending and choice:
        q = asked
        if pending == "choice":
            forced = choice
        elif pending == "region":
            chosen_region = _valid_region(session, choice) or chosen_region
            forced = remembered.get("c")
    elif pending and q and asked:
        q = f"{asked} {q}"[:MAX_QUESTION]
        if pending == "region":
            forced = remembered.get("c")
    if not q:
        return Answer(
            question="",
            reply=_(T["empty"]),
            lines=[],
            items=[],
            ask=None,
            found=False,
            region=chosen_region,
            region_name=_region_name(session, chosen_region),
            state=encode_state({}),
        )
    index = index_for(session)
    engine = index.engine
    ranking = engine.rank(q, limit=limit)
    u = ranking.understanding
    hits = ranking.hits
    if forced:
        ahead = [h for h in hits if h.key == forced]
        if not ahead and forced in engine.names:
            kind = "bundle" if forced.startswith(BUNDLE_PREFIX) else "item"
            ahead = [Hit(forced, kind, engine.names[forced], MIN_SCORE, ())]
        hits = ahead + [h for h in hits if h.key != forced]
    target = _pick_region(
        explicit=chosen_region,
        places=u.places,
        home=_valid_region(session, home_region),
        remembered=_valid_region(session, remembered.get("r")),
    )
    found = bool(hits) and (hits[0].score >= MIN_SCORE or forced is not None)
    base = {"q": q, "r": target} if target else {"q": q}
    if not found:
        return Answer(
            question=q,
            reply=_(T["nothing"]) % {"hotline": HOTLINE},
            lines=[],
            items=[],
            ask=None,
            found=False,
            region=target,
            region_name=_region_name(session, target),
            state=encode_state(base),
            places=u.places,
            persons=u.persons,
            intents=u.intents,
        )
    items = [_suggest(index, h, u, target, top=n == 0) for n, h in enumerate(hits)]
    top = items[0]
    ask: Ask | None = None
    if ranking.clarify is not None and not forced:
        group = ranking.clarify
        ask = Ask("choice", group.question, [(c.code, c.label) for c in group.choices])
        state_data = base | {"k": "choice"}
    else:
        state_data = base | {"c": top.code}
    lines: list[tuple[str, str]] = []
    reply_parts = [top.name]
    faq_answer = _faq_answer(engine, hits[0])
    if ask is None:
        lines, region_ask = _details(session, index, top, u, q, target, _)
        if region_ask is not None:
            ask = region_ask
            state_data = base | {"k": "region", "c": top.code}
        if faq_answer:
            lines.insert(0, (_(T["faq"]), faq_answer))
    if ask is not None:
        reply_parts.append(ask.question)
    reply_parts += [f"{label}：{text}" for label, text in lines]
    return Answer(
        question=q,
        reply="\n".join(reply_parts),
        lines=lines,
        items=items,
        ask=ask,
        found=True,
        region=top.region_code or target,
        region_name=_region_name(session, top.region_code or target),
        state=encode_state(state_data),
        places=u.places,
        persons=u.persons,
        intents=u.intents,
        faq_answer=faq_answer,
    )


def _faq_answer(engine: Engine, hit: Hit) -> str | None:
    if not hit.via_faq:
        return None
    for faq in engine.lexicon.faq:
        if faq.question == hit.via_faq and faq.answer:
            return faq.answer
    return None


def _suggest(index: Index, hit: Hit, u: Any, region: str | None, *, top: bool) -> Suggestion:
    """A ranked answer with its links; the implementation (or bundle) of the region."""
    suggestion = Suggestion(
        code=hit.key, name=hit.name, kind=hit.kind, score=round(hit.score, 2), why=_why(hit, u)
    )
    suggestion.help_url = _help_url(region, hit.name)
    if hit.kind == "bundle":
        code, _codes = _serving(index.bundles.get(hit.key, []), region)
        if code is None and region:
            # A bundle of the city serves its districts; a district's own one serves it.
            near = [b for b in index.bundles.get(hit.key, []) if _within(region, b[0])]
            code = near[0][1] if len(near) == 1 else None
        if code is not None:
            suggestion.code = code
            suggestion.region_code = dict((c, r) for r, c in index.bundles[hit.key])[code]
            suggestion.guide_url = f"/bundles/{code}"
            suggestion.apply_url = f"/bundles/{code}/apply"
        else:
            suggestion.guide_url = "/search?" + urlencode({"q": hit.name})
        return suggestion
    code, _codes = _serving(index.implementations.get(hit.key, []), region)
    suggestion.guide_url = f"/services/{hit.key}"
    if code is None:
        return suggestion
    suggestion.implementation = code
    suggestion.region_code = code.split("-", 1)[0]
    suggestion.guide_url = f"/guide/{code}"
    if not top:
        suggestion.apply_url = _apply_url(code, {})
    return suggestion


def _details(
    session: Session,
    index: Index,
    top: Suggestion,
    u: Any,
    q: str,
    region: str | None,
    _: Gettext,
) -> tuple[list[tuple[str, str]], Ask | None]:
    """The reply's lines for the top answer (its form pre-filled), or where to do it."""
    if top.kind == "bundle":
        if top.region_code is None:
            _code, codes = _serving(index.bundles.get(family_of(top.code), []), None)
            return [], Ask("region", _(T["where_ask"]), _region_choices(session, codes))
        bundle = catalog.get_bundle(session, code=top.code)
        parts = "、".join(c.item_name for c in bundle.components)
        lines = [(bundle.name, _(T["bundle"]) % {"parts": parts})]
        if bundle.promised_limit and bundle.promised_limit.value:
            lines.append((_(T["limit"]), _(T["days"]) % {"n": bundle.promised_limit.value}))
        lines.append((_(T["helpers"]), _(T["clerk"])))
        return lines, None
    if top.implementation is None:
        _code, codes = _serving(index.implementations.get(top.code, []), region)
        return [], Ask("region", _(T["where_ask"]), _region_choices(session, codes))
    try:
        impl = catalog.get_implementation(session, code=top.implementation)
    except NotFound:
        return [], None
    top.prefill = _prefill(index.engine, f"{q} {u.reading}", u.places, impl)
    top.apply_url = _apply_url(impl.code, top.prefill)
    lines = _implementation_lines(impl, u.persons, _)
    lines.insert(0, (_(T["source"]) % {"authority": impl.authority_name}, ""))
    return lines, None
