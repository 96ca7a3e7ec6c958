"""HTML pages of a forgotten password (忘记密码): ask for a code by SMS, then set a new password
with it (identity/recovery.py). The answer to a request never says whether an account exists."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from tongban.identity import recovery
from tongban.identity.account_pages import retry_time
from tongban.identity.deps import PageUi
from tongban.platform.errors import Invalid
from tongban.platform.web.deps import AppSettings, DbSession
from tongban.platform.web.rendering import FIELD_HINTS, N_, NOTICES, FormState, Ui

router = APIRouter()

NOTICES.update(
    password_reset=N_("Your password is changed. Log in with your new password."),
)
CODE_SENT = N_(
    "If an account with this user name or phone number has a mobile number on file, we have "
    "sent a 6-digit code to it. The code works for 10 minutes."
)
WAIT = N_(
    "Too many requests. You can try again after %(time)s, or get help at any service point or "
    "on the 12345 hotline."
)
WRONG_CODE = N_("The code is wrong or has expired. Check it, or ask for a new code.")
CODE_FORMAT = N_("Enter the 6-digit code from the text message.")
PASSWORDS_DIFFER = N_("The two passwords must be the same.")
ENTER_USERNAME = N_("Enter your user name or phone number.")


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _forgot_page(ui: Ui, form: FormState, status_code: int = 200) -> Response:
    return ui.render(
        "identity/password_forgot.html",
        title=ui.gettext("Forgot your password"),
        form=form,
        status_code=status_code,
    )


def _reset_page(ui: Ui, form: FormState, *, sent: bool = False, status_code: int = 200) -> Response:
    return ui.render(
        "identity/password_reset.html",
        title=ui.gettext("Set a new password"),
        form=form,
        sent=ui.gettext(CODE_SENT) if sent else "",
        status_code=status_code,
    )


def _wait(ui: Ui, response_headers: dict[str, str] | None) -> tuple[str, str]:
    seconds = (response_headers or {}).get("Retry-After", "60")
    return seconds, ui.gettext(WAIT) % {"time": retry_time(int(seconds))}


@router.get("/password/forgot")
def forgot_page(ui: PageUi) -> Response:
    """Step 1 of a forgotten password: the user name or phone number."""
    return _forgot_page(ui, FormState())


@router.post("/password/forgot")
def forgot_submit(
    request: Request,
    ui: PageUi,
    session: DbSession,
    settings: AppSettings,
    username: Annotated[str, Form()] = "",
) -> Response:
    """Send a code to the phone on file (if there is such an account) and show step 2."""
    form = FormState(values={"username": username.strip()})
    try:
        recovery.request_code(
            session, identifier=username, client_ip=_client_ip(request), settings=settings
        )
    except recovery.ResetRefused as exc:
        seconds, message = _wait(ui, exc.headers)
        form.add("form", message)
        response = _forgot_page(ui, form, 429)
        response.headers["Retry-After"] = seconds
        return response
    except Invalid:
        form.add("username", ui.gettext(ENTER_USERNAME))
        return _forgot_page(ui, form, 422)
    return _reset_page(ui, form, sent=True)


@router.get("/password/reset")
def reset_page(ui: PageUi) -> Response:
    """Step 2 of a forgotten password: the code from the SMS and a new password."""
    return _reset_page(ui, FormState())


@router.post("/password/reset")
def reset_submit(
    request: Request,
    ui: PageUi,
    session: DbSession,
    settings: AppSettings,
    username: Annotated[str, Form()] = "",
    code: Annotated[str, Form()] = "",
    new_password: Annotated[str, Form()] = "",
    new_password_confirm: Annotated[str, Form()] = "",
) -> Response:
    """Check the code and set the new password; then log in with it."""
    form = FormState(values={"username": username.strip(), "code": code.strip()})
    if new_password and new_password != new_password_confirm:
        form.add("new_password_confirm", ui.gettext(PASSWORDS_DIFFER))
    if not form.has_errors:
        try:
            recovery.reset_with_code(
                session,
                identifier=username,
                code=code,
                new_password=new_password,
                client_ip=_client_ip(request),
                settings=settings,
            )
        except recovery.ResetRefused as exc:
            seconds, message = _wait(ui, exc.headers)
            form.add("form", message)
            response = _reset_page(ui, form, status_code=429)
            response.headers["Retry-After"] = seconds
            return response
        except recovery.ResetCodeRejected:
            # Returning normally commits the counted check.
            form.add("code", ui.gettext(WRONG_CODE))
        except Invalid as exc:
            for error in exc.errors or []:
                if error.field == "username":
                    form.add("username", ui.gettext(ENTER_USERNAME))
                elif error.field == "code":
                    form.add("code", ui.gettext(CODE_FORMAT))
                else:
                    form.add("new_password", ui.gettext(FIELD_HINTS["password"]))
    if form.has_errors:
        return _reset_page(ui, form, status_code=422)
    return ui.redirect("/login", notice="password_reset")
