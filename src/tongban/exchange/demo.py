"""The exchange's demo data (data/demo_exchange.yaml): departments, five resources, records for
the demo citizens, and one approved agreement. Loading twice changes nothing."""

from __future__ import annotations

from importlib import resources as package_files
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.exchange import catalogue, providers, requests
from tongban.exchange.models import Agreement, DataResource
from tongban.exchange.schemas import RequestIn, ResourceIn
from tongban.identity import service as identity
from tongban.platform.config import Settings


def demo_data() -> dict[str, Any]:
    """The demo file, parsed."""
    text = (
        package_files.files("tongban.exchange")
        .joinpath("data/demo_exchange.yaml")
        .read_text(encoding="utf-8")
    )
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def load_demo(session: Session, *, settings: Settings) -> dict[str, int]:
    """Load what is missing of the demo; counts of what was added."""
    data = demo_data()
    counts = {"exchange_resources": 0, "exchange_records": 0, "exchange_agreements": 0}
    for department in data["departments"]:
        identity.ensure_department(
            session,
            code=department["code"],
            name=department["name"],
            region_code=department["region"],
        )
    for spec in data["resources"]:
        known = session.scalar(select(DataResource.id).where(DataResource.code == spec["code"]))
        if known is None:
            catalogue.publish_resource(session, actor=None, data=ResourceIn.model_validate(spec))
            counts["exchange_resources"] += 1
    for code, records in data["records"].items():
        for record in records:
            if providers.put_record(
                session,
                resource=code,
                resident_id=record["resident_id"],
                data=record["data"],
                settings=settings,
            ):
                counts["exchange_records"] += 1
    for spec in data["agreements"]:
        resource = catalogue.get_resource(session, code=spec["resource"])
        consumer = identity.get_department_by_code(session, code=spec["consumer"])
        held = session.scalar(
            select(Agreement.id).where(
                Agreement.resource_id == resource.id,
                Agreement.consumer_department_id == consumer.id,
            )
        )
        if held is not None:
            continue
        request = requests.file_request(
            session,
            actor=None,
            data=RequestIn(
                resource=spec["resource"],
                consumer=spec["consumer"],
                fields=spec["fields"],
                purpose=spec["purpose"],
                legal_basis=spec["legal_basis"],
                items=spec["items"],
                duration_days=spec["duration_days"],
            ),
        )
        requests.decide_request(
            session, actor=None, request_id=request.id, approve=True, reason=None
        )
        counts["exchange_agreements"] += 1
    session.flush()
    return counts
