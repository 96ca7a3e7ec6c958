"""Catalog import time: a 5,000-row implementations workbook through import_workbook.

Target: <= 10 s (docs/benchmarks.md).
"""

from __future__ import annotations

import shutil
import time

from bench._catalog_data import document, fresh_database
from tongban.catalog import service as catalog
from tongban.catalog import workbook


def main() -> None:
    """Build a 5,000-implementation workbook, import it into a fresh database, then again."""
    database, folder = fresh_database()
    try:
        doc = document(implementations=5000)
        # Export form: every optional field present, as export_document writes it.
        started = time.perf_counter()
        content = workbook.write(_complete(doc))
        n_impl = sum(len(i["implementations"]) for i in doc["items"])
        built = time.perf_counter() - started
        print(
            f"workbook: {len(doc['items'])} items, {n_impl} implementation rows, "
            f"{len(content) / 1024:.0f} kB (built in {built:.1f} s)"
        )
        from tongban.catalog.search import build_terms

        started = time.perf_counter()
        # jieba's and pypinyin's dictionaries load once per process, on first use.
        build_terms(name="预热社会保障卡", keywords=["社保卡"], department="部门")
        print(f"dictionary load (once per process): {time.perf_counter() - started:.1f} s")
        for label in ("first import", "re-import (unchanged)"):
            started = time.perf_counter()
            with database.session_scope() as session:
                result = catalog.import_workbook(session, content=content, source="bench.xlsx")
            elapsed = time.perf_counter() - started
            print(
                f"{label}: {elapsed:.2f} s (target <= 10 s); "
                f"{result['implementations_created']} created, "
                f"{result['implementations_unchanged']} unchanged"
            )
    finally:
        database.dispose()
        shutil.rmtree(folder, ignore_errors=True)


def _complete(doc: dict) -> dict:
    for item in doc["items"]:
        for impl in item["implementations"]:
            impl.setdefault("co_handlers", [])
            impl.setdefault("form_fields", [])
            for material in impl["materials"]:
                material.setdefault("source", "applicant")
    return doc


if __name__ == "__main__":
    main()
