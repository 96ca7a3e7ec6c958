"""JSON routes of the regions domain under /api/v1."""

from __future__ import annotations

from fastapi import APIRouter, Query, status

from tongban.events.service import Channel
from tongban.identity import service as identity
from tongban.identity.deps import CurrentActor
from tongban.platform.web.deps import DbSession
from tongban.regions import service
from tongban.regions.schemas import RegionCreate, RegionList, RegionRead, RegionUpdate

router = APIRouter(tags=["regions"])


@router.get("/regions", response_model=RegionList)
def list_regions(
    session: DbSession,
    parent: str | None = Query(default=None, description="Parent code; omit for provinces."),
) -> RegionList:
    """The divisions directly below `parent`, or the provinces."""
    return RegionList.of(service.children(session, parent_code=parent))


@router.get("/regions/{code}", response_model=RegionRead)
def get_region(code: str, session: DbSession) -> RegionRead:
    """One division by code."""
    return RegionRead.of(service.get(session, code=code))


@router.get("/regions/{code}/ancestors", response_model=RegionList)
def get_ancestors(code: str, session: DbSession) -> RegionList:
    """The divisions above `code`, province first."""
    return RegionList.of(service.ancestors(session, code=code))


@router.post("/regions", response_model=RegionRead, status_code=status.HTTP_201_CREATED)
def add_region(body: RegionCreate, session: DbSession, actor: CurrentActor) -> RegionRead:
    """Add a township or village below an existing division."""
    identity.authorize(actor, "regions.manage")
    region = service.add_region(
        session,
        code=body.code,
        name=body.name,
        urban_rural=body.urban_rural,
        actor_id=actor.account_id,
        actor_role=str(actor.role),
        channel=Channel.API,
    )
    return RegionRead.of(region)


@router.patch("/regions/{code}", response_model=RegionRead)
def update_region(
    code: str, body: RegionUpdate, session: DbSession, actor: CurrentActor
) -> RegionRead:
    """Override a division's urban/rural class."""
    identity.authorize(actor, "regions.manage")
    region = service.set_urban_rural(
        session,
        code=code,
        urban_rural=body.urban_rural,
        actor_id=actor.account_id,
        actor_role=str(actor.role),
        channel=Channel.API,
    )
    return RegionRead.of(region)
