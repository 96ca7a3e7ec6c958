"""The GovStack Registration API (0.1.1) under /govstack/registration/, mounted only when
TONGBAN_GOVSTACK_ENABLED is set.

No sessions, cookies or CSRF: the Information Mediator in front authenticates the calling
system and names it in the `Information-Mediator-Client` header (docs/govstack.md). Errors are
problem+json, except where the building block's conformance suite wants plain JSON: the
404 of /eForms/{id} and the 400 of /documents (a systemError whose `code` is a string).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.routing import APIRoute
from starlette.datastructures import UploadFile
from starlette.responses import JSONResponse, Response

from tongban.govstack import service as govstack
from tongban.platform.db import MAX_ROW_ID
from tongban.platform.db.uow import attempt
from tongban.platform.errors import AppError, FieldError, Invalid, NotFound, problem
from tongban.platform.web.deps import AppSettings, DbSession

PREFIX = "/govstack/registration"


class GovstackRoute(APIRoute):
    """Errors as problem+json whatever the caller accepts (the house's pages would answer a
    browser with HTML), and a malformed request as 400 (the building block's status), after
    the unit of work rolled back."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The route's handler, its domain errors answered as problem+json."""
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except AppError as exc:
                return problem(
                    status=400 if isinstance(exc, Invalid) else exc.status,
                    code=exc.code,
                    title=exc.title,
                    detail=exc.detail,
                    instance=request.url.path,
                    errors=[e.as_dict() for e in exc.errors],
                    headers=exc.headers,
                )

        return answer


router = APIRouter(
    prefix=PREFIX, tags=["GovStack Registration building block"], route_class=GovstackRoute
)


@dataclass
class Payload:
    """A request body read on the event loop: JSON, a form, or raw bytes."""

    kind: str  # json, form, raw, empty, bad
    data: dict[str, Any] = field(default_factory=dict)
    files: list[bytes] = field(default_factory=list)
    raw: bytes = b""


async def read_payload(request: Request) -> Payload:
    """The body as JSON, urlencoded or multipart form, or bytes (never an error here)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind in ("application/x-www-form-urlencoded", "multipart/form-data"):
        try:
            form = await request.form()
        except Exception:
            return Payload("bad")
        data: dict[str, Any] = {}
        files: list[bytes] = []
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                files.append(await value.read())
            else:
                data.setdefault(key, value)
        return Payload("form", data, files)
    raw = await request.body()
    if not raw:
        return Payload("empty")
    if kind.endswith("json") or (not kind and raw.lstrip()[:1] in (b"{", b"[")):
        try:
            parsed = json.loads(raw)
        except ValueError:
            return Payload("bad", raw=raw)
        if not isinstance(parsed, dict):
            return Payload("bad", raw=raw)
        return Payload("json", parsed, raw=raw)
    return Payload("raw", raw=raw)


Body = Annotated[Payload, Depends(read_payload)]


def _client(request: Request, session: DbSession, *, required: bool = False) -> govstack.Client:
    return govstack.resolve_client(
        session, header=request.headers.get(govstack.HEADER), required=required
    )


def _json(content: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(content, status_code=status)


def _object(payload: Payload, *, what: str) -> dict[str, Any]:
    if payload.kind == "bad":
        raise Invalid(f"The {what} is not a JSON object.", errors=[FieldError("body", "bad")])
    return payload.data


def _int(request: Request, name: str) -> int | None:
    value = request.query_params.get(name)
    if value in (None, ""):
        return None
    try:
        number = int(str(value))
    except ValueError:
        raise Invalid(
            f"{name} must be an integer.", errors=[FieldError(name, "not an integer")]
        ) from None
    if not 0 <= number <= MAX_ROW_ID:
        raise Invalid(f"{name} is out of range.", errors=[FieldError(name, "out of range")])
    return number


def _desc(request: Request) -> bool:
    return request.query_params.get("sortOrder", "").lower() == "desc"


# --- services and eForms ---------------------------------------------------------------------


@router.get("/services", summary="The services published to GovStack")
def list_services(request: Request, session: DbSession) -> JSONResponse:
    """Catalog implementations published to GovStack (`name`: exactly this name)."""
    client = _client(request, session)
    found = govstack.services(session, name=request.query_params.get("name"))
    govstack.record_call(
        session, client=client, operation="services.listed", data={"count": len(found)}
    )
    return _json(found)


@router.get("/services/{service_id}", summary="One service, as a one-element array")
def get_service(service_id: str, request: Request, session: DbSession) -> JSONResponse:
    """One published service, in an array (what the conformance suite reads)."""
    client = _client(request, session)
    found = govstack.get_service(session, service_id=service_id)
    govstack.record_call(
        session, client=client, operation="service.read", data={"service": found["id"][:64]}
    )
    return _json([found])


@router.get("/services/{service_id}/eForms", summary="The eForms of a service")
def list_eforms(service_id: str, request: Request, session: DbSession) -> JSONResponse:
    """The service's eForm (its implementation's form fields) without the schema."""
    client = _client(request, session)
    found = govstack.eforms(session, service_id=service_id)
    govstack.record_call(
        session, client=client, operation="eforms.listed", data={"count": len(found)}
    )
    return _json(found)


@router.get("/eForms/{eform_id}", summary="One eForm with its JSON Schema")
def get_eform(eform_id: str, request: Request, session: DbSession) -> JSONResponse:
    """An eForm and its JSON Schema; an unknown id is 404 with a plain JSON body."""
    client = _client(request, session)
    try:
        found = govstack.eform(session, eform_id=eform_id)
    except NotFound as exc:
        return _json(_system_error(exc, 404), 404)
    govstack.record_call(
        session, client=client, operation="eform.read", data={"eform": found["eFormId"][:64]}
    )
    return _json(found)


# --- applications ----------------------------------------------------------------------------


def _submission(payload: Payload) -> dict[str, Any]:
    if payload.kind == "empty":
        raise Invalid("Send an applicationFileSubmit.", errors=[FieldError("body", "empty")])
    data = _object(payload, what="application")
    if payload.kind == "form":
        # A form carries strings only; formData may come as a JSON string.
        form_data = data.get("formData")
        if isinstance(form_data, str) and form_data.strip():
            try:
                data = {**data, "formData": json.loads(form_data)}
            except ValueError:
                raise Invalid(
                    "formData must be JSON.", errors=[FieldError("formData", "not JSON")]
                ) from None
    return data


@router.post("/services/{service_id}/applications", summary="File an application")
def file_application(
    service_id: str, request: Request, body: Body, session: DbSession, settings: AppSettings
) -> JSONResponse:
    """File an application as a case (JSON or a urlencoded form); 200 with the file."""
    client = _client(request, session)
    answer = govstack.file_application(
        session,
        client=client,
        service_id=service_id,
        body=_submission(body),
        settings=settings,
    )
    return _json(answer)


@router.get("/applications", summary="Application files filed through GovStack")
def list_applications(request: Request, session: DbSession) -> JSONResponse:
    """Application files, filtered by service and applicant, paged and sorted by creation."""
    client = _client(request, session)
    query = request.query_params
    return _json(
        govstack.applications(
            session,
            client=client,
            service_id=query.get("serviceId"),
            applicant_id=query.get("applicantId"),
            first=_int(request, "firstResult"),
            most=_int(request, "maxResult"),
            descending=_desc(request),
        )
    )


@router.get("/applications/{file_id}", summary="One application file")
def get_application(file_id: str, request: Request, session: DbSession) -> JSONResponse:
    """An application file and its status."""
    client = _client(request, session)
    return _json(govstack.application(session, client=client, file_id=file_id))


@router.put("/applications/{file_id}", summary="Update an application file's data")
def update_application(
    file_id: str, request: Request, body: Body, session: DbSession
) -> JSONResponse:
    """Keep the operator's data on the file; the case's own form stays as filed."""
    client = _client(request, session)
    data = _object(body, what="application") if body.kind != "empty" else {}
    return _json(govstack.update_application(session, client=client, file_id=file_id, body=data))


# --- documents -------------------------------------------------------------------------------


def _system_error(exc: AppError, status: int) -> dict[str, str]:
    """The spec's systemError: traceId, code (the status, as a string), message,
    localizedMessage."""
    return {
        "traceId": uuid.uuid4().hex,
        "code": str(status),
        "message": exc.detail,
        "localizedMessage": exc.detail,
    }


def _document_bytes(payload: Payload) -> bytes:
    if payload.files:
        return payload.files[0]
    if payload.kind in ("form", "json"):
        value = payload.data.get("file")
        if isinstance(value, list):
            value = value[0] if value else None
        if not isinstance(value, str) or not value.strip():
            raise Invalid("Send the document as `file`.", errors=[FieldError("file", "missing")])
        return govstack.parse_document_payload(value)
    if payload.kind == "raw":
        return payload.raw
    raise Invalid("The request carries no document.", errors=[FieldError("file", "missing")])


@router.post("/documents", summary="Upload a document")
def upload_document(
    request: Request, body: Body, session: DbSession, settings: AppSettings
) -> JSONResponse:
    """A document (multipart, or base64 in a urlencoded or JSON `file`), checked by content
    like every upload; 400 with a plain systemError when there is none or it is refused."""
    client = _client(request, session)
    try:
        with attempt(session):
            answer = govstack.upload_document(
                session,
                client=client,
                data=_document_bytes(body),
                material=request.query_params.get("additionalMetadata"),
                settings=settings,
                base_url=str(request.url_for("list_services")).removesuffix("services"),
            )
    except Invalid as exc:
        return _json(_system_error(exc, 400), 400)
    return _json(answer)


@router.get("/documents/{document_id}", summary="A document the client uploaded")
def get_document(
    document_id: str, request: Request, session: DbSession, settings: AppSettings
) -> Response:
    """The bytes of a document this client uploaded (anyone else's is unknown)."""
    client = _client(request, session)
    media_type, content = govstack.document(
        session, client=client, document_id=document_id, settings=settings
    )
    return Response(content, media_type=media_type)


# --- tasks -----------------------------------------------------------------------------------


@router.get("/tasks", summary="Open tasks on application files")
def list_tasks(request: Request, session: DbSession) -> JSONResponse:
    """The next step on each open application file: accept, decide or complete."""
    client = _client(request, session)
    query = request.query_params
    return _json(
        govstack.tasks(
            session,
            client=client,
            file_id=query.get("fileId"),
            main_task_id=query.get("mainTaskId"),
            assignee_id=query.get("assigneeId"),
            first=_int(request, "firstResult"),
            most=_int(request, "maxResult"),
            descending=_desc(request),
        )
    )


@router.get("/tasks/{task_id}", summary="One task")
def get_task(task_id: str, request: Request, session: DbSession) -> JSONResponse:
    """A task, open or done, with the file's form data."""
    client = _client(request, session)
    return _json(govstack.task(session, client=client, task_id=task_id))


@router.post("/tasks/{task_id}", summary="Not an operation: 404 for an unknown task")
def post_task(task_id: str, session: DbSession) -> Response:
    """A URL cut short at an unescaped `#`: 404 for an unknown task, 405 for a known one."""
    if not govstack.exists_task(session, task_id=task_id):
        raise NotFound(f"No task {task_id[:100]!r}.")
    return JSONResponse(
        {"detail": f"POST {PREFIX}/tasks/{{taskId}}/complete completes a task."},
        status_code=405,
        headers={"Allow": "GET"},
    )


@router.post("/tasks/{task_id}/complete", summary="Complete a task: the case moves")
def complete_task(
    task_id: str, request: Request, body: Body, session: DbSession, settings: AppSettings
) -> JSONResponse:
    """Take the task's step on the case as the client's official; done already: 200 as is."""
    client = _client(request, session)
    data = _object(body, what="task data") if body.kind != "empty" else {}
    values = data.get("data", {})
    if not isinstance(values, dict):
        raise Invalid("data must be an object.", errors=[FieldError("data", "not an object")])
    return _json(
        govstack.complete_task(
            session, client=client, task_id=task_id, data=values, settings=settings
        )
    )


# --- statistics ------------------------------------------------------------------------------


def _date(request: Request, name: str) -> date | None:
    value = request.query_params.get(name)
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(
            f"{name} must be YYYY-MM-DD.", errors=[FieldError(name, "not a date")]
        ) from None


@router.get("/data/statistics/1.0", summary="Statistics of application files")
def get_statistics(request: Request, session: DbSession) -> Response:
    """Processed, approved, sent back and rejected files; the header is required here."""
    client = _client(request, session, required=True)
    query = request.query_params
    timeframe = query.get("timeframe")
    if timeframe not in (None, "", "day", "week", "month", "year"):
        raise Invalid(
            "timeframe is day, week, month or year.",
            errors=[FieldError("timeframe", "not day, week, month or year")],
        )
    found = govstack.statistics(
        session,
        client=client,
        start=_date(request, "startDate"),
        end=_date(request, "endDate"),
        registration_name=query.get("registrationName"),
        operator=query.get("operator"),
        role=query.get("role"),
        timeframe=timeframe,
    )
    return Response(
        json.dumps(found, ensure_ascii=False, separators=(",", ":")),
        media_type="application/json; charset=utf-8",
    )
