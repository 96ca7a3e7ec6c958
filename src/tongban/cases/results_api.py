"""JSON routes of a case's result (办理结果): the deciding official uploads the decision
document (PDF or OFD) to attach to the decision, and its readers download it; the platform's
own notice of the result (a tagged PDF) for whoever may read the case."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile
from starlette.responses import Response

from tongban.cases import handling, queries, receipts, results
from tongban.cases.schemas import UploadRead
from tongban.identity.deps import CurrentActor, PageUi
from tongban.platform.errors import PayloadTooLarge
from tongban.platform.web.deps import AppSettings, DbSession

router = APIRouter(tags=["cases"])

EXTENSIONS = {"application/pdf": "pdf", "application/ofd": "ofd"}


@router.post("/cases/{number}/result-document", status_code=201, response_model=UploadRead)
def upload_result_document(
    number: str,
    session: DbSession,
    actor: CurrentActor,
    settings: AppSettings,
    file: Annotated[UploadFile, File(description="PDF or OFD; checked by content and size")],
) -> UploadRead:
    """Upload the decision document of a case your department decides; send its sha256 as
    `result_document` with approve, reject, refuse or complete."""
    case = handling.get_case(session, number=number)
    handling.authorize_read(session, actor=actor, case=case)  # unseen cases are 404
    data = file.file.read(settings.upload_max_bytes + 1)
    if len(data) > settings.upload_max_bytes:
        raise PayloadTooLarge(f"The file is over {settings.upload_max_bytes} bytes.")
    row = results.receive(session, actor=actor, case=case, data=data, settings=settings)
    return UploadRead(sha256=row.sha256, media_type=row.media_type, size=row.size, pages=row.pages)


@router.get("/cases/{number}/result-document", response_class=Response)
def result_document(
    number: str, session: DbSession, actor: CurrentActor, settings: AppSettings
) -> Response:
    """The decision document, for the applicant, their agent and the deciding officials; an
    opening by anyone but the applicant goes on the case's timeline."""
    case = handling.get_case(session, number=number)
    handling.authorize_read(session, actor=actor, case=case)
    row, data = results.open_result(session, actor=actor, case=case, settings=settings)
    extension = EXTENSIONS.get(row.media_type, "bin")
    return Response(
        data,
        media_type=row.media_type,
        headers={
            "Content-Disposition": f'inline; filename="result-{case.number}.{extension}"',
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/cases/{number}/result-notice.pdf", response_class=Response)
def result_notice(
    number: str,
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    settings: AppSettings,
    ui: PageUi,
) -> Response:
    """The notice of the case's result (办理结果告知书) as a tagged PDF in the reader's
    language, with a QR code to track the case; 404 until the case is decided or refused."""
    case = queries.case_for_receipt(session, actor=actor, number=number)
    facts = results.notice_facts(session, case, queries.receipt_facts(session, case))
    url = receipts.tracking_url(str(request.base_url), case.number, settings=settings)
    return Response(
        receipts.decision_pdf(facts, url=url, locale=ui.locale),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="result-notice-{case.number}.pdf"',
            "Cache-Control": "private, no-store",
        },
    )
