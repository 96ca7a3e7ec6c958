"""CSRF protection for HTML forms: a token bound to the session, and a same-origin check.

Every page's forms carry a hidden `csrf_token`. It is not a random value echoed from a cookie
(a double submit, which a forged cookie/field pair defeats) but keyed hashes, with a secret of
the node, of what identifies the visitor:

- every page visitor has a random *pre-session id* in its own cookie (`tb_csrf`); its hash is
  the token of a visitor who is not logged in;
- a logged-in visitor's token adds the hash of the login session's cookie (the session token):
  `<pre-session part>.<session part>`, and with the session cookie present both must match.

Nobody without the node's secret can compute a token for a cookie, so planting cookies in a
victim's browser (from a sibling subdomain, over plain HTTP) forges nothing, and a token read
from one session is worthless in another. The token changes whenever the session does:
logging in opens a new session, and login, logout, registration and the login page issue a
new pre-session id (`rotate_csrf`), so no token seen before one of them works after it.

A form sent when the browser has dropped its (expired) session cookie is judged by its
pre-session part alone, as a visitor's: it goes on as an anonymous request, so a page that
needs a login sends the user to log in and keeps what they typed (the form stash), as before.

State-changing requests (POST, PUT, PATCH, DELETE) to pages must also come from this site: a
request whose `Origin` is another site's, or that the browser marks `Sec-Fetch-Site:
cross-site`, is refused even with a valid token. A request with neither header (an old
browser) is judged by its token alone. The JSON API takes bearer tokens or JSON bodies that a
cross-site form cannot send; when it is called with the session cookie and no bearer token,
the same origin check applies.

The kit knows no identity: the shell gives the guard the session cookie's name and a function
that returns the node's secret (identity keeps the keys; `tongban.identity.deps.csrf_secret`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tongban.platform.errors import Forbidden, problem

CSRF_COOKIE = "tb_csrf"  # the visitor's pre-session id (not the token)
CSRF_FIELD = "csrf_token"
_ID_SHAPE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Paths that never render forms: no pre-session id, no token. /govstack/: the GovStack
# building block, whose callers are systems behind an Information Mediator (docs/govstack.md).
_EXEMPT_PREFIXES = ("/api", "/static", "/healthz", "/metrics", "/govstack/")
_DEFAULT_PORTS = {"http": "80", "https": "443"}
# What the middleware leaves in the request state (scope["state"]) for the handlers.
_GUARD = "csrf_guard"
_TOKEN = "csrf_token"
_VISITOR = "csrf_visitor"
_SESSION = "csrf_session"
_NEW_VISITOR = "csrf_new_visitor"


class CsrfFailed(Forbidden):
    """The form's CSRF token is missing or is not the one of this session."""

    code = "csrf-failed"
    title = "Form expired"


class CrossSiteRequest(CsrfFailed):
    """A state-changing request sent from another site (Origin / Sec-Fetch-Site)."""

    code = "cross-site-request"
    title = "Cross-site request refused"


def new_visitor_id() -> str:
    """A fresh random pre-session id (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def origin_of(url: str) -> str | None:
    """The serialized origin (scheme://host[:port], the default port left out) of a URL."""
    try:
        parts = urlsplit(url.strip())
        scheme, host, port = parts.scheme.lower(), (parts.hostname or "").lower(), parts.port
    except ValueError:
        return None
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    if port is not None and str(port) != _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}:{port}"
    return f"{scheme}://{host}"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _cookies(scope: Scope) -> dict[str, str]:
    # Starlette's own parser: the same cookies as request.cookies gives the handlers.
    cookies: dict[str, str] = {}
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            cookies.update(cookie_parser(value.decode("latin-1")))
    return cookies


def _visitor(cookies: Mapping[str, str]) -> str | None:
    value = cookies.get(CSRF_COOKIE)
    return value if value is not None and _ID_SHAPE.match(value) else None


def _own_origin(scope: Scope) -> str | None:
    host = _header(scope, b"host")
    if not host:
        server = scope.get("server")
        if not server:
            return None
        host = f"{server[0]}:{server[1]}" if server[1] is not None else str(server[0])
    return origin_of(f"{scope.get('scheme', 'http')}://{host}")


class CsrfGuard:
    """The node's CSRF rules: how a token is derived and checked, which origins may post."""

    def __init__(
        self,
        *,
        secret: Callable[[], bytes],
        session_cookie: str,
        secure: bool = False,
        trusted_origins: Iterable[str] = (),
    ) -> None:
        self._secret = secret
        self._key: bytes | None = None
        self._lock = threading.Lock()
        self.session_cookie = session_cookie
        self.secure = secure
        self.trusted_origins = frozenset(
            o for o in (origin_of(url) for url in trusted_origins) if o is not None
        )

    def _mac(self, kind: bytes, value: str) -> str:
        if self._key is None:
            # Read on the first page request, not at start-up: the node's keys live in the data
            # directory and are created there on first use.
            with self._lock:
                if self._key is None:
                    self._key = self._secret()
        message = kind + b"\x00" + value.encode("utf-8", "surrogateescape")
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def token(self, *, session: str | None, visitor: str | None) -> str:
        """The token of a pre-session id, with the login session's part when there is one."""
        if not visitor:
            return ""
        part = self._mac(b"visitor", visitor)
        return f"{part}.{self._mac(b'session', session)}" if session else part

    def accepts(self, sent: str, *, session: str | None, visitor: str | None) -> bool:
        """Whether a form's token belongs to these cookies (see the module's docstring)."""
        expected = self.token(session=session, visitor=visitor)
        if not expected:
            return False
        if not session:
            sent = sent.split(".", 1)[0]  # a form of a session whose cookie has expired
        return hmac.compare_digest(sent.encode("utf-8", "surrogateescape"), expected.encode())

    def token_for_cookies(self, cookies: Mapping[str, str]) -> str:
        """The token a page rendered for these cookies carries (tests and tools use it)."""
        return self.token(session=cookies.get(self.session_cookie), visitor=_visitor(cookies))

    def same_site(self, scope: Scope) -> bool:
        """False when the browser says the request comes from another site.

        `Sec-Fetch-Site: cross-site`, or an `Origin` that is neither this server's own (its
        scheme and Host) nor a trusted one (the public base URL), is another site. Without
        either header (old browsers) the request is not judged here: the token decides.
        """
        if (_header(scope, b"sec-fetch-site") or "").strip().lower() == "cross-site":
            return False
        origin = _header(scope, b"origin")
        if origin is None:
            return True
        sent = origin_of(origin)  # "null" (a sandboxed frame, a cross-site redirect) is None
        return sent is not None and (sent in self.trusted_origins or sent == _own_origin(scope))


class CsrfMiddleware:
    """Give every page request its token (request.state.csrf_token) and its pre-session id.

    A visitor without a pre-session id gets one (a cookie set on the response); a handler that
    called `rotate_csrf` sets the one it chose. On the JSON API, a state-changing request
    authenticated by the session cookie alone is refused when it comes from another site.
    """

    def __init__(self, app: ASGIApp, *, guard: CsrfGuard) -> None:
        self.app = app
        self.guard = guard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith(_EXEMPT_PREFIXES):
            if path.startswith("/api") and not self._api_call_allowed(scope):
                response = problem(
                    status=CrossSiteRequest.status,
                    code=CrossSiteRequest.code,
                    title=CrossSiteRequest.title,
                    detail="A request carrying the session cookie must come from this site.",
                    instance=path,
                )
                await response(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        cookies = _cookies(scope)
        session = cookies.get(self.guard.session_cookie) or None
        visitor = _visitor(cookies)
        state: dict[str, Any] = scope.setdefault("state", {})
        if visitor is None:
            visitor = new_visitor_id()
            state[_NEW_VISITOR] = visitor
        state[_GUARD] = self.guard
        state[_SESSION] = session
        state[_VISITOR] = visitor
        state[_TOKEN] = self.guard.token(session=session, visitor=visitor)

        async def send_with_cookie(message: Message) -> None:
            chosen = state.get(_NEW_VISITOR)
            if chosen and message["type"] == "http.response.start":
                attrs = f"{CSRF_COOKIE}={chosen}; Path=/; HttpOnly; SameSite=Lax"
                if self.guard.secure:
                    attrs += "; Secure"
                message.setdefault("headers", []).append((b"set-cookie", attrs.encode()))
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _api_call_allowed(self, scope: Scope) -> bool:
        if scope.get("method") not in _UNSAFE or _header(scope, b"authorization"):
            return True
        if not _cookies(scope).get(self.guard.session_cookie):
            return True
        return self.guard.same_site(scope)


def rotate_csrf(request: Request) -> str:
    """Issue a new pre-session id with this response; return the page's token from now on.

    Called where the session changes hands (login, logout, registration) and by the login
    page, so that a token learnt before is no longer accepted after.
    """
    guard: CsrfGuard | None = getattr(request.state, _GUARD, None)
    if guard is None:
        return str(getattr(request.state, _TOKEN, ""))
    visitor = new_visitor_id()
    setattr(request.state, _NEW_VISITOR, visitor)
    setattr(request.state, _VISITOR, visitor)
    token = guard.token(session=getattr(request.state, _SESSION, None), visitor=visitor)
    setattr(request.state, _TOKEN, token)
    return token


async def verify_csrf(request: Request) -> None:
    """Refuse an unsafe request from another site, or whose form token is not this session's
    (router dependency).

    The parsed form is also kept on request.state so that error handlers can restore it.
    """
    if request.method not in _UNSAFE:
        return
    guard: CsrfGuard | None = getattr(request.state, _GUARD, None)
    if guard is not None and not guard.same_site(request.scope):
        raise CrossSiteRequest("The form was sent from another site.")
    form = await request.form()
    request.state.form_pairs = [
        (key, value) for key, value in form.multi_items() if isinstance(value, str)
    ]
    sent = form.get(CSRF_FIELD)
    if (
        guard is None
        or not isinstance(sent, str)
        or not guard.accepts(
            sent,
            session=getattr(request.state, _SESSION, None),
            visitor=getattr(request.state, _VISITOR, None),
        )
    ):
        raise CsrfFailed("The form's security token is missing or out of date.")
