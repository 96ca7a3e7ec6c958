"""Domain errors and the one handler that turns them into RFC 9457 problem+json or a page."""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Match

log = logging.getLogger(__name__)

PROBLEM_TYPE_BASE = "https://tongban.dev/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"

# The JSON Schema of a problem document (the API contract's `Problem` and `FieldError`; the
# shell puts them in the OpenAPI document). `errors` is present only when fields are named.
FIELD_ERROR_SCHEMA: dict[str, Any] = {
    "title": "FieldError",
    "description": "One wrong field: where it is and what is wrong with it.",
    "type": "object",
    "properties": {
        "field": {"type": "string", "description": "The field, dotted (`items.3.code`)."},
        "message": {"type": "string"},
    },
    "required": ["field", "message"],
}
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An error, as an RFC 9457 problem document (`application/problem+json`).",
    "type": "object",
    "properties": {
        "type": {
            "type": "string",
            "description": f"`{PROBLEM_TYPE_BASE}<code>`: what kind of problem this is.",
        },
        "title": {"type": "string", "description": "A short summary of the kind of problem."},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string", "description": "What went wrong in this request."},
        "instance": {"type": "string", "description": "The path that was requested."},
        "errors": {
            "type": "array",
            "items": {"$ref": "#/components/schemas/FieldError"},
            "description": "Every wrong field (invalid input).",
        },
    },
    "required": ["type", "title", "status", "detail", "instance"],
}


@dataclass(frozen=True)
class FieldError:
    """One wrong field: where it is and what is wrong with it."""

    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        """The JSON form used in problem documents."""
        return {"field": self.field, "message": self.message}


class AppError(Exception):
    """Base of every error a service may raise on purpose."""

    status = 500
    code = "internal-error"
    title = "Internal error"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.headers = headers or {}


class Invalid(AppError):
    """The input breaks a rule; `errors` names each wrong field."""

    status = 422
    code = "invalid"
    title = "Invalid input"


class NotFound(AppError):
    """The resource does not exist (or the caller may not know it does)."""

    status = 404
    code = "not-found"
    title = "Not found"


class Unauthorized(AppError):
    """No valid credentials were given."""

    status = 401
    code = "unauthorized"
    title = "Authentication required"


class Forbidden(AppError):
    """The caller is known but may not do this."""

    status = 403
    code = "forbidden"
    title = "Forbidden"


class Conflict(AppError):
    """The request clashes with the current state (duplicate, illegal transition)."""

    status = 409
    code = "conflict"
    title = "Conflict"


class PreconditionFailed(AppError):
    """A stale version was given (optimistic locking)."""

    status = 412
    code = "precondition-failed"
    title = "Precondition failed"


class PayloadTooLarge(AppError):
    """The request body or file is over the limit."""

    status = 413
    code = "payload-too-large"
    title = "Payload too large"


class TooManyRequests(AppError):
    """Rate limit reached; retry later."""

    status = 429
    code = "too-many-requests"
    title = "Too many requests"


def problem(
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    instance: str,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """An RFC 9457 problem document."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _wants_page(request: Request) -> bool:
    path = request.url.path
    if path.startswith("/api") or path in ("/healthz", "/metrics"):
        return False
    return "text/html" in request.headers.get("accept", "")


def _error_page(status: int, title: str, detail: str, errors: list[dict[str, str]]) -> Response:
    # A last-resort page; the web front replaces it with a translated template.
    items = "".join(
        f"<li>{html.escape(e['field'])}: {html.escape(e['message'])}</li>" for e in errors
    )
    body = (
        f"<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{html.escape(title)}</title></head><body><main><h1>{html.escape(title)}</h1>"
        f"<p>{html.escape(detail)}</p><ul>{items}</ul><p><a href='/'>首页 Home</a></p>"
        f"</main></body></html>"
    )
    return HTMLResponse(body, status_code=status)


def _respond(
    request: Request,
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    if _wants_page(request):
        return _error_page(status, title, detail, errors or [])
    return problem(
        status=status,
        code=code,
        title=title,
        detail=detail,
        instance=request.url.path,
        errors=errors,
        headers=headers,
    )


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "form")]
    return ".".join(parts) or "request"


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route answers at this path (for a 405's `Allow`).

    Starlette names only the methods of the first route whose path matched, but one path may be
    served by several routes (GET and PATCH /api/v1/me).
    """
    found: list[str] = []
    for method in _METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            found.append(method)
    return found


def install_error_handlers(app: FastAPI) -> None:
    """Route every error, expected or not, through one problem/page renderer."""

    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> Response:
        return _respond(
            request,
            status=exc.status,
            code=exc.code,
            title=exc.title,
            detail=exc.detail,
            errors=[e.as_dict() for e in exc.errors],
            headers=exc.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {"field": _location(err.get("loc", ())), "message": str(err.get("msg", "invalid"))}
            for err in exc.errors()
        ]
        return _respond(
            request,
            status=422,
            code="invalid",
            title="Invalid input",
            detail="The request has invalid fields.",
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request)) or headers.get("Allow", "")
        return _respond(
            request,
            status=exc.status_code,
            code={404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error"),
            title={404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "Error"),
            detail=str(exc.detail),
            headers=headers or None,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _respond(
            request,
            status=500,
            code="internal-error",
            title="Internal error",
            detail="Something went wrong on our side. The error has been logged.",
        )
