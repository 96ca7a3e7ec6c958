"""The catalog import page (/admin/catalog/import): upload a workbook, check it, import it.

The file is checked by size and content (an Excel workbook, whatever its name) before it is
parsed; a workbook with problems changes nothing and lists each problem once, by sheet, row and
column, in the reader's language. "Check only" runs the whole import inside a savepoint and
undoes it, so its summary is exactly what the import would do; "Check and import" keeps it
(one transaction: the rows and the `catalog.imported` event, or nothing).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile as FormFile
from starlette.responses import Response

from tongban.catalog import import_problems_pages as words
from tongban.catalog import importing
from tongban.catalog.import_sample import sample_workbook
from tongban.catalog.validation import Refused
from tongban.identity import service as identity
from tongban.identity.deps import PageUi
from tongban.platform.config import Settings
from tongban.platform.db import uow
from tongban.platform.errors import Invalid, PayloadTooLarge
from tongban.platform.web.deps import AppSettings, DbSession, PostedForm
from tongban.platform.web.rendering import N_, NOTICES, FormState, Ui, add_templates

router = APIRouter(tags=["catalog pages"], include_in_schema=False)
add_templates(Path(__file__).parent / "templates")

PATH = "/admin/catalog/import"
NOTICES.update(catalog_unchanged=N_("The workbook matches the catalog: nothing changed."))
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHOOSE_FILE = N_("Choose the workbook (.xlsx) to import.")
NOT_XLSX = N_(
    "This file is not an Excel workbook (.xlsx). Save it in Excel as “Excel workbook (*.xlsx)” "
    "and choose it again."
)
TOO_LARGE = N_("The file is larger than %(size)s. Split the catalog into smaller workbooks.")
# The counts of an import (upsert.apply_document) and how the summary names them.
SUMMARY_ROWS: tuple[tuple[str, str], ...] = (
    ("items", N_("Basic items")),
    ("implementations", N_("Implementations")),
    ("bundles", N_("One-thing bundles")),
)
SUMMARY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("created", N_("Added")),
    ("updated", N_("Changed")),
    ("unchanged", N_("Unchanged")),
)


def _actor(ui: Ui) -> identity.Actor:
    actor: identity.Actor = ui.require_actor()
    identity.authorize(actor, "catalog.import")
    return actor


def _page(
    ui: Ui,
    form: FormState,
    *,
    status_code: int = 200,
    problems: list[Any] | None = None,
    summary: dict[str, Any] | None = None,
    checked: bool = False,
) -> Response:
    return ui.render(
        "catalog/import.html",
        title=ui.gettext("Import the catalog"),
        form=form,
        problems=[(words.where(p, ui.locale), words.what(p, ui.locale)) for p in (problems or [])],
        summary=summary,
        checked=checked,
        summary_rows=[(key, ui.gettext(label)) for key, label in SUMMARY_ROWS],
        summary_columns=[(key, ui.gettext(label)) for key, label in SUMMARY_COLUMNS],
        status_code=status_code,
    )


@router.get(PATH)
def import_page(ui: PageUi, session: DbSession, done: str = "") -> Response:
    """The upload form; after an import, what it added and changed."""
    _actor(ui)
    summary = importing.revision_summary(session, token=done) if done else None
    return _page(ui, FormState(), summary=summary)


@router.get(f"{PATH}/sample.xlsx")
def sample_download(ui: PageUi) -> Response:
    """The sample workbook: Chinese headers, one example row per sheet, an explanation sheet."""
    _actor(ui)
    return Response(
        sample_workbook(),
        media_type=XLSX,
        headers={
            "Content-Disposition": 'attachment; filename="catalog-sample.xlsx"; '
            "filename*=UTF-8''%E4%BA%8B%E9%A1%B9%E7%9B%AE%E5%BD%95%E7%A4%BA%E4%BE%8B.xlsx",
            "Cache-Control": "no-store",
        },
    )


def _size(limit: int) -> str:
    return f"{limit // 2**20} MB" if limit >= 2**20 else f"{max(limit // 1024, 1)} KB"


def _read(ui: Ui, posted: Any, settings: Settings, form: FormState) -> tuple[bytes, str] | None:
    """The uploaded workbook's bytes and name, or None with a message on the form."""
    file = posted.get("file")
    if not isinstance(file, FormFile) or not file.filename:
        form.add("file", ui.gettext(CHOOSE_FILE))
        return None
    limit = settings.import_max_bytes
    content = file.file.read(limit + 1)
    try:
        importing.check_workbook(content, max_bytes=limit)
    except PayloadTooLarge:
        form.add("file", ui.gettext(TOO_LARGE) % {"size": _size(limit)})
        return None
    except Invalid:
        form.add("file", ui.gettext(NOT_XLSX))
        return None
    return content, file.filename[:120]


@router.post(PATH)
def import_submit(
    ui: PageUi, session: DbSession, posted: PostedForm, settings: AppSettings
) -> Response:
    """Check the workbook; import it when asked and clean. Nothing changes while a problem
    remains."""
    actor = _actor(ui)
    form = FormState.of((k, v) for k, v in posted.multi_items() if isinstance(v, str))
    only_check = form.value("action") != "import"
    upload = _read(ui, posted, settings, form)
    if upload is None:
        return _page(ui, form, status_code=422)
    content, name = upload
    try:
        result = _import(session, actor, content, name, settings, only_check=only_check)
    except Refused as exc:
        return _page(ui, form, status_code=422, problems=exc.problems)
    except PayloadTooLarge:
        form.add("file", ui.gettext(TOO_LARGE) % {"size": _size(settings.import_max_bytes)})
        return _page(ui, form, status_code=413)
    except Invalid:
        form.add("file", ui.gettext(NOT_XLSX))
        return _page(ui, form, status_code=422)
    if only_check:
        return _page(ui, form, summary=result, checked=True)
    if not result["changed"]:
        return ui.redirect(PATH, notice="catalog_unchanged")
    return ui.redirect(f"{PATH}?done={importing.latest_revision(session)}")


def _import(
    session: Session,
    actor: identity.Actor,
    content: bytes,
    name: str,
    settings: Settings,
    *,
    only_check: bool,
) -> dict[str, Any]:
    step = uow.savepoint(session)
    try:
        result = importing.import_workbook(
            session,
            content=content,
            source=f"web:{name}",
            max_bytes=settings.import_max_bytes,
            actor_id=actor.account_id,
            actor_role=str(actor.role),
            channel="online",
        )
    except BaseException:
        step.undo()
        raise
    if only_check:
        step.undo()  # the dry run: everything it wrote, the event included, is forgotten
    else:
        step.keep()
    return result
