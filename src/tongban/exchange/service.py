"""Exchange rules (共享交换) as other domains and the shell use them: views, never rows.

The work is split by sub-domain: catalogue.py (resources), requests.py (供需对接 and the
agreements an approval makes), policy.py (agreements as Cedar policies), fetch.py (purpose-bound
fetches for a case), providers.py (local tables, remote nodes), remote.py (signed HTTP),
demo.py (the demo's resources, records and agreement).

Layer: exchange sits above cases (it reads a case through cases.service to bind a fetch to an
open case of the caller's department) and below reviews; cases never import exchange. What a
case page shows as "已通过共享获取" comes from `shared_materials`, handed to the cases pages by
the shell (docs/exchange.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.consent import service as consent
from tongban.exchange import automatic, catalogue, fetch
from tongban.exchange.automatic import RunReport, fetch_at_acceptance
from tongban.exchange.automatic import retry_failed as retry_failed_fetches
from tongban.exchange.automatic import run_due as run_queued_fetches
from tongban.exchange.demo import load_demo
from tongban.exchange.directory import Reload, export_directory
from tongban.exchange.directory import load_document as load_directory_document
from tongban.exchange.directory import reload as reload_directory
from tongban.exchange.fetch_pages import REFUSAL_TEXTS
from tongban.exchange.models import DataFetch, DataResource, Node
from tongban.exchange.nodes import put_node, this_node
from tongban.exchange.provider_fast import QueryFastPath
from tongban.exchange.signing import NodeKey, node_key
from tongban.exchange.worker import starter as worker_starter
from tongban.platform.errors import NotFound

__all__ = [
    "NodeKey",
    "QueryFastPath",
    "Reload",
    "RunReport",
    "SharedMaterial",
    "consent_terms",
    "directory_entries",
    "export_directory",
    "fetch_at_acceptance",
    "load_demo",
    "load_directory_document",
    "node_key",
    "register_node",
    "reload_directory",
    "resource_names",
    "retry_failed_fetches",
    "run_queued_fetches",
    "shared_materials",
    "this_node",
    "worker_starter",
]


@dataclass(frozen=True, slots=True)
class SharedMaterial:
    """One material a case got by sharing instead of an upload (已通过共享获取), or one being
    fetched since acceptance (state "pending": 正在获取) or whose fetch failed ("failed", with
    the refusal code or provider-unavailable as `problem`; the fetch button retries it)."""

    case_number: str
    resource_code: str
    resource_name: str
    provider_name: str
    materials: tuple[str, ...]  # the checklist lines it stands in for
    fields: tuple[str, ...]
    found: bool
    fetched_at: datetime | None
    state: str = "fetched"
    problem: str | None = None

    @property
    def problem_text(self) -> str:
        """Why the fetch failed, as the checklist says it (a message id to translate)."""
        return REFUSAL_TEXTS.get(self.problem or "", "The data could not be fetched")

    @classmethod
    def of(cls, row: DataFetch, materials: tuple[str, ...]) -> SharedMaterial:
        """The view of a fetch row."""
        return cls(
            case_number=row.case_number,
            resource_code=row.resource_code,
            resource_name=row.resource_name,
            provider_name=row.provider_name,
            materials=materials,
            fields=tuple(row.fields),
            found=bool(row.found),
            fetched_at=row.fetched_at,
        )


def shared_materials(session: Session, *, case_number: str) -> list[SharedMaterial]:
    """The materials a case got by sharing (the latest fetch of each resource that found a
    record), for the case's checklist: no authorization here, the case page has done it."""
    latest: dict[str, DataFetch] = {}
    for row in fetch.materials_of_case(session, case_number=case_number):
        if row.found:
            latest[row.resource_code] = row
    out = []
    for code, row in latest.items():
        try:
            materials = tuple(catalogue.get_resource(session, code=code).materials)
        except NotFound:  # a resource withdrawn since: the fetch still stands
            materials = ()
        out.append(SharedMaterial.of(row, materials))
    for queued in automatic.queued_of_case(session, case_number=case_number):
        if queued.resource_code in latest:
            continue
        try:
            resource = catalogue.get_resource(session, code=queued.resource_code)
        except NotFound:
            continue
        out.append(
            SharedMaterial(
                case_number=case_number,
                resource_code=resource.code,
                resource_name=resource.name,
                provider_name=resource.provider_name,
                materials=tuple(resource.materials),
                fields=(),
                found=False,
                fetched_at=None,
                state="failed" if queued.state == "failed" else "pending",
                problem=queued.problem,
            )
        )
    return out


def resource_names(session: Session) -> dict[str, str]:
    """Catalog material name -> the resource providing it (guides: 无需提交，由部门共享获取)."""
    names: dict[str, str] = {}
    for resource in catalogue.list_resources(session):
        if resource.sharing == "none":
            continue
        for material in resource.materials:
            names.setdefault(material, resource.name)
    return names


def directory_entries(session: Session) -> list[dict[str, Any]]:
    """The cached node directory (federation routes and verifies by it): one dict per node."""
    return [
        {
            "node_id": row.node_id,
            "region_code": row.region_code,
            "name": row.name,
            "base_url": row.base_url,
            "public_keys": dict(row.public_keys),
        }
        for row in session.scalars(select(Node).order_by(Node.node_id))
    ]


def register_node(session: Session, *, entry: dict[str, Any]) -> None:
    """List a node in this node's directory (the national node registering a province)."""
    put_node(session, entry=entry)


def consent_terms(session: Session, code: str) -> consent.ResourceTerms | None:
    """A resource's provider and field labels as consent needs them (the shell hands this to
    consent, which sits below exchange), or None for an unknown code."""
    fetching = session.info.get(fetch.FETCHING)
    try:
        # During a fetch, the resource it read a moment ago in this transaction (fetch.py).
        row = (
            fetching
            if isinstance(fetching, DataResource) and fetching.code == code
            else catalogue.get_resource(session, code=code)
        )
    except NotFound:
        return None
    return consent.ResourceTerms(
        code=row.code,
        name=row.name,
        provider_code=row.provider_code,
        provider_name=row.provider_name,
        fields={str(f["name"]): str(f["label"]) for f in row.fields},
    )
