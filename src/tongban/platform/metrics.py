"""Prometheus metrics: request counts and latencies per route template.

`/metrics` is not public: it answers this machine (a loopback client that did not come through
a proxy) and, when the node has a metrics token (TONGBAN_METRICS_TOKEN), any client that sends
it as `Authorization: Bearer <token>`. Anyone else gets 401 (token configured) or 403.
"""

from __future__ import annotations

import hmac
import ipaddress
import time

from fastapi import FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tongban.platform.errors import Forbidden, Unauthorized

# Headers a reverse proxy adds: a request that carries one did not come from this machine,
# whatever address the proxy connected from.
_PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


class MetricsMiddleware:
    """Times each HTTP request and counts it by route template and status.

    A plain ASGI middleware rather than @app.middleware("http"): Starlette's BaseHTTPMiddleware
    runs the rest of the app in a separate task with stream plumbing, which cost about a
    millisecond per request in profiles.
    """

    def __init__(self, app: ASGIApp, *, requests: Counter, latency: Histogram) -> None:
        self.app = app
        self.requests = requests
        self.latency = latency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, noting the status and the time it took."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, note_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            method = scope["method"]
            self.latency.labels(method, template).observe(time.perf_counter() - started)
            self.requests.labels(method, template, str(status)).inc()


def _from_this_machine(request: Request) -> bool:
    if any(name in request.headers for name in _PROXY_HEADERS):
        return False
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bearer(request: Request) -> str | None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" and credentials.strip() else None


def check_metrics_access(request: Request, *, token: str | None) -> None:
    """Let a scraper on this machine, or one with the metrics token, read the metrics."""
    sent = _bearer(request)
    if token and sent is not None and hmac.compare_digest(sent.encode(), token.encode()):
        return
    if _from_this_machine(request):
        return
    if token:
        raise Unauthorized(
            "Send the metrics token as a bearer token.", headers={"WWW-Authenticate": "Bearer"}
        )
    raise Forbidden("The metrics are served to this machine only (see TONGBAN_METRICS_TOKEN).")


def install_metrics(app: FastAPI, *, token: str | None = None) -> None:
    """Count and time every request; serve them at /metrics (a registry per app) to this
    machine, or to a client with `token` (see the module's docstring)."""
    registry = CollectorRegistry()
    requests = Counter(
        "tongban_http_requests_total",
        "HTTP requests",
        ["method", "route", "status"],
        registry=registry,
    )
    latency = Histogram(
        "tongban_http_request_seconds",
        "HTTP request latency",
        ["method", "route"],
        registry=registry,
        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
    )
    app.state.metrics_registry = registry
    app.add_middleware(MetricsMiddleware, requests=requests, latency=latency)

    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        check_metrics_access(request, token=token)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
