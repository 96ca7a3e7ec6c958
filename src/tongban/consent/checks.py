"""Which uses of a resource need the data subject's consent, and the check exchange's fetch
makes (`check_and_use`): a live consent of this person, to this consumer, for this case or
item, covering the fields, within its frequency; each use counted and recorded as
`consent.used` (codes only; the subject in `personal`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from tongban.consent.consents import (
    PERIODS,
    Refusal,
    _channel,
    _record,
    _uses,
    describe_resource,
    status_of,
)
from tongban.consent.models import Consent, ConsentRequirement, ConsentUse
from tongban.consent.schemas import RequirementIn
from tongban.events import service as events
from tongban.identity import service as identity
from tongban.identity.service import Actor, Role
from tongban.platform.config import Settings
from tongban.platform.db import utcnow
from tongban.platform.db.fastpath.direct_sql import read_all
from tongban.platform.errors import Conflict, FieldError, Forbidden, Invalid, NotFound
from tongban.platform.web.rendering import N_

# Requirements -----------------------------------------------------------------------------


def set_requirement(session: Session, *, actor: Actor | None, data: RequirementIn) -> int:
    """Make a resource's use (by one consumer, or any) need the subject's consent; its id."""
    if actor is not None:
        identity.authorize(actor, "consent.requirement.set")
    terms = describe_resource(session, data.resource)
    if terms is None:
        raise Invalid(
            f"No data resource {data.resource}.",
            errors=[FieldError("resource", f"No data resource {data.resource}.")],
        )
    if (
        actor is not None
        and actor.role is Role.STEWARD
        and actor.department_code
        not in (
            terms.provider_code,
            data.consumer,
        )
    ):
        raise Forbidden("Only the provider's or the consumer's steward sets this.")
    row = ConsentRequirement(
        resource_code=data.resource,
        consumer_code=data.consumer,
        exempt_items=list(dict.fromkeys(data.exempt_items)),
        basis=data.basis.strip(),
        set_by_id=actor.account_id if actor else None,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    events.record(
        session,
        action="consent.requirement_set",
        resource_type="consent_requirement",
        resource_id=str(row.id),
        channel=_channel(actor),
        actor_id=actor.account_id if actor else None,
        actor_role=actor.role.value if actor else None,
        data={
            "resource": row.resource_code,
            "consumer": row.consumer_code,
            "exempt_items": row.exempt_items,
        },
        private={"basis": row.basis},
    )
    return row.id


@dataclass(frozen=True, slots=True)
class RequirementView:
    """A consent requirement as the stewards' page lists it."""

    id: int
    resource: str
    consumer: str | None
    exempt_items: tuple[str, ...]
    basis: str
    created_at: datetime
    withdrawn_at: datetime | None


def requirements(session: Session, *, actor: Actor) -> list[RequirementView]:
    """Every consent requirement, the ones in force first, newest first."""
    identity.authorize(actor, "consent.requirement.set")
    rows = session.scalars(
        select(ConsentRequirement).order_by(
            ConsentRequirement.withdrawn_at.is_not(None), ConsentRequirement.id.desc()
        )
    )
    return [
        RequirementView(
            id=r.id,
            resource=r.resource_code,
            consumer=r.consumer_code,
            exempt_items=tuple(r.exempt_items or ()),
            basis=r.basis,
            created_at=r.created_at,
            withdrawn_at=r.withdrawn_at,
        )
        for r in rows
    ]


def withdraw_requirement(
    session: Session, *, actor: Actor, requirement_id: int, reason: str
) -> None:
    """Withdraw a requirement in force (its uses need no consent from now on); recorded."""
    identity.authorize(actor, "consent.requirement.set")
    row = session.get(ConsentRequirement, requirement_id)
    if row is None:
        raise NotFound("No such consent requirement.")
    terms = describe_resource(session, row.resource_code)
    if actor.role is Role.STEWARD and actor.department_code not in (
        terms.provider_code if terms else None,
        row.consumer_code,
    ):
        raise NotFound("No such consent requirement.")  # not theirs: as if absent
    if row.withdrawn_at is not None:
        raise Conflict("This consent requirement was already withdrawn.")
    reason = reason.strip()
    if not 2 <= len(reason) <= 500:
        raise Invalid(
            "Say why the requirement is withdrawn (2 to 500 characters).",
            errors=[FieldError("reason", "2 to 500 characters")],
        )
    row.withdrawn_at = utcnow()
    session.flush()
    events.record(
        session,
        action="consent.requirement_withdrawn",
        resource_type="consent_requirement",
        resource_id=str(row.id),
        channel=_channel(actor),
        actor_id=actor.account_id,
        actor_role=actor.role.value,
        data={"resource": row.resource_code, "consumer": row.consumer_code},
        private={"reason": reason},
    )


# Built once: asked on every fetch (docs/benchmarks.md, Exchange).
_REQUIREMENTS = select(ConsentRequirement.consumer_code, ConsentRequirement.exempt_items).where(
    ConsentRequirement.resource_code == bindparam("resource_code"),
    ConsentRequirement.withdrawn_at.is_(None),
)


def needs_consent(session: Session, *, resource_code: str, consumer_code: str, item: str) -> bool:
    """True when this consumer's use of the resource for a case of this item needs consent."""
    rows = read_all(session, _REQUIREMENTS, {"resource_code": resource_code})
    return any(
        row.consumer_code in (None, "", consumer_code) and item not in row.exempt_items
        for row in rows
    )


# The fetch check ---------------------------------------------------------------------------


def check_and_use(
    session: Session,
    *,
    actor: Actor | None,
    consumer_code: str,
    resource_code: str,
    item: str,
    case_number: str,
    resident_id: str,
    fields: list[str],
    settings: Settings,
    now: datetime | None = None,
) -> Refusal | None:
    """None when the fetch needs no consent, or a consent covers it (its use is then counted
    and recorded as `consent.used`); otherwise why not. The caller records its refusal."""
    if not needs_consent(
        session, resource_code=resource_code, consumer_code=consumer_code, item=item
    ):
        return None
    now = now or utcnow()
    subject = identity.resident_id_lookup_hash(resident_id, settings=settings)
    rows = list(
        session.scalars(
            select(Consent)
            .where(
                Consent.subject_hash == subject,
                Consent.resource_code == resource_code,
                Consent.requester_code == consumer_code,
            )
            .order_by(Consent.id.desc())
        )
    )
    statuses = {status_of(row, now=now) for row in rows}
    live = [r for r in rows if status_of(r, now=now) == "granted" and r.valid_from <= now]
    if not live:
        if "revoked" in statuses:
            return Refusal("consent-revoked")
        if "expired" in statuses:
            return Refusal("consent-expired")
        return Refusal("no-consent")
    serving = [
        r
        for r in live
        if (r.case_number is None or r.case_number == case_number)
        and (r.item_code is None or r.item_code == item)
    ]
    if not serving:
        return Refusal("consent-not-for-case")
    covering = [r for r in serving if set(fields) <= set(r.fields)]
    if not covering:
        outside = sorted(set(fields) - set().union(*(set(r.fields) for r in serving)))
        return Refusal("consent-fields", ", ".join(outside))
    for row in covering:
        period = PERIODS[row.frequency_unit]
        since = now - period if period is not None else None
        if _uses(session, row.id, since) < row.frequency_value:
            session.add(
                ConsentUse(consent_id=row.id, case_number=case_number, fields=fields, used_at=now)
            )
            session.flush()
            # A use outside a case (a proactive 免申即享 check) names no case.
            data: dict[str, object] = {"used_fields": fields, "outcome": "allowed"}
            if case_number:
                data["use_case"] = case_number
            _record(session, row, action="consent.used", actor=actor, data=data)
            return None
    return Refusal("consent-frequency")


REFUSAL_MESSAGES: dict[str, str] = {
    "no-consent": "{resource} may be fetched for this use only with the person's consent.",
    "consent-revoked": "The person revoked their consent to fetching {resource}.",
    "consent-expired": "The person's consent to fetching {resource} has expired.",
    "consent-not-for-case": "The person's consent to {resource} does not cover this case.",
    "consent-fields": "The person's consent to {resource} does not cover field(s) {detail}.",
    "consent-frequency": "The person's consent to {resource} allows no more fetches now.",
}


# The same refusals as an official reads them on the case page (no placeholders).
REFUSAL_TEXTS: dict[str, str] = {
    "no-consent": N_("This use of the data needs the person's consent, and there is none."),
    "consent-revoked": N_("The person revoked their consent to this use of their data."),
    "consent-expired": N_("The person's consent to this use of their data has expired."),
    "consent-not-for-case": N_("The person's consent does not cover this case."),
    "consent-fields": N_("The person's consent does not cover all these fields."),
    "consent-frequency": N_("The person's consent allows no more fetches for now."),
}
