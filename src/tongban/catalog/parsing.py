"""Reading a catalog file's text: the import size limit, then YAML or JSON with bounded size.

Syntax errors name the line; a document that expands to too many values (aliases) is refused
before validation walks it. The Excel form is read by workbook.py.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from tongban.platform.config import Settings
from tongban.platform.errors import FieldError, Invalid, PayloadTooLarge

# libyaml is ten times faster than the pure-Python loader (a 700 kB catalog: 0.7 s vs 8 s).
_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_NODES = 2_000_000


def _too_big(data: Any) -> bool:
    """Whether a parsed document has more values than any catalog needs.

    Aliases (`*ref`) are shared, not copied, by the loader, but validation walks them again
    and again: a "billion laughs" file would take forever. Counting with a budget stops that.
    """
    budget = MAX_NODES
    stack = [data]
    while stack:
        node = stack.pop()
        budget -= 1
        if budget < 0:
            return True
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


# The limit when a caller names none: the setting's default (routes and the CLI pass the
# operator's TONGBAN_IMPORT_MAX_BYTES).
DEFAULT_MAX_BYTES: int = Settings.model_fields["import_max_bytes"].default


def limit_or_default(max_bytes: int | None) -> int:
    """The import limit in bytes: the caller's, else the setting's default."""
    return max_bytes if max_bytes is not None else DEFAULT_MAX_BYTES


def check_size(size: int, *, max_bytes: int | None = None) -> None:
    """Refuse a file over the import limit."""
    limit = limit_or_default(max_bytes)
    if size > limit:
        raise PayloadTooLarge(
            f"The file is {size} bytes; the import limit is {limit} bytes.",
            errors=[FieldError("file", f"larger than the limit of {limit} bytes")],
        )


def parse_text(content: bytes, *, kind: str) -> Any:
    """Decode a YAML or JSON file; syntax errors name the line."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid(
            "The file is not UTF-8 text.",
            errors=[FieldError("file", f"not UTF-8 at byte {exc.start}")],
        ) from None
    if kind == "json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise Invalid(
                f"Not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.",
                errors=[FieldError(f"line {exc.lineno}", exc.msg)],
            ) from None
        except RecursionError:
            raise Invalid(
                "Not valid JSON: nested too deeply.", errors=[FieldError("file", "too deep")]
            ) from None
    try:
        data = yaml.load(text, Loader=_SafeLoader)  # yaml.safe_load, with libyaml when present
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown place"
        raise Invalid(
            f"Not valid YAML: {problem} at {where}.",
            errors=[FieldError(f"line {mark.line + 1}" if mark else "file", str(problem))],
        ) from None
    except RecursionError:
        raise Invalid(
            "Not valid YAML: nested too deeply.", errors=[FieldError("file", "too deep")]
        ) from None
    if _too_big(data):
        raise Invalid(
            "The YAML document expands to too many values (aliases?).",
            errors=[FieldError("file", f"more than {MAX_NODES} values")],
        )
    return data
