"""免证办 through the API: a held 社会保障卡 stands in for the checklist line 本人银行卡或社会保障卡
（金融账户）; the case keeps the verified claims with issuer and status; a revoked licence is
refused with its reason, and nothing is filed."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.credentials.conftest import World

from tongban.cases.models import Case
from tongban.credentials import service as credentials
from tongban.credentials.models import Credential, CredentialUse
from tongban.events.models import Event
from tongban.platform.config import Settings

IMPLEMENTATION = "511600-104110001000-01"  # 正常退休提取住房公积金, 广安市
LINE = "本人银行卡或社会保障卡（金融账户）"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63fccf00000301010018dd8db40000000049454e44ae426082"
)


def _upload(client: TestClient, world: World) -> str:
    answer = client.post(
        "/api/v1/uploads",
        files={"file": ("id.png", PNG, "image/png")},
        headers=world.h("citizen"),
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["sha256"])


def _apply(client: TestClient, world: World, credential: int) -> object:
    return client.post(
        "/api/v1/cases",
        json={
            "implementation": IMPLEMENTATION,
            "form": {
                "account_no": "GA1234567",
                "bank_account": "6228480000000000",
                "retire_date": "2010-03-15",
            },
            "materials": [{"name": "居民身份证", "sha256": _upload(client, world)}],
            "licences": [{"material": LINE, "credential": credential}],
        },
        headers=world.h("citizen"),
    )


def test_a_licence_replaces_the_paper(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    credentials.load_demo(db, settings=settings)
    card = db.scalars(select(Credential).where(Credential.type_code == "101001")).one()
    answer = _apply(client, world, card.id)
    assert answer.status_code == 201, answer.text  # type: ignore[attr-defined]
    number = answer.json()["number"]  # type: ignore[attr-defined]
    use = db.scalars(select(CredentialUse).where(CredentialUse.case_number == number)).one()
    assert use.material == LINE and use.status == "valid"
    assert use.issuer_name == "广安市人力资源和社会保障局" and use.claims["holder_name"] == "王建国"
    event = db.scalars(select(Event).where(Event.action == "credential.used")).one()
    assert event.data["paper_saved"] == 1 and event.resource_id == number
    # Without the licence the same application lacks a required paper.
    missing = client.post(
        "/api/v1/cases",
        json={
            "implementation": IMPLEMENTATION,
            "form": {
                "account_no": "GA1234567",
                "bank_account": "6228480000000000",
                "retire_date": "2010-03-15",
            },
            "materials": [{"name": "居民身份证", "sha256": _upload(client, world)}],
        },
        headers=world.h("citizen"),
    )
    assert missing.status_code == 422


def test_a_revoked_licence_is_refused_with_its_reason(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    credentials.load_demo(db, settings=settings)
    card = db.scalars(select(Credential).where(Credential.type_code == "101001")).one()
    card.status = "revoked"
    db.flush()
    before = db.scalar(select(func.count()).select_from(Case))
    answer = _apply(client, world, card.id)
    assert answer.status_code == 422  # type: ignore[attr-defined]
    assert "revoked" in answer.text  # type: ignore[attr-defined]
    assert db.scalar(select(func.count()).select_from(Case)) == before
    # Someone else's licence is not the applicant's to present.
    other = client.post(
        "/api/v1/cases",
        json={
            "implementation": IMPLEMENTATION,
            "form": {"account_no": "GA1", "bank_account": "6228", "retire_date": "2010-03-15"},
            "licences": [{"material": LINE, "credential": card.id}],
        },
        headers=world.h("relative"),
    )
    assert other.status_code == 422
