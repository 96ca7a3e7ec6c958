"""The adapter's boundary: off by default (no routes at all), outside the session-and-CSRF
API (so the authorization matrix, which walks /api/openapi.json and the pages of an app built
with the default settings, never meets it), and the client registry that stands in for
accounts: who may call, and as whom."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tongban.govstack import service as govstack
from tongban.identity import service as identity
from tongban.platform.config import Settings
from tongban.platform.errors import Forbidden, Invalid
from tongban.regions import service as regions
from tongban.shell.app import create_app

PATHS = [
    ("GET", "/govstack/registration/services"),
    ("GET", "/govstack/registration/eForms/d98a205a-679b-485b-823d-7a32a391e744"),
    ("POST", "/govstack/registration/documents"),
    ("GET", "/govstack/registration/data/statistics/1.0"),
    ("POST", "/govstack/registration/tasks/x/complete"),
]


def test_off_by_default(client: TestClient) -> None:
    assert Settings().govstack_enabled is False
    for method, path in PATHS:
        assert client.request(method, path).status_code == 404, path


def test_not_in_the_api_document(settings: Settings, bound_database: object) -> None:
    app = create_app(settings.model_copy(update={"govstack_enabled": True}), bound_database)  # type: ignore[arg-type]
    with TestClient(app) as client:
        paths = client.get("/api/openapi.json").json()["paths"]
        assert paths and not [p for p in paths if "govstack" in p]
        # Mounted all the same, and closed to callers no client registration vouches for.
        answer = client.get("/govstack/registration/eForms/nothing")
        assert answer.status_code == 403
        assert answer.headers["content-type"] == "application/problem+json"
        assert "set-cookie" not in answer.headers


def _department(db: Session, code_body: str) -> str:
    regions.load_builtin(db)
    code = identity.make_uscc(body=code_body)
    identity.ensure_department(db, code=code, name="示例部门", region_code="440300")
    return code


def test_the_client_registry(db: Session, settings: Settings) -> None:
    code = _department(db, "11440300MB0009876")
    with pytest.raises(Forbidden):  # no default client: a call without the header is refused
        govstack.resolve_client(db, header=None, required=False)
    with pytest.raises(Invalid):
        govstack.add_client(db, client="not/a/client", department_code=code, settings=settings)
    first = govstack.add_client(
        db, client="GOV/CLS/1/portal", department_code=code, default=True, settings=settings
    )
    again = govstack.add_client(
        db, client="GOV/CLS/1/portal", department_code=code, settings=settings
    )
    assert again.id == first.id and again.handler == first.handler and again.is_default
    # The system accounts: an official of the client's department, and a citizen-role desk.
    assert (
        first.handler.role.value == "official"
        and first.handler.department_id == first.department_id
    )
    assert first.handler.jurisdiction == "440300" and first.desk.role.value == "citizen"
    assert govstack.resolve_client(db, header=None, required=False).id == first.id
    assert govstack.resolve_client(db, header="GOV/CLS/1/portal", required=True).id == first.id
    with pytest.raises(Forbidden):
        govstack.resolve_client(db, header="GOV/CLS/1/other", required=False)
    for header in (None, "", "GOV/CLS/1/", "GOV/CLS/1/other"):
        with pytest.raises(Invalid):
            govstack.resolve_client(db, header=header, required=True)
    second = govstack.add_client(
        db, client="GOV/CLS/2/backoffice", department_code=code, default=True, settings=settings
    )
    assert govstack.resolve_client(db, header=None, required=False).id == second.id
    assert [c.is_default for c in govstack.list_clients(db)] == [False, True]


@pytest.mark.parametrize(
    ("header", "ok"),
    [
        ("eGovStack/GOV/90000009/eregistrations-dev", True),
        ("a/b/c/d", True),
        ("eGovStack/GOV/90000009/", False),
        ("invalid_header", False),
        ("''", False),
        ("", False),
        ("a/b/c/d/e", False),
        ("a/b/c/d e", False),
    ],
)
def test_header_shape(header: str, ok: bool) -> None:
    assert govstack.well_formed(header) is ok
