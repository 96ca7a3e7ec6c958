"""The sample workbook an operator downloads to fill in: Chinese sheet names and headers, one
example row per sheet, and a sheet “填写说明” that explains every column (in Chinese and
English). The importer reads it back as it is (the explanation sheet is not a catalog sheet).

Its example codes (SAMPLE-…) are clearly not real items, so that a sample uploaded unchanged
adds an obvious example instead of overwriting a real item.
"""

from __future__ import annotations

import io

from tongban.catalog import workbook_headers as headers

EXPLANATION_SHEET = "填写说明"
EXPLANATION_HEADER = ("工作表 Sheet", "列名 Column", "英文列名 Key", "必填 Required",
                      "填写说明", "Explanation", "示例 Example")  # fmt: skip
INTRODUCTION = (
    "每个工作表的第一行是列名，可用中文列名或英文列名；从第二行起每行一条记录。"
    "示例行（编码以 SAMPLE 开头）请换成您的事项。导入前可先“只检查”，有错误时不会导入任何内容。",
    "Row 1 of each sheet holds the headers (Chinese or English); each further row is one record. "
    "Replace the example rows (codes starting with SAMPLE). Check first: nothing is imported "
    "while a problem remains.",
)


def _example(column: headers.Column) -> object:
    # Numbers are written as numbers, as a person typing them in Excel would.
    if column.kind in ("int", "number") and column.example:
        return int(column.example)
    return column.example or None


def _help(column: headers.Column) -> list[str]:
    return [column.help_zh, column.help_en, column.example]


def sample_workbook() -> bytes:
    """The sample workbook as .xlsx bytes."""
    import openpyxl
    from openpyxl.styles import Alignment, Font

    book = openpyxl.Workbook()
    bold = Font(bold=True)
    guide = book.active
    assert guide is not None
    guide.title = EXPLANATION_SHEET
    for line in INTRODUCTION:
        guide.append([line])
    guide.append([])
    guide.append(list(EXPLANATION_HEADER))
    for cell in guide[guide.max_row]:
        cell.font = bold
    for sheet in headers.SHEETS:
        data = book.create_sheet(sheet.zh)
        data.append([c.zh for c in sheet.columns])
        data.append([_example(c) for c in sheet.columns])
        for cell in data[1]:
            cell.font = bold
        for index, column in enumerate(sheet.columns, start=1):
            letter = openpyxl.utils.get_column_letter(index)
            data.column_dimensions[letter].width = max(12, 2 * len(column.zh) + 4)
            required = "是 yes" if column.required else "否 no"
            guide.append([sheet.zh, column.zh, column.key, required, *_help(column)])
    for letter, width in zip("ABCDEFG", (12, 22, 24, 10, 44, 44, 24), strict=True):
        guide.column_dimensions[letter].width = width
    for row in guide.iter_rows(min_row=1, max_row=2):
        row[0].alignment = Alignment(wrap_text=True)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
