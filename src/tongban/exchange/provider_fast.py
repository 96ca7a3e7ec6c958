"""The direct path of `POST /exchange/v1/query`: the nodes' protocol answered ahead of the
middleware stack and FastAPI's routing and dependencies, with the same checks, headers and
errors.

Why: on the provider node, half of a served query's CPU went to the way there and back —
five middlewares wrapping the answer, the route found among all the app's routes, the
dependencies solved — not to the query (docs/benchmarks.md, Exchange). The shell adds
`QueryFastPath` as the outermost middleware; it takes a request only in the one form this
protocol's clients send (POST to the exact path, a declared small body, no cookie, no gzip
asked for), and answers it as the stack would: the same work (`serving.serve_query`) in one
unit of work (on SQLite on the query thread, below), the same problem+json through the app's
own error handlers, and what each middleware adds to such an answer — the security headers,
the CSRF pre-session cookie (the path is not exempt), gzip's `Vary` on an answer of 500 bytes
or more, and the request counted and timed in the metrics. Any other request goes down the stack to
the FastAPI route (provider_api.py), which stays the documented one.
tests/exchange/test_provider_fast.py sends each kind of query, genuine and refused, both ways
and compares status, headers and body.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from starlette.datastructures import URL, Headers, MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tongban.exchange import serving
from tongban.exchange.remote import QUERY_PATH
from tongban.platform.db import uow
from tongban.platform.metrics import MetricsMiddleware
from tongban.platform.web.csrf import CSRF_COOKIE, new_visitor_id
from tongban.platform.web.deps import in_unit_thread
from tongban.platform.web.security import CONTENT_SECURITY_POLICY, HEADERS

# A query is ~200 bytes; a larger body goes down the stack (and its body limit).
BODY_LIMIT = 16 * 1024
# GZipMiddleware's minimum size (shell/web.py): an answer this long gets `Vary`.
GZIP_MINIMUM = 500
T = TypeVar("T")
_SECURITY = (*HEADERS, (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()))


# On SQLite, the queries a process serves run one at a time on a thread of their own rather
# than on the 40 shared unit threads. Every query writes (its message log and event), and the
# node's write gate admits one writer at a time anyway; what many threads added was the GIL
# handed to and fro among them. Measured, the provider alone under 8 kept-alive connections
# (docs/benchmarks.md, Exchange): 2.63 ms of CPU a query on the shared threads (0.60 ms of it
# in the kernel), 1.95 ms on one thread of its own (0.28 ms), 1.51 ms on the event loop
# itself, which is not done: a query waiting at the write gate would stall the process's
# every request. On PostgreSQL a query waits on the server's round trips: the shared threads.
_query_thread: ThreadPoolExecutor | None = None
_query_thread_lock = threading.Lock()


async def _on_query_thread(database: Any, work: Callable[[], T]) -> T:
    global _query_thread
    if database.engine.dialect.name != "sqlite":
        return await in_unit_thread(work)
    if _query_thread is None:
        with _query_thread_lock:
            if _query_thread is None:
                _query_thread = ThreadPoolExecutor(1, thread_name_prefix="tongban-query")
    return await asyncio.get_running_loop().run_in_executor(_query_thread, work)


def takes(scope: Scope) -> bool:
    """Whether the request is in the plain form the direct path answers."""
    if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != QUERY_PATH:
        return False
    length = None
    for name, value in scope["headers"]:
        if name == b"content-length":
            if length is not None or not value.isdigit():
                return False
            length = int(value)
        elif name in (b"cookie", b"transfer-encoding") or (
            name == b"accept-encoding" and b"gzip" in value
        ):
            return False
    return length is not None and length <= BODY_LIMIT


class QueryFastPath:
    """ASGI middleware: signed queries in their plain form answered directly (see above)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._metrics: tuple[Any, Any] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not takes(scope):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        try:
            body = await _body(receive)
            status, headers, content = await self._answer(scope, body)
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": content})
        finally:
            requests, latency = self._counters(scope["app"])
            if requests is not None:
                latency.labels("POST", QUERY_PATH).observe(time.perf_counter() - started)
                requests.labels("POST", QUERY_PATH, str(status)).inc()

    def _counters(self, app: Any) -> tuple[Any, Any]:
        """The metrics middleware's request counter and latency histogram (platform/metrics)."""
        if self._metrics is None:
            found: tuple[Any, Any] = (None, None)
            for middleware in app.user_middleware:
                if middleware.cls is MetricsMiddleware:
                    found = (middleware.kwargs["requests"], middleware.kwargs["latency"])
            self._metrics = found
        return self._metrics

    async def _answer(self, scope: Scope, body: bytes) -> tuple[int, list[Any], bytes]:
        app = scope["app"]
        incoming = serving.IncomingRequest(
            method="POST", url=str(URL(scope=scope)), headers=Headers(scope=scope)
        )

        def work() -> serving.Served:
            with uow.unit(app.state.database) as session:
                return serving.serve_query(
                    session, request=incoming, body=body, settings=app.state.settings
                )

        try:
            served = await _on_query_thread(app.state.database, work)
            response: Response = Response(
                content=served.body, status_code=served.status_code, headers=served.headers
            )
        except Exception as exc:
            handler = _handler(app, exc)
            if handler is None:
                raise  # as down the stack: the server-error middleware answers it
            response = await handler(Request(scope), exc)
        headers = list(response.raw_headers)
        # CsrfMiddleware: a visitor without a pre-session id (no cookie at all here) gets one.
        guard = app.state.csrf_guard
        cookie = f"{CSRF_COOKIE}={new_visitor_id()}; Path=/; HttpOnly; SameSite=Lax"
        if guard.secure:
            cookie += "; Secure"
        headers.append((b"set-cookie", cookie.encode()))
        # SecurityHeadersMiddleware: what the answer lacks.
        present = {name.lower() for name, _ in headers}
        headers.extend((name, value) for name, value in _SECURITY if name not in present)
        if len(response.body) >= GZIP_MINIMUM:  # GZipMiddleware, nothing compressed
            MutableHeaders(raw=headers).add_vary_header("Accept-Encoding")
        return response.status_code, headers, bytes(response.body)


async def _body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionError("the client went away")
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _handler(app: Any, exc: Exception) -> Any:
    """The app's handler for this error (by its class's MRO, as Starlette looks it up), but
    not the one for any Exception: that one answers in the server-error middleware."""
    handlers = app.exception_handlers
    for cls in type(exc).__mro__:
        if cls is Exception:
            return None
        if cls in handlers:
            return handlers[cls]
    return None
