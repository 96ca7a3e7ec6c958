"""Departments (government bodies by unified social credit code) and region checks."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from tongban.events import service as events
from tongban.identity.fields import FieldErrors, field_invalid
from tongban.identity.models import Department
from tongban.identity.policy import Actor
from tongban.identity.resident_id import validate_uscc
from tongban.platform.db.fastpath.direct_sql import fetch_one
from tongban.platform.errors import Conflict, FieldError, Invalid, NotFound


def check_region(session: Session, *, code: str, field_name: str = "region_code") -> str:
    """Return the code of a known region, or raise Invalid naming the field."""
    from tongban.regions import service as regions

    try:
        region = regions.get(session, code=code.strip())
    except NotFound:
        raise field_invalid(field_name, f"No region with code {code!r}.") from None
    except Invalid as exc:
        message = exc.errors[0].message if exc.errors else exc.detail
        raise field_invalid(field_name, message) from None
    return str(region.code)


def get_department_by_code(session: Session, *, code: str) -> Department:
    """The department with this unified social credit code, or NotFound."""
    row = session.scalar(select(Department).where(Department.code == code.strip().upper()))
    if row is None:
        raise NotFound(f"No department with code {code!r}.")
    return row


# Built once: the data tracker names the department of every line it writes.
_NAME_BY_CODE = select(Department.name).where(Department.code == bindparam("code"))


def department_name(session: Session, *, code: str) -> str | None:
    """The name of the department with this code, or None (no ORM load)."""
    row = fetch_one(session, _NAME_BY_CODE, {"code": code.strip().upper()})
    return None if row is None else str(row.name)


def get_department(session: Session, *, department_id: int) -> Department:
    """The department with this id, or NotFound."""
    row = session.get(Department, department_id)
    if row is None:
        raise NotFound(f"No department {department_id}.")
    return row


def list_departments(
    session: Session, *, region_code: str | None = None, limit: int = 100, offset: int = 0
) -> Sequence[Department]:
    """Departments, optionally those registered in one region, by code."""
    stmt = select(Department).order_by(Department.code).limit(limit).offset(offset)
    if region_code:
        stmt = stmt.where(Department.region_code == region_code)
    return session.scalars(stmt).all()


def ensure_department(
    session: Session,
    *,
    code: str,
    name: str,
    region_code: str,
    parent_code: str | None = None,
    actor: Actor | None = None,
    channel: str = "system",
) -> Department:
    """Return the department with this code, creating it (validated) when absent."""
    errors = FieldErrors()
    normalized = errors.check(validate_uscc, code, field="code")
    label = (name or "").strip()
    if not label or len(label) > 200:
        errors.add("name", "A department name has 1 to 200 characters.")
    region = errors.check(check_region, session, code=region_code or "", field_name="region_code")
    errors.raise_if_any()
    assert isinstance(normalized, str) and isinstance(region, str)
    existing = session.scalar(select(Department).where(Department.code == normalized))
    if existing is not None:
        return existing
    parent_id = None
    if parent_code:
        try:
            parent_id = get_department_by_code(session, code=parent_code).id
        except NotFound:
            raise field_invalid(
                "parent_code", f"No department with code {parent_code!r}."
            ) from None
    row = Department(code=normalized, name=label, region_code=region, parent_id=parent_id)
    session.add(row)
    session.flush()
    events.record(
        session,
        action="department.created",
        resource_type="department",
        resource_id=str(row.id),
        channel=channel,
        actor_id=actor.account_id if actor else None,
        actor_role=actor.role if actor else None,
        data={"code": row.code, "region_code": row.region_code},
        # Names are text written by people: committed to, not in the public leaf.
        private={"name": row.name},
    )
    return row


def create_department(
    session: Session,
    *,
    code: str,
    name: str,
    region_code: str,
    parent_code: str | None = None,
    actor: Actor | None = None,
    channel: str = "system",
) -> Department:
    """Register a new department; Conflict when its code is already registered."""
    existing = session.scalar(select(Department).where(Department.code == code.strip().upper()))
    if existing is not None:
        raise Conflict(
            f"A department with code {existing.code} exists.",
            errors=[FieldError("code", "already registered")],
        )
    return ensure_department(
        session,
        code=code,
        name=name,
        region_code=region_code,
        parent_code=parent_code,
        actor=actor,
        channel=channel,
    )
