"""The decision document on the pages: the deciding official attaches it (PDF or OFD) to
approve, reject, refuse or complete; results.py checks and stores it."""

from __future__ import annotations

from starlette.datastructures import UploadFile as FormFile

from tongban.cases import handling, results
from tongban.cases.pages.common import _read_upload
from tongban.platform.config import Settings
from tongban.platform.errors import Invalid, PayloadTooLarge
from tongban.platform.web.deps import DbSession
from tongban.platform.web.rendering import N_, FormState, Ui

# The actions whose form offers the decision document (the service checks them again).
RESULT_ACTIONS = tuple(a.value for a in results.DECIDING)
RESULT_FIELD = "result_file"
RESULT_FILE_MESSAGE = N_("Upload the decision document as a PDF or OFD file.")
TOO_LARGE_MESSAGE = N_("The file is too large. Choose a smaller file.")


def store_result(
    ui: Ui,
    session: DbSession,
    settings: Settings,
    *,
    number: str,
    action: str,
    file: object,
    form: FormState,
) -> str | None:
    """The sha256 of the posted decision document, None when none was sent (or a message on
    the form when it is not a readable PDF or OFD file of acceptable size)."""
    if action not in RESULT_ACTIONS or not isinstance(file, FormFile) or not file.filename:
        return None
    try:
        data = _read_upload(file, settings)
        case = handling.get_case(session, number=number)
        row = results.receive(
            session, actor=ui.require_actor(), case=case, data=data, settings=settings
        )
    except PayloadTooLarge:
        form.add(RESULT_FIELD, ui.gettext(TOO_LARGE_MESSAGE))
        return None
    except Invalid:
        form.add(RESULT_FIELD, ui.gettext(RESULT_FILE_MESSAGE))
        return None
    return row.sha256
