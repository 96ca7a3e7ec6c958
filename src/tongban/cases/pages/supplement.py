"""The 补正 forms (一次性告知): the official ticks the missing lines of the checklist and names
extra items, each with a note; the applicant answers item by item (files and/or an
explanation), in as many rounds as they need; the official accepts an explanation or asks for
an item again. No JavaScript: plain checkboxes, file inputs and radio buttons."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.datastructures import UploadFile as FormFile

from tongban.cases.pages.common import _store_upload
from tongban.cases.schemas import CaseRead, ChecklistLine
from tongban.platform.config import Settings
from tongban.platform.web.deps import DbSession
from tongban.platform.web.rendering import N_, NOTICES, FormState, Ui

SUPPLEMENT_ACTIONS = ("request-supplement", "supplement", "review-supplement")
# Rows for extra items (off the checklist) on the request form; more can be asked next time.
EXTRA_ROWS = 3
MAX_FILES_PER_ITEM = 10

NOTICES.update(
    supplied_partly=N_("Your answers are saved. The clock runs again once every item is answered."),
)
NOTHING_PICKED = N_("Tick at least one paper, or name an extra item.")
EXTRA_NAME_NEEDED = N_("Name the extra item this note is for.")
TOO_LONG = N_("This is too long. Keep it shorter.")
NOTHING_ANSWERED = N_("Attach a file or write an explanation for at least one item.")
TOO_MANY_FILES = N_("Attach at most 10 files to one item.")
NOTHING_REVIEWED = N_("For at least one item, accept the answer or ask for it again.")
ITEM_STATES: dict[str, str] = {
    "requested": N_("Asked for"),
    "sent": N_("Sent"),
    "explained": N_("Explained, waiting for the official"),
    "accepted": N_("Explanation accepted"),
}


def item_state(item: Any) -> str:
    """Which of ITEM_STATES an item is in (an answer with files is sent; one without waits)."""
    if item.state == "answered":
        return "sent" if item.files else "explained"
    return str(item.state)


def supplement_context(ui: Ui, read: CaseRead) -> dict[str, Any]:
    """What the 补正 templates need: the lines the official may tick, the item labels."""
    return {
        "request_lines": request_lines(read),
        "extra_rows": range(1, EXTRA_ROWS + 1),
        "item_states": {k: ui.gettext(v) for k, v in ITEM_STATES.items()},
        "item_state": item_state,
    }


def request_lines(read: CaseRead) -> list[ChecklistLine]:
    """The checklist lines an official may ask for (government-held papers are shared)."""
    return [line for line in read.checklist if line.source != "government"]


def supplement_aliases() -> dict[str, str]:
    """Where the service's field errors show on the forms."""
    aliases = {"items": "items", "answers": "answers", "reviews": "reviews"}
    for k in range(100):
        aliases[f"items[{k}].name"] = "items"
        aliases[f"answers[{k}]"] = "answers"
        aliases[f"answers[{k}].item"] = "answers"
        aliases[f"reviews[{k}].item"] = "reviews"
        aliases[f"reviews[{k}].decision"] = "reviews"
        for n in range(MAX_FILES_PER_ITEM):
            aliases[f"answers[{k}].files[{n}]"] = "answers"
    return aliases


def _text(ui: Ui, values: dict[str, str], name: str, form: FormState, limit: int) -> str | None:
    value = values.get(name, "").strip()
    if len(value) > limit:
        form.add(name, ui.gettext(TOO_LONG))
        return None
    return value or None


def supplement_body(
    ui: Ui,
    session: DbSession,
    settings: Settings,
    *,
    action: str,
    read: CaseRead,
    posted: FormData,
    form: FormState,
) -> dict[str, Any]:
    """The request's items, the round's answers or the review, from the posted form; problems
    go on the form (in the user's language) and nothing is sent."""
    values = {k: v for k, v in posted.multi_items() if isinstance(v, str)}
    if action == "request-supplement":
        return {"items": _posted_items(ui, read, values, form) or None}
    if action == "supplement":
        return {"answers": _posted_answers(ui, session, settings, read, posted, values, form)}
    return {"reviews": _posted_reviews(ui, read, values, form)}


def _posted_items(
    ui: Ui, read: CaseRead, values: dict[str, str], form: FormState
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    names = {line.name for line in request_lines(read)}
    for index, line in enumerate(request_lines(read), start=1):
        if values.get(f"pick-{index}") != line.name or line.name not in names:
            continue
        note = _text(ui, values, f"pick_note-{index}", form, 4000)
        items.append({"name": line.name, "origin": "checklist", "note": note})
    for row in range(1, EXTRA_ROWS + 1):
        name = _text(ui, values, f"extra-{row}", form, 200)
        note = _text(ui, values, f"extra_note-{row}", form, 4000)
        if name:
            items.append({"name": name, "origin": "extra", "note": note})
        elif note:
            form.add(f"extra-{row}", ui.gettext(EXTRA_NAME_NEEDED))
    if not items and not form.has_errors:
        form.add("items", ui.gettext(NOTHING_PICKED))
    return items


def _posted_answers(
    ui: Ui,
    session: DbSession,
    settings: Settings,
    read: CaseRead,
    posted: FormData,
    values: dict[str, str],
    form: FormState,
) -> list[dict[str, Any]]:
    answers: list[dict[str, Any]] = []
    for item in read.supplement_items:
        if item.state == "accepted":
            continue
        field = f"file-{item.id}"
        chosen = [f for f in posted.getlist(field) if isinstance(f, FormFile) and f.filename]
        if len(chosen) > MAX_FILES_PER_ITEM:
            form.add(field, ui.gettext(TOO_MANY_FILES))
            continue
        files = [
            sha
            for sha in (_store_upload(ui, session, settings, f, form, field) for f in chosen)
            if sha is not None
        ]
        explanation = _text(ui, values, f"explanation-{item.id}", form, 4000)
        if files or explanation:
            answers.append({"item": item.id, "files": files, "explanation": explanation})
    if not answers and not form.has_errors:
        form.add("answers", ui.gettext(NOTHING_ANSWERED))
    return answers


def _posted_reviews(
    ui: Ui, read: CaseRead, values: dict[str, str], form: FormState
) -> list[dict[str, Any]]:
    reviews: list[dict[str, Any]] = []
    for item in read.supplement_items:
        decision = values.get(f"decision-{item.id}", "")
        if decision not in ("accept", "again"):
            continue
        note = _text(ui, values, f"again_note-{item.id}", form, 4000)
        reviews.append({"item": item.id, "decision": decision, "note": note})
    if not reviews and not form.has_errors:
        form.add("reviews", ui.gettext(NOTHING_REVIEWED))
    return reviews
