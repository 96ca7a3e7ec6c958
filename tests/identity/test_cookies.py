"""The session cookie is set and cleared with the same attributes by the API and the pages."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.responses import Response

from tongban.identity.cookies import clear_session_cookie, set_session_cookie
from tongban.identity.service import SESSION_COOKIE
from tongban.platform.config import Settings


def _attributes(header: str) -> set[str]:
    """The cookie's attributes other than its value and lifetime, lower-cased."""
    parts = [p.strip().lower() for p in header.split(";")[1:]]
    return {p for p in parts if not p.startswith(("max-age", "expires"))}


@pytest.mark.parametrize("secure", [False, True])
def test_cleared_as_it_was_set(tmp_path: Path, secure: bool) -> None:
    settings = Settings(data_dir=tmp_path, cookie_secure=secure, session_ttl_hours=2)
    given, dropped = Response(), Response()
    set_session_cookie(given, "token-value", settings)
    clear_session_cookie(dropped, settings)
    set_header, clear_header = given.headers["set-cookie"], dropped.headers["set-cookie"]
    assert set_header.startswith(f"{SESSION_COOKIE}=token-value;")
    assert "max-age=7200" in set_header.lower()
    assert clear_header.startswith(f'{SESSION_COOKIE}="";') and "max-age=0" in clear_header.lower()
    assert _attributes(set_header) == _attributes(clear_header)
    assert {"httponly", "path=/", "samesite=lax"} <= _attributes(set_header)
    assert ("secure" in _attributes(set_header)) is secure
