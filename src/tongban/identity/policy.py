"""The one authorization policy: a table of action -> which roles, within which scope."""

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
    # Set when the caller came with an API token instead of a login session.
    token_id: int | None = None

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
    """Who may perform one action: each allowed role with the scope of its right."""

    roles: Mapping[Role, Scope]

    @classmethod
    def of(cls, **scopes: Scope | str) -> Rule:
        """Build a rule from role=scope keywords: Rule.of(admin="any", official="department")."""
        return cls({Role(role): Scope(scope) for role, scope in scopes.items()})


_ALL = {role.value: Scope.ANY for role in Role}
_ALL_OWN = {role.value: Scope.OWN for role in Role}

# The whole policy, in one place. Domains add their actions here (e.g. "case.accept":
# Rule.of(clerk="jurisdiction", official="department")); an action not listed is denied.
POLICY: dict[str, Rule] = {
    "accounts.manage": Rule.of(admin="any"),
    "accounts.read_self": Rule.of(**_ALL),
    "departments.manage": Rule.of(admin="any"),
    "regions.manage": Rule.of(admin="any"),
    "catalog.import": Rule.of(admin="any"),
    "catalog.export": Rule.of(admin="any", steward="any"),
    "catalog.manage": Rule.of(admin="any"),
    "proxies.manage_own": Rule.of(citizen="own"),
    "tokens.manage_own": Rule.of(**_ALL_OWN),
    # Cases (办件). Resources are built by cases/handling.py: officials get the competent
    # (or co-handling) department and its region; clerks the case's service point; citizens
    # own a case they applied for, filed, or act on under a valid proxy authorisation.
    "case.upload": Rule.of(citizen="any", clerk="any"),
    "case.submit": Rule.of(citizen="any", clerk="any"),
    "case.read": Rule.of(citizen="own", clerk="jurisdiction", official="department"),
    "case.queue": Rule.of(official="department"),
    **{
        f"case.{action}": Rule.of(official="department")
        for action in (
            "accept",
            "refuse",
            "request-supplement",
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
    "case.reveal_applicant_id": Rule.of(official="department"),
    "case.supplement": Rule.of(citizen="own", clerk="jurisdiction"),
    "case.withdraw": Rule.of(citizen="own", clerk="jurisdiction"),
    # 好差评 (reviews/): the applicant (or whoever filed the case) rates it; a clerk records a
    # rating at the service point on the citizen's behalf. Rectifications belong to the
    # responsible department; an operator decides appeals. Insight is for operators and officials
    # (officials within their jurisdiction).
    "review.create": Rule.of(citizen="own", clerk="jurisdiction"),
    "review.read": Rule.of(citizen="own", clerk="jurisdiction", official="department", admin="any"),
    "rectification.read": Rule.of(official="department", admin="any"),
    "rectification.handle": Rule.of(official="department"),
    "rectification.appeal": Rule.of(official="department"),
    "appeal.decide": Rule.of(admin="any"),
    "insight.read": Rule.of(admin="any", official="jurisdiction"),
    "messages.read_own": Rule.of(**_ALL_OWN),
}

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


def authorize(actor: Actor | None, action: str, resource: object | None = None) -> None:
    """Raise Unauthorized when anonymous, Forbidden unless the actor may act on the resource.

    Without a resource only the role is checked (listing routes then filter by scope);
    with one, the role's scope decides: department, jurisdiction subtree, or ownership.
    """
    if actor is None:
        raise Unauthorized("Log in or send a bearer token.", headers={"WWW-Authenticate": "Bearer"})
    rule = POLICY.get(action)
    if rule is None:
        raise Forbidden(f"Unknown action {action!r}: denied.")
    scope = rule.roles.get(actor.role)
    if scope is None:
        raise Forbidden(f"The {actor.role} role may not do {action!r}.")
    if resource is None:
        return
    reason = _scope_reason(actor, scope, resource)
    if reason is not None:
        raise Forbidden(f"Not allowed to do {action!r} here: {reason}.")


def allowed(actor: Actor | None, action: str, resource: object | None = None) -> bool:
    """True when authorize() would let the actor act (for showing or hiding buttons)."""
    try:
        authorize(actor, action, resource)
    except (Forbidden, Unauthorized):
        return False
    return True
