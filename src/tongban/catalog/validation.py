"""Validation of a catalog document: its shape, then every rule across fields, items and files.

All problems are collected (never only the first) so that one failed import tells the operator
everything to fix. Each problem is an `Issue` located by its path in the document
(`items[3].implementations[1].promised_limit`); the Excel importer turns paths into
`sheet 2, row 17` locations.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
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
    """One problem: where (a document path) and what; `shape` marks a single-field error."""

    path: str
    message: str
    shape: bool = False


def path_of(loc: tuple[int | str, ...]) -> str:
    """`('items', 3, 'code')` -> `items[3].code`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "document"


def parse(data: Any) -> tuple[DocumentIn | None, list[Issue]]:
    """Check the document's shape; return it parsed, or the shape errors."""
    if not isinstance(data, dict):
        return None, [Issue("document", "must be a mapping with 'items' and 'bundles'", True)]
    try:
        return DocumentIn.model_validate(data), []
    except ValidationError as exc:
        issues = []
        for err in exc.errors(include_url=False, include_input=False):
            loc = tuple(p for p in err.get("loc", ()) if isinstance(p, (int, str)))
            issues.append(Issue(path_of(loc), str(err.get("msg", "invalid")), True))
        return None, issues


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
            issues.append(Issue(path, problem))
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
            issues.append(Issue(path, problem))
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
                )
            )
        else:
            seen_bundles[bundle.code] = bpath
        bundle.region = check_region(bundle.region, f"{bpath}.region")
        if len(set(bundle.components)) != len(bundle.components):
            issues.append(Issue(f"{bpath}.components", "an implementation is listed twice"))
        for c, code in enumerate(bundle.components):
            if code not in seen_impls and code not in known_elsewhere:
                issues.append(Issue(f"{bpath}.components[{c}]", f"unknown implementation {code}"))
    return issues


def _check_implementation(*, impl_path: str, impl: Any, issues: list[Issue]) -> None:
    if limit_exceeds(impl.promised_limit, impl.statutory_limit):
        issues.append(
            Issue(
                f"{impl_path}.promised_limit",
                f"promised limit {_fmt(impl.promised_limit)} exceeds statutory limit "
                f"{_fmt(impl.statutory_limit)}",
            )
        )
    for m, material in enumerate(impl.materials):
        if material.required == "conditional" and not material.condition:
            issues.append(
                Issue(
                    f"{impl_path}.materials[{m}].condition",
                    "a conditional material needs its condition",
                )
            )
    names: set[str] = set()
    for f, field in enumerate(impl.form_fields):
        fpath = f"{impl_path}.form_fields[{f}]"
        if field.name in names:
            issues.append(Issue(f"{fpath}.name", f"duplicate form field {field.name}"))
        names.add(field.name)
        if field.type == "choice" and not field.choices:
            issues.append(Issue(f"{fpath}.choices", "a choice field needs its choices"))


def _existing_implementation_codes(session: Session, codes: set[str]) -> set[str]:
    found: set[str] = set()
    ordered = sorted(codes)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        found.update(
            session.scalars(select(Implementation.code).where(Implementation.code.in_(chunk)))
        )
    return found


def validate_document(
    session: Session,
    data: Any,
    *,
    locate: Callable[[Issue], FieldError] | None = None,
    keep: list[Any] | None = None,
) -> DocumentIn:
    """Parse and check a whole document; raise Invalid listing every problem."""
    doc, issues = parse(data)
    if doc is not None:
        issues = check_rules(session, doc, keep=keep)
    if issues:
        to_error = locate or (lambda issue: FieldError(issue.path, issue.message))
        errors = [to_error(issue) for issue in issues[:MAX_ISSUES]]
        more = f" (first {MAX_ISSUES} shown)" if len(issues) > MAX_ISSUES else ""
        raise Invalid(
            f"The catalog file has {len(issues)} problem(s); nothing was imported{more}.",
            errors=errors,
        )
    assert doc is not None
    return doc
