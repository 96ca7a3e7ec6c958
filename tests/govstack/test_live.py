"""The GovStack Registration adapter against a live server (uvicorn, real HTTP), on SQLite and
on PostgreSQL: every endpoint and shape of the conformance requirements
(../shared/reference/govstack-registration-requirements.md), answers validated against the
0.1.1 spec's schemas, and an application filed through the adapter handled as a real case (the
official's workbench, and the adapter's task completion moving the case)."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from jsonschema import Draft202012Validator
from sqlalchemy import func, select

from tests.cases.conftest import PNG_BYTES, pdf_bytes
from tests.conftest import BACKENDS, REQUIRE_POSTGRES, _postgres_reachable
from tests.support.databases import TestDatabases
from tests.support.live import _free_port
from tongban.cases import service as cases
from tongban.events.models import Event
from tongban.govstack import samples
from tongban.govstack import service as govstack
from tongban.govstack.models import GovstackApplication
from tongban.identity import service as identity
from tongban.platform.config import Settings
from tongban.platform.db import Database
from tongban.regions import service as regions

SPEC = json.loads(
    (Path(__file__).parent / "data" / "govstack-registration-api-0.1.1.json").read_text()
)
BASE = "/govstack/registration"
CLIENT = samples.CLIENT
HEADERS = {"Information-Mediator-Client": CLIENT}
MCTS = "f7d33db0-2809-484e-a780-76b7ccd4ecbf"
HEALTH = "P2c9280957e579ad7017e58a3399f0068"
EFORM = "d98a205a-679b-485b-823d-7a32a391e744"
FILE_1 = "81c4445c-bff6-11ed-afa1-0242ac120002"
FILE_2 = "b8508d35-c2f3-442b-88a1-267ca25e85c0"
TASK_1 = "81c4445c-bff6-11ed-afa1-0242ac120002"
TASK_2 = "d1e33d56-c5c7-4272-aeb6-bc2732cce1f2"
UNKNOWN = "sgh123h5-bdb2-11ed-9397-fdae352dfa10"
OFFICIAL = "gs-official"
PASSWORD = "tongban-demo"

pytestmark = pytest.mark.slow


def validator(schema: dict[str, Any]) -> Draft202012Validator:
    """A validator for one of the spec's schemas (its $refs resolved inside the spec)."""
    return Draft202012Validator({**schema, "components": SPEC["components"]})


def of(name: str) -> Draft202012Validator:
    return validator({"$ref": f"#/components/schemas/{name}"})


def array_of(name: str) -> Draft202012Validator:
    return validator({"type": "array", "items": {"$ref": f"#/components/schemas/{name}"}})


def valid(check: Draft202012Validator, body: Any) -> None:
    errors = [e.message for e in check.iter_errors(body)]
    assert not errors, errors


@dataclass
class Live:
    url: str
    database: Database
    settings: Settings
    http: httpx.Client

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        started = time.monotonic()
        answer = self.http.request(method, self.url + BASE + path, **kwargs)
        assert time.monotonic() - started < 3, f"{method} {path} took over 3 s"
        return answer

    def count(self, model: Any, *where: Any) -> int:
        with self.database.session_scope() as session:
            return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _backends() -> list[str]:
    return [b for b in ("sqlite", "postgresql") if b in BACKENDS]


@pytest.fixture(scope="module", params=_backends())
def live(
    request: pytest.FixtureRequest, test_databases: TestDatabases, tmp_path_factory: Any
) -> Iterator[Live]:
    """A server with the adapter on, over a fresh database holding regions and the samples."""
    if request.param == "postgresql" and not _postgres_reachable():
        if REQUIRE_POSTGRES:
            pytest.fail("PostgreSQL required but unreachable")
        pytest.skip("PostgreSQL not reachable")
    from tongban.shell.app import create_app

    database = test_databases.create(request.param)
    port = _free_port()
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("govstack") / "var",
        database_url=database.url,
        public_base_url=f"http://127.0.0.1:{port}",
        govstack_enabled=True,
    )
    with database.session_scope() as session:
        regions.load_builtin(session)
    with database.session_scope() as session:
        samples.load_samples(session, settings=settings)
    with database.session_scope() as session:
        identity.create_account(
            session,
            username=OFFICIAL,
            password=PASSWORD,
            role="official",
            department_code=samples.AUTHORITY["code"],
            region_code=samples.REGION,
            display_name="深圳市卫健委 审批员 林芳",
        )
    app = create_app(settings, database)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    try:
        with httpx.Client(timeout=10) as http:
            yield Live(f"http://127.0.0.1:{port}", database, settings, http)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        database.dispose()


# --- services and eForms ---------------------------------------------------------------------


def test_services(live: Live) -> None:
    answer = live.call("GET", "/services")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    valid(array_of("service"), body)
    names = {s["id"]: s["name"] for s in body}
    assert names[MCTS] == "Mother and Child Registration"
    assert names[HEALTH] == "Good Health and Well-Being"
    assert {"Industry and Infrastructure", "Zero Hunger"} <= set(names.values())
    assert all(None not in s.values() for s in body)
    for name in ("Zero Hunger", "Mother and Child Registration"):
        only = live.call("GET", "/services", params={"name": name}).json()
        assert [s["name"] for s in only] == [name]
    assert live.call("GET", "/services", params={"name": "Zero"}).json() == []


def test_one_service_is_an_array(live: Live) -> None:
    answer = live.call("GET", f"/services/{HEALTH}")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    valid(array_of("service"), body)
    assert [s["id"] for s in body] == [HEALTH]
    impl = {p["code"]: p["value"] for p in body[0]["serviceBody"]}
    assert impl["implementationCode"] == "440300-GOVSTACK-HEALTH-01"


@pytest.mark.parametrize(
    "path", [f"/services/{UNKNOWN}", "/services/not%20a%20uuid%3F", f"/services/{UNKNOWN}/eForms"]
)
def test_unknown_service_is_404(live: Live, path: str) -> None:
    assert live.call("GET", path).status_code == 404


def test_eforms(live: Live) -> None:
    answer = live.call("GET", f"/services/{HEALTH}/eForms")
    assert answer.status_code == 200
    body = answer.json()
    valid(array_of("EFormListItem"), body)
    assert len(body) >= 1
    for item in body:
        assert set(item) == {"eFormId", "name", "description", "version", "latest"}
        assert all(isinstance(item[k], str) for k in ("eFormId", "name", "description", "version"))
        assert isinstance(item["latest"], bool)
    assert EFORM in {item["eFormId"] for item in body}


def test_eform_with_its_schema(live: Live) -> None:
    answer = live.call("GET", f"/eForms/{EFORM}")
    assert answer.status_code == 200
    body = answer.json()
    valid(of("EForm"), body)
    assert body["eFormId"] == EFORM and isinstance(body["version"], str)
    assert isinstance(body["latest"], bool) and isinstance(body["schema"], dict)
    # The schema is a real JSON Schema of the implementation's form: it validates a form.
    schema = body["schema"]
    Draft202012Validator.check_schema(schema)
    assert schema["properties"]["date_of_birth"] == {
        "title": "出生日期",
        "type": "string",
        "format": "date",
    }
    assert schema["properties"]["programme"]["enum"] == ["孕产妇保健", "儿童保健", "慢病管理"]
    assert not list(Draft202012Validator(schema).iter_errors({"first_name": "芳"}))
    assert list(Draft202012Validator(schema).iter_errors({"programme": "other"}))


def test_unknown_eform_is_404_plain_json(live: Live) -> None:
    answer = live.call("GET", f"/eForms/{UNKNOWN}")
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/json"
    assert isinstance(answer.json(), dict)


# --- applications ----------------------------------------------------------------------------


def _case_of(live: Live, file_id: str) -> cases.CaseView:
    with live.database.session_scope() as session:
        number = session.scalar(
            select(GovstackApplication.case_number).where(GovstackApplication.file_id == file_id)
        )
        return cases.get_case(session, number=str(number))


def test_file_an_application_by_form_is_a_real_case(live: Live) -> None:
    before = live.count(Event, Event.action == "case.submitted")
    answer = live.call(
        "POST",
        f"/services/{MCTS}/applications",
        headers=HEADERS,
        data={
            "applicantId": "applicant-form-1",
            "applicationName": "Amya Yuko",
            "created": "2024-03-01T08:00:00.000Z",
        },
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    valid(of("applicationFileResponse"), body)
    assert body["serviceId"] == MCTS
    assert body["applicationData"]["applicantId"] == "applicant-form-1"
    assert body["status"] == {"code": "PENDING", "title": "Pending"} and body["ended"] is False
    case = _case_of(live, body["fileId"])
    assert case.state == "received" and case.implementation_code == "440300-GOVSTACK-MCTS-01"
    assert case.authority_code == samples.AUTHORITY["code"] and case.due_date is not None
    assert live.count(Event, Event.action == "case.submitted") == before + 1
    # The call itself is recorded with the client's official account as actor.
    with live.database.session_scope() as session:
        client = govstack.resolve_client(session, header=CLIENT, required=True)
        recorded = session.scalars(
            select(Event)
            .where(Event.action == "govstack.application.filed")
            .order_by(Event.id.desc())
        ).first()
        assert recorded is not None and recorded.actor_id == client.handler.account_id
        assert recorded.data["case"] == case.number and recorded.channel == "api"
        assert recorded.personal == {"applicant_ref": "applicant-form-1"}
        filed = session.scalars(
            select(Event).where(Event.action == "case.submitted", Event.resource_id == case.number)
        ).one()
        assert filed.channel == "api" and filed.actor_role == "citizen"


def test_file_an_application_by_json(live: Live) -> None:
    example = {"validateMctsApplicationFirstName": "asdf", "navProgress": [100, 100]}
    answer = live.call(
        "POST",
        f"/services/{HEALTH}/applications",
        headers=HEADERS,
        json={
            "applicantId": "applicant-json-1",
            "formData": {"eFormId": EFORM, "data": {"first_name": "芳", **example}},
        },
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    valid(of("applicationFileResponse"), body)
    assert body["serviceId"] == HEALTH
    # Values that are not objects are given in the spec's shape (data: {k: object}).
    assert body["applicationData"]["formData"]["data"]["navProgress"] == {"value": [100, 100]}


@pytest.mark.parametrize(
    ("service", "kwargs", "status"),
    [
        (UNKNOWN, {"data": {"applicantId": "x"}}, 404),
        (MCTS, {"content": b"{not json", "headers": {"content-type": "application/json"}}, 400),
        (MCTS, {"json": {"applicationName": "no applicant"}}, 400),
        (MCTS, {"json": {"applicantId": {"an": "object"}}}, 400),
        (MCTS, {}, 400),
    ],
)
def test_bad_applications_change_nothing(
    live: Live, service: str, kwargs: Any, status: int
) -> None:
    before = (live.count(GovstackApplication), live.count(Event))
    answer = live.call("POST", f"/services/{service}/applications", **kwargs)
    assert answer.status_code == status, answer.text
    assert (live.count(GovstackApplication), live.count(Event)) == before


def test_list_applications(live: Live) -> None:
    answer = live.call(
        "GET",
        "/applications",
        headers=HEADERS,
        params={"sortBy": "created", "sortOrder": "asc", "firstResult": 0, "maxResult": 50},
    )
    assert answer.status_code == 200
    body = answer.json()
    valid(array_of("applicantApplicationFileListResponse"), body)
    strings = (
        "mainTaskId",
        "taskTitle",
        "roleId",
        "roleName",
        "assigneeId",
        "operatorName",
        "applicantId",
        "created",
        "registered",
        "description",
        "serviceName",
        "serviceId",
        "eformId",
    )
    for item in body:
        assert isinstance(item["fileId"], str)
        assert all(isinstance(item[k], str) for k in strings if k in item)
        assert isinstance(item.get("documentUrls", []), list)
        assert all(isinstance(v, dict) for v in item["additionalMeta"]["data"].values())
    assert {FILE_1, FILE_2} <= {item["fileId"] for item in body}
    mine = live.call(
        "GET",
        "/applications",
        headers=HEADERS,
        params={"serviceId": MCTS, "applicantId": samples.APPLICANT},
    ).json()
    assert [item["fileId"] for item in mine] == [FILE_1]
    paged = live.call("GET", "/applications", headers=HEADERS, params={"maxResult": 1}).json()
    assert len(paged) == 1
    nothing = live.call("GET", "/applications", headers=HEADERS, params={"applicantId": UNKNOWN})
    assert nothing.status_code == 200 and nothing.json() == []


def test_read_and_update_an_application(live: Live) -> None:
    answer = live.call("GET", f"/applications/{FILE_1}", headers=HEADERS)
    assert answer.status_code == 200
    body = answer.json()
    valid(of("applicationFileResponse"), body)
    assert body["fileId"] == FILE_1 and body["serviceId"] == MCTS
    assert body["applicationData"]["applicantId"] == samples.APPLICANT
    for _ in range(2):  # the sample stays updatable, run after run
        put = live.call(
            "PUT",
            f"/applications/{FILE_2}",
            headers=HEADERS,
            json={
                "applicantId": samples.APPLICANT,
                "formData": {"data": {"registrar": {"note": "checked"}}},
            },
        )
        assert put.status_code == 200, put.text
        updated = put.json()
        valid(of("applicationFileResponse"), updated)
        assert updated["fileId"] == FILE_2 and updated["serviceId"] == HEALTH
        assert isinstance(updated["registered"], str) and isinstance(updated["serviceName"], str)
        assert isinstance(updated["ended"], bool)
        assert updated["applicationData"]["formData"]["data"]["registrar"] == {"note": "checked"}


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_unknown_application_is_404(live: Live, method: str) -> None:
    kwargs = {"json": {"applicantId": "x"}} if method == "PUT" else {}
    before = live.count(Event)
    assert (
        live.call(method, f"/applications/{UNKNOWN}", headers=HEADERS, **kwargs).status_code == 404
    )
    assert live.count(Event) == before


# --- documents -------------------------------------------------------------------------------


def test_upload_documents(live: Live) -> None:
    by_form = live.call("POST", "/documents", data={"file": base64.b64encode(PNG_BYTES).decode()})
    assert by_form.status_code == 200, by_form.text
    body = by_form.json()
    valid(of("uploadResponse"), body)
    assert isinstance(body["code"], int) and body["type"] == "image/png"
    assert isinstance(body["message"], str) and isinstance(body["url"], str)
    fetched = live.http.get(body["url"], headers=HEADERS)
    assert fetched.status_code == 200 and fetched.content == PNG_BYTES
    multipart = live.call(
        "POST",
        "/documents",
        params={"additionalMetadata": "出生医学证明"},
        files={"file": ("birth.pdf", pdf_bytes(), "application/pdf")},
    )
    assert multipart.status_code == 200 and multipart.json()["type"] == "application/pdf"
    # The document attached to an application becomes the case's material, as the applicant's.
    filed = live.call(
        "POST",
        f"/services/{MCTS}/applications",
        headers=HEADERS,
        json={"applicantId": "applicant-docs", "documentUrls": [multipart.json()["url"]]},
    )
    assert filed.status_code == 200, filed.text
    with live.database.session_scope() as session:
        number = _case_of(live, filed.json()["fileId"]).number
        submitted = session.scalars(
            select(Event).where(Event.action == "case.submitted", Event.resource_id == number)
        ).one()
        assert submitted.data["material_count"] == 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {},  # no Content-Type, Content-Length 0
        {"data": {"file": ""}},
        {"data": {"file": "@@not base64@@"}},
        {"data": {"file": base64.b64encode(b"just some text").decode()}},
        {"files": {"file": ("a.exe", b"MZ\x90\x00" * 10, "application/octet-stream")}},
    ],
)
def test_bad_documents_are_400_plain_json(live: Live, kwargs: Any) -> None:
    before = live.count(Event)
    answer = live.call("POST", "/documents", **kwargs)
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    valid(of("systemError"), body)
    assert body["code"] == "400"
    assert all(
        isinstance(body[k], str)
        for k in ("traceId", "code", "message", "localizedMessage")
        if k in body
    )
    assert live.count(Event) == before


# --- tasks -----------------------------------------------------------------------------------


def test_tasks(live: Live) -> None:
    answer = live.call("GET", "/tasks", params={"sortBy": "created", "sortOrder": "desc"})
    assert answer.status_code == 200
    body = answer.json()
    valid(array_of("userTaskResponse"), body)
    keys = (
        "taskId",
        "mainTaskId",
        "name",
        "assigneeId",
        "roleId",
        "created",
        "description",
        "serviceId",
        "serviceName",
        "fileId",
        "eFormId",
    )
    for item in body:
        assert all(isinstance(item[k], str) for k in keys if k in item)
    assert live.call("GET", "/tasks", params={"fileId": UNKNOWN}).json() == []
    first = body[0]
    by_id = live.call("GET", "/tasks", params={"mainTaskId": first["taskId"]}).json()
    assert [t["taskId"] for t in by_id] == [first["taskId"]]
    mine = live.call("GET", "/tasks", params={"assigneeId": first["assigneeId"], "maxResult": 2})
    assert 1 <= len(mine.json()) <= 2
    assert live.call("GET", "/tasks", params={"assigneeId": "nobody"}).json() == []
    one = live.call("GET", f"/tasks/{TASK_1}")
    assert one.status_code == 200
    task = one.json()
    valid(of("dataUserTaskResponse"), task)
    assert task["taskId"] == TASK_1 and task["fileId"] == FILE_1
    strings = (
        "taskName",
        "assigneeId",
        "roleId",
        "created",
        "description",
        "fileId",
        "serviceId",
        "serviceName",
        "eFormId",
    )
    assert all(isinstance(task[k], str) for k in strings)
    assert all(isinstance(v, dict) for v in task["formVariables"].values())
    assert all(isinstance(v, dict) for v in task["data"].values())


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/tasks/{UNKNOWN}"),
        ("POST", f"/tasks/{UNKNOWN}"),  # a URL cut at an unescaped '#'
        ("POST", f"/tasks/{UNKNOWN}/complete"),
    ],
)
def test_unknown_task_is_404(live: Live, method: str, path: str) -> None:
    kwargs = {"json": {"data": {}}} if method == "POST" else {}
    assert live.call(method, path, **kwargs).status_code == 404


def test_complete_the_sample_task_every_run(live: Live) -> None:
    for _ in range(2):
        answer = live.call("POST", f"/tasks/{TASK_2}/complete", json={"data": {"note": {"v": 1}}})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        valid(of("completedTaskResponse"), body)
        assert body["taskId"] == TASK_2 and body["fileId"] == FILE_2 and body["serviceId"] == HEALTH
        assert isinstance(body["variables"], dict)
    assert _case_of(live, FILE_2).state == "accepted"


# --- statistics ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "''",
        "invalid_header",
        "eGovStack/GOV/90000009/",
        "eGovStack/GOV/9000 0009/x",
        "eGovStack/GOV/1/unregistered",
    ],
)
def test_statistics_header_is_checked(live: Live, header: str | None) -> None:
    headers = {} if header is None else {"Information-Mediator-Client": header}
    before = live.count(Event)
    assert live.call("GET", "/data/statistics/1.0", headers=headers).status_code == 400
    assert live.count(Event) == before


def test_statistics(live: Live) -> None:
    answer = live.call(
        "GET",
        "/data/statistics/1.0",
        headers=HEADERS,
        params={
            "startDate": "2020-01-01",
            "endDate": "2099-12-31",
            "registrationName": "MCTS",
            "operator": "op",
            "role": "registrar",
            "timeframe": "month",
        },
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
    body = answer.json()
    assert isinstance(body, list)
    first = body[0]
    assert set(first) == {"processed", "approved", "sentBack", "rejected", "references"}
    assert all(type(first[k]) is int for k in ("processed", "approved", "sentBack", "rejected"))
    refs = first["references"]
    assert set(refs) == {
        "startDate",
        "endDate",
        "registrationName",
        "operator",
        "role",
        "timeframeDay",
        "timeframeWeek",
        "timeframeMonth",
        "timeframeYear",
    }
    assert refs["registrationName"] == "MCTS" and refs["timeframeMonth"] is True
    assert all(type(refs[k]) is bool for k in refs if k.startswith("timeframe"))
    assert live.call("GET", "/data/statistics/1.0", headers=HEADERS).status_code == 200
    unknown = live.call(
        "GET", "/data/statistics/1.0", headers=HEADERS, params={"registrationName": "NOPE"}
    )
    assert unknown.status_code == 404


# --- the case on the official's workbench ----------------------------------------------------


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "no CSRF token on the page"
    return found.group(1)


def test_an_application_is_handled_on_the_workbench_and_by_tasks(live: Live) -> None:
    filed = live.call(
        "POST",
        f"/services/{MCTS}/applications",
        headers=HEADERS,
        data={"applicantId": "applicant-workbench", "applicationName": "王芳"},
    )
    assert filed.status_code == 200
    file_id = filed.json()["fileId"]
    number = _case_of(live, file_id).number
    with httpx.Client(base_url=live.url, timeout=10) as official:
        login = official.post(
            "/api/v1/auth/login", json={"username": OFFICIAL, "password": PASSWORD}
        )
        assert login.status_code == 200, login.text
        work = official.get("/work")
        assert work.status_code == 200 and number in work.text
        form = official.get(f"/cases/{number}/act/accept")
        assert form.status_code == 200
        version = re.search(r'name="version" value="(\d+)"', form.text)
        assert version
        done = official.post(
            f"/cases/{number}/act/accept",
            data={"csrf_token": _csrf(form.text), "version": version.group(1)},
        )
        assert done.status_code == 303, done.text
    assert _case_of(live, file_id).state == "accepted"
    # The adapter now offers the next step, and completing it moves the case.
    listed = live.call("GET", "/tasks", params={"fileId": file_id}).json()
    assert [t["taskId"] for t in listed] == [f"{number}.decide"]
    decided = live.call(
        "POST",
        f"/tasks/{number}.decide/complete",
        json={"data": {"decision": {"code": "APPROVED", "text": "符合条件"}}},
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"]["code"] == "APPROVED"
    assert _case_of(live, file_id).state == "approved"
    live.call("POST", f"/tasks/{number}.complete/complete", json={"data": {}})
    case = _case_of(live, file_id)
    assert case.state == "completed" and case.decision == "approved"
    read = live.call("GET", f"/applications/{file_id}", headers=HEADERS).json()
    assert read["ended"] is True and read["status"]["code"] == "APPROVED"
    with live.database.session_scope() as session:
        steps = session.scalars(
            select(
                Event.action,
            )
            .where(Event.resource_type == "case", Event.resource_id == number)
            .order_by(Event.id)
        ).all()
        assert steps == ["case.submitted", "case.accept", "case.approve", "case.complete"]
        channels = session.scalars(
            select(Event.channel)
            .where(Event.resource_type == "case", Event.resource_id == number)
            .order_by(Event.id)
        ).all()
        # Filed and decided through the adapter (api), accepted on the workbench (online).
        assert channels == ["api", "online", "api", "api"]
    assert live.call("GET", "/tasks", params={"fileId": file_id}).json() == []


def test_load_samples_again_changes_nothing(live: Live) -> None:
    before = (live.count(GovstackApplication), live.count(Event))
    with live.database.session_scope() as session:
        samples.load_samples(session, settings=live.settings)
    assert (live.count(GovstackApplication), live.count(Event)) == before


def test_every_answer_is_recorded_with_the_client_as_actor(live: Live) -> None:
    before = live.count(Event, Event.action == "govstack.services.listed")
    live.call("GET", "/services")  # no header: the default client
    assert live.count(Event, Event.action == "govstack.services.listed") == before + 1
    unknown = live.call("GET", "/services", headers={"Information-Mediator-Client": "a/b/c/d"})
    assert unknown.status_code == 403
    assert live.count(Event, Event.action == "govstack.services.listed") == before + 1


def test_an_applicants_first_applications_at_once(live: Live) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from tongban.govstack.models import GovstackApplicant

    def file(_: int) -> int:
        with httpx.Client(timeout=30) as http:
            return http.post(
                f"{live.url}{BASE}/services/{MCTS}/applications",
                headers=HEADERS,
                data={"applicantId": "applicant-at-once"},
            ).status_code

    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(file, range(4)))
    assert statuses == [200] * 4
    assert (
        live.count(GovstackApplicant, GovstackApplicant.applicant_ref == "applicant-at-once") == 1
    )
    assert (
        live.count(GovstackApplication, GovstackApplication.applicant_ref == "applicant-at-once")
        == 4
    )
