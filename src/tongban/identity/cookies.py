"""The login session cookie, set and cleared the same way by the API and the pages."""

from __future__ import annotations

from starlette.responses import Response

from tongban.identity.callers import SESSION_COOKIE
from tongban.platform.config import Settings


def set_session_cookie(response: Response, token: str, settings: Settings) -> None:
    """Set the session token as an HttpOnly, SameSite=Lax cookie for the whole site."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_ttl_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    """Tell the browser to drop the session cookie (same attributes as when it was set)."""
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=settings.cookie_secure
    )
