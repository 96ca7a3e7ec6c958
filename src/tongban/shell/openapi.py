"""The API contract: FastAPI's OpenAPI document, completed with what the routes really answer.

FastAPI documents a route's success and its request-validation 422 (as `application/json`, in a
shape this API never sends). The house answers every error as `application/problem+json`
(`tongban.platform.errors`), and routes refuse for reasons FastAPI cannot see. `install_openapi`
completes the document once, centrally, so that no route has to repeat it:

- every error a route can answer is declared, with the `Problem` schema, derived from the route:
  a request body → 400 (unreadable), 413 (over the body limit), 422; any parameter → 422; a path
  parameter → 404; a caller required (`CurrentActor`, `run_unit`) → 401 and 403; a state change
  (POST, PUT, PATCH, DELETE) → 409; a `version` in the body → 412 (optimistic locking). What the
  route's shape does not show is listed in `EXTRA_STATUSES` (a rate-limited login's 429, a
  reference in a query or body that can be unknown: 404);
- parameters get the patterns and enumerations the routes check (region codes, the 通办 range,
  item types, queue states, insight periods, levels and groups): `PARAMETERS`;
- only the JSON API and `/healthz` are in the document (HTML pages are not part of it).

`tests/shell/test_contract.py` runs schemathesis against the document with every check: a
status, a media type or a body that the document does not declare fails it.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from tongban.platform.db import MAX_ROW_ID
from tongban.platform.errors import FIELD_ERROR_SCHEMA, PROBLEM_MEDIA_TYPE, PROBLEM_SCHEMA

# What each status means, as the document says it (docs/api.md has the same table).
STATUS_DESCRIPTIONS: dict[int, str] = {
    400: "The request cannot be read (a body that is not well-formed).",
    401: "No valid credentials: log in or send a bearer token (`WWW-Authenticate: Bearer`).",
    403: "The caller may not do this (role, department, jurisdiction, ownership).",
    404: "No such resource, or one the caller may not know of.",
    409: "The request clashes with the current state (a duplicate, an illegal transition).",
    412: "The `version` sent is stale: someone changed the resource meanwhile.",
    413: "The body or a file is over its limit.",
    422: "Invalid input; `errors` names every wrong field.",
    429: "Too many attempts; retry after `Retry-After` seconds.",
}
_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "`Bearer`"}},
    429: {"Retry-After": {"schema": {"type": "string"}, "description": "Seconds to wait."}},
}
_UNSAFE = frozenset({"post", "put", "patch", "delete"})

# Division codes exactly as the routes accept them (tests/shell/test_contract.py checks these
# patterns against the validators). P: a non-zero 2-digit segment (a province, a prefecture);
# T: a non-zero 3-digit segment (a township). Below a zero prefecture everything is zero, and a
# village needs a township (tongban.regions.codes).
_P = "(?:0[1-9]|[1-9][0-9])"
_T = "(?:00[1-9]|0[1-9][0-9]|[1-9][0-9]{2})"
_BELOW_COUNTY = f"(?:0{{7}}|{_P}[0-9]{{5}}|0{{10}}|{_P}[0-9]{{2}}(?:000000|{_T}[0-9]{{3}}))"
# `tongban.regions.codes.validate_code`: 6 digits (12 for townships and villages), or the
# 2-, 4- or 9-digit prefix of one.
REGION_CODE_PATTERN = f"^{_P}(?:|[0-9]{{2}}|0000|{_P}[0-9]{{2}}|{_BELOW_COUNTY})$"
# `tongban.insight.service.check_region_prefix`: a code or any prefix of one (2 to 12 digits,
# padded with zeros to 6).
REGION_PREFIX_PATTERN = f"^{_P}(?:|[0-9]{{1,2}}|000|{_P}[0-9]|0000|{_P}[0-9]{{2}}|{_BELOW_COUNTY})$"
# `tongban.insight.periods.parse_period`: a year, a quarter, a month or a range of days (which
# must be real days, the end not before the start: a rule no pattern states).
_YEAR = "(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])"
_MONTH = "(?:0[1-9]|1[0-2])"
_DAY = f"{_YEAR}-[0-9]{{2}}-[0-9]{{2}}"
PERIOD_PATTERN = f"^{_YEAR}(?:-?[Qq][1-4]|-{_MONTH})?$|^{_DAY}\\.\\.{_DAY}$"


@dataclass(frozen=True)
class Parameter:
    """A parameter whose schema the routes check more closely than its type says."""

    path: str  # a regular expression on the document's path
    name: str
    schema: Callable[[], dict[str, Any]]


def _region_code(*, empty: bool = False) -> Callable[[], dict[str, Any]]:
    pattern = f"^$|{REGION_CODE_PATTERN}" if empty else REGION_CODE_PATTERN
    return lambda: {
        "type": "string",
        "pattern": pattern,
        "description": "A division code (GB/T 2260): 6 digits, 12 for townships and villages"
        + (" (empty: any)." if empty else "."),
        "examples": ["440300", "511602", "511602001000"],
    }


def _region_prefix() -> dict[str, Any]:
    return {
        "type": "string",
        "pattern": REGION_PREFIX_PATTERN,
        "description": "A division code or its prefix (44, 4403, 440305).",
    }


def _enum(values: Callable[[], Sequence[str]], description: str) -> Callable[[], dict[str, Any]]:
    return lambda: {"type": "string", "enum": sorted(values()), "description": description}


def _tongban_ranges() -> list[str]:
    from tongban.catalog.models import TongbanRange

    return [r.value for r in TongbanRange]


def _item_types() -> list[str]:
    from tongban.catalog.models import ItemType

    return [t.value for t in ItemType]


def _queue_states() -> list[str]:
    from tongban.cases import service as cases

    return [str(s.value) for s in cases.OPEN_STATES]


def _insight_levels() -> Sequence[str]:
    from tongban.insight import indicators

    return indicators.LEVELS


def _insight_groups() -> Sequence[str]:
    from tongban.insight import indicators

    return indicators.GROUPS


PARAMETERS: tuple[Parameter, ...] = (
    Parameter(r"^/api/v1/regions/\{code\}", "code", _region_code()),
    Parameter(r"^/api/v1/regions$", "parent", _region_code()),
    # The item search and the review statistics read an empty region as none.
    Parameter(r"^/api/v1/(catalog/items|reviews/stats)$", "region", _region_code(empty=True)),
    Parameter(r"^/api/v1/catalog/(items/\{code\}|bundles)$", "region", _region_code()),
    Parameter(r"^/api/v1/insight/", "region", _region_prefix),
    Parameter(r"^/api/v1/catalog/items$", "range", _enum(_tongban_ranges, "通办 range.")),
    Parameter(r"^/api/v1/catalog/items$", "type", _enum(_item_types, "Item type.")),
    Parameter(r"^/api/v1/queue$", "state", _enum(_queue_states, "An open case state.")),
    Parameter(
        r"^/api/v1/insight/",
        "period",
        lambda: {
            "type": "string",
            "pattern": f"^$|{PERIOD_PATTERN}",
            "description": "2026, 2026-Q3, 2026-07 or 2026-07-01..2026-09-30 (empty: this "
            "quarter).",
        },
    ),
    Parameter(r"^/api/v1/insight/", "level", _enum(_insight_levels, "Level of the rows.")),
    Parameter(r"^/api/v1/insight/groups/", "group", _enum(_insight_groups, "Grouping.")),
)

# What a route's shape does not show, by (method, path): the reason is in the comment.
EXTRA_STATUSES: dict[tuple[str, str], frozenset[int]] = {
    # Failed logins are throttled (identity.throttle).
    ("post", "/api/v1/auth/token"): frozenset({401, 429}),
    ("post", "/api/v1/auth/login"): frozenset({401, 429}),
    # No checkpoint signed yet (404), or a tree size the log has not reached (409).
    ("get", "/api/v1/ledger/checkpoint"): frozenset({404}),
    ("get", "/api/v1/ledger/proof/inclusion"): frozenset({404, 409}),
    ("get", "/api/v1/ledger/proof/consistency"): frozenset({404, 409}),
    # The witness: a log it does not cosign (404), a checkpoint not signed by its key (403).
    ("post", "/api/v1/ledger/witness/add-checkpoint"): frozenset({403, 404}),
    # The parent named in the query.
    ("get", "/api/v1/regions"): frozenset({404}),
    # The case named in the query or body.
    ("get", "/api/v1/reviews"): frozenset({404}),
    ("post", "/api/v1/reviews"): frozenset({404}),
    ("post", "/api/v1/cases"): frozenset({404}),
    # Following a case without login: no case for this number and name (the same answer for
    # an unknown number), and failed look-ups throttled per client address.
    ("get", "/api/v1/track"): frozenset({404, 429}),
    ("post", "/api/v1/track"): frozenset({404, 429}),
    # The messages named in the body, when none of them is the caller's.
    ("post", "/api/v1/my/messages/read"): frozenset({404}),
    # Only the national node publishes the node directory and the routing table.
    ("get", "/api/v1/federation/nodes"): frozenset({404}),
    ("get", "/api/v1/federation/routes"): frozenset({404}),
    ("get", "/api/v1/federation/catalog"): frozenset({404}),
    # No analytics snapshot written yet (tongban insight export).
    **{
        ("get", f"/api/v1/insight/{name}"): frozenset({404})
        for name in ("indicators", "equalization", "standardization", "trend")
    },
}
# State changes that clash with nothing: logging in and out.
NO_CONFLICT: frozenset[tuple[str, str]] = frozenset(
    ("post", f"/api/v1/auth/{name}") for name in ("token", "login", "logout")
)
# Request bodies a route reads itself (not through a parameter FastAPI could document).
EXTRA_REQUEST_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/api/v1/catalog/import"): {
        "description": "A catalog file (docs/catalog-format.md): multipart `file`, or the raw "
        "JSON, YAML or Excel workbook.",
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
            "application/json": {"schema": {"type": "object"}},
            "application/yaml": {"schema": {"type": "string"}},
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                "schema": {"type": "string", "format": "binary"}
            },
        },
    },
    # The C2SP tlog-witness protocol: old size, consistency proof lines, blank line, checkpoint.
    ("post", "/api/v1/ledger/witness/add-checkpoint"): {
        "description": "An add-checkpoint request (c2sp.org/tlog-witness), as text.",
        "required": True,
        "content": {"text/plain": {"schema": {"type": "string"}}},
    },
}
# Answers beyond the problem documents: the node's (the database is down), and a protocol's.
EXTRA_RESPONSES: dict[tuple[str, str], dict[str, Any]] = {
    # The C2SP tlog-witness protocol's 409: the size the witness last cosigned, as text.
    ("post", "/api/v1/ledger/witness/add-checkpoint"): {
        "409": {
            "description": "Not the size the witness last cosigned (the body is that size), or "
            "that size with another root (a fork).",
            "content": {"text/x.tlog.size": {"schema": {"type": "string"}}},
        }
    },
    ("get", "/healthz"): {
        "503": {
            "description": "The database is unreachable.",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
}
_IN_DOCUMENT = re.compile(r"^/api/|^/healthz$")
# Callables whose presence among a route's dependencies (or names in its handler) mean that a
# caller is required (401 when anonymous, 403 when not allowed).
_AUTHENTICATING = frozenset({"required_actor", "run_unit"})


def install_openapi(app: FastAPI) -> None:
    """Serve the completed document at the app's openapi_url (built once per route set)."""
    generate = app.openapi
    completed: list[dict[str, Any]] = []  # [the source document, the completed one]

    def openapi() -> dict[str, Any]:
        source = generate()
        if not completed or completed[0] is not source:
            completed[:] = [source, complete(source, app)]
        return completed[1]

    app.openapi = openapi  # type: ignore[method-assign]


def complete(source: dict[str, Any], app: FastAPI) -> dict[str, Any]:
    """A copy of `source` with the house's errors, parameter rules and scope (see the module)."""
    document = copy.deepcopy(source)
    routes = dict(_operations(app))
    document["paths"] = {p: ops for p, ops in document["paths"].items() if _IN_DOCUMENT.match(p)}
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = copy.deepcopy(PROBLEM_SCHEMA)
    schemas["FieldError"] = copy.deepcopy(FIELD_ERROR_SCHEMA)
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            route = routes.get((method, path))
            key = (method, path)
            if key in EXTRA_REQUEST_BODIES:
                operation["requestBody"] = copy.deepcopy(EXTRA_REQUEST_BODIES[key])
            _constrain_parameters(path, operation)
            statuses = _statuses(method, path, operation, route)
            responses = operation.setdefault("responses", {})
            for code in sorted(statuses):
                responses[str(code)] = _problem_response(code)
            responses.update(copy.deepcopy(EXTRA_RESPONSES.get(key, {})))
    _exact_integer_bounds(document)
    for unused in ("HTTPValidationError", "ValidationError"):
        if unused in schemas and f'"#/components/schemas/{unused}"' not in json.dumps(document):
            del schemas[unused]
    return document


def _exact_integer_bounds(node: Any) -> None:
    """Integer bounds as integers: FastAPI writes `le=2**63 - 1` as the float 2.0**63, and a
    client trusting it sends 2**63 - 1 + 192, which the route refuses (a row id is a BIGINT)."""
    if isinstance(node, list):
        for item in node:
            _exact_integer_bounds(item)
        return
    if not isinstance(node, dict):
        return
    if node.get("type") == "integer":
        for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            value = node.get(key)
            if isinstance(value, float) and value.is_integer():
                if value == float(MAX_ROW_ID):
                    node[key] = MAX_ROW_ID + (1 if key == "exclusiveMaximum" else 0)
                else:
                    node[key] = int(value)
    for child in node.values():
        _exact_integer_bounds(child)


def _problem_response(code: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": STATUS_DESCRIPTIONS[code],
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    if code in _HEADERS:
        response["headers"] = copy.deepcopy(_HEADERS[code])
    return response


def _statuses(
    method: str, path: str, operation: dict[str, Any], route: APIRoute | None
) -> set[int]:
    statuses = set(EXTRA_STATUSES.get((method, path), frozenset()))
    parameters = operation.get("parameters", [])
    body = "requestBody" in operation
    if parameters or body:
        statuses.add(422)
    if body:
        statuses |= {400, 413}
    if any(p.get("in") == "path" for p in parameters):
        statuses.add(404)
    if method in _UNSAFE and path.startswith("/api/") and (method, path) not in NO_CONFLICT:
        statuses.add(409)
    if route is not None:
        if _requires_caller(route):
            statuses |= {401, 403}
        if _has_version(route):
            statuses.add(412)
    # Declared statuses (FastAPI's own 422 among them) are replaced by problem documents.
    statuses |= {int(code) for code in operation.get("responses", {}) if code.startswith("4")}
    return statuses


def _requires_caller(route: APIRoute) -> bool:
    if _AUTHENTICATING & set(route.endpoint.__code__.co_names):
        return True
    return any(_call_name(d) in _AUTHENTICATING for d in _dependencies(route.dependant))


def _has_version(route: APIRoute) -> bool:
    for param in route.dependant.body_params:
        fields = getattr(param.field_info.annotation, "model_fields", None) or {}
        if "version" in fields:
            return True
    return False


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for child in dependant.dependencies:
        yield child
        yield from _dependencies(child)


def _call_name(dependant: Dependant) -> str:
    return str(getattr(dependant.call, "__name__", ""))


def _constrain_parameters(path: str, operation: dict[str, Any]) -> None:
    for parameter in operation.get("parameters", []):
        for rule in PARAMETERS:
            if rule.name == parameter["name"] and re.search(rule.path, path):
                old = parameter.get("schema", {})
                schema = rule.schema()
                for kept in ("title", "default"):
                    if kept in old:
                        schema[kept] = old[kept]
                parameter["schema"] = schema
                break


def _operations(app: FastAPI) -> Iterator[tuple[tuple[str, str], APIRoute]]:
    """Every API route by (method, full path); FastAPI keeps an included router as one entry."""
    for path, route in _walk(app.router.routes, ""):
        for method in route.methods or ():
            yield (method.lower(), path), route


def _walk(routes: Sequence[BaseRoute], prefix: str) -> Iterator[tuple[str, APIRoute]]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, route
            continue
        original = getattr(route, "original_router", None)
        context = getattr(route, "include_context", None)
        if original is not None and context is not None:
            yield from _walk(original.routes, prefix + context.prefix)
