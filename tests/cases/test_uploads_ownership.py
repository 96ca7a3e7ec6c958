"""Reading other people's files by hash: a submission or a supplement attaches only the caller's
own uploads (or, under a proxy, those of the person they act for). Ownership is per uploader,
not per blob: two people who upload the same bytes both own their upload."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.cases.conftest import PNG_BYTES, World, pdf_bytes, pension_request


def _upload(client: TestClient, world: World, who: str, data: bytes) -> str:
    r = client.post("/api/v1/uploads", headers=world.h(who), files={"file": ("f", data)})
    assert r.status_code == 201, r.text
    return str(r.json()["sha256"])


def _materials(sha: str) -> list[dict[str, str]]:
    return [{"name": "居民身份证", "sha256": sha}, {"name": "转移申请表", "sha256": sha}]


def _own_application(sha: str) -> dict[str, Any]:
    return pension_request(applicant=None, materials=_materials(sha))


def test_another_persons_upload_cannot_be_attached_and_is_answered_as_unknown(
    client: TestClient, world: World
) -> None:
    secret = _upload(client, world, "stranger", pdf_bytes(2))
    r = client.post("/api/v1/cases", headers=world.h("migrant"), json=_own_application(secret))
    assert r.status_code == 422, r.text
    # Exactly the answer for a hash nobody uploaded: the refusal tells nothing about the file.
    unknown = client.post(
        "/api/v1/cases", headers=world.h("migrant"), json=_own_application("ab" * 32)
    )
    assert unknown.status_code == 422
    assert r.json()["errors"] == unknown.json()["errors"]
    assert r.json()["detail"] == unknown.json()["detail"]
    fields = [e["field"] for e in r.json()["errors"]]
    assert fields == ["materials[0].sha256", "materials[1].sha256"]


def test_a_clerk_attaches_only_the_clerks_own_uploads(client: TestClient, world: World) -> None:
    citizens = _upload(client, world, "migrant", pdf_bytes(3))
    body = pension_request(materials=_materials(citizens))
    r = client.post("/api/v1/cases", headers=world.h("clerk"), json=body)
    assert r.status_code == 422, r.text
    own = _upload(client, world, "clerk", pdf_bytes(4))
    r = client.post(
        "/api/v1/cases", headers=world.h("clerk"), json=pension_request(materials=_materials(own))
    )
    assert r.status_code == 201, r.text


def test_the_same_bytes_uploaded_by_two_people_belong_to_both(
    client: TestClient, world: World
) -> None:
    first = _upload(client, world, "stranger", PNG_BYTES)
    second = _upload(client, world, "migrant", PNG_BYTES)
    assert first == second
    r = client.post("/api/v1/cases", headers=world.h("migrant"), json=_own_application(second))
    assert r.status_code == 201, r.text
    # The first uploader keeps theirs too.
    r = client.post("/api/v1/cases", headers=world.h("stranger"), json=_own_application(first))
    assert r.status_code == 201, r.text


def test_an_agent_may_attach_the_principals_uploads_and_their_own(
    client: TestClient, world: World
) -> None:
    principals = _upload(client, world, "migrant", pdf_bytes(5))
    agents = _upload(client, world, "relative", pdf_bytes(6))
    body = pension_request(
        applicant=None,
        on_behalf_of=world.accounts["migrant"].id,
        materials=[
            {"name": "居民身份证", "sha256": principals},
            {"name": "转移申请表", "sha256": agents},
        ],
    )
    r = client.post("/api/v1/cases", headers=world.h("relative"), json=body)
    assert r.status_code == 201, r.text
    # Not a third person's, and not the agent's upload for the principal's own application.
    strangers = _upload(client, world, "stranger", pdf_bytes(7))
    body["materials"][1]["sha256"] = strangers
    r = client.post("/api/v1/cases", headers=world.h("relative"), json=body)
    assert r.status_code == 422, r.text
    r = client.post("/api/v1/cases", headers=world.h("migrant"), json=_own_application(agents))
    assert r.status_code == 422, r.text


def test_a_supplement_attaches_only_own_uploads_and_the_file_stays_closed(
    client: TestClient, world: World
) -> None:
    own = _upload(client, world, "migrant", pdf_bytes(1))
    r = client.post("/api/v1/cases", headers=world.h("migrant"), json=_own_application(own))
    assert r.status_code == 201, r.text
    number, version = r.json()["number"], r.json()["version"]
    r = client.post(
        f"/api/v1/cases/{number}/actions/request-supplement",
        headers=world.h("official"),
        json={"version": version, "missing": ["其他证明材料"]},
    )
    assert r.status_code == 200, r.text
    version = r.json()["version"]
    secret = _upload(client, world, "stranger", pdf_bytes(8))
    r = client.post(
        f"/api/v1/cases/{number}/materials",
        headers=world.h("migrant"),
        json={"version": version, "materials": [{"name": "其他证明材料", "sha256": secret}]},
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "materials[0].sha256"
    opened = client.get(f"/api/v1/cases/{number}/materials/{secret}", headers=world.h("migrant"))
    assert opened.status_code == 404
    # The applicant's own new upload is fine.
    mine = _upload(client, world, "migrant", pdf_bytes(9))
    r = client.post(
        f"/api/v1/cases/{number}/materials",
        headers=world.h("migrant"),
        json={"version": version, "materials": [{"name": "其他证明材料", "sha256": mine}]},
    )
    assert r.status_code == 200, r.text
