"""Request body limits, applied before anything reads (or spools) the body.

A pure ASGI middleware: the limit of a request is chosen by its path (routes that take files
get their files' limit; every other request the general one). A request whose `Content-Length`
is over the limit is answered 413 at once, without reading a byte of the body or calling the
app. A body sent without a length (chunked) is counted as it streams: at the first byte past the
limit the app's next read fails, and whatever the app was answering is replaced by the 413, so
the form parser (which spools files to disk) never holds more than the limit.

The 413 goes through the app's own handler for `PayloadTooLarge`: RFC 9457 problem+json for
the API, the translated error page for HTML pages (see platform.errors and shell.web).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tongban.platform.errors import FieldError, PayloadTooLarge, problem


class BodyTooLarge(PayloadTooLarge):
    """The request body is over the limit of its route."""


def too_large(limit: int) -> BodyTooLarge:
    """The error for a body over `limit` bytes."""
    return BodyTooLarge(
        f"The request body is larger than {limit} bytes.",
        errors=[FieldError("body", f"at most {limit} bytes")],
    )


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


class BodyLimitMiddleware:
    """Refuse (413) a request body over its route's limit before it is read."""

    def __init__(
        self, app: ASGIApp, *, default: int, routes: Sequence[tuple[str, int]] = ()
    ) -> None:
        self.app = app
        self.default = default
        self.routes = [(re.compile(pattern), limit) for pattern, limit in routes]

    def limit_for(self, path: str) -> int:
        """The body limit of a path: the first route pattern that matches it, else the default."""
        for pattern, limit in self.routes:
            if pattern.fullmatch(path):
                return limit
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await self._refuse(scope, send, limit)
            return
        received = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise too_large(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise too_large(limit)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                return  # the app's answer to a cut-off body is replaced by the 413 below
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not exceeded or started:
                raise
        if exceeded and not started:
            await self._refuse(scope, send, limit)

    async def _refuse(self, scope: Scope, send: Send, limit: int) -> None:
        error = too_large(limit)
        request = Request(scope, _no_body)
        handler = _handler_for(scope.get("app"), error)
        response: Any = None
        if handler is not None:
            response = handler(request, error)
            if inspect.isawaitable(response):
                response = await response
        if not isinstance(response, Response):
            response = problem(
                status=error.status,
                code=error.code,
                title=error.title,
                detail=error.detail,
                instance=scope["path"],
                errors=[e.as_dict() for e in error.errors],
            )
        # The unread body is not waited for: the connection closes after the answer.
        response.headers["connection"] = "close"
        await response(scope, _no_body, send)


def _handler_for(app: Any, error: Exception) -> Any:
    handlers = getattr(app, "exception_handlers", None) or {}
    for cls in type(error).__mro__:
        if cls in handlers:
            return handlers[cls]
    return None


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
