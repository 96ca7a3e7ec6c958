"""CSRF protection for HTML forms: a double-submit token (cookie + hidden field) on every POST.

The token lives in an HttpOnly, SameSite=Lax cookie; pages put the same value in a hidden
`csrf_token` field. A cross-site page can neither read the cookie nor set it, so it cannot
forge the field. JSON API routes are not covered here: they take bearer tokens or JSON bodies
that a cross-site form cannot send.
"""

from __future__ import annotations

import hmac
import re
import secrets
from http.cookies import SimpleCookie

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tongban.platform.errors import Forbidden

CSRF_COOKIE = "tb_csrf"
CSRF_FIELD = "csrf_token"
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Paths that never render forms and are not protected by the cookie.
_EXEMPT_PREFIXES = ("/api", "/static", "/healthz", "/metrics")


class CsrfFailed(Forbidden):
    """The form's CSRF token is missing or does not match the cookie."""

    code = "csrf-failed"
    title = "Form expired"


def new_token() -> str:
    """A fresh random token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def _cookie_token(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:
                return None
            morsel = jar.get(CSRF_COOKIE)
            if morsel is not None and _TOKEN_SHAPE.match(morsel.value):
                return morsel.value
    return None


class CsrfCookieMiddleware:
    """Give every page visitor a CSRF token (request.state.csrf_token) and set its cookie."""

    def __init__(self, app: ASGIApp, *, secure: bool = False) -> None:
        self.app = app
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(_EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        token = _cookie_token(scope)
        fresh = token is None
        if token is None:
            token = new_token()
        scope.setdefault("state", {})["csrf_token"] = token

        async def send_with_cookie(message: Message) -> None:
            if fresh and message["type"] == "http.response.start":
                attrs = f"{CSRF_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax"
                if self.secure:
                    attrs += "; Secure"
                message.setdefault("headers", []).append((b"set-cookie", attrs.encode()))
            await send(message)

        await self.app(scope, receive, send_with_cookie)


async def verify_csrf(request: Request) -> None:
    """Reject an unsafe request whose form token does not match the cookie (router dependency).

    The parsed form is also kept on request.state so that error handlers can restore it.
    """
    if request.method not in _UNSAFE:
        return
    form = await request.form()
    request.state.form_pairs = [
        (key, value) for key, value in form.multi_items() if isinstance(value, str)
    ]
    sent = form.get(CSRF_FIELD)
    cookie = request.cookies.get(CSRF_COOKIE)
    if (
        not isinstance(sent, str)
        or not cookie
        or not hmac.compare_digest(sent.encode(), cookie.encode())
    ):
        raise CsrfFailed("The form's security token is missing or out of date.")
