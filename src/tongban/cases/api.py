"""JSON routes of the cases domain under /api/v1: uploads, submit, read, act, queue, messages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, Request, UploadFile
from sqlalchemy.orm import Session
from starlette.responses import JSONResponse, Response

from tongban.cases import (
    assignment_api,
    handling,
    intake,
    message_locale,
    notify,
    payout_api,
    queries,
    results,
    results_api,
    tracking_api,
)
from tongban.cases import service as cases
from tongban.cases.intake import Submission
from tongban.cases.schemas import (
    ActionIn,
    ApplicantIdentity,
    CaseCreate,
    CasePage,
    CaseRead,
    MarkReadIn,
    MessagePage,
    MessageRead,
    QueuePage,
    RevealIn,
    UploadRead,
)
from tongban.identity import service as identity
from tongban.identity.deps import CurrentActor, PageUi, run_unit
from tongban.identity.service import Actor
from tongban.platform.config import Settings
from tongban.platform.errors import PayloadTooLarge
from tongban.platform.web import i18n
from tongban.platform.web.deps import AppSettings, DbSession

router = APIRouter(tags=["cases"])

Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=100_000)]


@router.post("/uploads", status_code=201, response_model=UploadRead)
def upload_file(
    session: DbSession,
    actor: CurrentActor,
    settings: AppSettings,
    file: Annotated[UploadFile, File(description="PDF, JPEG, PNG or OFD; checked by content")],
) -> UploadRead:
    """Upload one material; reference its sha256 when submitting or supplementing (only the
    uploader, or someone acting for them under an authorisation, may attach it)."""
    identity.authorize(actor, "case.upload")
    data = file.file.read(settings.upload_max_bytes + 1)
    if len(data) > settings.upload_max_bytes:
        raise PayloadTooLarge(f"The file is over {settings.upload_max_bytes} bytes.")
    row = intake.receive_upload(session, actor=actor, data=data, settings=settings)
    return UploadRead(sha256=row.sha256, media_type=row.media_type, size=row.size, pages=row.pages)


# The Idempotency-Key header, documented here and read from the request in submit_case: a
# declared Header parameter cost FastAPI more per request than the whole body validation.
_IDEMPOTENCY_KEY_HEADER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Any unique string (at most 100 characters): a retry with the same key "
    "returns the first case instead of making a second.",
    "schema": {"type": "string", "maxLength": 100, "title": "Idempotency-Key"},
}


@router.post(
    "/cases",
    status_code=201,
    response_model=CaseRead,
    responses={200: {"description": "A retry with the same Idempotency-Key: the first case"}},
    openapi_extra={"parameters": [_IDEMPOTENCY_KEY_HEADER]},
)
async def submit_case(request: Request, body: CaseCreate) -> Response:
    """Submit an application or a bundle; a clerk names the applicant, a relative `on_behalf_of`."""
    settings: Settings = request.app.state.settings
    idempotency_key = request.headers.get("idempotency-key")

    def work(session: Session, actor: Actor) -> Submission:
        return intake.file_application(
            session, actor=actor, data=body, settings=settings, idempotency_key=idempotency_key
        )

    def answer(session: Session, actor: Actor, done: Submission) -> Response:
        # Built after the commit: on SQLite the write lock is held until then.
        case = done.case
        read = queries.describe_case(
            session,
            actor=actor,
            case=case,
            settings=settings,
            timeline=done.timeline,
            calendar=done.calendar,
            offers=done.offers,
        )
        return Response(
            read.model_dump_json(),
            status_code=201 if done.created else 200,
            media_type="application/json",
            headers={"Location": f"/api/v1/cases/{case.number}", "ETag": f'"{case.version}"'},
        )

    return await run_unit(request, work, answer)


@router.get("/cases/{number}", response_model=CaseRead)
def get_case(
    number: str, session: DbSession, actor: CurrentActor, settings: AppSettings
) -> Response:
    """State, deadlines, checklist, co-handling steps, sub-cases and the timeline of a case."""
    read = cases.read_case(session, actor=actor, number=number, settings=settings)
    return JSONResponse(read.model_dump(mode="json"), headers={"ETag": f'"{read.version}"'})


@router.post("/cases/{number}/actions/{action}", response_model=CaseRead)
def act_on_case(
    number: str,
    action: str,
    body: ActionIn,
    session: DbSession,
    actor: CurrentActor,
    settings: AppSettings,
) -> CaseRead:
    """accept, refuse, request-supplement, supplement, start-special, end-special, co-handle,
    approve, reject, complete or withdraw; send the `version` you read (412 when stale)."""
    case = handling.act(
        session, actor=actor, number=number, action=action, body=body, settings=settings
    )
    return cases.read_case(session, actor=actor, number=case.number, settings=settings)


@router.post("/cases/{number}/materials", response_model=CaseRead)
def supplement_materials(
    number: str, body: ActionIn, session: DbSession, actor: CurrentActor, settings: AppSettings
) -> CaseRead:
    """Supply requested materials (补正): the same as the `supplement` action."""
    handling.act(
        session, actor=actor, number=number, action="supplement", body=body, settings=settings
    )
    return cases.read_case(session, actor=actor, number=number, settings=settings)


@router.get("/cases/{number}/materials/{sha256}", response_class=Response)
def material_file(
    number: str, sha256: str, session: DbSession, actor: CurrentActor, settings: AppSettings
) -> Response:
    """One attached file, for the case's parties and officials; each access is recorded."""
    material, data = queries.open_material(
        session, actor=actor, number=number, sha256=sha256, settings=settings
    )
    extension = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}.get(
        material.media_type, "ofd"
    )
    return Response(
        data,
        media_type=material.media_type,
        headers={
            "Content-Disposition": f'inline; filename="{material.sha256[:12]}.{extension}"',
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.post("/cases/{number}/applicant-id", response_model=ApplicantIdentity)
def applicant_id(
    number: str, body: RevealIn, session: DbSession, actor: CurrentActor, settings: AppSettings
) -> Response:
    """The applicant's full resident ID, for the deciding officials; the look and its purpose
    go on the case's timeline (and the ledger), where the applicant sees them."""
    resident_id, name = cases.reveal_applicant_id(
        session, actor=actor, number=number, purpose=body.purpose, settings=settings
    )
    return JSONResponse(
        ApplicantIdentity(resident_id=resident_id, name=name).model_dump(),
        headers={"Cache-Control": "no-store"},
    )


@router.get("/cases/{number}/receipt.pdf", response_class=Response)
def receipt_pdf(
    number: str,
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    settings: AppSettings,
    ui: PageUi,
) -> Response:
    """The receipt (受理回执) as a tagged PDF in the reader's language (their choice, account
    or browser, like the pages) with a QR code to track the case."""
    case = queries.case_for_receipt(session, actor=actor, number=number)
    url = cases.tracking_url(str(request.base_url), case.number, settings=settings)
    facts = queries.receipt_facts(session, case)
    facts["state_words"] = results.state_words(session, case)  # 准予许可 only for a licence
    pdf = cases.receipt_pdf(facts, url=url, locale=ui.locale)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="receipt-{case.number}.pdf"'},
    )


@router.get("/queue", response_model=QueuePage)
def work_queue(
    session: DbSession,
    actor: CurrentActor,
    settings: AppSettings,
    state: str | None = None,
    item: str | None = None,
    view: Annotated[str, Query(pattern="^(handling|co-handling)$")] = "handling",
    number: Annotated[str | None, Query(description="A case number, or its beginning")] = None,
    applicant: Annotated[
        str | None, Query(description="Part of the applicant's name, or a full resident ID")
    ] = None,
    due: Annotated[str | None, Query(description="week (due this week) or overdue")] = None,
    channel: Annotated[str | None, Query(description="online, assisted, proxy or api")] = None,
    service_point: Annotated[str | None, Query(description="A region code (its subtree)")] = None,
    assignee: Annotated[str | None, Query(description="me: the cases handed to me")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> QueuePage:
    """The official's queue: their department's open cases in their jurisdiction, by deadline,
    searched by number, applicant (resident IDs only masked in the answer), item (code or
    name), state, deadline, channel, service point or assignee. Bad filters are 422."""
    return cases.queue(
        session,
        actor=actor,
        settings=settings,
        limit=limit,
        offset=offset,
        query=queries.QueueFilter(
            view=view,
            state=state or None,
            item=(item or "").strip() or None,
            number=(number or "").strip() or None,
            applicant=(applicant or "").strip() or None,
            due=due or None,
            channel=channel or None,
            service_point=(service_point or "").strip() or None,
            assignee=assignee or None,
        ),
    )


@router.get("/my/cases", response_model=CasePage)
def my_cases(
    session: DbSession,
    actor: CurrentActor,
    settings: AppSettings,
    state: str | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> CasePage:
    """Cases I applied for or filed for someone, newest first."""
    return cases.my_cases(
        session, actor=actor, settings=settings, state=state, limit=limit, offset=offset
    )


@router.get("/my/messages", response_model=MessagePage)
def my_messages(
    request: Request,
    response: Response,
    session: DbSession,
    actor: CurrentActor,
    unread: bool = False,
    limit: Limit = 50,
    offset: Offset = 0,
) -> MessagePage:
    """My in-app messages, newest first, with the unread count. `text` is the message as
    stored and sent (Chinese); `display_text` is it in the caller's language: the one asked
    for in Accept-Language, else the account's (cases/message_locale.py)."""
    identity.authorize(actor, "messages.read_own", {"owner_id": actor.account_id})
    rows, count = notify.list_messages(
        session, account_id=actor.account_id, unread_only=unread, limit=limit, offset=offset
    )
    locale = (
        i18n.parse_accept_language(request.headers.get("accept-language"))
        or i18n.normalize(identity.get_account(session, account_id=actor.account_id).locale)
        or i18n.DEFAULT_LOCALE
    )
    response.headers["Vary"] = "Accept-Language"
    gettext = i18n.translations(locale).gettext
    readings = message_locale.readings(session, rows, locale=locale, gettext=gettext)
    items = []
    for row in rows:
        parts = readings[row.id]
        shown = "".join(p.text for p in parts)
        translated = locale != i18n.DEFAULT_LOCALE and not all(p.chinese for p in parts)
        items.append(
            MessageRead.model_validate(row).model_copy(
                update={
                    "display_text": shown,
                    "display_lang": i18n.BCP47[locale] if translated else "zh-CN",
                }
            )
        )
    return MessagePage(items=items, unread=count)


@router.post("/my/messages/read")
def mark_messages_read(body: MarkReadIn, session: DbSession, actor: CurrentActor) -> dict[str, int]:
    """Mark some (ids) or all of my messages read."""
    identity.authorize(actor, "messages.read_own", {"owner_id": actor.account_id})
    return {"marked": notify.mark_read(session, account_id=actor.account_id, message_ids=body.ids)}


# Following a case without logging in (cases/tracking_api.py).
router.include_router(tracking_api.router)

# The decision document of a case (cases/results_api.py).
router.include_router(results_api.router)
# The applicant confirms a payout account their agent gave (cases/payout_api.py).
router.include_router(payout_api.router)
# Handing a case to a colleague of its department (cases/assignment_api.py).
router.include_router(assignment_api.router)
