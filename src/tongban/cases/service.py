"""Cases rules (办件): other domains import cases only through this module.

The work is split by sub-domain: states.py (the transition table), clocks.py (working-day
deadlines), materials.py (upload checks, blob store), intake.py (uploads, submission, routing),
handling.py (transitions), queries.py (reads, queue), receipts.py, notify.py.

Case numbers: `{node_region}-{yyyymmdd}-{12 Crockford base32}` (e.g. 440300-20260302-7KQ2M9XD4HZT):
the node's region code keeps them unique across nodes, the Asia/Shanghai date helps people, and
60 random bits make them non-guessable and reveal no volumes. Sub-cases of a bundle append
`-01`, `-02`... to the bundle's number.

Bundles (一件事): one submission (one form, one set of materials) makes a parent case
(kind "bundle", state in_progress, in no queue) and one sub-case per component routed to its
own department; each sub-case gets the materials its checklist names. When every sub-case has
finished, the parent becomes `completed` if all were completed with approval, otherwise
`partially_completed` (some refused, rejected or withdrawn); the parent takes no actions.

Materials: required materials must be attached, except those from government sources
(`source: government`, obtainable by sharing, which must not be collected again).
"""

from __future__ import annotations

from tongban.cases.clocks import SHANGHAI, Deadlines, deadlines, limit_due, local_date, urgency
from tongban.cases.handling import act, authorize_action, authorize_read, get_case, recompute
from tongban.cases.intake import (
    Offer,
    Submission,
    blob_store,
    check_materials,
    file_application,
    find_offer,
    new_case_number,
    submit,
    upload,
)
from tongban.cases.materials import BlobStore, Detected, inspect, sniff
from tongban.cases.models import Case, CaseMaterial, CasePause, CaseStep, Message, Upload
from tongban.cases.notify import list_messages, mark_read
from tongban.cases.queries import (
    case_for_receipt,
    describe_case,
    may_reveal_applicant_id,
    my_cases,
    open_material,
    queue,
    read_case,
    receipt_facts,
    reveal_applicant_id,
)
from tongban.cases.receipts import qr_svg, receipt_html, receipt_pdf, tracking_url
from tongban.cases.states import (
    FINAL_STATES,
    OPEN_STATES,
    TRANSITIONS,
    Action,
    Clock,
    Party,
    State,
    Transition,
    transition,
)

__all__ = [
    "FINAL_STATES",
    "OPEN_STATES",
    "SHANGHAI",
    "TRANSITIONS",
    "Action",
    "BlobStore",
    "Case",
    "CaseMaterial",
    "CasePause",
    "CaseStep",
    "Clock",
    "Deadlines",
    "Detected",
    "Message",
    "Offer",
    "Party",
    "State",
    "Submission",
    "Transition",
    "Upload",
    "act",
    "authorize_action",
    "authorize_read",
    "blob_store",
    "case_for_receipt",
    "check_materials",
    "deadlines",
    "describe_case",
    "file_application",
    "find_offer",
    "get_case",
    "inspect",
    "limit_due",
    "list_messages",
    "local_date",
    "mark_read",
    "may_reveal_applicant_id",
    "my_cases",
    "new_case_number",
    "open_material",
    "qr_svg",
    "queue",
    "read_case",
    "receipt_facts",
    "receipt_html",
    "receipt_pdf",
    "recompute",
    "reveal_applicant_id",
    "sniff",
    "submit",
    "tracking_url",
    "transition",
    "upload",
    "urgency",
]
