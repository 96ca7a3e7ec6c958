"""How a refused catalog import reads to a person, in Chinese or English: where (sheet, row,
column as the file names them) and what is wrong, one sentence per problem.

The problems are data (validation.Problem: a kind and its values); this table words each kind.
Used by the import page and by the API (when the caller names a language).
"""

from __future__ import annotations

from collections.abc import Callable

from tongban.catalog.validation import Problem, Refused
from tongban.platform.errors import FieldError, Invalid
from tongban.platform.web import i18n
from tongban.platform.web.rendering import N_

# kind -> what is wrong, with the problem's values as %(name)s.
WORDING: dict[str, str] = {
    "missing": N_("This cell is empty; fill it in."),
    "empty": N_("This cell is empty; fill it in."),
    "missing_column": N_("The column is missing: add it to the first row (the headers)."),
    "missing_sheet": N_("The sheet “事项” (items) is missing."),
    "unknown_column": N_("“%(value)s” is not a column of this sheet. Check its spelling."),
    "duplicate_column": N_("The column “%(value)s” appears twice."),
    "too_many_rows": N_("The sheet has more than %(limit)s rows."),
    "bad_json": N_("This cell must be written as JSON (see the sample workbook)."),
    "not_on_sheet": N_("The code %(value)s is not on the sheet “%(parent)s”."),
    "too_long": N_("Too long: at most %(limit)s characters."),
    "pattern": N_("“%(value)s” is not written the right way for this column."),
    "choice": N_("“%(value)s” is not allowed here. Write one of: %(choices)s."),
    "not_integer": N_("“%(value)s” is not a whole number."),
    "not_number": N_("“%(value)s” is not a number."),
    "decimal_places": N_("At most %(limit)s decimal places."),
    "too_small": N_("“%(value)s” is too small: at least %(limit)s."),
    "too_big": N_("“%(value)s” is too large: at most %(limit)s."),
    "not_yes_no": N_("“%(value)s” must be 是 or 否 (yes or no)."),
    "not_text": N_("“%(value)s” must be text."),
    "list_too_short": N_("Write at least one (separate several with “;”)."),
    "not_list": N_("This must be a list."),
    "not_mapping": N_("This must be a group of fields (see the catalog format)."),
    "unknown_field": N_("This field is unknown. Check its spelling."),
    "control_chars": N_("The text contains invisible control characters. Type it again."),
    "required_word": N_("“%(value)s” must be 是, 否 or 容缺 (yes, no or conditional)."),
    "unknown_region": N_("There is no region with the code %(value)s."),
    "malformed_region": N_("“%(value)s” is not a region code (6 or 12 digits)."),
    "bad_uscc": N_("“%(value)s” is not a valid unified social credit code."),
    "duplicate_code": N_("The code %(value)s appears twice."),
    "listed_twice": N_("An implementation is listed twice."),
    "unknown_implementation": N_("There is no implementation with the code %(value)s."),
    "condition_needed": N_("A conditional material (容缺) needs its condition."),
    "choices_needed": N_("A choice field needs its choices."),
    "limit_exceeds_working_days_working_days": N_(
        "The promised time limit (%(promised)s working days) is longer than the statutory "
        "limit (%(statutory)s working days)."
    ),
    "limit_exceeds_natural_days_natural_days": N_(
        "The promised time limit (%(promised)s calendar days) is longer than the statutory "
        "limit (%(statutory)s calendar days)."
    ),
    "limit_exceeds_natural_days_working_days": N_(
        "The promised time limit (%(promised)s calendar days) is longer than the statutory "
        "limit (%(statutory)s working days)."
    ),
    "limit_exceeds_working_days_natural_days": N_(
        "The promised time limit (%(promised)s working days) is longer than the statutory "
        "limit (%(statutory)s calendar days)."
    ),
    "invalid": N_("This value is not accepted (%(detail)s)."),
}
SHEET_ROW_COLUMN = N_("Sheet “%(sheet)s”, %(rows)s, column “%(column)s”")
SHEET_ROW = N_("Sheet “%(sheet)s”, %(rows)s")
AT_FIELD = N_("At %(field)s")
ONE_ROW = N_("row %(rows)s")
SOME_ROWS = N_("rows %(rows)s")
MANY_ROWS = N_("rows %(rows)s and %(more)s more")
WHERE_WHAT = N_("%(where)s: %(what)s")
REFUSED = N_("The file has %(count)s problem(s). Nothing was imported.")
# How a list of values or rows is written in each language.
SEPARATORS: dict[str, str] = {"zh_CN": "、", "en": ", "}
MAX_ROWS_SHOWN = 8


def _words(locale: str) -> tuple[Callable[[str], str], str]:
    return i18n.translations(locale).gettext, SEPARATORS.get(locale, ", ")


def rows_text(rows: tuple[int, ...], locale: str) -> str:
    """Row numbers as a person reads them: row 3; rows 3, 5, 9 (the first few, then how many)."""
    gettext, separator = _words(locale)
    shown = separator.join(str(r) for r in rows[:MAX_ROWS_SHOWN])
    if len(rows) > MAX_ROWS_SHOWN:
        more = len(rows) - MAX_ROWS_SHOWN
        return gettext(MANY_ROWS) % {"rows": shown, "more": more, "total": len(rows)}
    return gettext(ONE_ROW if len(rows) == 1 else SOME_ROWS) % {"rows": shown}


def where(problem: Problem, locale: str) -> str:
    """Where the problem is: the sheet, rows and column (or the field of a YAML/JSON file)."""
    gettext, _ = _words(locale)
    if problem.sheet is None:
        return gettext(AT_FIELD) % {"field": problem.field}
    values = {"sheet": problem.sheet, "rows": rows_text(problem.rows, locale)}
    if problem.column:
        return gettext(SHEET_ROW_COLUMN) % {**values, "column": problem.column}
    return gettext(SHEET_ROW) % values


def what(problem: Problem, locale: str) -> str:
    """What is wrong, in one sentence."""
    gettext, separator = _words(locale)
    values = {
        name: separator.join(value) if isinstance(value, tuple) else value
        for name, value in problem.issue.args
    }
    template = WORDING.get(problem.issue.kind, WORDING["invalid"])
    try:
        return gettext(template) % values
    except (KeyError, TypeError, ValueError):  # a value the wording needs is not there
        return gettext(WORDING["invalid"]) % {"detail": problem.issue.message}


def said(problem: Problem, locale: str) -> str:
    """Where and what, as one line (the API's message)."""
    gettext, _ = _words(locale)
    return gettext(WHERE_WHAT) % {"where": where(problem, locale), "what": what(problem, locale)}


def worded(exc: Refused, locale: str) -> Invalid:
    """The refusal with its detail and every problem in the caller's language (for the API)."""
    gettext, _ = _words(locale)
    return Invalid(
        gettext(REFUSED) % {"count": len(exc.problems)},
        errors=[FieldError(p.field, said(p, locale)) for p in exc.problems],
    )
