"""The words of a decision by the item's type (事项类型), as one table.

准予许可 / 不予许可 is what a licence (行政许可) is granted or refused with; a benefit is paid or
not (准予给付 / 不予给付), a status confirmed or not (予以确认 / 不予确认), a filing accepted or not
(予以备案 / 不予备案), and every other service is done or not done (准予办理 / 不予办理). The
buttons, the confirmation on the decision form, the state shown afterwards, the notice after the
action and the applicant's message all come from the same row, so they always agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from tongban.catalog import service as catalog
from tongban.platform.db.uow import transaction_memo
from tongban.platform.errors import NotFound
from tongban.platform.web.rendering import N_


@dataclass(frozen=True)
class DecisionWords:
    """How one kind of item is granted and refused: UI msgids, and the Chinese of the message
    the applicant gets (SMS and in-app messages are written in Chinese, notify.TEXTS)."""

    key: str
    approve: str  # the button and the form's title
    reject: str
    approved: str  # the state once decided
    rejected: str
    confirm_approve: str  # what the form says before the official commits
    confirm_reject: str
    done_approve: str  # the notice after the action
    done_reject: str
    granted_zh: str  # the applicant's message: 您的办件…已{granted_zh}。
    refused_zh: str


def _words(key: str, granted_zh: str, refused_zh: str, **msgids: str) -> DecisionWords:
    return DecisionWords(key=key, granted_zh=granted_zh, refused_zh=refused_zh, **msgids)


LICENCE = _words(
    "licence",
    "准予许可",
    "不予许可",
    approve=N_("Grant the licence (准予许可)"),
    reject=N_("Refuse the licence (不予许可)"),
    approved=N_("Licence granted"),
    rejected=N_("Licence refused"),
    confirm_approve=N_("You grant the licence: the applicant is told 准予许可."),
    confirm_reject=N_("You refuse the licence: the applicant is told 不予许可 and why."),
    done_approve=N_("Done: the licence is granted (准予许可)."),
    done_reject=N_("Done: the licence is refused (不予许可)."),
)
BENEFIT = _words(
    "benefit",
    "准予给付",
    "不予给付",
    approve=N_("Grant the benefit (准予给付)"),
    reject=N_("Refuse the benefit (不予给付)"),
    approved=N_("Benefit granted"),
    rejected=N_("Benefit refused"),
    confirm_approve=N_("You grant the benefit: the applicant is told 准予给付."),
    confirm_reject=N_("You refuse the benefit: the applicant is told 不予给付 and why."),
    done_approve=N_("Done: the benefit is granted (准予给付)."),
    done_reject=N_("Done: the benefit is refused (不予给付)."),
)
CONFIRMATION = _words(
    "confirmation",
    "予以确认",
    "不予确认",
    approve=N_("Confirm (予以确认)"),
    reject=N_("Do not confirm (不予确认)"),
    approved=N_("Confirmed"),
    rejected=N_("Not confirmed"),
    confirm_approve=N_("You confirm: the applicant is told 予以确认."),
    confirm_reject=N_("You do not confirm: the applicant is told 不予确认 and why."),
    done_approve=N_("Done: confirmed (予以确认)."),
    done_reject=N_("Done: not confirmed (不予确认)."),
)
FILING = _words(
    "filing",
    "予以备案",
    "不予备案",
    approve=N_("Accept the filing (予以备案)"),
    reject=N_("Refuse the filing (不予备案)"),
    approved=N_("Filing accepted"),
    rejected=N_("Filing refused"),
    confirm_approve=N_("You accept the filing: the applicant is told 予以备案."),
    confirm_reject=N_("You refuse the filing: the applicant is told 不予备案 and why."),
    done_approve=N_("Done: the filing is accepted (予以备案)."),
    done_reject=N_("Done: the filing is refused (不予备案)."),
)
SERVICE = _words(
    "service",
    "准予办理",
    "不予办理",
    approve=N_("Grant the application (准予办理)"),
    reject=N_("Refuse the application (不予办理)"),
    approved=N_("Granted"),
    rejected=N_("Not granted"),
    confirm_approve=N_("You grant the application: the applicant is told 准予办理."),
    confirm_reject=N_("You refuse the application: the applicant is told 不予办理 and why."),
    done_approve=N_("Done: the application is granted (准予办理)."),
    done_reject=N_("Done: the application is refused (不予办理)."),
)

# Item type (catalog ItemType values) -> its words; any type not listed is a service.
BY_ITEM_TYPE: dict[str, DecisionWords] = {
    "行政许可": LICENCE,
    "行政给付": BENEFIT,
    "行政确认": CONFIRMATION,
    "行政备案": FILING,
}
ALL_WORDS = (LICENCE, BENEFIT, CONFIRMATION, FILING, SERVICE)


def words_for(item_type: str | None) -> DecisionWords:
    """The decision words of an item type (准予办理 / 不予办理 when unknown)."""
    return BY_ITEM_TYPE.get(item_type or "", SERVICE)


def words_of_item(session: Session, item_code: str | None) -> DecisionWords:
    """The decision words of a case's item, by its type in the catalog (a case whose item left
    the catalog, or a bundle, gets the service words)."""
    if not item_code:
        return SERVICE
    memo = transaction_memo(session)
    key = f"item_type:{item_code}"
    if key not in memo:
        try:
            memo[key] = catalog.get_item(session, code=item_code).type
        except NotFound:
            memo[key] = None
    return words_for(memo[key])
