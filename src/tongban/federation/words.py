"""What federation tells people, in words the catalogs translate (babel extracts this file):
the refusal of an action on a tracking copy, and a second request while one waits.

A problem+json keeps the English `detail` (and the node in `errors`); a page shows the
translation of the same text (shell/web.error_page translates a detail it finds in the
catalog), which is why these texts carry no names or numbers.
"""

from __future__ import annotations

from tongban.platform.web.rendering import N_

COPY_HANDLED = N_(
    "This case is handled on the node of its competent authority; this node keeps a copy "
    "that follows it. Only a withdrawal or the papers asked for can be sent from here."
)
REQUEST_WAITING = N_(
    "A request for this case was sent to the node of its competent authority and is waiting "
    "for its answer."
)
COHANDLING_COPY = N_(
    "This case is handled on the node of its competent authority; this node only takes its "
    "co-handling step."
)
