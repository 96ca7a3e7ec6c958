"""GovStack tasks: the next step the competent department takes on a file's case, done
through cases' handling (issue #21)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.cases import service as cases
from tongban.govstack.applications import _iso, _objects, _page, _status
from tongban.govstack.catalogue import _published
from tongban.govstack.clients import (
    _DONE_STEPS,
    _MAX_ID,
    _STEP_NAMES,
    STEPS,
    Client,
    record_call,
)
from tongban.govstack.models import (
    GovstackApplication,
    GovstackTaskId,
)
from tongban.govstack.steps import _open_step, _task_id, _with_cases
from tongban.platform.config import Settings
from tongban.platform.errors import FieldError, Invalid, NotFound


def _find_task(session: Session, task_id: str) -> tuple[GovstackApplication, str]:
    """The application and step a task id names, or NotFound."""
    if len(task_id) <= _MAX_ID:
        chosen = session.scalar(select(GovstackTaskId).where(GovstackTaskId.task_id == task_id))
        if chosen is not None:
            number, step = chosen.case_number, chosen.step
        else:
            number, _, step = task_id.rpartition(".")
        if step in STEPS:
            row = session.scalar(
                select(GovstackApplication).where(GovstackApplication.case_number == number)
            )
            if row is not None:
                return row, step
    raise NotFound(f"No task {task_id[:_MAX_ID]!r}.")


def _step_status(case: cases.CaseView, step: str) -> str:
    """open, done, waiting (paused or not reached) or closed (the case ended before it)."""
    if _open_step(case) == step:
        return "open"
    done = _DONE_STEPS.get(case.state)
    if done is None:
        return "closed"
    return "done" if STEPS.index(step) < done else "waiting"


def _assignee(session: Session, row: GovstackApplication) -> str:
    """Who a file's tasks are for: the competent department (its credit code)."""
    return f"department:{_published(session, row.service_id)[1].authority_code}"


def _task_json(
    session: Session,
    row: GovstackApplication,
    step: str,
    case: cases.CaseView,
    *,
    full: bool,
    chosen: dict[tuple[str, str], str] | None = None,
) -> dict[str, Any]:
    service, impl = _published(session, row.service_id)
    answer: dict[str, Any] = {
        "taskId": _task_id(session, case.number, step, chosen),
        "assigneeId": _assignee(session, row),
        "roleId": "official",
        "created": _iso(case.received_at),
        "description": f"{_STEP_NAMES[step]}: {case.item_name} ({case.number})",
        "fileId": row.file_id,
        "serviceId": row.service_id,
        "serviceName": impl.item_name_en or impl.item_name,
        "eFormId": service.eform_id,
        "status": _status(case),
    }
    if full:
        answer["taskName"] = _STEP_NAMES[step]
        answer["formVariables"] = {
            "step": {"value": step, "state": _step_status(case, step)},
            "case": {"number": case.number, "state": case.state},
        }
        answer["data"] = _objects((row.submitted.get("formData") or {}).get("data"))
    else:
        answer["name"] = _STEP_NAMES[step]
        answer["mainTaskId"] = answer["taskId"]
    return answer


def tasks(
    session: Session,
    *,
    client: Client,
    file_id: str | None = None,
    main_task_id: str | None = None,
    assignee_id: str | None = None,
    first: int | None = None,
    most: int | None = None,
    descending: bool = False,
) -> list[dict[str, Any]]:
    """The open tasks on applications filed through GovStack, filtered and paged."""
    stmt = select(GovstackApplication)
    if file_id is not None:
        stmt = stmt.where(GovstackApplication.file_id == file_id[:_MAX_ID])
    stmt = stmt.order_by(GovstackApplication.registered_at, GovstackApplication.id)
    found = []
    pairs, chosen = _with_cases(session, session.scalars(stmt).all())
    for row, case in pairs:
        step = _open_step(case)
        if step is None:
            continue
        if (
            main_task_id is not None
            and _task_id(session, case.number, step, chosen) != main_task_id
        ):
            continue
        if assignee_id is not None and _assignee(session, row) != assignee_id:
            continue
        found.append((row, case, step))
    if descending:
        found.reverse()
    # Only the page asked for is written out.
    answer = [
        _task_json(session, row, step, case, full=False, chosen=chosen)
        for row, case, step in _page(found, first, most)
    ]
    record_call(session, client=client, operation="tasks.listed", data={"count": len(answer)})
    return answer


def task(session: Session, *, client: Client, task_id: str) -> dict[str, Any]:
    """One task, open or not, or NotFound."""
    row, step = _find_task(session, task_id)
    case = cases.get_case(session, number=row.case_number)
    record_call(
        session, client=client, operation="task.read", data={"case": case.number, "step": step}
    )
    return {**_task_json(session, row, step, case, full=True), "taskId": task_id}


def exists_task(session: Session, *, task_id: str) -> bool:
    """True when the id names a task."""
    try:
        _find_task(session, task_id)
    except NotFound:
        return False
    return True


def _decision(data: dict[str, Any]) -> tuple[str, str]:
    """approve or reject, and the decision's text, from the task's data."""
    decision = data.get("decision")
    code, text = "APPROVED", None
    if isinstance(decision, dict):
        code = str(decision.get("code") or decision.get("value") or code).upper()
        text = decision.get("text") or decision.get("reason")
    elif isinstance(decision, str):
        code = decision.upper()
    action = "reject" if code in ("REJECTED", "REJECT") else "approve"
    default = "Approved through GovStack." if action == "approve" else "Refused through GovStack."
    return action, str(text or default)[:2000]


def complete_task(
    session: Session, *, client: Client, task_id: str, data: dict[str, Any], settings: Settings
) -> dict[str, Any]:
    """Take the task's step on its case as the client's official (done already: as it is)."""
    row, step = _find_task(session, task_id)
    case = cases.get_case(session, number=row.case_number)
    status = _step_status(case, step)
    if status == "open":
        version = cases.case_version(session, number=case.number)
        if step == "decide":
            action, text = _decision(data)
            body = cases.ActionIn(
                version=version, decision_text=text, reason=text if action == "reject" else None
            )
        else:
            action, body = step, cases.ActionIn(version=version)
        case = cases.act_on_case(
            session,
            actor=client.handler,
            number=case.number,
            action=action,
            body=body,
            settings=settings,
        )
    elif status != "done":
        raise Invalid(
            f"The task cannot be completed now: the case is {case.state}.",
            errors=[FieldError("taskId", f"case is {case.state}")],
        )
    record_call(
        session,
        client=client,
        operation="task.completed",
        data={"case": case.number, "step": step, "already": status == "done"},
    )
    return {
        "taskId": task_id,
        "fileId": row.file_id,
        "serviceId": row.service_id,
        "status": _status(case),
        "variables": {"outcome": {"data": {"case": {"number": case.number, "state": case.state}}}},
    }
