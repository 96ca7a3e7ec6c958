"""HTML pages of 好差评: the applicant rates a completed case (five faces, one tap), the desk
records a walk-in applicant's rating of the visit, the department follows up and fixes what a
bad rating found, and an operator decides appeals. Plain forms: no JavaScript needed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter
from sqlalchemy import select
from starlette.responses import Response

from tongban.cases import service as cases
from tongban.identity import service as identity
from tongban.identity.deps import PageUi
from tongban.platform.config import Settings
from tongban.platform.db import uow
from tongban.platform.errors import Conflict, Forbidden, Invalid
from tongban.platform.web.deps import AppSettings, DbSession, PostedForm, RowId
from tongban.platform.web.rendering import N_, NOTICES, FormState, Ui, add_templates
from tongban.reviews import ratings, rectify
from tongban.reviews.models import Review
from tongban.reviews.schemas import (
    INDICATORS,
    AppealDecision,
    AppealGround,
    RatingChannel,
    RerateCreate,
    ReviewCreate,
)

add_templates(Path(__file__).resolve().parent / "templates")

router = APIRouter(tags=["reviews pages"], include_in_schema=False)

NOTICES.update(
    rated=N_("Thank you. Your rating is recorded."),
    rating_recorded=N_("The applicant's rating of the visit is recorded."),
    followed_up=N_("The follow-up is recorded. Now fix the problem and describe the fix."),
    fixed=N_("The fix is recorded. The applicant has been told."),
    appealed=N_("The appeal is sent to the operators."),
    appeal_decided=N_("The appeal is decided."),
)
LEVELS: dict[int, str] = {
    1: N_("Very dissatisfied"),
    2: N_("Dissatisfied"),
    3: N_("Neutral"),
    4: N_("Satisfied"),
    5: N_("Very satisfied"),
}
INDICATOR_LABELS: dict[str, str] = {
    "overall": N_("How satisfied are you overall?"),
    "efficiency": N_("How quickly was it done?"),
    "guide_accuracy": N_("Was the service guide right?"),
    "convenience": N_("How easy was it to apply?"),
    "usability": N_("How easy was the website to use?"),
    "service_level": N_("How well did the staff know the service?"),
    "attitude": N_("How friendly were the staff?"),
}
TASK_STATES: dict[str, str] = {
    rectify.OPEN: N_("Waiting for follow-up"),
    rectify.FOLLOWED_UP: N_("Followed up, being fixed"),
    rectify.FIXED: N_("Fixed"),
    rectify.RERATED: N_("Fixed and rated again"),
    rectify.APPEALED: N_("Appealed, waiting for a decision"),
    rectify.VOIDED: N_("Appeal upheld: the rating does not count"),
}
GROUNDS: dict[str, str] = {
    AppealGround.MISTAKEN.value: N_("The rating was given by mistake"),
    AppealGround.MALICIOUS.value: N_("The rating is malicious"),
}
DECISIONS: dict[str, str] = {
    AppealDecision.UPHELD.value: N_("Uphold: the rating no longer counts"),
    AppealDecision.REJECTED.value: N_("Reject: the rectification goes on"),
}
CHOICE_MESSAGE = N_("Choose one of the options.")
LEVEL_MESSAGE = N_("Choose one of the five faces.")
REQUIRED_MESSAGE = N_("Fill in this field.")
TOO_LONG_MESSAGE = N_("This text is too long.")
NOT_COMPLETED = N_("You can rate this case once it is completed.")
ALREADY_RATED = N_("This case has already been rated. A rating cannot be changed.")
NO_VISIT = N_("This case was not filed at a service point: there is no visit to rate.")
CANNOT_NOW = N_("This cannot be done now: the task has moved on. Reload the page.")
COMMENT_MAX = 1000
NOTE_MAX = 2000
TEXT_MAX = 4000


def _labels(ui: Ui) -> dict[str, Any]:
    return {
        "levels": {k: ui.gettext(v) for k, v in LEVELS.items()},
        "indicator_labels": {k: ui.gettext(v) for k, v in INDICATOR_LABELS.items()},
        "task_states": {k: ui.gettext(v) for k, v in TASK_STATES.items()},
        "grounds": {k: ui.gettext(v) for k, v in GROUNDS.items()},
        "decisions": {k: ui.gettext(v) for k, v in DECISIONS.items()},
    }


def _require(ui: Ui, role: identity.Role, message: str) -> identity.Actor:
    actor: identity.Actor = ui.require_actor()
    if actor.role is not role:
        raise Forbidden(message)
    return actor


def _first_rating(session: DbSession, number: str, channel: RatingChannel) -> Review | None:
    return session.scalar(
        select(Review).where(
            Review.case_number == number, Review.channel == channel.value, Review.round == 0
        )
    )


def _text(ui: Ui, form: FormState, name: str, *, limit: int, required: bool) -> str:
    value = form.value(name).strip()
    if required and not value:
        form.add(name, ui.gettext(REQUIRED_MESSAGE))
    elif len(value) > limit:
        form.add(name, ui.gettext(TOO_LONG_MESSAGE))
    return value


def _rating_body(ui: Ui, form: FormState, number: str, channel: RatingChannel) -> ReviewCreate:
    """The posted levels (overall required, the channel's other indicators optional)."""
    levels: dict[str, int | None] = {}
    for name in INDICATORS[channel]:
        raw = form.value(name)
        if raw in ("1", "2", "3", "4", "5"):
            levels[name] = int(raw)
        elif raw or name == "overall":
            form.add(name, ui.gettext(LEVEL_MESSAGE))
            levels[name] = None
        else:
            levels[name] = None
    comment = _text(ui, form, "comment", limit=COMMENT_MAX, required=False)
    # Checked above (levels 1-5 of the channel's indicators, the comment's length).
    values: dict[str, Any] = {k: levels.get(k) for k in INDICATOR_LABELS}
    values.update(case_number=number, channel=channel, comment=comment or None)
    return ReviewCreate.model_construct(**values)


def _rate(
    ui: Ui,
    session: DbSession,
    settings: Settings,
    *,
    actor: identity.Actor,
    number: str,
    channel: RatingChannel,
    form: FormState,
) -> bool:
    """Record the rating; False with messages on the form (nothing recorded) otherwise."""
    body = _rating_body(ui, form, number, channel)
    if form.has_errors:
        return False
    try:
        with uow.attempt(session):
            ratings.rate(
                session,
                actor=actor,
                case_number=number,
                channel=channel,
                data=body,
                settings=settings,
            )
    except Invalid as exc:
        ui.form_errors(form, exc)
        return False
    except Conflict:
        # Rated at the same moment elsewhere, or the case moved on: say which, in words.
        form.add("form", ui.gettext(_why_not_ratable(session, number, channel) or CANNOT_NOW))
        return False
    return True


def _why_not_ratable(session: DbSession, number: str, channel: RatingChannel) -> str | None:
    """Why a case cannot get this rating now (a message id), or None when it can."""
    case = cases.get_case(session, number=number)
    if _first_rating(session, number, channel) is not None:
        return ALREADY_RATED
    if channel is RatingChannel.ONLINE and case.state != cases.State.COMPLETED:
        return NOT_COMPLETED
    if channel is RatingChannel.ONSITE and case.service_point is None:
        return NO_VISIT
    if case.state == cases.State.WITHDRAWN:
        return CANNOT_NOW
    return None


# --- the applicant: rate a completed case -----------------------------------------------------


def _rating_page(
    ui: Ui,
    session: DbSession,
    settings: Settings,
    number: str,
    form: FormState,
    status_code: int = 200,
) -> Response:
    actor = _require(ui, identity.Role.CITIZEN, "Ratings of a case are given by its applicant.")
    case = cases.read_case(session, actor=actor, number=number, settings=settings)
    review = _first_rating(session, number, RatingChannel.ONLINE)
    task = ratings.rectification_of(session, review_id=review.id) if review else None
    blocked = None if review else _why_not_ratable(session, number, RatingChannel.ONLINE)
    again = (
        ratings.get_review(session, review_id=task.rerate_review_id)
        if task is not None and task.rerate_review_id
        else None
    )
    return ui.render(
        "reviews/rating.html",
        title=ui.gettext("Rate this service"),
        case=case,
        review=review,
        task=task,
        again=again,
        may_rerate=bool(
            task is not None
            and review is not None
            and task.state == rectify.FIXED
            and review.rater_id == actor.account_id
        ),
        blocked=ui.gettext(blocked) if blocked else None,
        indicators=[n for n in INDICATORS[RatingChannel.ONLINE] if n != "overall"],
        form=form,
        action=f"/cases/{number}/rating",
        status_code=status_code,
        **_labels(ui),
    )


@router.get("/cases/{number}/rating")
def rating_page(number: str, ui: PageUi, session: DbSession, settings: AppSettings) -> Response:
    """Rate a completed case: five faces (one tap), then optional indicators and a comment;
    once rated, the rating and what became of it (the rectification of a bad one)."""
    return _rating_page(ui, session, settings, number, ui.restored_form() or FormState())


@router.post("/cases/{number}/rating")
def rating_submit(
    number: str, ui: PageUi, session: DbSession, posted: PostedForm, settings: AppSettings
) -> Response:
    """Record the applicant's rating; bad input or a case not ratable → the form, a message."""
    actor = _require(ui, identity.Role.CITIZEN, "Ratings of a case are given by its applicant.")
    cases.read_case(session, actor=actor, number=number, settings=settings)  # 404 if unseen
    form = FormState.of((k, v) for k, v in posted.multi_items() if isinstance(v, str))
    blocked = _why_not_ratable(session, number, RatingChannel.ONLINE)
    if blocked:
        form.add("form", ui.gettext(blocked))
        return _rating_page(ui, session, settings, number, form, 409)
    if not _rate(
        ui,
        session,
        settings,
        actor=actor,
        number=number,
        channel=RatingChannel.ONLINE,
        form=form,
    ):
        status = 409 if "form" in form.errors else 422
        return _rating_page(ui, session, settings, number, form, status)
    return ui.redirect(f"/cases/{number}/rating", notice="rated")


@router.post("/cases/{number}/rating/again")
def rerate_submit(
    number: str, ui: PageUi, session: DbSession, posted: PostedForm, settings: AppSettings
) -> Response:
    """Rate again once the department has fixed what a bad rating found (复评)."""
    actor = _require(ui, identity.Role.CITIZEN, "Ratings of a case are given by its applicant.")
    cases.read_case(session, actor=actor, number=number, settings=settings)  # 404 if unseen
    form = FormState.of((k, v) for k, v in posted.multi_items() if isinstance(v, str))
    review = _first_rating(session, number, RatingChannel.ONLINE)
    task = ratings.rectification_of(session, review_id=review.id) if review else None
    if task is None:
        form.add("form", ui.gettext(CANNOT_NOW))
        return _rating_page(ui, session, settings, number, form, 409)
    body = _rating_body(ui, form, number, RatingChannel.ONLINE)
    if form.has_errors:
        return _rating_page(ui, session, settings, number, form, 422)
    values = {k: getattr(body, k) for k in (*INDICATOR_LABELS, "comment")}
    try:
        with uow.attempt(session):
            rectify.rerate(
                session,
                actor=actor,
                rectification_id=task.id,
                data=RerateCreate.model_construct(**values),
                settings=settings,
            )
    except Invalid as exc:
        ui.form_errors(form, exc)
        return _rating_page(ui, session, settings, number, form, 422)
    except Conflict:
        form.add("form", ui.gettext(CANNOT_NOW))
        return _rating_page(ui, session, settings, number, form, 409)
    return ui.redirect(f"/cases/{number}/rating", notice="rated")


# --- the desk: the walk-in applicant's rating of the visit ------------------------------------


def _desk_rating_page(
    ui: Ui,
    session: DbSession,
    settings: Settings,
    number: str,
    form: FormState,
    status_code: int = 200,
) -> Response:
    actor = _require(ui, identity.Role.CLERK, "The desk is for service-point clerks.")
    case = cases.read_case(session, actor=actor, number=number, settings=settings)
    review = _first_rating(session, number, RatingChannel.ONSITE)
    blocked = None if review else _why_not_ratable(session, number, RatingChannel.ONSITE)
    return ui.render(
        "reviews/desk_rating.html",
        title=ui.gettext("The applicant rates the visit"),
        case=case,
        review=review,
        blocked=ui.gettext(blocked) if blocked else None,
        indicators=[n for n in INDICATORS[RatingChannel.ONSITE] if n != "overall"],
        form=form,
        action=f"/desk/cases/{number}/rating",
        status_code=status_code,
        **_labels(ui),
    )


@router.get("/desk/cases/{number}/rating")
def desk_rating_page(
    number: str, ui: PageUi, session: DbSession, settings: AppSettings
) -> Response:
    """The clerk hands the screen to the applicant, who rates the visit (一次一评)."""
    return _desk_rating_page(ui, session, settings, number, ui.restored_form() or FormState())


@router.post("/desk/cases/{number}/rating")
def desk_rating_submit(
    number: str, ui: PageUi, session: DbSession, posted: PostedForm, settings: AppSettings
) -> Response:
    """Record the visit's rating on the applicant's behalf (channel assisted)."""
    actor = _require(ui, identity.Role.CLERK, "The desk is for service-point clerks.")
    cases.read_case(session, actor=actor, number=number, settings=settings)
    form = FormState.of((k, v) for k, v in posted.multi_items() if isinstance(v, str))
    blocked = _why_not_ratable(session, number, RatingChannel.ONSITE)
    if blocked:
        form.add("form", ui.gettext(blocked))
        return _desk_rating_page(ui, session, settings, number, form, 409)
    if not _rate(
        ui,
        session,
        settings,
        actor=actor,
        number=number,
        channel=RatingChannel.ONSITE,
        form=form,
    ):
        status = 409 if "form" in form.errors else 422
        return _desk_rating_page(ui, session, settings, number, form, status)
    return ui.redirect("/desk/cases", notice="rating_recorded")


# --- the department: rectification tasks -----------------------------------------------------


@router.get("/work/rectifications")
def rectifications_page(ui: PageUi, session: DbSession, state: str = "") -> Response:
    """The department's rectification tasks (all for operators), nearest due date first."""
    actor = ui.require_actor()
    identity.authorize(actor, "rectification.read")
    state = state if state in TASK_STATES else ""
    rows, total = rectify.list_rectifications(session, actor=actor, state=state or None, limit=100)
    day = rectify.today()
    labels = _labels(ui)
    return ui.render(
        "reviews/rectifications.html",
        title=ui.gettext("Rectification of bad ratings"),
        items=[(t, rectify.is_overdue(t, day=day)) for t in rows],
        total=total,
        form=FormState(values={"state": state}),
        state_options=[("", ui.gettext("All tasks")), *labels["task_states"].items()],
        **labels,
    )


def _task_page(
    ui: Ui,
    session: DbSession,
    rectification_id: int,
    form: FormState,
    status_code: int = 200,
) -> Response:
    actor = _task_actor(ui, session, rectification_id, "rectification.read")
    task = rectify.get_rectification(session, rectification_id=rectification_id)
    review = ratings.get_review(session, review_id=task.review_id)
    may_handle = identity.allowed(
        actor,
        "rectification.handle",
        {"department_id": task.department_id, "region_code": task.region_code},
    )
    return ui.render(
        "reviews/rectification.html",
        title=ui.gettext("Rectification task"),
        task=task,
        review=review,
        overdue=rectify.is_overdue(task, day=rectify.today()),
        may_handle=may_handle,
        form=form,
        status_code=status_code,
        **_labels(ui),
    )


@router.get("/work/rectifications/{rectification_id}")
def rectification_page(rectification_id: RowId, ui: PageUi, session: DbSession) -> Response:
    """One task: the rating, its due date, and the next step (follow up, fix, or appeal)."""
    return _task_page(ui, session, rectification_id, ui.restored_form() or FormState())


def _task_step(
    ui: Ui,
    session: DbSession,
    rectification_id: int,
    form: FormState,
    step: Any,
    notice: str,
) -> Response:
    """Run one step of a task; bad input or a task that moved on → the page with a message."""
    if form.has_errors:
        return _task_page(ui, session, rectification_id, form, 422)
    try:
        with uow.attempt(session):
            step()
    except Invalid as exc:
        ui.form_errors(form, exc)
        return _task_page(ui, session, rectification_id, form, 422)
    except Conflict as exc:
        form.add("form", _conflict_message(ui, exc))
        return _task_page(ui, session, rectification_id, form, 409)
    return ui.redirect(f"/work/rectifications/{rectification_id}", notice=notice)


def _conflict_message(ui: Ui, exc: Conflict) -> str:
    if any(e.message == "no follow-up recorded yet" for e in exc.errors or []):
        return ui.gettext(N_("Follow up with the applicant before you describe the fix."))
    return ui.gettext(CANNOT_NOW)


def _task_actor(ui: Ui, session: DbSession, rectification_id: int, action: str) -> identity.Actor:
    """The caller, once their role (403), the task (404) and its department are checked."""
    actor: identity.Actor = ui.require_actor()
    identity.authorize(actor, action)
    task = rectify.get_rectification(session, rectification_id=rectification_id)
    rectify.authorize_task(actor, action, task)
    return actor


@router.post("/work/rectifications/{rectification_id}/follow-up")
def follow_up_submit(
    rectification_id: RowId, ui: PageUi, session: DbSession, posted: PostedForm
) -> Response:
    """Record the follow-up contact (回访) with the applicant."""
    actor = _task_actor(ui, session, rectification_id, "rectification.handle")
    form = FormState.of((k, v) for k, v in posted.multi_items() if isinstance(v, str))
    note = _text(ui, form, "note", limit=NOTE_MAX, required=True)
    return _task_step(
        ui,
        session,
        rectification_id,
        form,
        lambda: rectify.follow_up(
            session, actor=actor, rectification_id=rectification_id, note=note
        ),
        "followed_up",
    )


@router.post("/work/rectifications/{rectification_id}/fix")
def fix_submit(
    rectification_id: RowId, ui: PageUi, session: DbSession, posted: PostedForm
) -> Response:
    """Mark the task fixed with what was done (整改); the applicant is told."""
    actor = _task_actor(ui, session, rectification_id, "rectification.handle")
    form = FormState.of((k, v) for k, v in posted.multi_items() if isinstance(v, str))
    description = _text(ui, form, "description", limit=TEXT_MAX, required=True)
    return _task_step(
        ui,
        session,
        rectification_id,
        form,
        lambda: rectify.describe_fix(
            session, actor=actor, rectification_id=rectification_id, description=description
        ),
        "fixed",
    )


@router.post("/work/rectifications/{rectification_id}/appeal")
def appeal_submit(
    rectification_id: RowId, ui: PageUi, session: DbSession, posted: PostedForm
) -> Response:
    """Appeal a mistaken or malicious rating (申诉); an operator decides."""
    actor = _task_actor(ui, session, rectification_id, "rectification.appeal")
    form = FormState.of((k, v) for k, v in posted.multi_items() if isinstance(v, str))
    ground = form.value("ground")
    if ground not in GROUNDS:
        form.add("ground", ui.gettext(CHOICE_MESSAGE))
    reason = _text(ui, form, "reason", limit=TEXT_MAX, required=True)
    return _task_step(
        ui,
        session,
        rectification_id,
        form,
        lambda: rectify.appeal(
            session,
            actor=actor,
            rectification_id=rectification_id,
            ground=AppealGround(ground),
            reason=reason,
        ),
        "appealed",
    )


# --- the operator: appeals -------------------------------------------------------------------


@router.get("/admin/appeals")
def appeals_page(ui: PageUi, session: DbSession) -> Response:
    """Appeals waiting for a decision, oldest due date first."""
    actor = _require(ui, identity.Role.ADMIN, "Appeals are decided by operators.")
    identity.authorize(actor, "appeal.decide")
    rows, total = rectify.list_rectifications(
        session, actor=actor, state=rectify.APPEALED, limit=100
    )
    return ui.render(
        "reviews/appeals.html",
        title=ui.gettext("Appeals against ratings"),
        items=rows,
        total=total,
        **_labels(ui),
    )


def _appeal_page(
    ui: Ui, session: DbSession, rectification_id: int, form: FormState, status_code: int = 200
) -> Response:
    _task_actor(ui, session, rectification_id, "appeal.decide")
    task = rectify.get_rectification(session, rectification_id=rectification_id)
    review = ratings.get_review(session, review_id=task.review_id)
    return ui.render(
        "reviews/appeal.html",
        title=ui.gettext("Decide the appeal"),
        task=task,
        review=review,
        form=form,
        status_code=status_code,
        **_labels(ui),
    )


@router.get("/admin/appeals/{rectification_id}")
def appeal_page(rectification_id: RowId, ui: PageUi, session: DbSession) -> Response:
    """One appeal: the rating, the department's ground and reason, and the decision form."""
    return _appeal_page(ui, session, rectification_id, ui.restored_form() or FormState())


@router.post("/admin/appeals/{rectification_id}")
def appeal_decide(
    rectification_id: RowId, ui: PageUi, session: DbSession, posted: PostedForm
) -> Response:
    """Uphold or reject the appeal, with the reason for the decision."""
    actor = _task_actor(ui, session, rectification_id, "appeal.decide")
    form = FormState.of((k, v) for k, v in posted.multi_items() if isinstance(v, str))
    decision = form.value("decision")
    if decision not in DECISIONS:
        form.add("decision", ui.gettext(CHOICE_MESSAGE))
    note = _text(ui, form, "note", limit=NOTE_MAX, required=True)
    if form.has_errors:
        return _appeal_page(ui, session, rectification_id, form, 422)
    try:
        with uow.attempt(session):
            rectify.decide_appeal(
                session,
                actor=actor,
                rectification_id=rectification_id,
                decision=AppealDecision(decision),
                note=note,
            )
    except Conflict:
        form.add("form", ui.gettext(CANNOT_NOW))
        return _appeal_page(ui, session, rectification_id, form, 409)
    return ui.redirect("/admin/appeals", notice="appeal_decided")
