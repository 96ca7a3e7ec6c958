"""Understanding a question and ranking the catalog for it: pure, in memory, offline.

A question is folded (full-width, case), its colloquial words are replaced by the catalog's
(the lexicon's synonyms), places and persons are taken out (gazetteer from tongban.regions'
shipped divisions; persons from the lexicon), and the intent rules add words. The rest is cut
into tokens: jieba words, character bigrams, and the pinyin of each bigram (so that a homophone
or a wrong character, 社宝卡 or 公基金, still meets 社保卡 and 公积金), plus ASCII words read as
English (through the lexicon) or as pinyin (split into syllables). Documents are the catalog's
items, its 一件事 bundles (one document per bundle name) and the FAQ; they are ranked with BM25
(rank-bm25's BM25Okapi) with weighted query tokens, FAQ matches pass their score on to the
items they point at, and a question whose best matches are the cases of one ambiguous group
(户口迁移) gets a question back. No network, no model download: jieba's and pypinyin's
dictionaries ship inside their wheels.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from rank_bm25 import BM25Okapi

from tongban.assistant.lexicon import Clarify, Lexicon, fold

# 开个面馆, 开一家店: the measure word between 开/办 and the thing goes (开面馆, 开店).
_MEASURE = re.compile(r"([开办])(?:一)?[个家间]")
_CJK = re.compile(r"[\u3400-\u9fff]+")
_ASCII_WORD = re.compile(r"[a-z][a-z0-9]*")
_SPLIT = re.compile(r"[\s,，。.!！?？、;；:：()（）《》“”\"'‘’…~～·\-—/]+")

# Function words of questions (怎么办, 需要什么): they say nothing about which service.
STOP_WORDS = frozenset(
    [
        "如何",
        "怎么",
        "怎么办",
        "怎样",
        "咋",
        "咋办",
        "咋整",
        "办理",
        "申请",
        "我要",
        "我想",
        "想",
        "要",
        "的",
        "了",
        "在",
        "去",
        "哪里",
        "哪儿",
        "需要",
        "什么",
        "材料",
        "办",
        "一下",
        "可以",
        "能",
        "能不能",
        "吗",
        "呢",
        "啊",
        "呀",
        "吧",
        "我",
        "你",
        "他",
        "她",
        "们",
        "是",
        "有",
        "没有",
        "不",
        "请问",
        "您好",
        "你好",
        "还",
        "又",
        "就",
        "都",
        "也",
        "和",
        "跟",
        "给",
        "把",
        "被",
        "让",
        "这个",
        "那个",
        "这",
        "那",
        "个",
        "现在",
        "已经",
        "应该",
        "得",
        "得了",
        "手续",
        "多少",
        "多久",
        "时候",
        "东西",
        "事",
        "事情",
        "问",
        "问下",
        "请",
        "帮",
        "帮我",
        "一",
        "下",
        "会",
        "过",
        "着",
        "该",
        "如果",
        "的话",
        "自己",
        "办事",
        "政府",
        "带",
        "啥",
    ]
)

# English words that carry nothing about a service.
ENGLISH_STOP = frozenset(
    [
        "how",
        "do",
        "i",
        "can",
        "to",
        "the",
        "a",
        "an",
        "my",
        "for",
        "of",
        "in",
        "at",
        "on",
        "get",
        "is",
        "it",
        "what",
        "where",
        "need",
        "want",
        "apply",
        "please",
        "me",
        "with",
        "from",
        "and",
        "or",
        "be",
    ]
)


@lru_cache(maxsize=1)
def _jieba():  # type: ignore[no-untyped-def]
    import jieba

    jieba.setLogLevel(60)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


@lru_cache(maxsize=200_000)
def _syllables(text: str) -> tuple[str, ...]:
    from pypinyin import lazy_pinyin

    return tuple(s.lower() for s in lazy_pinyin(text, errors="default"))


@lru_cache(maxsize=65_536)
def _cut(text: str) -> tuple[str, ...]:
    return tuple(w for w in _jieba().cut_for_search(text) if w.strip())


# Characters of questions that never start or end a service's name (吗, 呢, 我).
STOP_CHARS = frozenset("的了吗呢啊呀吧么咋啥我你他她们嘛哦哪")
_STOP_RUN = re.compile(
    "|".join(sorted((w for w in STOP_WORDS if len(w) > 1), key=len, reverse=True))
)


def cjk_words(text: str) -> list[str]:
    """jieba's words (two characters or more) of the Chinese runs of a text."""
    return [w for run in _CJK.findall(text) for w in _cut(run) if len(w) > 1]


def cjk_tokens(text: str) -> list[str]:
    """Tokens of Chinese text: jieba words, character bigrams and their pinyin bigrams."""
    out: list[str] = []
    for run in _CJK.findall(_STOP_RUN.sub(" ", text)):
        out.extend(w for w in _cut(run) if len(w) > 1 and w not in STOP_WORDS)
        if len(run) == 1 and run not in STOP_WORDS:
            out.append(run)
        syllables = _syllables(run)
        for i in range(len(run) - 1):
            if run[i] in STOP_CHARS or run[i + 1] in STOP_CHARS:
                continue
            out.append(run[i : i + 2])
            if len(syllables) == len(run):
                out.append("~" + syllables[i] + syllables[i + 1])
    return out


@dataclass(frozen=True, slots=True)
class Doc:
    """One ranked document: an item, a bundle family or a FAQ entry."""

    key: str  # item code, bundle family (BUNDLE-NEWBORN) or faq:<n>
    kind: str  # item | bundle | faq
    name: str
    name_en: str | None
    targets: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Source:
    """What the index is built from: a catalog item or a bundle family."""

    key: str
    kind: str  # item | bundle
    name: str
    name_en: str | None
    keywords: tuple[str, ...]
    description: str
    department: str = ""
    parts: tuple[str, ...] = ()  # a bundle's component item names


@dataclass(frozen=True, slots=True)
class Place:
    """A place named in the question with its role (here, from, to, home)."""

    code: str
    name: str
    role: str


@dataclass
class Understanding:
    """What the question says, before ranking."""

    text: str  # folded
    rewritten: str  # synonyms applied, places and persons taken out
    places: list[Place] = field(default_factory=list)
    persons: list[str] = field(default_factory=list)  # tags: elderly, child, spouse
    intents: list[str] = field(default_factory=list)
    synonyms_used: list[tuple[str, str]] = field(default_factory=list)
    english: bool = False
    prefer_bundle: bool = False
    tokens: dict[str, float] = field(default_factory=dict)
    reading: str = ""  # the rewritten text with the English words in Chinese


@dataclass(frozen=True, slots=True)
class Hit:
    """One ranked result with the words that made it match."""

    key: str
    kind: str  # item | bundle
    name: str
    score: float
    matched: tuple[str, ...]
    via_faq: str | None = None


@dataclass
class Ranking:
    """Ranked results and, for an ambiguous question, the group to ask about."""

    hits: list[Hit]
    understanding: Understanding
    clarify: Clarify | None = None


def _gazetteer(
    rows: Iterable[dict[str, object]],
) -> tuple[dict[str, tuple[str, str]], dict[str, list[tuple[str, str]]]]:
    """Place names (full and short) -> (code, full name), and the ambiguous short names with
    their candidates (南山: 深圳 and 鹤岗 have one; the place named before it decides)."""
    full: dict[str, list[tuple[str, str]]] = {}
    short: dict[str, list[tuple[str, str]]] = {}
    suffixes = (
        "特别行政区",
        "维吾尔自治区",
        "壮族自治区",
        "回族自治区",
        "自治区",
        "自治州",
        "地区",
        "省",
        "市",
        "区",
        "县",
        "盟",
        "旗",
    )
    for row in rows:
        code, name, level = str(row["code"]), str(row["name"]), str(row["level"])
        if name in ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"):
            continue
        full.setdefault(name, []).append((code, name))
        for suffix in suffixes:
            if name.endswith(suffix) and len(name) - len(suffix) >= 2:
                stem = name[: -len(suffix)]
                short.setdefault(stem, []).append((code, name))
                break
        if level == "province" and name.startswith(("内蒙古", "黑龙江")):
            short.setdefault(name[:3], []).append((code, name))
    out: dict[str, tuple[str, str]] = {}
    ambiguous: dict[str, list[tuple[str, str]]] = {}
    # 城关区 is a district of Lanzhou and of a dozen other cities: read under the city named.
    for name, found in full.items():
        if len(found) == 1:
            out[name] = found[0]
        else:
            ambiguous[name] = found
    for stem, found in short.items():
        if stem in out or stem in ambiguous:
            continue
        # 朝阳 is a district of Beijing and a city of Liaoning: a short name is used only when
        # one division has it, or when one of them is a province or prefecture.
        upper = [f for f in found if f[0].endswith("00")]
        if len(found) == 1:
            out[stem] = found[0]
        elif len(upper) == 1:
            out[stem] = upper[0]
        else:
            ambiguous[stem] = found
    return out, ambiguous


class Engine:
    """The index over the catalog and FAQ, and the question reader (immutable once built)."""

    def __init__(
        self,
        *,
        sources: Sequence[Source],
        lexicon: Lexicon,
        regions: Iterable[dict[str, object]],
    ) -> None:
        self.lexicon = lexicon
        self.places, self.ambiguous_places = _gazetteer(regions)
        self._place_re = _alternation([*self.places, *self.ambiguous_places])
        self._synonym_re = _alternation(lexicon.synonyms)
        self._person_re = _alternation(lexicon.persons)
        self.docs: list[Doc] = []
        corpus: list[list[str]] = []
        for s in sources:
            self.docs.append(Doc(key=s.key, kind=s.kind, name=s.name, name_en=s.name_en))
            corpus.append(self._source_tokens(s))
        for n, faq in enumerate(lexicon.faq):
            key = f"faq:{faq.faq_id}" if faq.faq_id is not None else f"faq:seed{n}"
            self.docs.append(
                Doc(key=key, kind="faq", name=faq.question, name_en=None, targets=faq.targets)
            )
            corpus.append(self._text_tokens(self._rewrite(fold(faq.question))[0]) * 2)
        self.bm25 = BM25Okapi(corpus, k1=1.2, b=0.5)
        self.vocabulary = {t for doc in corpus for t in doc}
        self.names = {d.key: d.name for d in self.docs if d.kind != "faq"}

    # --- documents -----------------------------------------------------------------------

    def _text_tokens(self, text: str) -> list[str]:
        return cjk_tokens(text) + [
            "e:" + w for w in _ASCII_WORD.findall(text) if w not in ENGLISH_STOP and len(w) > 1
        ]

    def _source_tokens(self, s: Source) -> list[str]:
        name = fold(s.name)
        tokens = self._text_tokens(name) * 3
        # 户口迁移（夫妻投靠）: the words in brackets name the case; count them as much again.
        for inner in re.findall(r"（(.+?)）", name):
            tokens += self._text_tokens(inner) * 2
        for keyword in s.keywords:
            tokens += self._text_tokens(fold(keyword)) * 2
        tokens += self._text_tokens(fold(s.description))
        tokens += self._text_tokens(fold(s.department))
        for part in s.parts:
            tokens += self._text_tokens(fold(part))
        english = (s.name_en or "").lower()
        tokens += ["e:" + w for w in _ASCII_WORD.findall(english) if w not in ENGLISH_STOP] * 2
        return tokens

    # --- reading a question --------------------------------------------------------------

    def _rewrite(self, text: str) -> tuple[str, list[tuple[str, str]]]:
        used: list[tuple[str, str]] = []
        if self._synonym_re is None:
            return text, used

        def swap(match: re.Match[str]) -> str:
            word = match.group(0)
            target = self.lexicon.synonyms[word]
            used.append((word, target))
            return " " + target + " "

        return self._synonym_re.sub(swap, text), used

    def _take_places(self, text: str) -> tuple[str, list[Place]]:
        found: list[Place] = []
        if self._place_re is None:
            return text, found
        pieces: list[str] = []
        last = 0
        previous_end = -1
        for match in self._place_re.finditer(text):
            inherited: str | None = None
            word = match.group(0)
            if word in self.places:
                code, name = self.places[word]
            else:
                # 深圳南山: the short name of a district is read under the place named before.
                under = [
                    c
                    for c in self.ambiguous_places[word]
                    if any(c[0].startswith(p.code.rstrip("0")) for p in found)
                ]
                if len(under) != 1:
                    continue
                code, name = under[0]
                if found and previous_end == match.start():
                    parent = found.pop()
                    name, inherited = parent.name + name, parent.role
            previous_end = match.end()
            before = text[max(0, match.start() - 4) : match.start()]
            after = text[match.end() : match.end() + 3]
            role = "here"
            if after.startswith("老家") or before.endswith("老家"):
                role = "home"
            if any(before.endswith(w) for w in ("到", "回", "往", "去", "入", "迁至", "落到")):
                role = "to"
            elif before.endswith("从"):
                role = "from"
            role = inherited or role
            found.append(Place(code=code, name=name, role=role))
            pieces.append(text[last : match.start()])
            pieces.append(" ")
            last = match.end()
        pieces.append(text[last:])
        return "".join(pieces), found

    def _ascii_tokens(self, word: str) -> list[tuple[str, float]]:
        if word in ENGLISH_STOP:
            return []
        if word in self.lexicon.english:
            return [(t, 1.0) for t in cjk_tokens(self.lexicon.english[word])]
        out = [("e:" + word, 1.0)] if "e:" + word in self.vocabulary else []
        syllables = _split_pinyin(word, _pinyin_table())
        if syllables and len(syllables) >= 2:
            out += [("~" + a + b, 1.0) for a, b in itertools.pairwise(syllables)]
        return out

    def understand(self, question: str) -> Understanding:
        """Fold, rewrite and tokenize a question; find its places, persons and intents."""
        text = _MEASURE.sub(r"\1", fold(question)[:200])
        rest, places = self._take_places(text)
        persons: list[str] = []
        person_words: list[str] = []
        if self._person_re is not None:
            for match in self._person_re.finditer(rest):
                person = self.lexicon.persons[match.group(0)]
                persons.append(person.tag)
                person_words.extend(person.words)
        rewritten, used = self._rewrite(rest)
        u = Understanding(text=text, rewritten=rewritten, places=places, persons=persons)
        u.synonyms_used = used
        weights: dict[str, float] = {}

        def add(tokens: Iterable[tuple[str, float]]) -> None:
            for token, weight in tokens:
                weights[token] = max(weights.get(token, 0.0), weight)

        add((t, 1.0) for t in cjk_tokens(rewritten))
        add((t, 0.4) for t in cjk_tokens(rest))  # what was said, before the rewriting
        ascii_words = _ASCII_WORD.findall(rewritten)
        u.english = bool(ascii_words) and not _CJK.search(rewritten)
        for word in ascii_words:
            add(self._ascii_tokens(word))
        u.reading = " ".join(
            [
                rewritten,
                *(self.lexicon.english[w] for w in ascii_words if w in self.lexicon.english),
            ]
        )
        if len(ascii_words) > 1 and all(w.isalpha() for w in ascii_words):
            # Pinyin typed syllable by syllable (she bao ka): read it as one word as well.
            add(self._ascii_tokens("".join(ascii_words)))
        for intent in self.lexicon.intents:
            if any(w in text for w in intent.when):
                u.intents.append(intent.name)
                add((t, intent.weight) for w in intent.add for t in cjk_tokens(w))
                if intent.kind == "bundle":
                    u.prefer_bundle = True
        add((t, 0.3) for w in person_words for t in cjk_tokens(w))
        u.tokens = {t: w for t, w in weights.items() if t in self.vocabulary}
        return u

    # --- ranking -------------------------------------------------------------------------

    def rank(self, question: str, *, limit: int = 5) -> Ranking:
        """The best documents for a question, FAQ passed on to its targets, best first."""
        u = self.understand(question)
        scores = [0.0] * len(self.docs)
        matched: list[list[str]] = [[] for _ in self.docs]
        for token, weight in u.tokens.items():
            per_doc = self.bm25.get_scores([token])
            for i, value in enumerate(per_doc):
                if value > 0:
                    scores[i] += weight * float(value)
                    if not token.startswith("~") and len(matched[i]) < 12:
                        matched[i].append(token)
        best: dict[str, Hit] = {}
        faq_best: list[tuple[float, Doc, list[str]]] = []
        for i, doc in enumerate(self.docs):
            score = scores[i]
            if score <= 0:
                continue
            if doc.kind == "faq":
                faq_best.append((score, doc, matched[i]))
                continue
            if doc.kind == "bundle":
                score *= 1.6 if u.prefer_bundle else 0.75
            best[doc.key] = Hit(doc.key, doc.kind, doc.name, score, tuple(matched[i]))
        for score, doc, words in faq_best:
            for n, target in enumerate(doc.targets):
                passed = score * 0.8 * (1.0 - 0.1 * n)
                if target.startswith("BUNDLE-"):
                    passed *= 1.3 if u.prefer_bundle else 1.0
                current = best.get(target)
                if target not in self.names:
                    continue
                if current is None or current.score < passed:
                    best[target] = Hit(
                        target,
                        "bundle" if target.startswith("BUNDLE-") else "item",
                        self.names[target],
                        passed + (current.score * 0.2 if current else 0.0),
                        tuple(words),
                        via_faq=doc.name,
                    )
        hits = sorted(best.values(), key=lambda h: (-h.score, h.key))
        clarify = self._clarify(u, hits)
        return Ranking(hits=hits[:limit], understanding=u, clarify=clarify)

    def _clarify(self, u: Understanding, hits: list[Hit]) -> Clarify | None:
        """Reorder by the words of an ambiguous group's cases; the group when none is named."""
        if not hits:
            return None
        for group in self.lexicon.clarify:
            codes = group.codes()
            if hits[0].key not in codes:
                continue
            counts = {c.code: sum(w in u.text for w in c.words) for c in group.choices}
            top = max(counts.values())
            if top > 0:
                winners = [code for code, n in counts.items() if n == top]
                if len(winners) == 1:
                    chosen = winners[0]
                    ahead = [h for h in hits if h.key == chosen]
                    if not ahead:
                        ahead = [Hit(chosen, "item", self.names.get(chosen, chosen), 0.0, ())]
                    rest = [h for h in hits if h.key != chosen]
                    first = ahead[0]
                    boosted = Hit(
                        first.key,
                        first.kind,
                        first.name,
                        max(first.score, hits[0].score * 1.01),
                        first.matched,
                        first.via_faq,
                    )
                    hits[:] = [boosted, *rest]
                    return None
            others = [h for h in hits[1:4] if h.key in codes]
            if others and others[0].score >= 0.7 * hits[0].score:
                return group
            return None
        return None


def _alternation(words: Iterable[str]) -> re.Pattern[str] | None:
    ordered = sorted({w for w in words if w}, key=len, reverse=True)
    if not ordered:
        return None
    return re.compile("|".join(map(re.escape, ordered)))


@lru_cache(maxsize=1)
def _pinyin_table() -> frozenset[str]:
    """Every toneless pinyin syllable of pypinyin's character table (read once)."""
    from pypinyin import Style
    from pypinyin.constants import PINYIN_DICT
    from pypinyin.style import convert

    out: set[str] = set()
    for value in PINYIN_DICT.values():
        for reading in value.split(","):
            plain = convert(reading, Style.NORMAL, strict=False)
            if plain.isascii() and plain.isalpha():
                out.add(plain.lower())
    return frozenset(out)


def _split_pinyin(word: str, syllables: frozenset[str]) -> list[str] | None:
    """Split toneless pinyin typed without spaces (shebaoka -> she bao ka), longest first."""
    if not word.isalpha() or len(word) < 4:
        return None
    out: list[str] = []
    i = 0
    while i < len(word):
        for size in (6, 5, 4, 3, 2, 1):
            piece = word[i : i + size]
            if len(piece) == size and piece in syllables:
                # Prefer a split that leaves a valid rest (xian -> xian, not xi an).
                out.append(piece)
                i += size
                break
        else:
            return None
    return out
