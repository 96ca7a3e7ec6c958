"""免证办 at the service desk, through the desk pages (CSRF): the clerk applies for the citizen,
who shows the 社会保障卡 from their 卡包 (the SD-JWT text or the QR short link) instead of the
paper; it is verified as online. A revoked licence, another person's and a licence of the wrong
type are each refused with the verifier's reason, and nothing is filed."""

from __future__ import annotations

import dataclasses
import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.credentials.conftest import World

from tongban.cases.models import Case
from tongban.credentials import service as credentials
from tongban.credentials.models import Credential, CredentialUse
from tongban.identity.demo import DEMO_CITIZEN_ID, DEMO_RELATIVE_ID
from tongban.platform.config import Settings

HTML = {"accept": "text/html"}
CODE = "511600-104110001000-01"  # 正常退休提取住房公积金, 广安市
LINE = "本人银行卡或社会保障卡（金融账户）"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63fccf00000301010018dd8db40000000049454e44ae426082"
)
FORM = {
    "form.account_no": "GA1234567",
    "form.bank_account": "6228480000000000",
    "form.retire_date": "2010-03-15",
}


def _token(client: TestClient, path: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path, headers=HTML).text)
    assert match, path
    return match.group(1)


def _desk_for(client: TestClient, resident_id: str, name: str) -> str:
    """Log the clerk in, check the applicant at the desk; the apply page's HTML."""
    answer = client.post(
        "/login",
        data={
            "csrf_token": _token(client, "/login"),
            "username": "clerk",
            "password": "tongban-demo",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303
    answer = client.post(
        "/desk",
        data={
            "csrf_token": _token(client, "/desk"),
            "resident_id": resident_id,
            "name": name,
            "confirmed": "1",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    page = client.get(f"/desk/apply/{CODE}", headers=HTML)
    assert page.status_code == 200
    return page.text


def _submit(client: TestClient, page: str, shown: str) -> object:
    """Submit with the paper lines uploaded, and `shown` for the line a licence can replace."""
    offered = re.findall(r'name="use_licence(\d+)"', page)
    assert offered, "the desk form offers no e-licence"
    index = offered[0]
    files = [
        (f"file{i}", ("paper.png", PNG, "image/png"))
        for i in sorted(set(re.findall(r'name="file(\d+)"', page)))
        if i != index
    ]
    data = {
        "csrf_token": _token(client, f"/desk/apply/{CODE}"),
        **FORM,
        f"use_licence{index}": "1",
        f"licence{index}": shown,
    }
    return client.post(
        f"/desk/apply/{CODE}", data=data, files=files, headers=HTML, follow_redirects=False
    )


def _card(db: Session, type_code: str = "101001") -> Credential:
    return db.scalars(select(Credential).where(Credential.type_code == type_code)).one()


def test_the_licence_shown_at_the_desk_replaces_the_paper(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    credentials.load_demo(db, settings=settings)
    card = _card(db)
    page = _desk_for(client, DEMO_CITIZEN_ID, "王建国")
    assert LINE in page and "社会保障卡" in page
    # The 卡包's QR short link, disclosing only the holder's name and ID number.
    token = credentials.share(
        db,
        actor=world.actor("citizen"),
        credential_id=card.id,
        fields=["holder_name", "holder_code"],
    )
    answer = _submit(client, page, f"http://testserver/verify/s/{token}")
    assert answer.status_code == 303, answer.text  # type: ignore[attr-defined]
    number = answer.headers["location"].split("/")[2]  # type: ignore[attr-defined]
    use = db.scalars(select(CredentialUse).where(CredentialUse.case_number == number)).one()
    assert use.material == LINE and use.status == "valid"
    assert use.claims["holder_name"] == "王建国"
    case = db.scalars(select(Case).where(Case.number == number)).one()
    assert LINE not in {m.name for m in case.materials}  # no paper for that line


def test_bad_licences_are_refused_with_the_reason_and_nothing_is_filed(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    credentials.load_demo(db, settings=settings)
    card = _card(db)
    before = db.scalar(select(func.count()).select_from(Case))
    # Another person's: the relative stands at the desk with the citizen's card.
    page = _desk_for(client, DEMO_RELATIVE_ID, "王丽")
    other = _submit(client, page, card.sd_jwt or "")
    assert other.status_code == 422  # type: ignore[attr-defined]
    assert "这张电子证照属于他人，不是申请人本人的。" in other.text  # type: ignore[attr-defined]
    # The wrong type: another of the citizen's licences for the 社会保障卡 line.
    wrong = next(c for c in db.scalars(select(Credential)) if c.type_code != "101001")
    page = _desk_for(client, DEMO_CITIZEN_ID, "王建国")
    answer = _submit(client, page, wrong.sd_jwt or "")
    assert answer.status_code == 422  # type: ignore[attr-defined]
    assert "这张电子证照不能代替该材料。" in answer.text  # type: ignore[attr-defined]
    # Revoked: the verifier's reason.
    # An official of the issuing 人社局 revokes the card (the status list changes).
    issuer = dataclasses.replace(world.actor("official"), department_id=card.department_id)
    credentials.change_status(
        db, actor=issuer, credential_id=card.id, action="revoke", reason="卡已挂失"
    )
    db.flush()
    answer = _submit(client, page, card.sd_jwt or "")
    assert answer.status_code == 422  # type: ignore[attr-defined]
    assert "颁发机构已注销这张证照。" in answer.text  # type: ignore[attr-defined]
    # Not a licence at all, and an expired or unknown short link.
    answer = _submit(client, page, "not a licence")
    assert answer.status_code == 422  # type: ignore[attr-defined]
    assert 'id="f-licence' in answer.text  # type: ignore[attr-defined]
    answer = _submit(client, page, "http://testserver/verify/s/unknownunknown")
    assert answer.status_code == 422  # type: ignore[attr-defined]
    assert "这个链接不存在或已过期" in answer.text  # type: ignore[attr-defined]
    assert db.scalar(select(func.count()).select_from(Case)) == before
    assert db.scalar(select(func.count()).select_from(CredentialUse)) == 0
