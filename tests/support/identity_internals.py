"""The whole identity domain, rows included, for tests.

Domains meet identity only through `tongban.identity.service` (views, never rows); tests also
reach behind it: accounts as rows, sessions, tokens, login attempts.
"""

# ruff: noqa: F401, F403
from typing import Any

from tongban.identity.accounts import *
from tongban.identity.accounts import SUPPORTED_LOCALES
from tongban.identity.api_tokens import *
from tongban.identity.authentication import *
from tongban.identity.callers import *
from tongban.identity.callers import SESSION_COOKIE
from tongban.identity.cards import *
from tongban.identity.demo import *
from tongban.identity.departments import *
from tongban.identity.keys import *
from tongban.identity.login_sessions import *
from tongban.identity.models import *
from tongban.identity.passwords import *
from tongban.identity.policy import *
from tongban.identity.proxies import *
from tongban.identity.resident_id import *
from tongban.identity.service import (
    AccountView,
    DepartmentView,
    ProxyView,
)


def grant_accepted_proxy(session: Any, **grant: Any) -> Any:
    """A proxy authorisation granted and accepted by its agent (in force from its start)."""
    from tongban.identity import proxies

    row = proxies.grant_proxy(session, **grant)
    proxies.confirm_proxy(session, proxy_id=row.id, agent_id=row.agent_id)
    return row
