"""A supplement (补正) answered on the node that filed the case, for a case handled on another
node (issue #18).

The copy follows the request's items (by request and position: item ids are each node's own),
so the applicant side sees what is asked and answers item by item where they are, with the
same checks as on one node. The answers go to the authority's node with their files (bytes by
SHA-256, checked on arrival); there they answer the same items, through the same action.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tongban.cases import clocks, supplements
from tongban.cases.handling import get_case
from tongban.cases.models import Case, CaseSupplementItem, Upload
from tongban.cases.uploads import blob_store
from tongban.platform.config import Settings
from tongban.platform.errors import FieldError, Invalid


def items_record(case: Case) -> list[dict[str, Any]]:
    """The current request's items, as a tracking copy follows them."""
    return [
        {
            "request_no": i.request_no,
            "position": i.position,
            "name": i.name,
            "origin": i.origin,
            "note": i.note,
            "state": i.state,
            "requested_at": i.requested_at.isoformat(),
        }
        for i in supplements.current_items(case)
    ]


def follow_items(case: Case, items: Any) -> None:
    """Bring the copy's items to those the authority's node reported (added or updated by
    request and position; a record without items leaves them)."""
    if not isinstance(items, list):
        return
    mine = {(i.request_no, i.position): i for i in case.supplement_items}
    for item in items:
        key = (int(item["request_no"]), int(item["position"]))
        row = mine.get(key)
        if row is None:
            case.supplement_items.append(
                CaseSupplementItem(
                    request_no=key[0],
                    position=key[1],
                    name=str(item["name"])[:200],
                    origin=str(item["origin"])[:12],
                    note=item.get("note"),
                    state=str(item["state"])[:12],
                    files=[],
                    requested_at=datetime.fromisoformat(str(item["requested_at"])),
                )
            )
        else:
            row.state = str(item["state"])[:12]
            row.note = item.get("note")


def outgoing(
    session: Session, *, number: str, body: dict[str, Any], settings: Settings
) -> dict[str, Any]:
    """A supplement checked on the copy, as it goes to the authority's node: answers by
    request and position, the files' facts and bytes."""
    case = get_case(session, number=number)
    keys = {i.id: (i.request_no, i.position) for i in case.supplement_items}
    answers = []
    for answer in body.get("answers") or []:
        request_no, position = keys[int(answer["item"])]
        answers.append(
            {
                "request_no": request_no,
                "position": position,
                "files": list(answer.get("files") or []),
                **({"explanation": answer["explanation"]} if answer.get("explanation") else {}),
            }
        )
    shas = {sha.lower() for a in answers for sha in a["files"]} | {
        str(m["sha256"]).lower() for m in body.get("materials") or []
    }
    store = blob_store(settings)
    files = []
    for sha in sorted(shas):
        row = session.get(Upload, sha)
        if row is None:  # checked by the action already; kept for a clear error
            raise Invalid(f"No upload {sha}.", errors=[FieldError("files", "no such upload")])
        files.append(
            {
                "sha256": sha,
                "media_type": row.media_type,
                "size": row.size,
                "pages": row.pages,
                "data": base64.b64encode(store.path(sha).read_bytes()).decode(),
            }
        )
    return {
        "answers": answers,
        "materials": list(body.get("materials") or []),
        **({"note": body["note"]} if body.get("note") else {}),
        "files": files,
    }


def incoming(session: Session, *, case: Case, body: dict[str, Any], settings: Settings) -> dict:
    """A relayed supplement's fields for the action here: its files stored (each checked
    against its SHA-256), its answers naming this node's items."""
    store = blob_store(settings)
    for file in body.get("files") or []:
        sha = str(file["sha256"]).lower()
        data = base64.b64decode(str(file["data"]), validate=True)
        if hashlib.sha256(data).hexdigest() != sha:
            raise Invalid("A file does not match its SHA-256.", errors=[FieldError("files", sha)])
        store.put(data)
        if session.get(Upload, sha) is None:
            session.add(
                Upload(
                    sha256=sha,
                    media_type=str(file["media_type"])[:32],
                    size=int(file["size"]),
                    pages=file.get("pages"),
                    uploaded_by_id=None,
                    created_at=clocks.now(),
                )
            )
    session.flush()
    ids = {(i.request_no, i.position): i.id for i in case.supplement_items}
    answers = []
    for index, answer in enumerate(body.get("answers") or []):
        key = (int(answer["request_no"]), int(answer["position"]))
        if key not in ids:
            message = f"Item {key[1]} of request {key[0]} was not asked for."
            raise Invalid(message, errors=[FieldError(f"answers[{index}]", message)])
        answers.append(
            {
                "item": ids[key],
                "files": list(answer.get("files") or []),
                **({"explanation": answer["explanation"]} if answer.get("explanation") else {}),
            }
        )
    return {
        "answers": answers,
        "materials": list(body.get("materials") or []),
        **({"note": body["note"]} if body.get("note") else {}),
    }
