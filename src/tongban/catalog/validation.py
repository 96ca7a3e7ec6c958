"""Validation of a catalog document: its shape, then every rule across fields, items and files.

All problems are collected (never only the first) so that one failed import tells the operator
everything to fix. Each problem is an `Issue` located by its path in the document
(`items[3].implementations[1].promised_limit`); the Excel importer turns paths into
`sheet 2, row 17` locations.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.catalog.models import Implementation
from tongban.catalog.schemas import DocumentIn, LimitIn
from tongban.identity import service as identity
from tongban.platform.errors import AppError, FieldError, Invalid, NotFound
from tongban.regions import service as regions

MAX_ISSUES = 500


@dataclass(frozen=True)
class Issue:
    """One problem: where (a document path) and what; `shape` marks a single-field error.

    `message` is the English of the CLI and of API callers who ask for no language; `kind` and
    `args` say the same as data, so that pages and the API can word it in the reader's language
    (import_problems_pages.WORDING). `place` (sheet number, row, column key) is set by the
    workbook reader for problems of the file's layout, which have no document path.
    """

    path: str
    message: str
    shape: bool = False
    kind: str = "invalid"
    args: tuple[tuple[str, str | tuple[str, ...]], ...] = ()
    place: tuple[int, int, str | None] | None = None


# Pydantic's error types -> the kind of problem a person is told about. Several types read the
# same to a person ("not a whole number"), and anything else is "invalid" with Pydantic's words.
PYDANTIC_KINDS: dict[str, str] = {
    "missing": "missing",
    "string_too_short": "empty",
    "string_too_long": "too_long",
    "string_pattern_mismatch": "pattern",
    "literal_error": "choice",
    "enum": "choice",
    "int_parsing": "not_integer",
    "int_from_float": "not_integer",
    "int_type": "not_integer",
    "decimal_parsing": "not_number",
    "decimal_type": "not_number",
    "float_parsing": "not_number",
    "decimal_max_places": "decimal_places",
    "decimal_max_digits": "too_big",
    "decimal_whole_digits": "too_big",
    "greater_than_equal": "too_small",
    "greater_than": "too_small",
    "less_than_equal": "too_big",
    "less_than": "too_big",
    "bool_parsing": "not_yes_no",
    "bool_type": "not_yes_no",
    "string_type": "not_text",
    "too_short": "list_too_short",
    "list_type": "not_list",
    "model_type": "not_mapping",
    "model_attributes_type": "not_mapping",
    "dict_type": "not_mapping",
    "extra_forbidden": "unknown_field",
}
# Our own validators' words (schemas.py) -> kind.
VALUE_ERROR_KINDS: dict[str, str] = {
    "control characters": "control_chars",
    "true, false or conditional": "required_word",
}
_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_QUOTED = re.compile(r"'([^']*)'")
MAX_SHOWN_VALUE = 40


def path_of(loc: tuple[int | str, ...]) -> str:
    """`('items', 3, 'code')` -> `items[3].code`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "document"


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= MAX_SHOWN_VALUE else text[: MAX_SHOWN_VALUE - 1] + "…"


def _shape_issue(path: str, errors: list[dict[str, Any]]) -> Issue:
    """One cell's Pydantic errors as one problem: the first error decides what to say, and the
    values of a list cell that were refused are named together."""
    first = errors[0]
    ctx = first.get("ctx") or {}
    kind = PYDANTIC_KINDS.get(str(first.get("type")), "invalid")
    if first.get("type") == "value_error":
        reason = str(ctx.get("error", ""))
        kind = next((k for words, k in VALUE_ERROR_KINDS.items() if words in reason), "invalid")
    args: dict[str, str | tuple[str, ...]] = {"detail": str(first.get("msg", "invalid"))}
    values = tuple(dict.fromkeys(_shown(e["input"]) for e in errors if "input" in e))
    if values and kind not in ("missing", "unknown_field", "not_mapping"):
        args["value"] = values if len(values) > 1 else values[0]
    if "expected" in ctx:
        args["choices"] = tuple(_QUOTED.findall(str(ctx["expected"]))) or (str(ctx["expected"]),)
    for key in ("ge", "gt", "le", "lt", "max_length", "min_length", "decimal_places", "max_digits"):
        if key in ctx:
            args["limit"] = str(ctx[key])
            break
    return Issue(path, str(first.get("msg", "invalid")), True, kind, tuple(args.items()))


def parse(data: Any) -> tuple[DocumentIn | None, list[Issue]]:
    """Check the document's shape; return it parsed, or the shape errors, one per field.

    Pydantic reports a list's every wrong element and a union's every branch; to a person
    that is one wrong cell, so errors are grouped by field (list positions and branch names
    dropped) and each group is one problem.
    """
    if not isinstance(data, dict):
        return None, [
            Issue("document", "must be a mapping with 'items' and 'bundles'", True, "not_mapping")
        ]
    try:
        return DocumentIn.model_validate(data), []
    except ValidationError as exc:
        cells: dict[str, list[dict[str, Any]]] = {}
        for err in exc.errors(include_url=False):
            loc = [
                p
                for p in err.get("loc", ())
                if isinstance(p, int) or (isinstance(p, str) and _FIELD_NAME.match(p))
            ]
            while loc and isinstance(loc[-1], int):
                loc.pop()  # the third keyword of a list cell is still that cell
            cells.setdefault(path_of(tuple(loc)), []).append(dict(err))
        return None, [_shape_issue(path, errors) for path, errors in cells.items()]


def limit_exceeds(promised: LimitIn, statutory: LimitIn) -> bool:
    """Whether a promised limit is longer than the statutory one.

    Same unit: compared as is. Mixed units: the promised limit is converted to the statutory
    unit at 5 working days per 7 natural days, rounded so that the promise looks as LONG as
    possible (rounded up), so a doubtful promise is refused rather than accepted.
    """
    if promised.unit == statutory.unit:
        return promised.value > statutory.value
    if promised.unit == "natural_days":
        return math.ceil(promised.value * 5 / 7) > statutory.value
    return math.ceil(promised.value * 7 / 5) > statutory.value


def _fmt(limit: LimitIn) -> str:
    unit = "working days" if limit.unit == "working_days" else "natural days"
    return f"{limit.value} {unit}"


def check_rules(session: Session, doc: DocumentIn, *, keep: list[Any] | None = None) -> list[Issue]:
    """Every rule beyond a single field's shape (uniqueness, limits, regions, USCC, links).

    `keep` receives the regions looked up: holding them keeps them in the session's identity
    map, so the writes that follow find them again without a query per row.
    """
    kept = keep if keep is not None else []
    issues: list[Issue] = []
    region_ok: dict[str, tuple[str, str | None]] = {}
    uscc_ok: dict[str, tuple[str, str | None]] = {}

    def check_region(code: str, path: str) -> str:
        # Returns the canonical code (510000000000 is 510000) so that rows store one form.
        if code not in region_ok:
            try:
                region = regions.get(session, code=code)
                kept.append(region)
                region_ok[code] = (region.code, None)
            except NotFound:
                region_ok[code] = (code, f"unknown region {code}")
            except AppError as exc:
                region_ok[code] = (code, f"malformed region {code}: {exc.detail}")
        canonical, problem = region_ok[code]
        if problem:
            kind = "unknown_region" if problem.startswith("unknown") else "malformed_region"
            issues.append(Issue(path, problem, kind=kind, args=(("value", code),)))
        return canonical

    def check_uscc(value: str, path: str) -> str:
        if value not in uscc_ok:
            try:
                uscc_ok[value] = (identity.validate_uscc(value), None)
            except AppError as exc:
                reason = exc.errors[0].message if exc.errors else exc.detail
                uscc_ok[value] = (value, f"invalid unified social credit code {value!r}: {reason}")
        normalized, problem = uscc_ok[value]
        if problem:
            issues.append(Issue(path, problem, kind="bad_uscc", args=(("value", value),)))
        return normalized

    seen_items: dict[str, str] = {}
    seen_impls: dict[str, str] = {}
    for i, item in enumerate(doc.items):
        ipath = f"items[{i}]"
        if item.code in seen_items:
            issues.append(
                Issue(
                    f"{ipath}.code",
                    f"duplicate item code {item.code} (also {seen_items[item.code]})",
                    kind="duplicate_code",
                    args=(("value", item.code),),
                )
            )
        else:
            seen_items[item.code] = ipath
        for j, impl in enumerate(item.implementations):
            path = f"{ipath}.implementations[{j}]"
            if impl.code in seen_impls:
                issues.append(
                    Issue(
                        f"{path}.code",
                        f"duplicate implementation code {impl.code} (also {seen_impls[impl.code]})",
                        kind="duplicate_code",
                        args=(("value", impl.code),),
                    )
                )
            else:
                seen_impls[impl.code] = path
            _check_implementation(impl_path=path, impl=impl, issues=issues)
            impl.region = check_region(impl.region, f"{path}.region")
            impl.authority.code = check_uscc(impl.authority.code, f"{path}.authority.code")
            for k, co in enumerate(impl.co_handlers):
                co.region = check_region(co.region, f"{path}.co_handlers[{k}].region")
                co.code = check_uscc(co.code, f"{path}.co_handlers[{k}].code")
            if len(issues) >= MAX_ISSUES:
                return issues

    known_elsewhere = _existing_implementation_codes(
        session, {c for b in doc.bundles for c in b.components} - seen_impls.keys()
    )
    seen_bundles: dict[str, str] = {}
    for b, bundle in enumerate(doc.bundles):
        bpath = f"bundles[{b}]"
        if bundle.code in seen_bundles:
            issues.append(
                Issue(
                    f"{bpath}.code",
                    f"duplicate bundle code {bundle.code} (also {seen_bundles[bundle.code]})",
                    kind="duplicate_code",
                    args=(("value", bundle.code),),
                )
            )
        else:
            seen_bundles[bundle.code] = bpath
        bundle.region = check_region(bundle.region, f"{bpath}.region")
        if len(set(bundle.components)) != len(bundle.components):
            issues.append(
                Issue(
                    f"{bpath}.components", "an implementation is listed twice", kind="listed_twice"
                )
            )
        for c, code in enumerate(bundle.components):
            if code not in seen_impls and code not in known_elsewhere:
                issues.append(
                    Issue(
                        f"{bpath}.components[{c}]",
                        f"unknown implementation {code}",
                        kind="unknown_implementation",
                        args=(("value", code),),
                    )
                )
    return issues


def _check_implementation(*, impl_path: str, impl: Any, issues: list[Issue]) -> None:
    if limit_exceeds(impl.promised_limit, impl.statutory_limit):
        issues.append(
            Issue(
                f"{impl_path}.promised_limit",
                f"promised limit {_fmt(impl.promised_limit)} exceeds statutory limit "
                f"{_fmt(impl.statutory_limit)}",
                kind=f"limit_exceeds_{impl.promised_limit.unit}_{impl.statutory_limit.unit}",
                args=(
                    ("promised", str(impl.promised_limit.value)),
                    ("statutory", str(impl.statutory_limit.value)),
                ),
            )
        )
    for m, material in enumerate(impl.materials):
        if material.required == "conditional" and not material.condition:
            issues.append(
                Issue(
                    f"{impl_path}.materials[{m}].condition",
                    "a conditional material needs its condition",
                    kind="condition_needed",
                )
            )
    names: set[str] = set()
    for f, field in enumerate(impl.form_fields):
        fpath = f"{impl_path}.form_fields[{f}]"
        if field.name in names:
            issues.append(
                Issue(
                    f"{fpath}.name",
                    f"duplicate form field {field.name}",
                    kind="duplicate_code",
                    args=(("value", field.name),),
                )
            )
        names.add(field.name)
        if field.type == "choice" and not field.choices:
            issues.append(
                Issue(f"{fpath}.choices", "a choice field needs its choices", kind="choices_needed")
            )


def _existing_implementation_codes(session: Session, codes: set[str]) -> set[str]:
    found: set[str] = set()
    ordered = sorted(codes)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        found.update(
            session.scalars(select(Implementation.code).where(Implementation.code.in_(chunk)))
        )
    return found


@dataclass(frozen=True)
class Problem:
    """One problem as a person is told it: the issue, and where it is.

    In a workbook: the sheet's title and the column's header as the file writes them, and the
    rows (one problem may stand for the same mistake on several rows). `field` and `message`
    are the English of the CLI and of API callers who ask for no language.
    """

    issue: Issue
    field: str
    message: str
    sheet: str | None = None
    sheet_key: str | None = None
    rows: tuple[int, ...] = ()
    column: str | None = None
    column_key: str | None = None


def document_problem(issue: Issue) -> Problem:
    """A YAML/JSON document's problem: located by its path."""
    return Problem(issue, issue.path, issue.message)


class Refused(Invalid):
    """The catalog file has problems and nothing was imported; `problems` says which."""

    def __init__(self, detail: str, *, problems: list[Problem]) -> None:
        super().__init__(detail, errors=[FieldError(p.field, p.message) for p in problems])
        self.problems = problems


def collapse(problems: list[Problem]) -> list[Problem]:
    """One problem per real mistake: the same mistake in one column on several rows (a wrong
    item type copied down, a misspelt region) is one problem listing its rows."""
    merged: dict[tuple[Any, ...], Problem] = {}
    for problem in problems:
        issue = problem.issue
        if problem.sheet_key is None:
            key: tuple[Any, ...] = (problem.field, problem.message)
        else:
            key = (problem.sheet_key, problem.column_key, issue.kind, issue.args, issue.message)
        seen = merged.get(key)
        if seen is None:
            merged[key] = problem
            continue
        rows = tuple(sorted(set(seen.rows) | set(problem.rows)))
        merged[key] = replace(seen, rows=rows, message=_rows_message(seen, rows))
    return list(merged.values())


def _rows_message(problem: Problem, rows: tuple[int, ...]) -> str:
    first = f"row {problem.rows[0]}" if problem.rows else ""
    if not first or first not in problem.message:
        return problem.message
    return problem.message.replace(first, "rows " + ", ".join(str(r) for r in rows), 1)


def refuse(issues: list[Issue], locate: Callable[[Issue], Problem]) -> Refused:
    """The error for a file with these issues (at most MAX_ISSUES kept, each located)."""
    problems = collapse([locate(issue) for issue in issues[:MAX_ISSUES]])
    more = f" (first {MAX_ISSUES} shown)" if len(issues) > MAX_ISSUES else ""
    return Refused(
        f"The catalog file has {len(problems)} problem(s); nothing was imported{more}.",
        problems=problems,
    )


def validate_document(
    session: Session,
    data: Any,
    *,
    locate: Callable[[Issue], Problem] | None = None,
    keep: list[Any] | None = None,
) -> DocumentIn:
    """Parse and check a whole document; raise Refused listing every problem."""
    doc, issues = parse(data)
    if doc is not None:
        issues = check_rules(session, doc, keep=keep)
    if issues:
        raise refuse(issues, locate or document_problem)
    assert doc is not None
    return doc
