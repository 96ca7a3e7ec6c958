"""The twelve item types (事项类型, models.ItemType) in English, for pages in English mode.

The catalog stores the type as its Chinese name (the national standard's words); the pages
show it in the reader's language. The English follows the glossary's where it has the term
(行政许可 → Administrative licence) and the usual translations of the Administrative Licensing
and Administrative Procedure laws otherwise. A type not listed is shown as stored.
"""

from __future__ import annotations

from collections.abc import Callable

from tongban.catalog.models import ItemType
from tongban.platform.web.rendering import N_

LABELS: dict[str, str] = {
    ItemType.LICENSING: N_("Administrative licence"),
    ItemType.PENALTY: N_("Administrative penalty"),
    ItemType.COERCION: N_("Administrative enforcement"),
    ItemType.LEVY: N_("Administrative levy"),
    ItemType.BENEFIT: N_("Administrative benefit"),
    ItemType.INSPECTION: N_("Administrative inspection"),
    ItemType.CONFIRMATION: N_("Administrative confirmation"),
    ItemType.REWARD: N_("Administrative reward"),
    ItemType.ADJUDICATION: N_("Administrative adjudication"),
    ItemType.OTHER_POWER: N_("Other administrative power"),
    ItemType.PUBLIC_SERVICE: N_("Public service"),
    ItemType.FILING: N_("Administrative filing"),
}


def type_labels(locale: str, gettext: Callable[[str], str]) -> dict[str, str]:
    """Each type's name for a page in `locale`: the stored Chinese, or the English."""
    if locale != "en":
        return {str(k): str(k) for k in LABELS}
    return {str(k): gettext(v) for k, v in LABELS.items()}
