"""The Excel form of the exchange format: five sheets, one row per record, `;`-separated lists.

Reading turns the sheets into the same document as YAML/JSON (so one validator checks both)
plus a map from document paths to sheet and row, so that errors read `sheet 2, row 17: ...`
with the row number Excel shows.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from tongban.catalog import workbook_headers as headers
from tongban.catalog.validation import Issue, Problem
from tongban.platform.errors import FieldError, Invalid

MAX_ROWS = 200_000

# (sheet number, sheet name, [(column, kind)]): the English form written by export and the CLI;
# the Chinese names a person may use instead are in workbook_headers.py.
SHEETS: list[tuple[int, str, list[tuple[str, str]]]] = [
    (sheet.number, sheet.key, [(c.key, c.kind) for c in sheet.columns]) for sheet in headers.SHEETS
]
_COLUMNS = {number: columns for number, _, columns in SHEETS}

NESTED = {
    "authority": ("authority_name", "authority_code"),
    "statutory_limit": ("statutory_limit_value", "statutory_limit_unit", "statutory_limit_note"),
    "promised_limit": ("promised_limit_value", "promised_limit_unit", "promised_limit_note"),
    "result": ("result_type", "result_name"),
}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    text = str(value).strip()
    return text or None


def _word(value: Any, kind: str) -> Any:
    # A Chinese word for a code (是, 工作日, 原件…); anything else is left for validation.
    words = headers.VALUE_WORDS.get(kind, {})
    key = value.strip().lower() if isinstance(value, str) else None
    return words.get(key, value) if key is not None else value


def _convert(value: Any, kind: str) -> Any:
    if isinstance(value, str):
        value = value.strip()
        if value == "":
            return None
    if value is None:
        return None
    if kind == "text":
        return _text(value)
    if kind in ("list", "formats"):
        text = _text(value) or ""
        parts = [p.strip() for p in re.split(r"[;；、]" if kind == "formats" else r"[;；]", text)]
        return [_word(p, kind) for p in parts if p]
    if kind in ("bool", "unit", "source"):
        return _word(value, kind)
    if kind == "int" and isinstance(value, float) and value.is_integer():
        return int(value)
    if kind == "json":
        return json.loads(value) if isinstance(value, str) else value
    return value


def not_a_workbook() -> Invalid:
    """The error for a file that is no Excel workbook."""
    return Invalid(
        "The file is not a valid Excel workbook.",
        errors=[FieldError("file", "not a valid Excel workbook (.xlsx)")],
    )


def check_zip(content: bytes, max_bytes: int) -> None:
    """Refuse a file that is no readable zip with xl/workbook.xml, or that unpacks too big."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
            if "xl/workbook.xml" not in archive.namelist():
                raise not_a_workbook()
    except Invalid:
        raise
    except Exception:  # a truncated or foreign file: to the user it is all the same
        raise not_a_workbook() from None
    # A small zip can unpack to gigabytes; refuse what no honest catalog needs.
    if unpacked > 20 * max_bytes:
        raise Invalid(
            "The workbook unpacks to too much data.",
            errors=[FieldError("file", f"unpacks to {unpacked} bytes")],
        )


def _open(content: bytes, max_bytes: int) -> Any:
    import openpyxl

    try:
        return openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:
        raise Invalid(
            "The file is not a valid Excel workbook.",
            errors=[FieldError("file", "not a valid Excel workbook (.xlsx)")],
        ) from None


_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"


def _column_index(ref: str) -> int:
    index = 0
    for char in ref:
        if not char.isalpha():
            break
        index = index * 26 + (ord(char.upper()) - 64)
    return index - 1


def _fast_sheets(content: bytes) -> dict[str, list[tuple[Any, ...]]]:
    """Cell values of every sheet, read straight from the XML.

    openpyxl builds an object per cell and reads about 4,000 rows a second; this reader only
    handles what a cell value needs (shared and inline strings, numbers, booleans) and is
    several times faster. Anything unexpected raises, and the caller falls back to openpyxl.
    """
    from xml.etree import ElementTree

    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        names = set(archive.namelist())
        shared: list[str] = []
        if "xl/sharedStrings.xml" in names:
            root = ElementTree.fromstring(archive.read("xl/sharedStrings.xml"))
            for si in root.iter(f"{_NS}si"):
                # Rich text has several runs; phonetic guides (rPh) are not part of the value.
                parts = [t.text or "" for t in si.iter(f"{_NS}t")]
                phonetic = [t.text or "" for ph in si.iter(f"{_NS}rPh") for t in ph.iter(f"{_NS}t")]
                shared.append("".join(parts[: len(parts) - len(phonetic)]))
        book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
        targets = {r.get("Id"): r.get("Target", "") for r in rels}
        sheets: dict[str, list[tuple[Any, ...]]] = {}
        for sheet in book.iter(f"{_NS}sheet"):
            target = targets[sheet.get(f"{_REL_NS}id")].lstrip("/")
            path = target if target.startswith("xl/") else f"xl/{target}"
            rows: list[tuple[Any, ...]] = []
            with archive.open(path) as stream:
                for _, element in ElementTree.iterparse(stream):
                    if element.tag != f"{_NS}row":
                        continue
                    number = int(element.get("r") or len(rows) + 1)
                    while len(rows) < number - 1:
                        rows.append(())
                    values: list[Any] = []
                    for cell in element.iter(f"{_NS}c"):
                        ref = cell.get("r")
                        position = _column_index(ref) if ref else len(values)
                        while len(values) < position:
                            values.append(None)
                        kind = cell.get("t", "n")
                        v = cell.find(f"{_NS}v")
                        text = v.text if v is not None else None
                        if kind == "s" and text is not None:
                            value: Any = shared[int(text)]
                        elif kind == "inlineStr":
                            value = "".join(t.text or "" for t in cell.iter(f"{_NS}t"))
                        elif kind == "b" and text is not None:
                            value = text == "1"
                        elif kind == "n" and text is not None:
                            number_value = float(text)
                            value = int(number_value) if number_value.is_integer() else number_value
                        else:
                            value = text
                        # openpyxl reads an empty string cell as None; so does this reader.
                        values.append(None if value == "" else value)
                    rows.append(tuple(values))
                    element.clear()
            sheets[sheet.get("name", "")] = rows
    return sheets


def _openpyxl_sheets(content: bytes, max_bytes: int) -> dict[str, list[tuple[Any, ...]]]:
    book = _open(content, max_bytes)
    try:
        return {ws.title: list(ws.iter_rows(values_only=True)) for ws in book.worksheets}
    finally:
        book.close()


class _Layout:
    """What the reader saw of each sheet: its title and headers as the file writes them."""

    def __init__(self) -> None:
        self.titles: dict[int, str] = {}
        self.headers: dict[int, dict[str, str]] = {}

    def title(self, number: int) -> str:
        """The sheet's title in the file (its English key when the file has no such sheet)."""
        return self.titles.get(number) or headers.SHEETS[number - 1].key

    def header(self, number: int, key: str) -> str:
        """A column's header as the file writes it; for a column the file lacks, the name in
        the language of the sheet's other headers."""
        seen = self.headers.get(number, {})
        if key in seen:
            return seen[key]
        sheet = headers.SHEETS[number - 1]
        chinese = any(h == c.zh for c in sheet.columns for h in seen.values())
        column = next((c for c in sheet.columns if c.key == key), None)
        return column.zh if column is not None and chinese else key


def read(
    content: bytes, *, max_bytes: int
) -> tuple[dict[str, Any], Callable[[Issue], Problem], list[Issue]]:
    """The document in a workbook, its locator (path to sheet, row and column), and the
    problems of the sheets' layout (sheets, headers, rows that point nowhere).

    Sheets and headers may be named in English (the exchange format's keys, as exported) or
    in Chinese (as in the sample workbook); see workbook_headers.py.
    """
    check_zip(content, max_bytes)
    try:
        raw = _fast_sheets(content)
    except Exception:  # an unusual but maybe valid workbook: let openpyxl judge it
        raw = _openpyxl_sheets(content, max_bytes)
    places: dict[str, tuple[int, int]] = {}
    issues: list[Issue] = []
    layout = _Layout()
    found: dict[int, list[tuple[Any, ...]]] = {}
    for title, rows in raw.items():
        sheet = headers.sheet_for(title)
        if sheet is not None and sheet.number not in found:
            found[sheet.number] = rows
            layout.titles[sheet.number] = title
    tables: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for number, name, _ in SHEETS:
        if number not in found:
            if number == 1:
                issues.append(
                    Issue(
                        f"@sheet {number}, row 1",
                        "missing sheet 'items'",
                        kind="missing_sheet",
                        place=(1, 1, None),
                    )
                )
            tables[name] = []
            continue
        tables[name] = _rows(iter(found[number]), number, layout, issues)

    items: list[dict[str, Any]] = []
    item_at: dict[str, dict[str, Any]] = {}
    impl_at: dict[str, dict[str, Any]] = {}
    # Rows whose parent is missing are reported once per missing code; their own children are
    # then not reported again (one wrong item code is one problem, not one per material).
    dropped: set[str] = set()
    for row_number, row in tables["items"]:
        path = f"items[{len(items)}]"
        places[path] = (1, row_number)
        item = {**row, "implementations": []}
        items.append(item)
        item_at.setdefault(str(row.get("code")), item)
        item["_path"] = path
    for row_number, row in tables["implementations"]:
        item_code = row.pop("item_code", None)
        parent = item_at.get(str(item_code)) if item_code is not None else None
        if parent is None:
            dropped.add(str(row.get("code")))
            if "item_code" in layout.headers.get(2, {}):
                issues.append(_orphan(2, row_number, "item_code", item_code, layout.title(1)))
            continue
        impl = _nest(row)
        impl.setdefault("materials", [])
        impl.setdefault("fees", [])
        path = f"{parent['_path']}.implementations[{len(parent['implementations'])}]"
        places[path] = (2, row_number)
        impl["_path"] = path
        parent["implementations"].append(impl)
        impl_at.setdefault(str(row.get("code")), impl)
    for number, name in ((3, "materials"), (4, "fees")):
        for row_number, row in tables[name]:
            code = row.pop("implementation_code", None)
            impl_parent = impl_at.get(str(code)) if code is not None else None
            if impl_parent is None:
                if str(code) not in dropped and "implementation_code" in layout.headers.get(
                    number, {}
                ):
                    issues.append(
                        _orphan(number, row_number, "implementation_code", code, layout.title(2))
                    )
                continue
            path = f"{impl_parent['_path']}.{name}[{len(impl_parent[name])}]"
            places[path] = (number, row_number)
            impl_parent[name].append(row)
    bundles: list[dict[str, Any]] = []
    for row_number, row in tables["bundles"]:
        places[f"bundles[{len(bundles)}]"] = (5, row_number)
        bundle = _nest(row)
        bundles.append(bundle)
    for item in items:
        item.pop("_path", None)
        for impl in item["implementations"]:
            impl.pop("_path", None)
    document = {"version": 1, "items": items, "bundles": bundles}
    return document, _locator(places, layout), issues


def _orphan(number: int, row: int, column: str, code: Any, parent: str) -> Issue:
    """A row whose parent code is on no row of the parent sheet (items, implementations)."""
    parent_number = 1 if column == "item_code" else 2
    return Issue(
        f"@sheet {number}, row {row}",
        f"{column} {code} is not on sheet {parent_number}",
        kind="not_on_sheet",
        args=(("value", str(code)), ("parent", parent)),
        place=(number, row, column),
    )


def _nest(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for key, columns in NESTED.items():
        values = {c[len(key) + 1 :]: out.pop(c) for c in columns if c in out}
        values = {k: v for k, v in values.items() if v is not None}
        if values:
            out[key] = values
    return out


def _rows(
    rows: Any, number: int, layout: _Layout, issues: list[Issue]
) -> list[tuple[int, dict[str, Any]]]:
    sheet = headers.SHEETS[number - 1]
    header = next(rows, None)
    if header is None:
        return []
    names: list[headers.Column | None] = []
    seen: dict[str, str] = {}
    layout.headers[number] = seen
    for position, cell in enumerate(header, start=1):
        name = _text(cell)
        column = headers.column_for(sheet.key, name) if name else None
        if name is not None and column is None:
            issues.append(
                Issue(
                    f"@sheet {number}, row 1",
                    f"unknown column {name!r} ({position})",
                    kind="unknown_column",
                    args=(("value", name),),
                    place=(number, 1, None),
                )
            )
        elif column is not None and column.key in seen:
            issues.append(
                Issue(
                    f"@sheet {number}, row 1",
                    f"column {name!r} appears twice",
                    kind="duplicate_column",
                    args=(("value", name or ""),),
                    place=(number, 1, None),
                )
            )
            column = None
        elif column is not None and name is not None:
            seen[column.key] = name
        names.append(column)
    out: list[tuple[int, dict[str, Any]]] = []
    for row_number, values in enumerate(rows, start=2):
        if row_number > MAX_ROWS:
            issues.append(
                Issue(
                    f"@sheet {number}, row {row_number}",
                    "too many rows",
                    kind="too_many_rows",
                    args=(("limit", str(MAX_ROWS)),),
                    place=(number, row_number, None),
                )
            )
            break
        record: dict[str, Any] = {}
        for column, value in zip(names, values, strict=False):
            if column is None:
                continue
            try:
                converted = _convert(value, column.kind)
            except ValueError:
                issues.append(
                    Issue(
                        f"@sheet {number}, row {row_number}",
                        f"{column.key}: not valid JSON",
                        kind="bad_json",
                        place=(number, row_number, column.key),
                    )
                )
                continue
            if converted is not None:
                record[column.key] = converted
        if record:
            out.append((row_number, record))
    # A required column the header lacks is one problem, not one per row (validation would
    # say "missing" on every row: the locator folds those into this one).
    for column in sheet.columns:
        if column.key in ("item_code", "implementation_code") and out and column.key not in seen:
            issues.append(
                Issue(
                    f"@sheet {number}, row 1",
                    f"missing column {column.key}",
                    kind="missing_column",
                    place=(number, 1, column.key),
                )
            )
    return out


def _column(rest: str, number: int) -> str:
    rest = rest.lstrip(".")
    rest = rest.split("[", 1)[0]
    key = rest.replace(".", "_")
    keys = {k for k, _ in _COLUMNS[number]}
    if key in keys:
        return key
    # A rule about a whole limit (promised_limit) or authority is about its first column.
    return next((k for k, _ in _COLUMNS[number] if k.startswith(f"{key}_")), key)


def _in_words(issue: Issue, kind: str) -> Issue:
    """A choice among the format's codes offered as the words a person writes in a cell
    (工作日 rather than working_days), where the column takes words."""
    words = headers.VALUE_WORDS.get(kind)
    if not words:
        return issue
    args = dict(issue.args)
    codes = args.get("choices", ())
    said = tuple(
        next((w for w, v in words.items() if v == code and not w.isascii()), code)
        for code in (codes if isinstance(codes, tuple) else (codes,))
    )
    return replace(issue, args=tuple({**args, "choices": said}.items()))


def _locator(places: dict[str, tuple[int, int]], layout: _Layout) -> Callable[[Issue], Problem]:
    def place(issue: Issue, number: int, row: int, key: str | None, legacy: str) -> Problem:
        where = f"sheet {number}, row {row}"
        if issue.kind == "missing" and key and key not in layout.headers.get(number, {}):
            # The whole column is absent: one problem at the header row, for every row.
            issue = Issue(issue.path, f"missing column {key}", kind="missing_column")
            row, where = 1, f"sheet {number}, row 1"
            legacy = f"{where}: {issue.message}"
        if issue.kind == "choice" and key:
            issue = _in_words(issue, dict(_COLUMNS[number]).get(key, ""))
        return Problem(
            issue,
            field=f"{where}, {key}" if key and not issue.path.startswith("@") else where,
            message=legacy,
            sheet=layout.title(number),
            sheet_key=headers.SHEETS[number - 1].key,
            rows=(row,),
            column=layout.header(number, key) if key else None,
            column_key=key,
        )

    def locate(issue: Issue) -> Problem:
        if issue.place is not None:
            number, row, key = issue.place
            where = issue.path[1:]
            return place(issue, number, row, key, f"{where}: {issue.message}")
        cuts = [m.start() for m in re.finditer(r"[.\[]", issue.path)] + [len(issue.path)]
        for cut in reversed(cuts):
            found = places.get(issue.path[:cut])
            if found is None:
                continue
            number, row = found
            column = _column(issue.path[cut:], number) or None
            where = f"sheet {number}, row {row}"
            if issue.shape and column:
                legacy = f"{where}: {column}: {issue.message}"
            else:
                legacy = f"{where}: {issue.message}"
            return place(issue, number, row, column, legacy)
        return Problem(issue, issue.path, issue.message)

    return locate


def _cell(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind in ("list", "formats"):
        return ";".join(str(v) for v in value) if value else None
    if kind == "json":
        return json.dumps(value, ensure_ascii=False) if value else None
    return value


def write(document: dict[str, Any]) -> bytes:
    """The document as a 5-sheet workbook."""
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheets = {name: book.create_sheet(name) for _, name, _ in SHEETS}
    kinds = {name: columns for _, name, columns in SHEETS}
    for name, sheet in sheets.items():
        sheet.append([c for c, _ in kinds[name]])

    def put(name: str, record: dict[str, Any]) -> None:
        sheets[name].append([_cell(record.get(c), kind) for c, kind in kinds[name]])

    for item in document["items"]:
        put("items", item)
        for impl in item["implementations"]:
            flat = _flatten(impl)
            flat["item_code"] = item["code"]
            put("implementations", flat)
            for material in impl["materials"]:
                put("materials", {**material, "implementation_code": impl["code"]})
            for fee in impl["fees"]:
                put("fees", {**fee, "implementation_code": impl["code"]})
    for bundle in document["bundles"]:
        put("bundles", _flatten(bundle))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _flatten(record: dict[str, Any]) -> dict[str, Any]:
    flat = dict(record)
    for key in NESTED:
        nested = flat.pop(key, None)
        if isinstance(nested, dict):
            for sub, value in nested.items():
                flat[f"{key}_{sub}"] = value
    return flat
