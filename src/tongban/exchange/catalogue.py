"""The resource catalogue (政务数据资源目录): publishing a resource, reading and searching it.

A provider's steward publishes what the department holds and on which terms (the sharing
attribute with its conditions or legal basis); a re-publication of the same code is a new
version. The catalogue is public: it says what exists, never what a record holds.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from tongban.events import service as events
from tongban.events.service import Channel
from tongban.exchange.models import DataResource
from tongban.exchange.schemas import ResourceIn, Sharing
from tongban.identity import service as identity
from tongban.identity.service import Actor
from tongban.platform.db import utcnow
from tongban.platform.errors import FieldError, Invalid, NotFound


def channel_of(actor: Actor | None) -> Channel:
    """How a step reached us: through an API token, a login session, or the system."""
    if actor is None:
        return Channel.SYSTEM
    return Channel.API if actor.token_id is not None else Channel.ONLINE


def get_resource(session: Session, *, code: str) -> DataResource:
    """The resource with this code, or NotFound."""
    row = session.scalar(select(DataResource).where(DataResource.code == code))
    if row is None:
        raise NotFound(f"No data resource {code}.")
    return row


def list_resources(
    session: Session, *, q: str | None = None, sharing: str | None = None, limit: int = 100
) -> list[DataResource]:
    """The catalogue, by code; `q` matches code, name or provider (substring)."""
    stmt = select(DataResource).where(DataResource.active.is_(True))
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(
            or_(
                DataResource.code.ilike(like),
                DataResource.name.ilike(like),
                DataResource.provider_name.ilike(like),
            )
        )
    if sharing:
        stmt = stmt.where(DataResource.sharing == sharing)
    return list(session.scalars(stmt.order_by(DataResource.code).limit(limit)))


def _check(data: ResourceIn) -> None:
    names = [f.name for f in data.fields]
    if len(set(names)) != len(names):
        raise Invalid(
            "Each field is named once.", errors=[FieldError("fields", "duplicate field name")]
        )
    if data.sharing is not Sharing.UNCONDITIONAL and not (data.conditions or "").strip():
        message = "Conditional or non-shared resources state their conditions or legal basis."
        raise Invalid(message, errors=[FieldError("conditions", message)])


def publish_resource(session: Session, *, actor: Actor | None, data: ResourceIn) -> DataResource:
    """Publish a resource (or a new version of one) for the provider department; recorded."""
    _check(data)
    try:
        provider = identity.get_department_by_code(session, code=data.provider)
    except NotFound:
        raise Invalid(
            "No such provider department.", errors=[FieldError("provider", "unknown department")]
        ) from None
    if actor is not None:
        identity.authorize(
            actor, "exchange.resource.publish", {"region_code": provider.region_code}
        )
    row = session.scalar(select(DataResource).where(DataResource.code == data.code))
    action = "exchange.resource_published"
    if row is None:
        row = DataResource(code=data.code, version=1)
        session.add(row)
    else:
        if row.provider_department_id != provider.id:
            raise Invalid(
                "This code belongs to another provider's resource.",
                errors=[FieldError("code", "taken by another provider")],
            )
        row.version += 1
        action = "exchange.resource_updated"
    row.name = data.name
    row.provider_department_id = provider.id
    row.provider_code = provider.code
    row.provider_name = provider.name
    row.region_code = provider.region_code
    row.sharing = data.sharing.value
    row.conditions = data.conditions
    row.fields = [f.model_dump() for f in data.fields]
    row.update_frequency = data.update_frequency.value
    row.endpoint = data.endpoint
    row.materials = list(data.materials)
    row.active = True
    row.updated_at = utcnow()
    session.flush()
    events.record(
        session,
        action=action,
        resource_type="exchange_resource",
        resource_id=row.code,
        channel=channel_of(actor),
        actor_id=actor.account_id if actor else None,
        actor_role=actor.role.value if actor else None,
        data={
            "provider": provider.code,
            "sharing": row.sharing,
            "fields": [f.name for f in data.fields],
            "version": row.version,
            "endpoint": row.endpoint,
        },
    )
    return row


def field_names(resource: DataResource) -> list[str]:
    """The codes of the resource's fields, in order."""
    return [str(f["name"]) for f in resource.fields]
