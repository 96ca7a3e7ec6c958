"""JSON routes of the identity domain under /api/v1."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from tongban.events.service import Channel
from tongban.identity import (
    accounts,
    api_tokens,
    departments,
    login_sessions,
    proxies,
    recovery,
    verification,
)
from tongban.identity import service as identity
from tongban.identity.cookies import clear_session_cookie, set_session_cookie
from tongban.identity.deps import CurrentActor, OptionalActor
from tongban.identity.models import Account
from tongban.identity.schemas import (
    AccountCreate,
    AccountPage,
    AccountRead,
    AccountUpdate,
    ApiTokenCreate,
    ApiTokenIssued,
    ApiTokenRead,
    Credentials,
    DepartmentCreate,
    DepartmentRead,
    IdentityVerify,
    LoginRead,
    MeRead,
    PasswordChange,
    PasswordForgot,
    PasswordResetRequested,
    PasswordResetWithCode,
    PreferencesUpdate,
    ProxyCreate,
    ProxyList,
    ProxyRead,
    RealNameVerify,
    RegisterCreate,
    TokenRead,
    department_read,
)
from tongban.platform.config import Settings
from tongban.platform.errors import FieldError, Invalid
from tongban.platform.web.deps import AppSettings, DbSession, RowId, SkipQuery

router = APIRouter(tags=["identity"])


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _channel(actor: identity.Actor | None) -> str:
    return Channel.API if actor is not None and actor.token_id is not None else Channel.ONLINE


def _me(account: Account, actor: identity.Actor, settings: Settings) -> MeRead:
    by_token = actor.token_id is not None
    return MeRead.of_me(
        account,
        via="api_token" if by_token else "session",
        methods=verification.methods_available(settings),
        token_scopes=sorted(s.value for s in actor.token_scopes) if by_token else None,
    )


def _login(
    request: Request, session: DbSession, settings: AppSettings, body: Credentials, channel: str
) -> login_sessions.LoginResult:
    # A refused attempt and its event outlive the error that answers it (keeps_writes).
    return login_sessions.login(
        session,
        username=body.username,
        password=body.password,
        client_ip=_client_ip(request),
        user_agent=request.headers.get("user-agent"),
        settings=settings,
        channel=channel,
    )


# --- authentication ------------------------------------------------------------------------


@router.post("/auth/token", response_model=TokenRead)
def issue_token(
    body: Credentials, request: Request, session: DbSession, settings: AppSettings
) -> TokenRead:
    """Exchange username and password for a bearer token (a server-side session)."""
    result = _login(request, session, settings, body, Channel.API)
    return TokenRead(access_token=result.token, expires_at=result.session.expires_at)


@router.post("/auth/login", response_model=LoginRead)
def login(
    body: Credentials,
    request: Request,
    response: Response,
    session: DbSession,
    settings: AppSettings,
) -> LoginRead:
    """Log in; the session token is set as an HttpOnly, SameSite=Lax cookie."""
    result = _login(request, session, settings, body, Channel.ONLINE)
    set_session_cookie(response, result.token, settings)
    return LoginRead(
        username=result.account.username,
        role=result.account.role,
        display_name=result.account.display_name,
        expires_at=result.session.expires_at,
    )


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(
    request: Request,
    response: Response,
    session: DbSession,
    actor: OptionalActor,
    settings: AppSettings,
) -> Response:
    """End the current session (cookie or bearer session token) and clear the cookie."""
    if actor is not None and actor.session_id is not None:
        login_sessions.logout(session, session_id=int(actor.session_id), channel=_channel(actor))
    else:
        cookie = request.cookies.get(identity.SESSION_COOKIE)
        if cookie:
            login_sessions.logout(session, session_token=cookie, channel=Channel.ONLINE)
    result = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_session_cookie(result, settings)
    return result


@router.post("/auth/register", response_model=AccountRead, status_code=status.HTTP_201_CREATED)
def register(body: RegisterCreate, session: DbSession, settings: AppSettings) -> AccountRead:
    """Citizen self-registration with resident ID, mobile number and password. The resident ID
    is only claimed (`identity_status: claimed`) until the identity is verified: at a service
    point, or by the node's real-name service (`POST /me/identity`)."""
    account = accounts.register_citizen(
        session,
        resident_id=body.resident_id,
        phone=body.phone,
        password=body.password,
        display_name=body.display_name,
        username=body.username,
        settings=settings,
        channel=Channel.ONLINE,
    )
    return AccountRead.of(account)


@router.post(
    "/auth/password/forgot",
    response_model=PasswordResetRequested,
    status_code=status.HTTP_202_ACCEPTED,
)
def forgot_password(
    body: PasswordForgot, request: Request, session: DbSession, settings: AppSettings
) -> PasswordResetRequested:
    """Send a 6-digit one-time code (valid 10 minutes, 5 checks) by SMS to the phone on file of
    the account with this username or phone number. The answer is the same whether or not
    there is such an account; 429 (Retry-After) after too many requests for it or from here."""
    recovery.request_code(
        session, identifier=body.username, client_ip=_client_ip(request), settings=settings
    )
    return PasswordResetRequested(
        detail="If the account exists and has a mobile number on file, a code was sent to it."
    )


@router.post("/auth/password/reset", status_code=status.HTTP_204_NO_CONTENT)
def reset_password(
    body: PasswordResetWithCode, request: Request, session: DbSession, settings: AppSettings
) -> Response:
    """Set a new password with the code from the SMS; every session and API token of the
    account ends. 422 alike for a wrong, spent or expired code and an unknown account."""
    recovery.reset_with_code(
        session,
        identifier=body.username,
        code=body.code,
        new_password=body.new_password,
        client_ip=_client_ip(request),
        settings=settings,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- the caller's own account ----------------------------------------------------------------


@router.get("/me", response_model=MeRead)
def me(actor: CurrentActor, session: DbSession, settings: AppSettings) -> MeRead:
    """The caller's own account, with its identity verification (and a token's scopes)."""
    identity.authorize(actor, "accounts.read_self")
    account = accounts.get_account(session, account_id=actor.account_id)
    return _me(account, actor, settings)


@router.patch("/me", response_model=MeRead)
def update_me(
    body: PreferencesUpdate, actor: CurrentActor, session: DbSession, settings: AppSettings
) -> MeRead:
    """Change the caller's language, elderly mode (长辈版) or display name (a login session)."""
    identity.authorize(actor, "accounts.update_self")
    account = accounts.update_preferences(
        session,
        account_id=actor.account_id,
        locale=body.locale,
        elderly_mode=body.elderly_mode,
        display_name=body.display_name,
        channel=_channel(actor),
    )
    return _me(account, actor, settings)


@router.post("/me/identity", response_model=MeRead)
def verify_my_identity(
    body: RealNameVerify, actor: CurrentActor, session: DbSession, settings: AppSettings
) -> MeRead:
    """Verify the resident ID the caller's account claims with the node's real-name service
    (docs/realname.md), giving the name as on the ID card; 409 when the node has none (verify
    at a service point instead), 422 when the service does not match, 429 after repeated
    mismatches, 503 when it does not answer."""
    identity.authorize(actor, "accounts.verify_self", {"account_id": actor.account_id})
    account = verification.verify_with_realname(
        session,
        account_id=actor.account_id,
        name=body.name,
        actor=actor,
        settings=settings,
        channel=_channel(actor),
    )
    return _me(account, actor, settings)


@router.post("/me/password", status_code=status.HTTP_204_NO_CONTENT)
def change_password(body: PasswordChange, actor: CurrentActor, session: DbSession) -> Response:
    """Change the caller's password (a login session); their other sessions and all their API
    tokens end."""
    identity.authorize(actor, "accounts.change_password")
    accounts.change_password(
        session,
        account_id=actor.account_id,
        current_password=body.current_password,
        new_password=body.new_password,
        keep_session_id=int(actor.session_id) if actor.session_id else None,
        channel=_channel(actor),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- accounts (administration) ---------------------------------------------------------------


@router.get("/accounts", response_model=AccountPage)
def list_accounts(
    actor: CurrentActor,
    session: DbSession,
    role: str | None = None,
    q: Annotated[str | None, Query(max_length=64)] = None,
    active: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: SkipQuery = 0,
) -> AccountPage:
    """Accounts, filtered by role, activity and a name fragment (administrators)."""
    identity.authorize(actor, "accounts.manage")
    rows, total = accounts.list_accounts(
        session, role=role, q=q, active=active, limit=limit, offset=offset
    )
    return AccountPage(
        items=[AccountRead.of(a) for a in rows], total=total, limit=limit, offset=offset
    )


@router.post("/accounts", response_model=AccountRead, status_code=status.HTTP_201_CREATED)
def create_account(
    body: AccountCreate, actor: CurrentActor, session: DbSession, settings: AppSettings
) -> AccountRead:
    """Create an account of any role (administrators)."""
    identity.authorize(actor, "accounts.manage")
    account = accounts.create_account(
        session,
        username=body.username,
        password=body.password,
        role=body.role,
        department_code=body.department_code,
        region_code=body.region_code,
        display_name=body.display_name,
        phone=body.phone,
        resident_id=body.resident_id,
        settings=settings,
        actor=actor,
        channel=_channel(actor),
    )
    return AccountRead.of(account)


@router.get("/accounts/{account_id}", response_model=AccountRead)
def get_account(account_id: RowId, actor: CurrentActor, session: DbSession) -> AccountRead:
    """One account (administrators)."""
    identity.authorize(actor, "accounts.manage")
    return AccountRead.of(accounts.get_account(session, account_id=account_id))


@router.patch("/accounts/{account_id}", response_model=AccountRead)
def update_account(
    account_id: RowId, body: AccountUpdate, actor: CurrentActor, session: DbSession
) -> AccountRead:
    """Change an account; active=false deactivates it and ends its sessions and tokens."""
    identity.authorize(actor, "accounts.manage")
    account = accounts.update_account(
        session,
        account_id=account_id,
        actor=actor,
        channel=_channel(actor),
        display_name=body.display_name,
        role=body.role,
        department_code=body.department_code,
        region_code=body.region_code,
        active=body.active,
        password=body.password,
    )
    return AccountRead.of(account)


@router.post("/accounts/{account_id}/verify-identity", response_model=AccountRead)
def verify_identity(
    account_id: RowId,
    body: IdentityVerify,
    actor: CurrentActor,
    session: DbSession,
    settings: AppSettings,
) -> AccountRead:
    """A clerk at a service point, having checked the citizen's ID card in person, binds its
    number to their account (`confirmed: true`); the account then sees the cases filed for
    that number. 409 when the number is bound to another account."""
    identity.authorize(actor, "accounts.verify_identity")
    account = verification.verify_at_counter(
        session,
        account_id=account_id,
        resident_id=body.resident_id,
        confirmed=body.confirmed,
        actor=actor,
        settings=settings,
        channel=Channel.ASSISTED,
    )
    return AccountRead.of(account)


# --- departments -------------------------------------------------------------------------------


@router.get("/departments", response_model=list[DepartmentRead])
def list_departments(
    session: DbSession,
    region_code: Annotated[str | None, Query(max_length=12)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: SkipQuery = 0,
) -> list[DepartmentRead]:
    """Government departments (public information), optionally of one region."""
    rows = departments.list_departments(
        session, region_code=region_code, limit=limit, offset=offset
    )
    return [department_read(d) for d in rows]


@router.post("/departments", response_model=DepartmentRead, status_code=status.HTTP_201_CREATED)
def create_department(
    body: DepartmentCreate, actor: CurrentActor, session: DbSession
) -> DepartmentRead:
    """Register a department by its unified social credit code (administrators)."""
    identity.authorize(actor, "departments.manage")
    row = departments.create_department(
        session,
        code=body.code,
        name=body.name,
        region_code=body.region_code,
        parent_code=body.parent_code,
        actor=actor,
        channel=_channel(actor),
    )
    return department_read(row)


# --- proxy authorisations ----------------------------------------------------------------------


@router.get("/me/proxies", response_model=ProxyList)
def list_my_proxies(actor: CurrentActor, session: DbSession) -> ProxyList:
    """Authorisations the caller granted (as a citizen) and those they hold (as an agent)."""
    identity.authorize(actor, "accounts.read_self")
    granted = proxies.list_proxies(session, principal_id=actor.account_id)
    held = proxies.list_proxies(session, agent_id=actor.account_id)
    return ProxyList(
        granted=[ProxyRead.of(p) for p in granted],
        held=[ProxyRead.of(p) for p in held if p.principal_id != actor.account_id],
    )


@router.post("/me/proxies", response_model=ProxyRead, status_code=status.HTTP_201_CREATED)
def grant_proxy(body: ProxyCreate, actor: CurrentActor, session: DbSession) -> ProxyRead:
    """Authorise a relative (their username) or a service-point clerk to act for the caller."""
    identity.authorize(actor, "proxies.manage_own")
    agent = accounts.find_account_by_username(session, username=body.agent)
    if agent is None:
        message = "No account with this username."
        raise Invalid(message, errors=[FieldError("agent", message)])
    row = proxies.grant_proxy(
        session,
        principal_id=actor.account_id,
        agent_id=agent.id,
        relation=body.relation,
        scope=body.scope,
        valid_from=body.valid_from,
        expires_at=body.expires_at,
        channel=_channel(actor),
    )
    return ProxyRead.of(row)


@router.delete("/me/proxies/{proxy_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_proxy(proxy_id: RowId, actor: CurrentActor, session: DbSession) -> Response:
    """Withdraw an authorisation the caller granted."""
    identity.authorize(actor, "proxies.manage_own")
    proxies.revoke_proxy(
        session, proxy_id=proxy_id, principal_id=actor.account_id, channel=_channel(actor)
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/me/proxies/{proxy_id}/confirm", response_model=ProxyRead)
def confirm_proxy(proxy_id: RowId, actor: CurrentActor, session: DbSession) -> ProxyRead:
    """Accept an authorisation given to the caller (the agent); it gives no power before. 409
    when it was revoked or has expired."""
    identity.authorize(actor, "proxies.answer_own")
    row = proxies.confirm_proxy(
        session, proxy_id=proxy_id, agent_id=actor.account_id, channel=_channel(actor)
    )
    return ProxyRead.of(row)


@router.post("/me/proxies/{proxy_id}/decline", response_model=ProxyRead)
def decline_proxy(proxy_id: RowId, actor: CurrentActor, session: DbSession) -> ProxyRead:
    """Refuse an authorisation given to the caller, or give up one they accepted."""
    identity.authorize(actor, "proxies.answer_own")
    row = proxies.decline_proxy(
        session, proxy_id=proxy_id, agent_id=actor.account_id, channel=_channel(actor)
    )
    return ProxyRead.of(row)


# --- API tokens --------------------------------------------------------------------------------


@router.get("/me/tokens", response_model=list[ApiTokenRead])
def list_my_tokens(actor: CurrentActor, session: DbSession) -> list[ApiTokenRead]:
    """The caller's API tokens (never their values)."""
    identity.authorize(actor, "tokens.read_own")
    return [
        ApiTokenRead.of(t) for t in api_tokens.list_api_tokens(session, account_id=actor.account_id)
    ]


@router.post("/me/tokens", response_model=ApiTokenIssued, status_code=status.HTTP_201_CREATED)
def issue_my_token(
    body: ApiTokenCreate, actor: CurrentActor, session: DbSession, settings: AppSettings
) -> ApiTokenIssued:
    """Issue an API token with scopes (a login session only: a token never mints tokens); its
    value is shown in this response only."""
    identity.authorize(actor, "tokens.manage_own")
    issued = api_tokens.issue_api_token(
        session,
        account_id=actor.account_id,
        name=body.name,
        scopes=body.scopes,
        expires_in_days=body.expires_in_days,
        settings=settings,
        channel=_channel(actor),
        actor_role=actor.role,
    )
    return ApiTokenIssued(**ApiTokenRead.of(issued.row).model_dump(), token=issued.token)


@router.delete("/me/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_my_token(token_id: RowId, actor: CurrentActor, session: DbSession) -> Response:
    """Revoke one of the caller's API tokens (a login session)."""
    identity.authorize(actor, "tokens.manage_own")
    api_tokens.revoke_api_token(
        session,
        token_id=token_id,
        account_id=actor.account_id,
        channel=_channel(actor),
        actor_role=actor.role,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
