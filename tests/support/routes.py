"""The app's routes, flattened: FastAPI keeps an included router as one lazy entry."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute


def api_routes(app: FastAPI) -> list[tuple[str, APIRoute]]:
    """Every APIRoute with its full path (the prefixes of the routers it is included in)."""
    return list(_walk(app.router.routes, ""))


def _walk(routes: Sequence[BaseRoute], prefix: str) -> Iterator[tuple[str, APIRoute]]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, route
            continue
        original = getattr(route, "original_router", None)
        context = getattr(route, "include_context", None)
        if original is not None and context is not None:
            yield from _walk(original.routes, prefix + context.prefix)
