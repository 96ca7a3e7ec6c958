"""The 卡包 pages, the public verifier (paste, upload with its content checked, QR short link)
and the department's status page, through the HTML forms (CSRF, readable refusals)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.credentials.conftest import World

from tongban.credentials import service as credentials
from tongban.credentials.models import Credential
from tongban.platform.config import Settings

HTML = {"accept": "text/html"}


def _token(client: TestClient, path: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path, headers=HTML).text)
    assert match, path
    return match.group(1)


def _login(client: TestClient, username: str) -> None:
    answer = client.post(
        "/login",
        data={
            "csrf_token": _token(client, "/login"),
            "username": username,
            "password": "tongban-demo",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303


def test_wallet_share_and_verify_by_link(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    credentials.load_demo(db, settings=settings)
    _login(client, "citizen")
    wallet = client.get("/my/credentials", headers=HTML)
    assert wallet.status_code == 200
    assert "社会保障卡" in wallet.text and "老年人优待证" in wallet.text
    senior = db.scalars(select(Credential).where(Credential.type_code == "109001")).one()
    page = client.get(f"/my/credentials/{senior.id}", headers=HTML)
    assert page.status_code == 200 and 'value="age_over_60"' in page.text
    # Nothing chosen: said plainly.
    empty = client.post(
        f"/my/credentials/{senior.id}/share",
        data={"csrf_token": _token(client, f"/my/credentials/{senior.id}")},
        headers=HTML,
    )
    assert empty.status_code == 422
    shared = client.post(
        f"/my/credentials/{senior.id}/share",
        data={
            "csrf_token": _token(client, f"/my/credentials/{senior.id}"),
            "field": ["age_over_60"],
        },
        headers=HTML,
        follow_redirects=False,
    )
    assert shared.status_code == 303
    shown = client.get(shared.headers["location"], headers=HTML)
    assert "<svg" in shown.text
    link = re.search(r'href="[^"]*(/verify/s/[A-Za-z0-9_-]+)"', shown.text)
    assert link
    download = client.get(f"/my/credentials/{senior.id}/download")
    assert download.text.strip() == senior.sd_jwt
    # The verifier (anyone) sees only the chosen field.
    client.cookies.clear()
    verdict = client.get(link.group(1), headers=HTML)
    assert verdict.status_code == 200
    assert "年满60周岁" in verdict.text and "王建国" not in verdict.text
    assert "广安市民政局" in verdict.text


def test_verifier_paste_and_upload(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    credentials.load_demo(db, settings=settings)
    card = db.scalars(select(Credential).where(Credential.type_code == "101001")).one()
    assert card.sd_jwt
    ok = client.post(
        "/verify",
        data={"csrf_token": _token(client, "/verify"), "credential": card.sd_jwt},
        headers=HTML,
    )
    assert ok.status_code == 200 and "广安市人力资源和社会保障局" in ok.text
    uploaded = client.post(
        "/verify",
        data={"csrf_token": _token(client, "/verify")},
        files={"upload": ("licence.txt", card.sd_jwt[:-30].encode() + b"AAAA~", "text/plain")},
        headers=HTML,
    )
    assert uploaded.status_code == 200
    # A picture is not an e-licence: refused by its content before anything reads it as one.
    png = client.post(
        "/verify",
        data={"csrf_token": _token(client, "/verify")},
        files={"upload": ("licence.txt", b"\x89PNG\r\n\x1a\n\x00\x00", "text/plain")},
        headers=HTML,
    )
    assert png.status_code == 422
    nothing = client.post("/verify", data={"csrf_token": _token(client, "/verify")}, headers=HTML)
    assert nothing.status_code == 422


def test_department_suspends_with_a_reason(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    kind = credentials.for_material("社会保障卡")[0]
    made = credentials.issue(
        db,
        kind=kind,
        holder_id=world.accounts["citizen"].id,
        department_id=world.departments["demo"].id,
        form={},
        settings=settings,
    )
    _login(client, "official")
    page = client.get("/work/credentials", headers=HTML)
    assert page.status_code == 200 and made.licence_id in page.text
    token = _token(client, "/work/credentials")
    no_reason = client.post(
        f"/work/credentials/{made.id}/status",
        data={"csrf_token": token, "action": "suspend", "reason": ""},
        headers=HTML,
    )
    assert no_reason.status_code == 422
    done = client.post(
        f"/work/credentials/{made.id}/status",
        data={"csrf_token": token, "action": "suspend", "reason": "核查中"},
        headers=HTML,
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert db.get(Credential, made.id).status == "suspended"  # type: ignore[union-attr]


def test_the_guide_marks_lines_an_e_licence_replaces(client: TestClient, world: World) -> None:
    guide = client.get("/guide/511600-104110001000-01", headers=HTML)
    assert guide.status_code == 200
    assert "可用电子证照代替" in guide.text and "社会保障卡" in guide.text
