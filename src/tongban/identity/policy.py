"""The one authorization policy: a table of action -> which roles, within which scope, and
which scope an API token needs for it (none: only a login session may do it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from tongban.platform.errors import Forbidden, Invalid, Unauthorized


class Role(StrEnum):
    """The five roles of the platform."""

    CITIZEN = "citizen"
    CLERK = "clerk"
    OFFICIAL = "official"
    STEWARD = "steward"
    ADMIN = "admin"


class TokenScope(StrEnum):
    """What an API token may be used for; a login session has all its role's powers.

    Account management (tokens, passwords, proxies, identity, other accounts) has no scope:
    it needs a login session, so a leaked token can neither lock its owner out nor mint more.
    """

    READ = "read"  # read what the role may read: cases, queue, messages, reviews, reports
    FILE = "file"  # the applicant's side: upload, apply, supplement, withdraw, rate
    HANDLE = "handle"  # the authority's side: accept, decide, co-handle, rectify, appeals
    CONFIGURE = "configure"  # the node's reference data: catalog, departments, regions


@dataclass(frozen=True)
class Actor:
    """The authenticated caller of one request."""

    account_id: int
    username: str
    role: Role
    department_id: int | None = None
    jurisdiction: str | None = None
    service_point: str | None = None
    session_id: str | None = None
    department_code: str | None = None
    display_name: str | None = None
    # Set when the caller came with an API token instead of a login session; such a caller
    # may do only what the token's scopes allow (TokenScope), never manage the account.
    token_id: int | None = None
    token_scopes: frozenset[TokenScope] = frozenset()
    # The account's resident ID is bound (verified); until then the account sees only what
    # it filed itself (verification.py).
    identity_verified: bool = False
    # How a system caller reached us when it is neither a login session nor a token (api for
    # the GovStack building block's clients, docs/govstack.md): the channel its steps are
    # recorded with. None: api for a token, online for a login session.
    via: str | None = None

    @property
    def region_root(self) -> str | None:
        """The region subtree this actor works in: jurisdiction, or the clerk's service point."""
        return self.jurisdiction or self.service_point


class Scope(StrEnum):
    """How far a role's right reaches over a resource."""

    ANY = "any"  # every resource
    OWN = "own"  # resources the actor owns (owner_id / account_id / principal_id)
    JURISDICTION = "jurisdiction"  # resources whose region_code lies in the actor's subtree
    DEPARTMENT = "department"  # the actor's department, and within the jurisdiction


@dataclass(frozen=True)
class Rule:
    """Who may perform one action: each allowed role with the scope of its right, and the
    scope an API token needs for it (None: a login session only)."""

    roles: Mapping[Role, Scope]
    token: TokenScope | None = None

    @classmethod
    def of(cls, *, token: TokenScope | str | None = None, **scopes: Scope | str) -> Rule:
        """Build a rule from role=scope keywords and the token scope:
        Rule.of(admin="any", official="department", token="read")."""
        return cls(
            {Role(role): Scope(scope) for role, scope in scopes.items()},
            TokenScope(token) if token is not None else None,
        )


_ALL = {role.value: Scope.ANY for role in Role}
_ALL_OWN = {role.value: Scope.OWN for role in Role}

# The whole policy, in one place. Domains add their actions here (e.g. "case.accept":
# Rule.of(clerk="jurisdiction", official="department", token="handle")); an action not listed
# is denied, and one listed without `token` is denied to API tokens (a login session only).
READ, FILE, HANDLE, CONFIGURE = (
    TokenScope.READ,
    TokenScope.FILE,
    TokenScope.HANDLE,
    TokenScope.CONFIGURE,
)
POLICY: dict[str, Rule] = {
    # Account management: login sessions only (no token scope).
    "accounts.manage": Rule.of(admin="any"),
    "accounts.read_self": Rule.of(**_ALL, token=READ),
    "accounts.update_self": Rule.of(**_ALL),
    "accounts.change_password": Rule.of(**_ALL),
    # A clerk checks a citizen's ID card in person at the counter and binds the resident ID
    # to their account (identity/verification.py); the owner may ask the node's real-name
    # service, when one is configured.
    "accounts.verify_identity": Rule.of(clerk="any"),
    "accounts.verify_self": Rule.of(citizen="own"),
    # After the same in-person check, a clerk gives a citizen who forgot their password a
    # temporary one (identity/recovery.py).
    "accounts.reset_password": Rule.of(clerk="any"),
    "departments.manage": Rule.of(admin="any", token=CONFIGURE),
    "regions.manage": Rule.of(admin="any", token=CONFIGURE),
    "catalog.import": Rule.of(admin="any", token=CONFIGURE),
    "catalog.export": Rule.of(admin="any", steward="any", token=READ),
    "catalog.manage": Rule.of(admin="any", token=CONFIGURE),
    "proxies.manage_own": Rule.of(citizen="own"),
    # The agent (a relative's citizen account or a clerk) accepts or declines a grant.
    "proxies.answer_own": Rule.of(citizen="own", clerk="own"),
    "tokens.read_own": Rule.of(**_ALL_OWN, token=READ),
    "tokens.manage_own": Rule.of(**_ALL_OWN),
    # Cases (办件). Resources are built by cases/handling.py: officials get the competent
    # (or co-handling) department and its region; clerks the case's service point; citizens
    # own a case they applied for, filed, or act on under a valid proxy authorisation.
    "case.upload": Rule.of(citizen="any", clerk="any", token=FILE),
    # The applicant themself confirms a payout account their agent gave (cases/payout.py).
    "case.confirm_payout": Rule.of(citizen="own"),
    # A service point's clerk calls back the people who asked for help there (cases/help.py).
    "help.answer": Rule.of(clerk="jurisdiction", token=FILE),
    "case.submit": Rule.of(citizen="any", clerk="any", token=FILE),
    "case.read": Rule.of(citizen="own", clerk="jurisdiction", official="department", token=READ),
    "case.queue": Rule.of(official="department", token=READ),
    **{
        f"case.{action}": Rule.of(official="department", token=HANDLE)
        for action in (
            "accept",
            "refuse",
            "request-supplement",
            "review-supplement",
            "start-special",
            "end-special",
            "co-handle",
            "approve",
            "reject",
            "complete",
        )
    },
    # The full resident ID of an applicant, for the officials deciding the case, each look
    # recorded with its purpose on the case's timeline (cases/queries.py).
    "case.reveal_applicant_id": Rule.of(official="department", token=HANDLE),
    # Hand a case to a colleague of the deciding department whose jurisdiction covers it
    # (cases/assignment.py); recorded on the case's timeline.
    "case.assign": Rule.of(official="department", token=HANDLE),
    "case.supplement": Rule.of(citizen="own", clerk="jurisdiction", token=FILE),
    "case.withdraw": Rule.of(citizen="own", clerk="jurisdiction", token=FILE),
    # 好差评 (reviews/): the applicant (or whoever filed the case) rates it; a clerk records a
    # rating at the service point on the citizen's behalf. Rectifications belong to the
    # responsible department; an operator decides appeals. Insight is for operators and officials
    # (officials within their jurisdiction).
    "review.create": Rule.of(citizen="own", clerk="jurisdiction", token=FILE),
    "review.read": Rule.of(
        citizen="own", clerk="jurisdiction", official="department", admin="any", token=READ
    ),
    "rectification.read": Rule.of(official="department", admin="any", token=READ),
    "rectification.handle": Rule.of(official="department", token=HANDLE),
    "rectification.appeal": Rule.of(official="department", token=HANDLE),
    "appeal.decide": Rule.of(admin="any", token=HANDLE),
    # Data stewards watch the figures nationally too (issue #14: the operators' menu).
    "insight.read": Rule.of(admin="any", steward="any", official="jurisdiction", token=READ),
    "messages.read_own": Rule.of(**_ALL_OWN, token=READ),
    # 共享交换 (exchange/): stewards publish resources and answer requests for the departments
    # of their jurisdiction (a city's data bureau, or a department's own steward); the
    # officials handling a case fetch its applicant's data; the applicant sees what was fetched.
    "exchange.resource.publish": Rule.of(steward="jurisdiction", admin="any", token=CONFIGURE),
    "exchange.request.file": Rule.of(steward="jurisdiction", token=CONFIGURE),
    "exchange.request.decide": Rule.of(steward="jurisdiction", token=CONFIGURE),
    "exchange.request.read": Rule.of(steward="jurisdiction", admin="any", token=READ),
    "exchange.agreement.read": Rule.of(steward="jurisdiction", admin="any", token=READ),
    "exchange.agreement.revoke": Rule.of(steward="jurisdiction", token=CONFIGURE),
    "exchange.fetch": Rule.of(official="department", token=HANDLE),
    "exchange.fetch.read": Rule.of(citizen="own", official="department", token=READ),
    # The service assistant (assistant/): operators read the questions it could not answer
    # (anonymised) and teach it words and FAQ entries; answering is public.
    "assistant.manage": Rule.of(admin="any", steward="any", token=CONFIGURE),
    # 政务安全大脑 (guard/): operators read alerts and timelines, triage alerts, edit the rules
    # and lift the guard's blocks (issue #20).
    "guard.read": Rule.of(admin="any", token=READ),
    "guard.triage": Rule.of(admin="any"),
    "guard.configure": Rule.of(admin="any"),
    # 电子证照 (credentials/): the holder keeps and shows their e-licences; the issuing
    # department's officials suspend, revoke, reinstate; operators rotate issuer keys.
    "credentials.hold": Rule.of(citizen="own", token=READ),
    "credentials.status": Rule.of(official="department", token=HANDLE),
    "credentials.keys": Rule.of(admin="any"),
    # Consent (consent/consents.py): a consumer department's official asks; the data subject (or
    # their agent within a proxy scope, checked there) grants, refuses or revokes; a clerk records a
    # consent signed on paper at the counter; stewards say which uses need consent.
    "consent.request": Rule.of(official="department", token=HANDLE),
    "consent.read": Rule.of(
        citizen="own",
        clerk="jurisdiction",
        official="department",
        steward="jurisdiction",
        admin="any",
        token=READ,
    ),
    "consent.read_own": Rule.of(citizen="own", token=READ),
    "consent.decide": Rule.of(citizen="own", token=FILE),
    "consent.record": Rule.of(clerk="jurisdiction", token=FILE),
    "consent.requirement.set": Rule.of(steward="jurisdiction", admin="any", token=CONFIGURE),
    # The data tracker (consent/tracker.py): a citizen reads their own (a relative within a
    # proxy's scope, checked there) and objects; the stewards of the department answer.
    "data_usage.read": Rule.of(citizen="own", token=READ),
    "data_usage.object": Rule.of(citizen="own", token=FILE),
    "data_usage.objection.read": Rule.of(steward="jurisdiction", admin="any", token=READ),
    "data_usage.objection.answer": Rule.of(steward="jurisdiction", token=HANDLE),
    "data_usage.objection.overdue": Rule.of(admin="any", token=READ),
}


def token_scopes_of(role: Role | str) -> frozenset[TokenScope]:
    """The token scopes that give the role anything: what a token of theirs may hold."""
    the_role = Role(role)
    return frozenset(
        rule.token for rule in POLICY.values() if rule.token is not None and the_role in rule.roles
    )


_OWNER_ATTRIBUTES = ("owner_id", "principal_id", "account_id")


def _attribute(resource: object, name: str) -> object | None:
    if isinstance(resource, Mapping):
        return resource.get(name)
    return getattr(resource, name, None)


def _has(resource: object, name: str) -> bool:
    if isinstance(resource, Mapping):
        return name in resource
    return hasattr(resource, name)


def within(*, root: str | None, code: str) -> bool:
    """True when `code` lies in the region subtree rooted at `root`."""
    if not root:
        return False
    from tongban.regions import service as regions

    try:
        return bool(regions.contains(ancestor=root, code=code))
    except Invalid:
        # A malformed code is in nobody's jurisdiction.
        return False


def _scope_reason(actor: Actor, scope: Scope, resource: object) -> str | None:
    """Why the scope excludes the resource, or None when it is within."""
    if scope is Scope.ANY:
        return None
    if scope is Scope.OWN:
        for name in _OWNER_ATTRIBUTES:
            if _has(resource, name):
                if _attribute(resource, name) == actor.account_id:
                    return None
                return "it belongs to someone else"
        return "it has no owner"
    if scope is Scope.DEPARTMENT:
        department = _attribute(resource, "department_id")
        if department is None:
            return "it belongs to no department"
        if department != actor.department_id:
            return "it belongs to another department"
    region = _attribute(resource, "region_code")
    if region is None:
        # A department-scoped resource may carry no region; a jurisdiction-scoped one must.
        return None if scope is Scope.DEPARTMENT else "it has no region"
    if not within(root=actor.region_root, code=str(region)):
        return "it lies outside your jurisdiction"
    return None


class Refused(Forbidden):
    """A refusal of authorize(): the actor, the action, why (a code) and the resource's region,
    for the security event the error handler records (identity/blocks.py: `auth.refused`)."""

    def __init__(
        self, detail: str, *, actor: Actor, action: str, why: str, region_code: str | None = None
    ) -> None:
        super().__init__(detail)
        self.actor = actor
        self.action = action
        self.why = why
        self.region_code = region_code


def _why(reason: str) -> str:
    return {
        "it lies outside your jurisdiction": "jurisdiction",
        "it belongs to another department": "department",
        "it belongs to someone else": "owner",
    }.get(reason, "scope")


def authorize(actor: Actor | None, action: str, resource: object | None = None) -> None:
    """Raise Unauthorized when anonymous, Forbidden unless the actor may act on the resource.

    Without a resource only the role is checked (listing routes then filter by scope);
    with one, the role's scope decides: department, jurisdiction subtree, or ownership. A
    caller with an API token needs the token scope the action's rule names.
    """
    if actor is None:
        raise Unauthorized("Log in or send a bearer token.", headers={"WWW-Authenticate": "Bearer"})
    rule = POLICY.get(action)
    if rule is None:
        raise Refused(
            f"Unknown action {action!r}: denied.", actor=actor, action=action, why="unknown"
        )
    scope = rule.roles.get(actor.role)
    if scope is None:
        raise Refused(
            f"The {actor.role} role may not do {action!r}.", actor=actor, action=action, why="role"
        )
    if actor.token_id is not None:
        if rule.token is None:
            raise Refused(
                f"An API token may not do {action!r}: log in with your password.",
                actor=actor,
                action=action,
                why="token",
            )
        if rule.token not in actor.token_scopes:
            raise Refused(
                f"This API token lacks the {rule.token.value!r} scope for {action!r}.",
                actor=actor,
                action=action,
                why="token_scope",
            )
    if resource is None:
        return
    reason = _scope_reason(actor, scope, resource)
    if reason is not None:
        region = _attribute(resource, "region_code")
        raise Refused(
            f"Not allowed to do {action!r} here: {reason}.",
            actor=actor,
            action=action,
            why=_why(reason),
            region_code=str(region) if region is not None else None,
        )


def allowed(actor: Actor | None, action: str, resource: object | None = None) -> bool:
    """True when authorize() would let the actor act (for showing or hiding buttons)."""
    try:
        authorize(actor, action, resource)
    except (Forbidden, Unauthorized):
        return False
    return True
