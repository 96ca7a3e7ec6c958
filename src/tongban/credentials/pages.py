"""HTML pages of e-licences: the citizen's 卡包 (list, one licence with the fields to show, its
QR code and download), the public verifier (paste, upload, or a QR short link), and the issuing
department's list with suspend / revoke / reinstate."""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path as FilePath
from typing import Annotated, Any

import segno
from fastapi import APIRouter, File, Form, Path, Query, Request, UploadFile
from starlette.responses import Response

from tongban.credentials import service as credentials
from tongban.credentials.licences import CLAIM_LABELS, PERSONAL
from tongban.identity.deps import PageUi
from tongban.identity.service import mask_resident_id
from tongban.platform.db import uow
from tongban.platform.errors import AppError, NotFound
from tongban.platform.web.deps import AppSettings, DbSession, RowId
from tongban.platform.web.rendering import N_, NOTICES, FormState, Ui, add_templates

router = APIRouter(tags=["credentials pages"], include_in_schema=False)
add_templates(FilePath(__file__).parent / "templates")

NOTICES.update(
    licence_status_changed=N_("The licence's status is changed and published."),
)
# An e-licence is a few kilobytes; an upload larger than this is not one.
MAX_UPLOAD = 64 * 1024
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{10,32}$")
_SD_JWT = re.compile(r"^[A-Za-z0-9_\-.~\s]+$")

STATUS_WORDS: dict[str, str] = {
    "valid": N_("Licence status: valid"),
    "suspended": N_("Licence status: suspended"),
    "revoked": N_("Licence status: revoked"),
}
# 免证办's refusals at submission (service.check_licences; the desk shows them translated).
USE_REFUSALS = (
    N_("This e-licence does not stand in for that paper."),
    N_("This e-licence belongs to someone else, not the applicant."),
    N_("This e-licence was not issued on this node."),
    N_("No such e-licence of the applicant."),
    N_("Only an applicant with an account can present e-licences."),
    N_("This link is unknown or has expired; ask the holder for a new code."),
    N_(
        "The licence shown does not disclose its holder's ID number; ask the citizen "
        "to show it with the ID number."
    ),
)
# The verifier's sentences (sdjwt.REFUSALS, in English there), marked for translation.
REFUSAL_WORDS: dict[str, str] = {
    "malformed": N_("This is not an SD-JWT e-licence (it cannot be read)."),
    "wrong_typ": N_("The credential's type header is not dc+sd-jwt."),
    "wrong_alg": N_("The credential is not signed with Ed25519."),
    "missing_vct": N_("The credential names no licence type (vct)."),
    "unknown_key": N_("The credential is signed with a key no trusted issuer holds."),
    "retired_key": N_("The credential was signed after its issuer retired that key."),
    "wrong_issuer": N_("The signing key belongs to another issuer than the one the licence names."),
    "bad_signature": N_("The issuer's signature does not match: a claim was altered."),
    "disclosure_malformed": N_("A disclosure cannot be read: it was altered."),
    "disclosure_unreferenced": N_(
        "A disclosure is not referenced by the credential: altered or from another credential."
    ),
    "disclosure_repeated": N_("A disclosure is given twice."),
    "not_yet_valid": N_("The licence is not valid yet."),
    "expired": N_("The licence has expired."),
    "revoked": N_("The issuer has revoked the licence."),
    "suspended": N_("The issuer has suspended the licence."),
    "status_unknown": N_("The licence's status cannot be checked."),
    "status_bad_signature": N_("The status list's signature does not match its issuer."),
    "kb_missing": N_("The holder's key-binding proof is missing."),
    "kb_unexpected": N_("A key-binding proof came with a licence bound to no holder key."),
    "kb_typ": N_("The key-binding proof's type header is not kb+jwt."),
    "kb_signature": N_("The key-binding proof is not signed by the holder's key."),
    "kb_nonce": N_("The key-binding proof answers another challenge (wrong nonce)."),
    "kb_aud": N_("The key-binding proof was made for another verifier (wrong audience)."),
    "kb_sd_hash": N_("The key-binding proof covers another presentation (wrong sd_hash)."),
    "kb_stale": N_("The key-binding proof is too old or dated in the future."),
}
GENUINE = N_("Genuine and valid.")
PASTE_OR_UPLOAD = N_("Paste an e-licence or choose its file.")
NOT_A_LICENCE_FILE = N_("This file is not an e-licence (a text file of at most 64 KB).")
CHOOSE_FIELDS = N_("Choose at least one field to show.")
STATUS_REASON = N_("Give the reason (2 to 500 characters).")


def _labels(ui: Ui) -> dict[str, Any]:
    english = ui.lang.startswith("en")
    return {
        "claim_labels": {k: (en if english else zh) for k, (zh, en) in CLAIM_LABELS.items()},
        "status_words": {k: ui.gettext(v) for k, v in STATUS_WORDS.items()},
    }


def _show(value: Any, ui: Ui) -> str:
    if value is True:
        return ui.gettext("Yes")
    if value is False:
        return ui.gettext("No")
    return str(value)


def _qr(url: str) -> str:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(
        buffer, kind="svg", scale=4, xmldecl=False, svgns=True, title="QR", nl=False
    )
    return buffer.getvalue().decode("utf-8")


def _base(request: Request, settings: Any) -> str:
    return (settings.public_base_url or str(request.base_url)).rstrip("/")


# --- the citizen's 卡包 ----------------------------------------------------------------------


@router.get("/my/credentials")
def wallet(ui: PageUi, session: DbSession) -> Response:
    """卡包: the citizen's e-licences."""
    actor = ui.require_actor()
    held = credentials.my_credentials(session, actor=actor)
    return ui.render(
        "credentials/wallet.html", title=ui.gettext("My e-licences"), held=held, **_labels(ui)
    )


def _one(
    ui: Ui,
    session: Any,
    *,
    credential_id: int,
    request: Request,
    settings: Any,
    share: str | None = None,
    form: FormState | None = None,
    status_code: int = 200,
) -> Response:
    actor = ui.require_actor()
    held = credentials.get_mine(session, actor=actor, credential_id=credential_id)
    link = qr = None
    if share and _TOKEN.match(share):
        link = f"{_base(request, settings)}/verify/s/{share}"
        qr = _qr(link)
    # The holder's own resident ID is shown masked too (the disclosure carries it whole).
    fields = [
        (
            name,
            mask_resident_id(str(value)) if name == "holder_code" else _show(value, ui),
            name in PERSONAL or name == "birth_date",
        )
        for name, value in held.fields()
    ]
    return ui.render(
        "credentials/licence.html",
        title=held.type,
        held=held,
        fields=fields,
        link=link,
        qr=qr,
        share=share if link else None,
        form=form or FormState(values={}),
        status_code=status_code,
        **_labels(ui),
    )


@router.get("/my/credentials/{credential_id}")
def licence(
    credential_id: RowId,
    request: Request,
    ui: PageUi,
    session: DbSession,
    settings: AppSettings,
    share: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    """One e-licence: its fields, which to show, the QR code of what was chosen."""
    return _one(
        ui, session, credential_id=credential_id, request=request, settings=settings, share=share
    )


@router.post("/my/credentials/{credential_id}/share")
def share(
    credential_id: RowId,
    request: Request,
    ui: PageUi,
    session: DbSession,
    settings: AppSettings,
    field: Annotated[list[str], Form(max_length=40)] = [],  # noqa: B006  (FastAPI copies it)
) -> Response:
    """Make a short link (and QR code) for a presentation of the chosen fields."""
    actor = ui.require_actor()
    if not field:
        form = FormState(values={})
        form.add("field", ui.gettext(CHOOSE_FIELDS))
        return _one(
            ui,
            session,
            credential_id=credential_id,
            request=request,
            settings=settings,
            form=form,
            status_code=422,
        )
    token = credentials.share(session, actor=actor, credential_id=credential_id, fields=field[:40])
    return ui.redirect(f"/my/credentials/{credential_id}?share={token}")


@router.get("/my/credentials/{credential_id}/download")
def download(
    credential_id: RowId,
    ui: PageUi,
    session: DbSession,
    share: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    """The e-licence as a file: all of it, or the presentation of a short link of one's own."""
    actor = ui.require_actor()
    held = credentials.get_mine(session, actor=actor, credential_id=credential_id)
    text = held.sd_jwt
    if share:
        text = credentials.open_share(session, token=share)
        if not text.startswith(held.sd_jwt.split("~", 1)[0] + "~"):
            raise NotFound("No such link for this licence.")
    return Response(
        text + "\n",
        media_type="text/plain; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="licence-{held.id}.sd-jwt.txt"',
        },
    )


# --- the public verifier ---------------------------------------------------------------------


def _verdict_context(ui: Ui, verdict: Any) -> dict[str, Any]:
    message = ui.gettext(REFUSAL_WORDS.get(verdict.code or "", GENUINE))
    shown = [
        (name, _show(value, ui))
        for name, value in verdict.claims.items()
        if name in verdict.disclosed
    ]
    return {"verdict": verdict, "verdict_message": message, "shown": shown}


def _verify_page(
    ui: Ui,
    *,
    form: FormState | None = None,
    verdict: Any = None,
    from_link: bool = False,
    status_code: int = 200,
) -> Response:
    context = _verdict_context(ui, verdict) if verdict is not None else {"verdict": None}
    return ui.render(
        "credentials/verify.html",
        title=ui.gettext("Check an e-licence"),
        form=form or FormState(values={}),
        from_link=from_link,
        status_code=status_code,
        **context,
        **_labels(ui),
    )


@router.get("/verify")
def verifier(ui: PageUi) -> Response:
    """The public verifier: paste an e-licence or upload its file."""
    return _verify_page(ui)


@router.post("/verify")
def verifier_submit(
    ui: PageUi,
    session: DbSession,
    settings: AppSettings,
    credential: Annotated[str, Form(max_length=MAX_UPLOAD)] = "",
    upload: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Verify what was pasted or uploaded (the upload is checked before it is read as one)."""
    form = FormState(values={"credential": credential})
    text = credential.strip()
    if upload is not None and upload.filename:
        raw = upload.file.read(MAX_UPLOAD + 1)
        try:
            decoded = raw.decode("ascii").strip()
        except UnicodeDecodeError:
            decoded = ""
        if len(raw) > MAX_UPLOAD or not decoded or not _SD_JWT.match(decoded):
            form.add("upload", ui.gettext(NOT_A_LICENCE_FILE))
        else:
            text = decoded
    if not text and not form.has_errors:
        form.add("credential", ui.gettext(PASTE_OR_UPLOAD))
    if form.has_errors:
        return _verify_page(ui, form=form, status_code=422)
    verdict = credentials.check_here(session, text=text, settings=settings)
    return _verify_page(ui, verdict=verdict)


@router.get("/verify/s/{token}")
def verify_link(
    token: Annotated[str, Path(max_length=32)],
    ui: PageUi,
    session: DbSession,
    settings: AppSettings,
) -> Response:
    """What a holder's QR code opens: their presentation, verified here."""
    if not _TOKEN.match(token):
        raise NotFound("This link is unknown or has expired; ask the holder for a new code.")
    text = credentials.open_share(session, token=token)
    verdict = credentials.check_here(session, text=text, settings=settings)
    return _verify_page(ui, verdict=verdict, from_link=True)


# --- the issuing department -----------------------------------------------------------------


@router.get("/work/credentials")
def issued(ui: PageUi, session: DbSession) -> Response:
    """The licences the official's department issued, with their status."""
    actor = ui.require_actor()
    rows = credentials.department_credentials(session, actor=actor)
    return ui.render(
        "credentials/issued.html",
        title=ui.gettext("E-licences issued"),
        rows=rows,
        form=FormState(values={}),
        today=date.today(),
        **_labels(ui),
    )


@router.post("/work/credentials/{credential_id}/status")
def change_status(
    credential_id: RowId,
    ui: PageUi,
    session: DbSession,
    action: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Suspend, revoke or reinstate a licence, with the reason."""
    actor = ui.require_actor()
    try:
        with uow.attempt(session):
            credentials.change_status(
                session,
                actor=actor,
                credential_id=credential_id,
                action=action,
                reason=reason,
            )
    except AppError as exc:
        if exc.status in (401, 403, 404):
            raise
        form = FormState(values={"reason": reason})
        form.add("reason", ui.gettext(STATUS_REASON) if "reason" in exc.detail else exc.detail)
        return ui.render(
            "credentials/issued.html",
            title=ui.gettext("E-licences issued"),
            rows=credentials.department_credentials(session, actor=actor),
            form=form,
            today=date.today(),
            status_code=exc.status,
            **_labels(ui),
        )
    return ui.redirect("/work/credentials", notice="licence_status_changed")
