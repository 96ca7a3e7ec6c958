"""Chinese search over the catalog: an in-process index per catalog revision.

Design (measured in bench/catalog_search.py): terms are built once, at import time
(`build_terms`: jieba search-mode words, abbreviations, full pinyin, pinyin initials and first
letters), and stored in `catalog_items.search_terms`. A search reads the current revision token
(one indexed row) and, if this process has no index for it yet, loads every item's terms and
implementation regions in two queries and builds an inverted index kept in memory. Queries then
never touch the database: ranking, region/range filters, counting and paging run over a few
thousand small records in well under a millisecond to a few milliseconds.

Why not SQL alone: the ranking (exact name > name prefix > name contains > keyword > pinyin >
body text), abbreviation matching (社保卡 in 社会保障卡) and per-item implementation counts
under a region filter need either LIKE '%q%' scans plus several GROUP BYs per query or
dialect-specific full-text search (SQLite FTS5 vs PostgreSQL tsvector, neither of which
segments Chinese). The in-process index is identical on both databases, and each app worker
rebuilds it only when an import changed the catalog.
"""

from __future__ import annotations

import builtins
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.catalog.models import (
    BasicItem,
    CatalogRevision,
    Implementation,
    ItemType,
    TongbanRange,
)
from tongban.platform import heap
from tongban.platform.db.facts import SharedFact
from tongban.platform.errors import AppError, FieldError, Invalid, NotFound
from tongban.regions import service as regions

_ENGLISH_WORD = re.compile(r"[a-z0-9]+")

# Everyday abbreviations of official terms (社保卡 for 社会保障卡): a citizen types the short
# form, the catalog uses the long one. Items whose name or keywords contain a long form get the
# short forms as search terms, so the short form and its pinyin initials rank like a keyword.
ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "社会保障卡": ("社保卡",),
    "电子社会保障卡": ("电子社保卡",),
    "社会保险": ("社保",),
    "基本医疗保险": ("医保",),
    "医疗保险": ("医保",),
    "基本养老保险": ("养老保险", "养老金"),
    "住房公积金": ("公积金",),
    "居民身份证": ("身份证",),
    "机动车驾驶证": ("驾驶证", "驾照"),
    "出入境证件": ("护照", "港澳通行证"),
    "无犯罪记录证明": ("无犯罪证明",),
    "户口迁移": ("迁户口",),
    "户籍": ("户口",),
    "异地就医": ("异地医保",),
    "失业登记": ("失业",),
    "不动产": ("房产",),
    "市场主体登记": ("营业执照", "开公司"),
    "出生医学证明": ("出生证",),
}

# Words that carry no meaning in a query about a service (如何办理社保卡 means 社保卡).
STOP_WORDS = frozenset(
    [
        "如何",
        "怎么",
        "怎样",
        "办理",
        "申请",
        "我要",
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
    ]
)

_jieba_lock = threading.Lock()
_jieba_ready = False


@lru_cache(maxsize=65536)
def _cut(text: str) -> tuple[str, ...]:
    """jieba search-mode words; the dictionary loads once, lazily and quietly (~1 s)."""
    global _jieba_ready
    import jieba

    if not _jieba_ready:
        with _jieba_lock:
            if not _jieba_ready:
                jieba.setLogLevel(60)
                jieba.initialize()
                heap.settle()  # the dictionary is kept for the process's life
                _jieba_ready = True
    return tuple(w.strip() for w in jieba.cut_for_search(text) if w.strip())


@lru_cache(maxsize=65536)
def _pinyin_forms(text: str) -> tuple[str, ...]:
    """Full pinyin, initials (zh/ch/sh kept: 社保卡 -> shbk) and first letters (sbk)."""
    from pypinyin import lazy_pinyin

    full = [syllable.lower() for syllable in lazy_pinyin(text, errors="ignore")]
    if not full:
        return ()
    # Initials as people type them: zh/ch/sh kept whole (社保卡 -> shbk), else the first letter.
    initials = [s[:2] if s[:2] in ("zh", "ch", "sh") else s[:1] for s in full]
    forms = ["".join(full).lower(), "".join(initials).lower(), "".join(f[:1] for f in full).lower()]
    return tuple(f for f in dict.fromkeys(forms) if f.isascii() and f.isalnum())


def aliases_for(name: str, keywords: Iterable[str]) -> list[str]:
    """Keywords plus the everyday abbreviations of long forms in the name or keywords."""
    out: list[str] = []
    texts = [name, *keywords]
    for text in texts:
        for long_form, shorts in ABBREVIATIONS.items():
            if long_form in text:
                out.extend(shorts)
                # 电子社会保障卡申领 -> 电子社保卡申领 as well: the short form in context.
                out.append(text.replace(long_form, shorts[0]))
    return list(dict.fromkeys([*keywords, *out]))


def build_terms(*, name: str, keywords: Iterable[str], department: str) -> str:
    """The space-separated search terms of an item, stored at import time."""
    keywords = list(keywords)
    aliases = aliases_for(name, keywords)
    terms: list[str] = []
    for text in [name, *aliases]:
        words = _cut(text)
        terms.append(text)
        terms.extend(words)
        terms.extend(_pinyin_forms(text))
        for word in words:
            terms.extend(_pinyin_forms(word))
    terms.extend(_cut(department))
    cleaned = (t.replace(" ", "").lower() for t in terms)
    return " ".join(dict.fromkeys(t for t in cleaned if t))


@dataclass(slots=True)
class _Entry:
    code: str
    name: str
    name_en: str | None
    type: str
    department: str
    cross_province: bool
    keywords: list[str]
    aliases: tuple[str, ...]
    alias_set: frozenset[str]
    body: str
    impls: list[tuple[str, str]] = field(default_factory=list)
    # Derived once per index so that a query does no per-item preparation.
    name_lower: str = ""
    body_lower: str = ""
    alias_blob: str = ""
    name_chars: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        self.name_lower = self.name.lower()
        self.body_lower = self.body.lower()
        self.alias_blob = "\x1f".join(self.aliases)
        self.name_chars = frozenset(self.name)


@dataclass(frozen=True, slots=True)
class ItemHit:
    """One search result: an item's summary and how many implementations match the filters."""

    code: str
    name: str
    type: str
    department: str
    cross_province: bool
    keywords: list[str]
    implementation_count: int
    score: int
    # Last, with a default: hits are made positionally in places that predate it.
    name_en: str | None = None


class _Index:
    """The in-memory index of one catalog revision."""

    def __init__(self, entries: list[_Entry], terms: list[list[str]]) -> None:
        self.entries = entries
        self.by_term: dict[str, set[int]] = {}
        for idx, item_terms in enumerate(terms):
            for term in item_terms:
                self.by_term.setdefault(term, set()).add(idx)
        self.ascii_terms = sorted(t for t in self.by_term if t.isascii())
        self.code_lower = [e.code.lower() for e in entries]

    def _ascii_prefix(self, prefix: str) -> set[int]:
        import bisect

        found: set[int] = set()
        start = bisect.bisect_left(self.ascii_terms, prefix)
        for term in self.ascii_terms[start:]:
            if not term.startswith(prefix):
                break
            found |= self.by_term[term]
        return found

    def score_part(self, part: str) -> dict[int, int]:
        """Score every item for one query word (0 = no match)."""
        scores: dict[int, int] = {}
        if part.isascii():
            exact = self.by_term.get(part, set())
            prefix = self._ascii_prefix(part) if len(part) >= 2 else exact
            for idx, entry in enumerate(self.entries):
                code = self.code_lower[idx]
                name = entry.name_lower
                if code == part or name == part:
                    scores[idx] = 100
                elif code.startswith(part) or name.startswith(part):
                    scores[idx] = 90
                elif part in name:
                    scores[idx] = 80
                elif idx in exact:
                    scores[idx] = 45
                elif idx in prefix:
                    scores[idx] = 35
                elif part in entry.body_lower:
                    scores[idx] = 10
            return scores
        words = [w for w in _cut(part) if w not in STOP_WORDS]
        word_hits = [self.by_term.get(w.lower(), set()) for w in words]
        chars = set(part)
        pattern = re.compile(".*?".join(map(re.escape, part))) if len(part) >= 2 else None
        for idx, entry in enumerate(self.entries):
            name = entry.name
            if part in name:
                score = 100 if name == part else 90 if name.startswith(part) else 80
            elif part in entry.alias_set:
                score = 70
            elif part in entry.alias_blob:
                score = 65
            elif pattern is not None and chars <= entry.name_chars and pattern.search(name):
                # An abbreviation keeps the characters of the full name in order (社保卡).
                score = 50
            elif word_hits and all(idx in hits for hits in word_hits):
                score = 30
            elif part in entry.body:
                score = 10
            elif word_hits and sum(idx in hits for hits in word_hits) * 2 >= len(word_hits):
                score = 5
            else:
                continue
            scores[idx] = score
        return scores

    def search(
        self,
        *,
        q: str | None,
        type: str | None,
        regions_allowed: set[str] | None,
        range: str | None,
    ) -> list[tuple[int, int, int]]:
        """(score, entry index, implementation count) of the matching items, best first."""
        parts = [p.lower() if p.isascii() else p for p in (q or "").split()]
        totals: dict[int, int] | None = None
        for part in parts:
            part_scores = self.score_part(part)
            if totals is None:
                totals = part_scores
            else:
                totals = {i: s + part_scores[i] for i, s in totals.items() if i in part_scores}
        candidates = (
            totals if totals is not None else dict.fromkeys(builtins.range(len(self.entries)), 0)
        )
        out: list[tuple[int, int, int]] = []
        for idx, score in candidates.items():
            entry = self.entries[idx]
            if type is not None and entry.type != type:
                continue
            count = sum(
                1
                for region_code, impl_range in entry.impls
                if (regions_allowed is None or region_code in regions_allowed)
                and (range is None or impl_range == range)
            )
            if (regions_allowed is not None or range is not None) and count == 0:
                continue
            out.append((score, idx, count))
        out.sort(key=lambda t: (-t[0], len(self.entries[t[1]].name), self.entries[t[1]].code))
        return out


_cache: OrderedDict[str, _Index] = OrderedDict()
_cache_lock = threading.Lock()
_CACHE_SIZE = 8


def _latest_revision(session: Session) -> str | None:
    token: str | None = (
        session.connection()
        .execute(select(CatalogRevision.token).order_by(CatalogRevision.id.desc()).limit(1))
        .scalar()
    )
    return token


REVISION = SharedFact("catalog_revision", _latest_revision)


def current_revision(session: Session) -> str | None:
    """The token of the catalog's latest import, or None before any import (a shared fact)."""
    return REVISION.get(session)


def _load(session: Session) -> _Index:
    rows = session.execute(
        select(
            BasicItem.id,
            BasicItem.code,
            BasicItem.name,
            BasicItem.name_en,
            BasicItem.type,
            BasicItem.department,
            BasicItem.cross_province,
            BasicItem.keywords,
            BasicItem.legal_basis,
            BasicItem.description,
            BasicItem.search_terms,
        )
        .where(BasicItem.withdrawn_at.is_(None))  # withdrawn by the national catalog
        .order_by(BasicItem.code)
    ).all()
    entries: list[_Entry] = []
    terms: list[list[str]] = []
    position: dict[int, int] = {}
    for row in rows:
        keywords = list(row.keywords or [])
        aliases = tuple(aliases_for(row.name, keywords))
        position[row.id] = len(entries)
        entries.append(
            _Entry(
                code=row.code,
                name=row.name,
                name_en=row.name_en,
                type=row.type,
                department=row.department,
                cross_province=row.cross_province,
                keywords=keywords,
                aliases=aliases,
                alias_set=frozenset(aliases),
                body=" ".join(x for x in (row.department, row.legal_basis, row.description) if x),
            )
        )
        # English words of the English name: an English reader finds "passport" too.
        english = _ENGLISH_WORD.findall((row.name_en or "").lower())
        terms.append((row.search_terms or "").split() + [w for w in english if len(w) > 2])
    for item_id, region_code, impl_range in session.execute(
        select(Implementation.item_id, Implementation.region_code, Implementation.tongban_range)
    ):
        if item_id in position:
            entries[position[item_id]].impls.append((region_code, impl_range))
    return _Index(entries, terms)


def _index(session: Session) -> _Index:
    token = current_revision(session)
    if token is None:
        return _load(session)
    with _cache_lock:
        index = _cache.get(token)
        if index is not None:
            _cache.move_to_end(token)
            return index
    index = _load(session)
    with _cache_lock:
        _cache[token] = index
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return index


def region_scope(session: Session, code: str, *, field: str = "region") -> set[str]:
    """The region and its ancestors: where implementations serving its residents sit."""
    try:
        canonical = regions.get(session, code=code).code
    except NotFound:
        raise Invalid(
            f"Unknown region {code}.", errors=[FieldError(field, f"unknown region {code}")]
        ) from None
    except AppError:
        raise Invalid(
            f"Malformed region code {code!r}.",
            errors=[FieldError(field, "must be a 6- or 12-digit region code")],
        ) from None
    return {canonical, *regions.ancestor_codes(canonical)}


def search_items(
    session: Session,
    *,
    q: str | None = None,
    type: str | None = None,
    region: str | None = None,
    range: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> tuple[list[ItemHit], int]:
    """Search basic items (Chinese words, pinyin, initials, codes) with filters; (page, total)."""
    errors: list[FieldError] = []
    if type is not None and type not in {t.value for t in ItemType}:
        errors.append(FieldError("type", f"unknown item type {type!r}"))
    if range is not None and range not in {r.value for r in TongbanRange}:
        errors.append(FieldError("range", f"unknown 通办 range {range!r}"))
    if not 1 <= limit <= 100:
        errors.append(FieldError("limit", "must be between 1 and 100"))
    if offset < 0:
        errors.append(FieldError("offset", "must not be negative"))
    if q is not None and len(q) > 100:
        errors.append(FieldError("q", "at most 100 characters"))
    if errors:
        raise Invalid("Invalid search parameters.", errors=errors)
    allowed = region_scope(session, region) if region else None
    index = _index(session)
    ranked = index.search(
        q=(q or "").strip() or None, type=type, regions_allowed=allowed, range=range
    )
    page = ranked[offset : offset + limit]
    hits = []
    for score, idx, count in page:
        e = index.entries[idx]
        hits.append(
            ItemHit(
                code=e.code,
                name=e.name,
                name_en=e.name_en,
                type=e.type,
                department=e.department,
                cross_province=e.cross_province,
                keywords=list(e.keywords),
                implementation_count=count,
                score=score,
            )
        )
    return hits, len(ranked)
