"""The public ledger for people: a receipt's page (what happened, when, under which checkpoint,
how many witnesses, verified or what failed) and a page to check a downloaded receipt.

These pages live in the shell, not in `ledger`, because they need what only higher layers
have: the page context with the visitor (identity's PageUi, for the language, elderly mode
and whether to offer a link to the case) and the region names of service points. The checks
themselves are the ledger's (`ledger.service.check_receipt`, on top of the same
`verify_receipt` as `tongban ledger verify-receipt`); the words are `ledger.words`.

Both pages are public, like the JSON API: a receipt shows only what its leaf shows publicly
(codes, a case number, a role, a region), never who acted or why.
"""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, UploadFile
from starlette.responses import Response

from tongban.identity.deps import PageUi
from tongban.ledger import service as ledger
from tongban.ledger import words
from tongban.ledger.explain import short_hash
from tongban.platform.config import Settings
from tongban.platform.errors import Conflict, NotFound
from tongban.platform.web.deps import AppSettings, DbSession
from tongban.platform.web.rendering import N_, FormState, Ui, add_templates, local_time
from tongban.regions import service as regions

router = APIRouter(tags=["pages"], include_in_schema=False)
add_templates(FilePath(__file__).parent / "templates")

NO_STEP = N_("No step has this receipt number. Check the address.")
NOT_YET = N_(
    "This step is being added to the ledger, which takes up to a minute. Reload the page shortly."
)
# Input problems are answered on the form (422); a receipt that was read gets a verdict (200).
INPUT_FAILURES = frozenset({"empty", "too_large", "pdf", "not_receipt"})


def _labels(ui: Ui) -> dict[str, Any]:
    return {
        "steps": {k: ui.gettext(v) for k, v in words.STEPS.items()},
        "step_states": {k: ui.gettext(v) for k, v in words.STEP_STATES.items()},
    }


def _facts(ui: Ui, report: ledger.ReceiptReport, session: Any) -> list[tuple[str, str]]:
    """What happened, in words, from the proven entry only (codes → sentences)."""
    entry = report.entry
    if entry is None:
        return []
    action = str(entry.get("action") or "")
    said = words.ACTIONS.get(action)
    facts = [(ui.gettext("Recorded step"), ui.gettext(said or words.UNKNOWN_ACTION))]
    when = report.occurred_at
    if when is not None:
        facts.append((ui.gettext("When (Beijing time)"), _local(when)))
    kind = str(entry.get("resource_type") or "")
    resource = entry.get("resource_id")
    label = ui.gettext(words.RESOURCES.get(kind, words.UNKNOWN_RESOURCE))
    facts.append((label, str(resource) if resource else ui.gettext(words.PERSON_HIDDEN)))
    role = entry.get("actor_role")
    facts.append((ui.gettext("Who acted"), ui.gettext(words.ROLES.get(str(role), words.NO_ROLE))))
    channel = str(entry.get("channel") or "")
    if channel in words.CHANNELS:
        facts.append((ui.gettext("How"), ui.gettext(words.CHANNELS[channel])))
    point = entry.get("service_point")
    if point:
        place = regions.full_name(session, code=str(point))
        facts.append((ui.gettext("Service point"), f"{place} ({point})"))
    if said is None:
        facts.append((ui.gettext("Step code"), action))
    return facts


def _local(value: Any) -> str:
    return local_time(value, "%Y-%m-%d %H:%M:%S")


def _render(
    ui: Ui,
    *,
    template: str,
    settings: Settings,
    session: Any,
    report: ledger.ReceiptReport | None = None,
    form: FormState | None = None,
    event_uid: str | None = None,
    status_code: int = 200,
) -> Response:
    failure = words.FAILURES.get(report.failure) if report and report.failure else None
    entry = report.entry if report else None
    case_number = (
        entry.get("resource_id") if entry and entry.get("resource_type") == "case" else None
    )
    response = ui.render(
        template,
        title=ui.gettext("Proof in the ledger") if event_uid else ui.gettext("Check a receipt"),
        report=report,
        form=form or FormState(),
        facts=_facts(ui, report, session) if report else [],
        failure=(ui.gettext(failure[0]), ui.gettext(failure[1])) if failure else None,
        root_short=short_hash(report.root) if report else "",
        event_uid=event_uid,
        # The case number is in the public leaf; the link is offered to logged-in visitors,
        # and the case page itself decides whether they may see the case.
        case_link=f"/cases/{case_number}" if case_number and ui.actor is not None else None,
        verifier_key=ledger.public_key(settings),
        max_kb=ledger.RECEIPT_MAX_BYTES // 1024,
        status_code=status_code,
        **_labels(ui),
    )
    # A receipt is public but found by its random number: it need not be in search engines.
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@router.get("/ledger/receipts/{event_uid}")
def receipt_page(
    event_uid: Annotated[str, Path(min_length=1, max_length=36)],
    ui: PageUi,
    session: DbSession,
    settings: AppSettings,
) -> Response:
    """A step's receipt, checked on this server and explained: public, like the JSON."""
    try:
        report = ledger.check_event_receipt(session, settings=settings, event_uid=event_uid)
    except NotFound as exc:
        raise NotFound(NO_STEP) from exc
    except Conflict as exc:
        raise Conflict(NOT_YET) from exc
    return _render(
        ui,
        template="ledger/receipt.html",
        settings=settings,
        session=session,
        report=report,
        event_uid=event_uid,
    )


@router.get("/ledger/check")
def check_form(ui: PageUi, session: DbSession, settings: AppSettings) -> Response:
    """The form: upload a downloaded receipt, or paste its text."""
    return _render(ui, template="ledger/check.html", settings=settings, session=session)


@router.post("/ledger/check")
def check_submit(
    ui: PageUi,
    session: DbSession,
    settings: AppSettings,
    file: Annotated[UploadFile | None, File()] = None,
    text: Annotated[str, Form()] = "",
) -> Response:
    """Check an uploaded or pasted receipt; the bytes are judged (size, kind) before parsing."""
    data = b""
    field = "text"
    if file is not None and file.filename:
        # One byte more than allowed tells "too large" apart without reading the whole file.
        data = file.file.read(ledger.RECEIPT_MAX_BYTES + 1)
        field = "file"
    if not data.strip():
        data, field = text.encode("utf-8"), "text"
    form = FormState()
    try:
        receipt_text = ledger.read_upload(data)
    except ledger.ReceiptError as exc:
        title, meaning = words.FAILURES[exc.code if exc.code in INPUT_FAILURES else "not_receipt"]
        stop = "。" if ui.locale == "zh_CN" else ". "
        form.add(field, f"{ui.gettext(title)}{stop}{ui.gettext(meaning)}")
        return _render(
            ui,
            template="ledger/check.html",
            settings=settings,
            session=session,
            form=form,
            status_code=422,
        )
    report = ledger.check_receipt(session, settings=settings, text=receipt_text)
    return _render(
        ui, template="ledger/check.html", settings=settings, session=session, report=report
    )
