"""The rules of the house (docs/architecture.md), checked on the code itself: `make lint` runs
these beside the import contracts (pyproject.toml, [tool.importlinter])."""

from __future__ import annotations

import ast
import importlib
import inspect
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from sqlalchemy.orm import Session

import tongban
from tests.support.routes import api_routes
from tongban.platform.config import Settings
from tongban.platform.db import Base
from tongban.platform.web.deps import DbSession
from tongban.regions import service as regions
from tongban.shell import models as _every_table  # noqa: F401 - every table is mapped
from tongban.shell.app import create_app

PACKAGE = Path(tongban.__file__).parent
# The domains, lowest first (the layers contract in pyproject.toml has the same order).
DOMAINS = (
    "events",
    "workdays",
    "ledger",
    "regions",
    "identity",
    "catalog",
    "cases",
    "consent",
    "exchange",
    "credentials",
    "reviews",
    "federation",
    "insight",
    "assistant",
    "guard",
    "govstack",
)
# What a domain offers other domains: its rules, and (identity only) who is calling.
PUBLIC_MODULES = {"service", "deps"}


def _modules(root: Path = PACKAGE) -> Iterator[tuple[str, Path, ast.Module]]:
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(relative.parts).removesuffix(".__init__")
        yield name, path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def test_only_the_unit_of_work_commits_or_rolls_back() -> None:
    owner = "tongban.platform.db.uow"
    found = []
    for name, path, tree in _modules():
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("commit", "rollback")
                and name != owner
            ):
                found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert found == [], "commit/rollback outside the unit of work: " + ", ".join(found)


def test_no_global_settings_below_the_shell() -> None:
    # Services take settings as arguments; only the shell reads the environment's.
    allowed = ("tongban.shell", "tongban.platform.config")
    found = []
    for name, path, tree in _modules():
        if name.startswith(allowed):
            continue
        for node in ast.walk(tree):
            if (isinstance(node, ast.Name) and node.id == "get_settings") or (
                isinstance(node, ast.alias) and node.name == "get_settings"
            ):
                found.append(f"{path.relative_to(PACKAGE.parent)}:{getattr(node, 'lineno', 0)}")
    assert found == [], "get_settings() below the shell: " + ", ".join(sorted(set(found)))


def _imported_modules(name: str, tree: ast.Module) -> Iterator[tuple[str, int]]:
    package = name if name.endswith(tuple(f".{d}" for d in DOMAINS)) else name.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            for alias in node.names:
                # `from tongban.cases import service` imports the module tongban.cases.service
                yield (f"{base}.{alias.name}" if base.count(".") == 1 else base), node.lineno


def test_domains_meet_only_through_service_modules() -> None:
    found = []
    for name, path, tree in _modules():
        parts = name.split(".")
        if len(parts) < 2 or parts[1] not in DOMAINS:
            continue
        own = parts[1]
        for target, line in _imported_modules(name, tree):
            bits = target.split(".")
            if len(bits) < 2 or bits[0] != "tongban" or bits[1] not in DOMAINS or bits[1] == own:
                continue
            if len(bits) >= 3 and bits[2] in PUBLIC_MODULES:
                continue
            found.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {target}")
    assert found == [], "reaching into another domain:\n" + "\n".join(found)


def _mapped_classes() -> set[type]:
    return {mapper.class_ for mapper in Base.registry.mappers}


def _types_in(hint: object) -> Iterator[object]:
    yield hint
    for arg in typing.get_args(hint):
        yield from _types_in(arg)


@pytest.mark.parametrize("domain", DOMAINS)
def test_no_orm_row_crosses_a_domain_boundary(domain: str) -> None:
    module = importlib.import_module(f"tongban.{domain}.service")
    names = getattr(module, "__all__", None)
    assert names, f"tongban.{domain}.service must say what it offers in __all__"
    mapped = _mapped_classes()
    found = []
    for name in names:
        value = getattr(module, name)
        if inspect.isclass(value) and value in mapped:
            found.append(f"{name} is a table")
        elif inspect.isfunction(value):
            hints = typing.get_type_hints(value)
            for where, hint in hints.items():
                rows = [t.__name__ for t in _types_in(hint) if isinstance(t, type) and t in mapped]
                if rows:
                    found.append(f"{name}({where}) is {', '.join(rows)}")
    assert found == [], f"tongban.{domain}.service hands out ORM rows: " + "; ".join(found)


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from _dependencies(sub)


def _event_loop_problems(app: FastAPI) -> list[str]:
    """Async routes that take a session (through any dependency) or call a service module."""
    found = []
    for path, route in api_routes(app):
        if not inspect.iscoroutinefunction(route.endpoint):
            continue
        where = f"{sorted(route.methods)} {path}"
        for dep in _dependencies(route.dependant):
            hints = typing.get_type_hints(dep.call) if dep.call is not None else {}
            if any(t is Session for t in _types_in(hints.get("return"))):
                found.append(f"{where} takes a session through {dep.call}")
        endpoint_globals = route.endpoint.__globals__
        for used in route.endpoint.__code__.co_names:
            value = endpoint_globals.get(used)
            if inspect.ismodule(value) and value.__name__.endswith(".service"):
                found.append(f"{where} calls {value.__name__} on the event loop")
    return found


def test_no_async_route_takes_a_session_or_calls_a_service(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, database_url="sqlite://"))
    assert len(api_routes(app)) > 50
    problems = _event_loop_problems(app)
    assert problems == [], "\n".join(problems)


async def _takes_a_session(session: DbSession) -> None:
    """A route this house does not allow: a session on the event loop."""


async def _calls_a_service() -> int:
    """A route this house does not allow: a service called on the event loop."""
    return len(regions.builtin_rows())


def test_the_event_loop_rule_sees_what_it_forbids() -> None:
    app = FastAPI()
    app.get("/a")(_takes_a_session)
    app.get("/b")(_calls_a_service)
    problems = _event_loop_problems(app)
    assert any("/a takes a session" in p for p in problems), problems
    assert any("/b calls tongban.regions.service" in p for p in problems), problems
