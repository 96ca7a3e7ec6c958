"""The e-licences of the demo: the demo citizen (王建国, born 1950) holds a 社会保障卡 from the
city's human resources and social security bureau and a 老年人优待证 from its civil affairs
bureau. Loading twice changes nothing."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.credentials import licences
from tongban.credentials.issuing import issue
from tongban.credentials.models import Credential
from tongban.identity import service as identity
from tongban.platform.config import Settings

# (item code, issuing department code, name, region, the case form's fields)
DEMO_LICENCES = (
    (
        "101110006000",
        "11511600MB0150229L",
        "广安市人力资源和社会保障局",
        "511600",
        {"bank": "中国农业银行", "apply_kind": "首次申领"},
    ),
    ("109110004000", "11511600MB01744074", "广安市民政局", "511600", {"card_kind": "电子证"}),
)


def load_demo(session: Session, *, settings: Settings) -> dict[str, int]:
    """Issue the demo citizen's e-licences that are missing; how many were issued."""
    citizen = identity.find_account_by_username(session, username="citizen")
    if citizen is None:
        return {"credentials": 0}
    issued = 0
    for item, code, name, region, form in DEMO_LICENCES:
        kind = licences.for_item(item)
        assert kind is not None
        held = session.scalar(
            select(Credential.id).where(
                Credential.holder_id == citizen.id, Credential.type_code == kind.type_code
            )
        )
        if held is not None:
            continue
        department = identity.ensure_department(session, code=code, name=name, region_code=region)
        issue(
            session,
            kind=kind,
            holder_id=citizen.id,
            department_id=department.id,
            form=form,
            settings=settings,
        )
        issued += 1
    session.flush()
    return {"credentials": issued}
