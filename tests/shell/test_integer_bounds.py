"""Every integer a client sends fits the database: none can overflow a BIGINT into a 500.

A fuzzer (schemathesis) found that /reviews/{review_id} with a 34-digit id reached SQLite
and failed there. The test walks the OpenAPI document, so a route or a body field added
without a bound fails here.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.support import identity_internals as identity
from tongban.platform.config import Settings
from tongban.platform.db import MAX_ROW_ID
from tongban.regions import service as regions


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        schema = document["components"]["schemas"][name]
    return schema


def _unbounded(document: dict[str, Any], schema: dict[str, Any], where: str) -> list[str]:
    """Paths of integer schemas under `schema` without a maximum that fits a BIGINT."""
    schema = _resolve(document, schema)
    found: list[str] = []
    if schema.get("type") == "integer":
        maximum = schema.get("maximum", schema.get("exclusiveMaximum"))
        # FastAPI writes bounds as floats: 2**63 - 1 comes out as 2.0**63.
        if maximum is None or float(maximum) > float(MAX_ROW_ID):
            found.append(where)
    for key in ("anyOf", "oneOf", "allOf"):
        for i, option in enumerate(schema.get(key, [])):
            found += _unbounded(document, option, f"{where}|{i}")
    for name, prop in schema.get("properties", {}).items():
        found += _unbounded(document, prop, f"{where}.{name}")
    if isinstance(schema.get("items"), dict):
        found += _unbounded(document, schema["items"], f"{where}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        found += _unbounded(document, schema["additionalProperties"], f"{where}{{}}")
    return found


def test_every_integer_input_is_bounded(client: TestClient) -> None:
    document = client.get("/api/openapi.json").json()
    found: list[str] = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            here = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                found += _unbounded(document, parameter["schema"], f"{here} {parameter['name']}")
            for media, body in operation.get("requestBody", {}).get("content", {}).items():
                found += _unbounded(document, body["schema"], f"{here} body({media})")
    assert found == [], "\n".join(found)


def test_numbers_too_large_for_the_database_are_422s_not_500s(
    db: Session, client: TestClient, settings: Settings
) -> None:
    regions.load_builtin(db)
    identity.create_demo_accounts(db, settings=settings)
    admin = identity.find_account_by_username(db, username="admin")
    assert admin is not None
    token = identity.issue_api_token(
        db, account_id=admin.id, name="bounds", settings=settings
    ).token
    db.commit()
    huge = MAX_ROW_ID + 1
    headers = {"Authorization": f"Bearer {token}"}
    for method, path, body in [
        ("GET", f"/api/v1/reviews/{huge}", None),
        ("GET", f"/api/v1/accounts/{huge}", None),
        ("PATCH", f"/api/v1/accounts/{huge}", {"display_name": "x"}),
        ("DELETE", f"/api/v1/me/tokens/{huge}", None),
        ("GET", f"/api/v1/rectifications/{huge}", None),
        ("GET", f"/api/v1/reviews?department_id={huge}", None),
        ("POST", "/api/v1/cases", {"implementation": "X", "on_behalf_of": huge}),
        ("POST", "/api/v1/my/messages/read", {"ids": [huge]}),
    ]:
        response = client.request(method, path, headers=headers, json=body)
        assert response.status_code == 422, (path, response.status_code, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
