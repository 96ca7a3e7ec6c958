"""Catalog workbook problems as a person reads them: one per real mistake, located by sheet,
row and column as the file names them, in Chinese or English; the sample workbook reads back."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest
from sqlalchemy.orm import Session

from tests.catalog.test_import import counts
from tongban.catalog import import_problems_pages as words
from tongban.catalog import service as catalog
from tongban.catalog.import_sample import EXPLANATION_SHEET, sample_workbook
from tongban.catalog.validation import Problem, Refused


def _book() -> Any:
    return openpyxl.load_workbook(io.BytesIO(sample_workbook()))


def _bytes(book: Any) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _refused(session: Session, book: Any) -> list[Problem]:
    before = counts(session)
    with pytest.raises(Refused) as caught:
        catalog.import_workbook(session, content=_bytes(book))
    assert counts(session) == before  # nothing written, not even an event
    return caught.value.problems


def _said(problem: Problem, locale: str = "zh_CN") -> str:
    return words.said(problem, locale)


def _column(sheet: Any, header: str) -> int:
    return [c.value for c in sheet[1]].index(header) + 1


def test_sample_workbook_has_chinese_headers_and_reads_back(regions_db: Session) -> None:
    book = _book()
    assert book.sheetnames == [EXPLANATION_SHEET, "事项", "实施清单", "申请材料", "收费", "一件事"]
    assert [c.value for c in book["事项"][1]][:3] == ["事项编码", "事项名称", "英文名称"]
    result = catalog.import_workbook(regions_db, content=sample_workbook(), source="sample")
    assert result["items_created"] == 1
    assert result["implementations_created"] == 1
    assert result["bundles_created"] == 1
    impl = catalog.get_implementation(regions_db, code="510000-SAMPLE-0001-01")
    # Chinese words in cells (工作日, 是, 原件, 政府部门) are read as the format's codes.
    assert impl.statutory_limit.unit == "working_days"
    assert impl.materials[0].source == "government"


def test_one_wrong_item_code_is_one_problem(regions_db: Session) -> None:
    book = _book()
    impls, materials = book["实施清单"], book["申请材料"]
    example = [c.value for c in impls[2]]
    code_at = _column(impls, "实施编码") - 1
    for n in range(2, 12):  # ten implementations of the item, each with two materials
        row = list(example)
        row[code_at] = f"510000-SAMPLE-0001-{n:02d}"
        impls.append(row)
        materials.append([row[code_at], "居民身份证", "是"])
        materials.append([row[code_at], "户口簿", "否"])
    book["事项"].cell(row=2, column=1, value="SAMPLE-0002")  # the one mistake
    problems = _refused(regions_db, book)
    assert len(problems) == 1, [_said(p) for p in problems]
    assert _said(problems[0]) == (
        "工作表“实施清单”第 2、3、4、5、6、7、8、9 行等共 11 行，“事项编码”列："
        "编码 SAMPLE-0001 不在“事项”工作表中。"
    )


def test_a_mistake_copied_down_a_column_is_one_problem(regions_db: Session) -> None:
    book = _book()
    items = book["事项"]
    example = [c.value for c in items[2]]
    for n in range(3, 6):
        items.append([f"SAMPLE-000{n}", *example[1:]])
    for row in range(2, 6):
        items.cell(row=row, column=_column(items, "事项类型"), value="行政许可证")
    problems = _refused(regions_db, book)
    assert len(problems) == 1
    assert problems[0].rows == (2, 3, 4, 5)
    said = _said(problems[0])
    assert said.startswith("工作表“事项”第 2、3、4、5 行，“事项类型”列：“行政许可证”不能填在这里")
    assert "行政许可" in said
    english = _said(problems[0], "en")
    assert english.startswith("Sheet “事项”, rows 2, 3, 4, 5, column “事项类型”: “行政许可证”")


def test_a_missing_column_is_one_problem(regions_db: Session) -> None:
    book = _book()
    items = book["事项"]
    example = [c.value for c in items[2]]
    for n in range(3, 8):
        items.append([f"SAMPLE-000{n}", *example[1:]])
    items.delete_cols(_column(items, "设定依据"))
    problems = _refused(regions_db, book)
    assert [_said(p) for p in problems] == [
        "工作表“事项”第 1 行，“设定依据”列：缺少这一列：请在第一行（列名）中加上。"
    ]


def test_every_wrong_cell_of_a_row_is_named_once(regions_db: Session) -> None:
    book = _book()
    items, impls = book["事项"], book["实施清单"]
    items.cell(row=2, column=_column(items, "服务对象"), value="个人；法人")
    impls.cell(row=2, column=_column(impls, "权力来源"), value=9)
    impls.cell(row=2, column=_column(impls, "法定时限单位"), value="周")
    problems = _refused(regions_db, book)
    assert sorted(_said(p) for p in problems) == sorted(
        [
            "工作表“事项”第 2 行，“服务对象”列：“个人、法人”不能填在这里。可填：自然人、企业法人、"
            "事业法人、社会组织法人、非法人企业、行政机关、其他组织。",
            "工作表“实施清单”第 2 行，“权力来源”列：“9”太大：最多 6。",
            "工作表“实施清单”第 2 行，“法定时限单位”列：“周”不能填在这里。可填：工作日、自然日。",
        ]
    )


def test_rule_problems_name_sheet_row_and_column(regions_db: Session) -> None:
    book = _book()
    impls = book["实施清单"]
    impls.cell(row=2, column=_column(impls, "承诺办结时限"), value=30)
    impls.cell(row=2, column=_column(impls, "行政区划代码"), value="990000")
    problems = _refused(regions_db, book)
    assert sorted(_said(p) for p in problems) == [
        "工作表“实施清单”第 2 行，“承诺办结时限”列："
        "承诺时限（30 个工作日）长于法定时限（20 个工作日）。",
        "工作表“实施清单”第 2 行，“行政区划代码”列：没有代码为 990000 的行政区划。",
    ]
