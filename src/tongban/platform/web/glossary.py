"""The words of government services, explained: the glossary (/glossary) and `term()`.

One table: each term in Chinese and English with a plain one-sentence explanation (a gettext
message: English id, Chinese in the catalog). Pages explain a term inline, without hovering or
JavaScript: the first time a page shows it, `term('特别程序')` renders the term with its
explanation in a <small> and a link to its entry in the glossary; later on the same page, the
term alone. The glossary page lists every entry with an anchor (/glossary#special-procedure).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup


def N_(message: str) -> str:
    """Mark a string for extraction (rendering imports this module: no import back)."""
    return message


@dataclass(frozen=True)
class Term:
    """One glossary entry: the Chinese term, its English name and a plain explanation."""

    zh: str
    en: str
    slug: str  # the anchor on /glossary
    explanation: str


TERMS: tuple[Term, ...] = (
    Term(
        "受理",
        N_("Acceptance"),
        "acceptance",
        N_(
            "The department checks that your application is complete and takes it on; the "
            "time limit starts on that day."
        ),
    ),
    Term(
        "补正",
        N_("Supplying missing papers"),
        "supplement",
        N_(
            "The department asks you to add or correct papers; the time limit stops until "
            "you have answered."
        ),
    ),
    Term(
        "特别程序",
        N_("Special procedure"),
        "special-procedure",
        N_(
            "Extra steps the law allows, such as an expert review, a hearing or an "
            "inspection; the days they take do not count towards the time limit."
        ),
    ),
    Term(
        "承诺时限",
        N_("Promised time limit"),
        "promised-limit",
        N_(
            "The number of working days within which the department promises to finish; "
            "usually shorter than the legal limit."
        ),
    ),
    Term(
        "法定时限",
        N_("Legal time limit"),
        "legal-limit",
        N_("The longest time the law allows the department to take."),
    ),
    Term(
        "工作日",
        N_("Working day"),
        "working-day",
        N_(
            "A day government offices are open: Monday to Friday except public holidays, "
            "plus the weekend days the official calendar makes working days."
        ),
    ),
    Term(
        "办结",
        N_("Completion"),
        "completion",
        N_("The case is finished and its result is ready."),
    ),
    Term(
        "行政许可",
        N_("Administrative licence"),
        "licensing",
        N_(
            "A department's permission that you need before you may do something, such as "
            "run a food business."
        ),
    ),
    Term(
        "行政给付",
        N_("Administrative benefit"),
        "benefit",
        N_(
            "Money or help the government gives to people who qualify, such as a pension or "
            "a minimum living allowance."
        ),
    ),
    Term(
        "行政确认",
        N_("Administrative confirmation"),
        "confirmation",
        N_(
            "The government checks and records a fact about you, such as a birth, a marriage "
            "or where your household is registered."
        ),
    ),
    Term(
        "公共服务",
        N_("Public service"),
        "public-service",
        N_(
            "Something the government does for anyone who asks, such as issuing a card or a "
            "certificate, without deciding on a right."
        ),
    ),
    Term(
        "行政备案",
        N_("Administrative filing"),
        "filing",
        N_("You tell a department about something; it records it and does not approve it."),
    ),
    Term(
        "一件事",
        N_("One-thing service"),
        "one-thing",
        N_(
            "Several related services applied for together: one form, one set of papers and "
            "one time limit."
        ),
    ),
    Term(
        "收受分离",
        N_("Filing here, deciding there"),
        "receive-here-decide-there",
        N_(
            "You hand in your application where you are; the competent department, which may "
            "be in another place, decides on it."
        ),
    ),
    Term(
        "帮办/代办",
        N_("Assisted or proxy filing"),
        "assisted-filing",
        N_("A clerk at a service point (帮办) or a relative you authorise (代办) applies for you."),
    ),
    Term(
        "存证凭据",
        N_("Ledger proof"),
        "ledger-proof",
        N_(
            "A record that this step was written into a public log that cannot be changed "
            "unnoticed, so anyone can check later that it happened."
        ),
    ),
    Term(
        "电子证照",
        N_("E-licence"),
        "e-licence",
        N_(
            "The electronic form of a licence or certificate, valid like the paper one and "
            "kept in your account."
        ),
    ),
    Term(
        "好差评",
        N_("Service rating"),
        "rating",
        N_(
            "After your case you rate the service from very satisfied to very dissatisfied; "
            "a bad rating must be followed up."
        ),
    ),
    Term(
        "整改",
        N_("Rectification"),
        "rectification",
        N_("The department fixes what caused a bad rating and tells you what it did."),
    ),
)
BY_ZH: dict[str, Term] = {t.zh: t for t in TERMS}
# The item types (事项类型) the catalog names, looked up by their Chinese name.
BY_ZH.update({part: t for t in TERMS if "/" in t.zh for part in t.zh.split("/")})

MORE = N_("Glossary")
# An explanation set apart from the term: "特别程序：法律允许的额外环节…".
NAMED = N_("%(term)s: %(explanation)s")
# Said before the term, for screen readers: many links read "Glossary" on one page.
MORE_ABOUT = N_("Glossary: %(term)s")
_SEEN = "glossary_seen"


def _gettext(ui: Any) -> Any:
    return ui.gettext if ui is not None else (lambda message: message)


def _seen(ui: Any) -> set[str] | None:
    """The terms this page has explained already (kept on the request: includes and macros
    share it), or None when there is no request (then every use explains)."""
    request = getattr(ui, "request", None)
    if request is None:
        return None
    state = request.state
    if not hasattr(state, _SEEN):
        setattr(state, _SEEN, set())
    seen: set[str] = getattr(state, _SEEN)
    return seen


def label(term: Term, ui: Any) -> Markup:
    """The term as the page's language says it: the Chinese term, or the English name with the
    Chinese term after it (an English reader meets the Chinese one on paper)."""
    if getattr(ui, "locale", "zh_CN") == "en":
        return Markup('{} (<span lang="zh-CN">{}</span>)').format(_gettext(ui)(term.en), term.zh)
    return Markup("{}").format(term.zh)


def note(term: Term, ui: Any, *, named: bool = False) -> Markup:
    """The inline explanation: one sentence and a link to the glossary entry; `named` puts the
    term before it (when the explanation stands apart from the words it explains)."""
    gettext = _gettext(ui)
    explanation = gettext(term.explanation)
    if named:
        explanation = Markup(gettext(NAMED)) % {"term": label(term, ui), "explanation": explanation}
    return Markup(
        '<small class="term-note">{explanation} <a href="/glossary#{slug}" aria-label="{about}">'
        "{more}</a></small>"
    ).format(
        explanation=explanation,
        slug=term.slug,
        about=gettext(MORE_ABOUT) % {"term": gettext(term.en)},
        more=gettext(MORE),
    )


@pass_context
def term(context: Context, zh: str, text: str | None = None, *, only_note: bool = False) -> Markup:
    """A term with its explanation the first time a page uses it, the term alone after that.

    `text` replaces the term's label (e.g. a state's wording that contains the term);
    `only_note` renders only the explanation (for a term already shown by other words), and
    nothing when the page has explained it. An unknown term is shown as given."""
    ui = context.get("ui")
    entry = BY_ZH.get(zh)
    shown = Markup("{}").format(text) if text is not None else None
    if entry is None:
        if only_note:
            return Markup("")
        if shown is None and getattr(ui, "locale", "zh_CN") == "en":
            return Markup('<span lang="zh-CN">{}</span>').format(zh)
        return shown or Markup("{}").format(zh)
    shown = shown or label(entry, ui)
    seen = _seen(ui)
    first = seen is None or entry.slug not in seen
    if seen is not None:
        seen.add(entry.slug)
    if only_note:
        return note(entry, ui, named=True) if first else Markup("")
    if not first:
        return Markup('<span class="term">{}</span>').format(shown)
    return Markup('<span class="term">{}</span> {}').format(shown, note(entry, ui))
