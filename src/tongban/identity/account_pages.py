"""HTML pages of one's own account and of the clerk's identity desk: my account (identity status,
real-name check), changing my password, and at the counter verifying a citizen's identity or
giving them a temporary password (identity/verification.py, identity/recovery.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form
from sqlalchemy.orm import Session
from starlette.responses import Response

from tongban.identity import accounts, recovery, verification
from tongban.identity import service as identity
from tongban.identity.deps import PageUi
from tongban.identity.keys import identity_keys
from tongban.identity.models import Account
from tongban.identity.resident_id import mask_phone, mask_resident_id
from tongban.platform.config import Settings
from tongban.platform.db import uow
from tongban.platform.errors import Conflict, Invalid, NotFound, TooManyRequests
from tongban.platform.web.deps import AppSettings, DbSession
from tongban.platform.web.rendering import (
    FIELD_HINTS,
    N_,
    NOTICES,
    SHANGHAI,
    FormState,
    Ui,
    safe_next,
)

router = APIRouter()

NOTICES.update(
    registered_claimed=N_(
        "Your account is ready and you are logged in. Your ID number is recorded but not "
        "verified yet: see below how to verify it."
    ),
    identity_verified=N_("Your identity is verified."),
    password_changed=N_("Your password is changed."),
    must_change_password=N_(
        "You logged in with a temporary password. Choose your own password now."
    ),
)
METHODS = {
    verification.COUNTER: N_("Verified at a service point on %(date)s."),
    verification.REALNAME: N_("Verified by the real-name service on %(date)s."),
    verification.OPERATOR: N_("Verified by an administrator on %(date)s."),
}
NOT_VERIFIED = N_(
    "Your ID number is not verified yet. Until it is, you see only the cases you submitted "
    "yourself; cases filed for you at a service point appear once it is verified."
)
REALNAME_MISMATCH = N_(
    "The real-name register does not give this name for your ID number. Write your name "
    "exactly as on your ID card, or have your ID card checked at a service point."
)
REALNAME_DOWN = N_(
    "The real-name service is not answering just now. Try again later, or have your ID card "
    "checked at any service point."
)
REALNAME_NONE = N_(
    "Online verification is not available here. Bring your ID card to any service point."
)
REALNAME_WAIT = N_(
    "Too many checks did not match. You can try again after %(time)s, or have your ID card "
    "checked at any service point."
)
NO_CITIZEN = N_(
    "No citizen's account has this user name or phone number. Check it with the citizen, or "
    "help them register first."
)
CONFIRM_CARD = N_("Check the ID card against the person in front of you, then tick the box.")
CLAIM_DIFFERS = N_(
    "This account registered with another ID number (%(claimed)s). Make sure it is the "
    "citizen's own account. If they mistyped their number when registering, tick “Replace the "
    "registered number” and send again."
)
BOUND_ELSEWHERE = N_(
    "This ID number is already verified for another account. One person has one account: "
    "ask the citizen which account they use. If they do not know that account, report it to "
    "the administrator."
)
BOUND_OTHER_NUMBER = N_(
    "This account is already verified with another ID number. It is not this person's "
    "account: check the user name or phone number."
)
NOT_BOUND_YET = N_(
    "This account's ID number is not verified yet. Verify the identity first (Verify a "
    "citizen's identity), then reset the password."
)
NOT_THE_BOUND_NUMBER = N_(
    "The number on this ID card is not the one verified for this account. The password can "
    "only be reset for the account's owner."
)
ACCOUNT_INACTIVE = N_("This account is deactivated. The administrator can reactivate it.")
PASSWORDS_DIFFER = N_("The two passwords must be the same.")
CURRENT_WRONG = N_("The current password is wrong.")


def _account(session: Session, account_id: int) -> Account:
    return accounts.get_account(session, account_id=account_id)


def local_date(value: datetime | None) -> str:
    """A date in Shanghai time."""
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d") if value else ""


def retry_time(seconds: int) -> str:
    """The local time (HH:MM, Shanghai) after a wait of `seconds`."""
    at = datetime.now(UTC) + timedelta(seconds=seconds + 59)
    return at.astimezone(SHANGHAI).strftime("%H:%M")


# --- my account ----------------------------------------------------------------------------


def _account_page(
    ui: Ui,
    session: Session,
    settings: Settings,
    form: FormState,
    status_code: int = 200,
) -> Response:
    actor = ui.require_actor()
    identity.authorize(actor, "accounts.read_self")
    account = _account(session, actor.account_id)
    state = verification.status(account)
    verified_text = ""
    if state == verification.VERIFIED:
        method = METHODS.get(account.identity_verification or "", METHODS[verification.COUNTER])
        verified_text = ui.gettext(method) % {"date": local_date(account.identity_verified_at)}
    return ui.render(
        "identity/account.html",
        title=ui.gettext("My account"),
        account=account,
        phone_masked=mask_phone(account.phone) if account.phone else "",
        state=state,
        verified_text=verified_text,
        not_verified=ui.gettext(NOT_VERIFIED),
        realname=verification.REALNAME in verification.methods_available(settings)
        and state == verification.CLAIMED
        and account.role == identity.Role.CITIZEN,
        form=form,
        status_code=status_code,
    )


@router.get("/account")
def account_page(ui: PageUi, session: DbSession, settings: AppSettings) -> Response:
    """My account: name, masked phone and ID number, identity status and how to verify it."""
    return _account_page(ui, session, settings, FormState())


@router.post("/account/identity")
def account_verify(
    ui: PageUi,
    session: DbSession,
    settings: AppSettings,
    name: Annotated[str, Form()] = "",
) -> Response:
    """Verify my claimed ID number with the node's real-name service (my name as on the card)."""
    actor = ui.require_actor()
    identity.authorize(actor, "accounts.verify_self", {"account_id": actor.account_id})
    form = FormState(values={"name": name})
    status, retry_after = 200, ""
    try:
        verification.verify_with_realname(
            session, account_id=actor.account_id, name=name, actor=actor, settings=settings
        )
    except verification.RealNameNotMatched:
        # Returning normally commits the failed check: the throttle counts it.
        form.add("name", ui.gettext(REALNAME_MISMATCH))
        status = 422
    except TooManyRequests as exc:
        retry_after = (exc.headers or {}).get("Retry-After", "3600")
        form.add("form", ui.gettext(REALNAME_WAIT) % {"time": retry_time(int(retry_after))})
        status = 429
    except verification.RealNameFailedToAnswer:
        form.add("form", ui.gettext(REALNAME_DOWN))
        status = 503
    except Invalid as exc:
        ui.form_errors(form, exc)
        status = 422
    except Conflict:
        form.add("form", ui.gettext(REALNAME_NONE))
        status = 409
    if status != 200:
        response = _account_page(ui, session, settings, form, status)
        if retry_after:
            response.headers["Retry-After"] = retry_after
        return response
    return ui.redirect("/account", notice="identity_verified")


def _password_page(ui: Ui, form: FormState, next_path: str, status_code: int = 200) -> Response:
    return ui.render(
        "identity/password_change.html",
        title=ui.gettext("Change my password"),
        form=form,
        next_path=next_path,
        status_code=status_code,
    )


@router.get("/account/password")
def password_change_page(ui: PageUi, next: str = "/account") -> Response:
    """The form to change my password (also where a temporary password leads after login)."""
    actor = ui.require_actor()
    identity.authorize(actor, "accounts.change_password")
    return _password_page(ui, FormState(), safe_next(next, "/account"))


@router.post("/account/password")
def password_change_submit(
    ui: PageUi,
    session: DbSession,
    current_password: Annotated[str, Form()] = "",
    new_password: Annotated[str, Form()] = "",
    new_password_confirm: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/account",
) -> Response:
    """Change my password; my other sessions and all my API tokens end."""
    actor = ui.require_actor()
    identity.authorize(actor, "accounts.change_password")
    target = safe_next(next, "/account")
    form = FormState()
    if new_password != new_password_confirm:
        form.add("new_password_confirm", ui.gettext(PASSWORDS_DIFFER))
    if not form.has_errors:
        try:
            with uow.attempt(session):
                accounts.change_password(
                    session,
                    account_id=actor.account_id,
                    current_password=current_password,
                    new_password=new_password,
                    keep_session_id=int(actor.session_id) if actor.session_id else None,
                )
                # A temporary password from a service point is replaced: no more asking.
                _account(session, actor.account_id).password_must_change = False
        except Invalid as exc:
            for error in exc.errors or []:
                if error.field == "current_password":
                    form.add("current_password", ui.gettext(CURRENT_WRONG))
                else:
                    form.add("new_password", ui.gettext(FIELD_HINTS["password"]))
            if not form.has_errors:
                ui.form_errors(form, exc)
    if form.has_errors:
        return _password_page(ui, form, target, 422)
    return ui.redirect(target, notice="password_changed")


# --- the clerk's identity desk -------------------------------------------------------------


def _desk_page(
    ui: Ui,
    template: str,
    title: str,
    form: FormState,
    *,
    status_code: int = 200,
    done: dict[str, str] | None = None,
    offer_replace: bool = False,
) -> Response:
    return ui.render(
        template,
        title=ui.gettext(title),
        form=form,
        done=done,
        offer_replace=offer_replace,
        status_code=status_code,
    )


VERIFY_TITLE = N_("Verify a citizen's identity")
RESET_TITLE = N_("Reset a citizen's password")


def _desk_form(citizen: str, resident_id: str, confirmed: str) -> FormState:
    return FormState(
        values={"citizen": citizen, "resident_id": resident_id, "confirmed": confirmed}
    )


def _check_desk_input(
    ui: Ui, form: FormState, citizen: str, resident_id: str, confirmed: str
) -> str:
    """The card's number, validated; errors go on the form."""
    number = ""
    if not citizen.strip():
        form.add("citizen", ui.gettext("Enter the citizen's user name or phone number."))
    try:
        number = identity.validate_resident_id(resident_id.strip())
    except Invalid as exc:
        ui.form_errors(form, exc)
    if confirmed != "1":
        form.add("confirmed", ui.gettext(CONFIRM_CARD))
    return number


@router.get("/desk/identity")
def desk_identity_page(ui: PageUi) -> Response:
    """A clerk verifies a citizen's identity: their account, the ID card in front of them."""
    actor = ui.require_actor()
    identity.authorize(actor, "accounts.verify_identity")
    return _desk_page(ui, "identity/desk_identity.html", VERIFY_TITLE, FormState())


@router.post("/desk/identity")
def desk_identity_submit(
    ui: PageUi,
    session: DbSession,
    settings: AppSettings,
    citizen: Annotated[str, Form()] = "",
    resident_id: Annotated[str, Form()] = "",
    confirmed: Annotated[str, Form()] = "",
    replace: Annotated[str, Form()] = "",
) -> Response:
    """Bind the number on the ID card to the citizen's account after the in-person check."""
    actor = ui.require_actor()
    identity.authorize(actor, "accounts.verify_identity")
    form = _desk_form(citizen, resident_id, confirmed)
    number = _check_desk_input(ui, form, citizen, resident_id, confirmed)
    account = None
    if citizen.strip():
        account = recovery.find_account(session, identifier=citizen)
        if account is None or account.role != identity.Role.CITIZEN:
            form.add("citizen", ui.gettext(NO_CITIZEN))
            account = None
        elif not account.active:
            form.add("citizen", ui.gettext(ACCOUNT_INACTIVE))
    offer_replace = False
    if account is not None and number and not form.has_errors and account.resident_id_hash is None:
        claimed = verification.claimed_number(account, identity_keys(settings))
        if claimed is not None and claimed != number and replace != "1":
            form.add(
                "resident_id",
                ui.gettext(CLAIM_DIFFERS) % {"claimed": mask_resident_id(claimed)},
            )
            offer_replace = True
    if form.has_errors or account is None:
        return _desk_page(
            ui,
            "identity/desk_identity.html",
            VERIFY_TITLE,
            form,
            status_code=422,
            offer_replace=offer_replace,
        )
    try:
        with uow.attempt(session):
            verification.verify_at_counter(
                session,
                account_id=account.id,
                resident_id=number,
                confirmed=True,
                actor=actor,
                settings=settings,
            )
    except Conflict as exc:
        about = " ".join(e.message for e in exc.errors or [])
        message = BOUND_OTHER_NUMBER if "bound to another number" in about else BOUND_ELSEWHERE
        form.add("resident_id", ui.gettext(message))
        return _desk_page(ui, "identity/desk_identity.html", VERIFY_TITLE, form, status_code=409)
    done = {
        "name": account.display_name,
        "phone": mask_phone(account.phone) if account.phone else "",
        "resident_id": mask_resident_id(number),
    }
    return _desk_page(ui, "identity/desk_identity.html", VERIFY_TITLE, FormState(), done=done)


@router.get("/desk/password")
def desk_password_page(ui: PageUi) -> Response:
    """A clerk gives a citizen who forgot their password a temporary one, after the ID check."""
    actor = ui.require_actor()
    identity.authorize(actor, "accounts.reset_password")
    return _desk_page(ui, "identity/desk_password.html", RESET_TITLE, FormState())


@router.post("/desk/password")
def desk_password_submit(
    ui: PageUi,
    session: DbSession,
    settings: AppSettings,
    citizen: Annotated[str, Form()] = "",
    resident_id: Annotated[str, Form()] = "",
    confirmed: Annotated[str, Form()] = "",
) -> Response:
    """Reset the citizen's password to a temporary one, shown once on this page."""
    actor = ui.require_actor()
    identity.authorize(actor, "accounts.reset_password")
    form = _desk_form(citizen, resident_id, confirmed)
    number = _check_desk_input(ui, form, citizen, resident_id, confirmed)
    status = 422
    if not form.has_errors:
        try:
            with uow.attempt(session):
                issued = recovery.reset_at_counter(
                    session,
                    identifier=citizen,
                    resident_id=number,
                    confirmed=True,
                    actor=actor,
                    settings=settings,
                )
        except NotFound:
            form.add("citizen", ui.gettext(NO_CITIZEN))
        except Conflict as exc:
            about = " ".join(e.message for e in exc.errors or [])
            if "not verified" in about:
                message = NOT_BOUND_YET
            elif "not the number" in about:
                message = NOT_THE_BOUND_NUMBER
            else:
                message = ACCOUNT_INACTIVE
            form.add("resident_id" if exc.errors else "citizen", ui.gettext(message))
            status = 409
    if form.has_errors:
        return _desk_page(ui, "identity/desk_password.html", RESET_TITLE, form, status_code=status)
    done = {
        "name": issued.display_name,
        "username": issued.username,
        "phone": issued.phone_masked or "",
        "password": issued.password,
    }
    return _desk_page(ui, "identity/desk_password.html", RESET_TITLE, FormState(), done=done)
