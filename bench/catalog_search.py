"""Catalog search latency: 1,000 mixed queries over a catalog of 5,000 implementations.

Target: p95 <= 20 ms in-process (docs/benchmarks.md).
"""

from __future__ import annotations

import random
import shutil
import statistics
import time

from bench._catalog_data import document, fresh_database, region_codes
from tongban.catalog import service as catalog

QUERIES = [
    "社保卡", "shbk", "sbk", "shebaoka", "社会保障卡", "公积金", "gjj", "驾驶证", "jsz", "身份证",
    "营业执照", "yyzz", "养老保险", "医保", "出生", "户口迁移", "如何办理社保卡", "补领", "换领",
    "不动产", "排污", "食品经营", "许可证", "教师资格", "jszg", "无犯罪", "异地就医", "低保",
    "护士", "工伤认定", "zhuanyi", "BENCH0000042", "残疾人证", "结婚登记", "tiqu",
]  # fmt: skip


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def main() -> None:
    """Grow the catalog, run 1,000 mixed queries, print p50/p95/p99."""
    database, folder = fresh_database()
    try:
        doc = document(implementations=5000)
        started = time.perf_counter()
        with database.session_scope() as session:
            catalog.import_document(session, data=doc, source="bench")
        n_impl = sum(len(i["implementations"]) for i in doc["items"])
        print(f"catalog: {len(doc['items'])} items, {n_impl} implementations "
              f"(imported in {time.perf_counter() - started:.1f} s)")  # fmt: skip
        rng = random.Random(11)
        codes = region_codes()
        counties = [c for c in codes if not c.endswith("00")]
        types = [None, None, None, "公共服务", "行政许可"]
        ranges = [None, None, None, "跨省", "全市"]
        timings: list[float] = []
        with database.session_scope() as session:
            started = time.perf_counter()
            catalog.search_items(session, q="预热")
            print(f"first search (index build): {(time.perf_counter() - started) * 1000:.0f} ms")
            for n in range(1000):
                q = rng.choice(QUERIES) if n % 10 else None
                region = rng.choice(counties) if rng.random() < 0.4 else None
                t0 = time.perf_counter()
                catalog.search_items(
                    session,
                    q=q,
                    type=rng.choice(types),
                    region=region,
                    range=rng.choice(ranges),
                    limit=20,
                    offset=rng.choice([0, 0, 0, 20]),
                )
                timings.append((time.perf_counter() - t0) * 1000)
        print(
            f"1000 queries: p50 {percentile(timings, 50):.2f} ms, "
            f"p95 {percentile(timings, 95):.2f} ms, p99 {percentile(timings, 99):.2f} ms, "
            f"mean {statistics.mean(timings):.2f} ms (target p95 <= 20 ms)"
        )
    finally:
        database.dispose()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
