"""Help requests (请工作人员帮我办): a citizen who cannot manage alone asks the nearest service
point to call back; a clerk there calls, does it for them at the desk, and marks it done.

The request goes to the service point nearest to where the person is: the same county, else
the same city, else the same province (service points are where clerks work). A phone number
may have at most `OPEN_PER_PHONE` requests waiting, so that nobody fills a hall's queue.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tongban.cases import clocks
from tongban.cases.models import HelpRequest
from tongban.events import service as events
from tongban.identity import service as identity
from tongban.platform.errors import FieldError, Invalid, NotFound, TooManyRequests
from tongban.regions import service as regions

OPEN = "open"
DONE = "done"
OPEN_PER_PHONE = 3
_PHONE = re.compile(r"^1[3-9]\d{9}$")
# How far a service point may be from the person: county, city, province (region-code digits).
_NEAR = (6, 4, 2)


@dataclass(frozen=True, slots=True)
class HelpRequestView:
    """A help request as the desk shows it."""

    id: int
    created_at: datetime
    service_point: str
    region_code: str
    name: str
    phone: str
    topic: str | None
    state: str

    @classmethod
    def of(cls, row: HelpRequest) -> HelpRequestView:
        """The view of a row."""
        return cls(
            id=row.id,
            created_at=row.created_at,
            service_point=row.service_point,
            region_code=row.region_code,
            name=row.name,
            phone=row.phone,
            topic=row.topic,
            state=row.state,
        )


def nearest_service_point(points: Sequence[str], region_code: str) -> str | None:
    """The service point in the same county, else city, else province; None if there is none."""
    for digits in _NEAR:
        near = [p for p in points if p[:digits] == region_code[:digits]]
        if near:
            # A county's own point first, then the city's or the province's own office.
            return min(near, key=lambda p: (p != region_code, p.rstrip("0") == p, p))
    return None


def _invalid(field: str, message: str) -> Invalid:
    return Invalid(message, errors=[FieldError(field, message)])


def request_help(
    session: Session,
    *,
    name: str,
    phone: str,
    region_code: str,
    topic: str | None,
    account_id: int | None,
) -> HelpRequestView:
    """File a call-back request at the service point nearest to `region_code`."""
    name, phone, topic = name.strip(), phone.strip().replace(" ", ""), (topic or "").strip()
    errors: list[FieldError] = []
    if not 1 <= len(name) <= 50:
        errors.append(FieldError("name", "Give a name of 1 to 50 characters."))
    if not _PHONE.match(phone):
        errors.append(FieldError("phone", "Give an 11-digit mobile number."))
    if len(topic) > 300:
        errors.append(FieldError("topic", "Say it in at most 300 characters."))
    if regions.find(session, code=region_code) is None:
        errors.append(FieldError("region", "Choose where you are."))
    if errors:
        raise Invalid("The help request is incomplete.", errors=errors)
    point = nearest_service_point(identity.service_points(session), region_code)
    if point is None:
        raise _invalid("region", "No service point near this place is on the platform yet.")
    waiting = session.scalar(
        select(func.count())
        .select_from(HelpRequest)
        .where(HelpRequest.phone == phone, HelpRequest.state == OPEN)
    )
    if (waiting or 0) >= OPEN_PER_PHONE:
        raise TooManyRequests(
            "This phone number already has requests waiting for a call back.",
            headers={"Retry-After": "3600"},
        )
    row = HelpRequest(
        created_at=clocks.now(),
        service_point=point,
        region_code=region_code,
        account_id=account_id,
        name=name,
        phone=phone,
        topic=topic or None,
        state=OPEN,
    )
    session.add(row)
    session.flush()
    events.record(
        session,
        action="help.requested",
        resource_type="help_request",
        resource_id=str(row.id),
        channel="online",
        actor_id=account_id,
        actor_role="citizen" if account_id else None,
        service_point=point,
        data={"has_topic": bool(topic)},
        personal={"name": name, "phone": phone},
        private={"topic": topic or None, "region": region_code},
    )
    return HelpRequestView.of(row)


def waiting_requests(
    session: Session, *, actor: identity.Actor, limit: int = 200
) -> list[HelpRequestView]:
    """The requests waiting at the clerk's service point, oldest first."""
    identity.authorize(actor, "help.answer", {"region_code": actor.service_point})
    rows = session.scalars(
        select(HelpRequest)
        .where(HelpRequest.service_point == actor.service_point, HelpRequest.state == OPEN)
        .order_by(HelpRequest.id)
        .limit(limit)
    ).all()
    return [HelpRequestView.of(r) for r in rows]


def mark_done(session: Session, *, request_id: int, actor: identity.Actor) -> HelpRequestView:
    """The clerk called back (and helped): the request leaves the queue."""
    row = session.get(HelpRequest, request_id)
    if row is None or row.service_point != actor.service_point:
        raise NotFound(f"No help request {request_id}.")
    identity.authorize(actor, "help.answer", {"region_code": row.service_point})
    if row.state == OPEN:
        row.state = DONE
        row.handled_by_id = actor.account_id
        row.handled_at = clocks.now()
        session.flush()
        events.record(
            session,
            action="help.answered",
            resource_type="help_request",
            resource_id=str(row.id),
            channel="assisted",
            actor_id=actor.account_id,
            actor_role=actor.role.value,
            service_point=row.service_point,
            data={},
        )
    return HelpRequestView.of(row)
