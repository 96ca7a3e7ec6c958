"""The evaluation set (tests/assistant/eval.yaml) through the real service over the seed
catalog: top-1 >= 85 % and top-3 >= 95 % overall, and on the held-out part on its own; every
item and bundle of the seed catalog has questions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.orm import Session
from tests.assistant.conftest import World

from tongban.assistant import service as assistant
from tongban.catalog import service as catalog

EVAL = Path(__file__).with_name("eval.yaml")


def _questions(part: str | None = None) -> list[tuple[str, str]]:
    data: dict[str, Any] = yaml.safe_load(EVAL.read_text("utf-8"))
    parts = [part] if part else ["tuning", "heldout"]
    return [(str(code), q) for p in parts for code, qs in data[p].items() for q in qs]


def _hit(expected: str, code: str) -> bool:
    return code == expected or code.startswith(expected + "-")


def _score(db: Session, questions: list[tuple[str, str]]) -> tuple[float, float, list[str]]:
    top1 = top3 = 0
    misses = []
    for expected, q in questions:
        result = assistant.answer(db, q=q, record=False)
        codes = [item.code for item in result.items]
        if codes and _hit(expected, codes[0]):
            top1 += 1
        if any(_hit(expected, c) for c in codes[:3]):
            top3 += 1
        else:
            misses.append(f"{q} -> {codes[:3]} (expected {expected})")
    return top1 / len(questions), top3 / len(questions), misses


def test_the_set_is_large_and_covers_every_seed_item_and_bundle(db: Session, world: World) -> None:
    questions = _questions()
    assert len(questions) >= 300
    expected = {code for code, _q in questions}
    hits, total = catalog.search_items(db, limit=100)
    assert total == len(hits) == 45
    assert {h.code for h in hits} <= expected
    families = {b.code.rsplit("-", 1)[0] for b in catalog.list_bundles(db)}
    assert families <= expected
    # English and pinyin questions are part of it.
    assert sum(q.isascii() for _c, q in questions) >= 15


def test_accuracy_over_the_whole_set(db: Session, world: World) -> None:
    top1, top3, misses = _score(db, _questions())
    assert top1 >= 0.85, misses
    assert top3 >= 0.95, misses


def test_accuracy_on_the_held_out_part(db: Session, world: World) -> None:
    top1, top3, misses = _score(db, _questions("heldout"))
    assert top1 >= 0.85, misses
    assert top3 >= 0.95, misses
