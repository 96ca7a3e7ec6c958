"""The data tracker's demo: the demo citizen (王建国) finds real lines in 我的数据使用记录.

His pension transfer (企业职工基本养老保险关系转移接续) is filed online and accepted by the demo
official of 广安区社保局; the acceptance fetches his 参保 record from the exchange (the shell
hands in exchange's queueing, which runs after the commit); the official looks at his full
resident ID to check it; and 广安市民政局 uses his granted consent (consent/demo.py) to check his
housing for the 高龄津贴 it grants without an application. Everything goes through the services,
so the events write the lines (events.on_stored). Loading twice adds nothing: the case is filed
with a fixed idempotency key, and nothing else is done when it already exists.
"""

from __future__ import annotations

import io
from collections.abc import Callable

from pypdf import PdfWriter
from sqlalchemy.orm import Session

from tongban.cases import service as cases
from tongban.consent import checks
from tongban.consent.demo import DEMO_RESIDENT_ID, REQUESTS
from tongban.consent.tracker import note_event
from tongban.events import service as events
from tongban.identity import service as identity
from tongban.platform.config import Settings

PENSION_ITEM = "101110001000"  # 企业职工基本养老保险关系转移接续 (the exchange demo's agreement)
REGION = "511602"
IDEMPOTENCY_KEY = "demo-tracker-pension-transfer"
ID_PURPOSE = "与原参保地提供的转移凭证核对身份证号码"

# fetch(session, actor=, case_number=, settings=): queue what sharing allows for the case
# (exchange.fetch_at_acceptance); the shell runs the queue after the commit.
Fetch = Callable[..., object]


def _actor(session: Session, username: str) -> identity.Actor | None:
    view = identity.find_account_by_username(session, username=username)
    if view is None:
        return None
    role = identity.Role(view.role)
    staff = role in (identity.Role.OFFICIAL, identity.Role.STEWARD)
    return identity.Actor(
        account_id=view.id,
        username=view.username,
        role=role,
        department_id=view.department_id,
        jurisdiction=view.region_code if staff else None,
        department_code=view.department_code,
        display_name=view.display_name,
        identity_verified=view.identity_verified,
    )


def _pdf(title: str) -> bytes:
    """A one-page PDF (the scans the citizen would upload), titled so each file is its own."""
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": title})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def load_demo(session: Session, *, settings: Settings, fetch: Fetch | None) -> dict[str, int]:
    """Load the tracker's demo uses where absent; counts of what was added."""
    counts = {"tracker_demo_cases": 0}
    # The lines come from the events: make sure they are noted even when the demo is loaded
    # before the app or a CLI command registered the hook (tests' live servers do so).
    events.on_stored(note_event)
    citizen = _actor(session, "citizen")
    official = _actor(session, "official")
    if citizen is None or official is None:
        return counts
    materials = [
        cases.MaterialRef(
            name=name,
            sha256=cases.upload_file(
                session, actor=citizen, data=_pdf(name), settings=settings
            ).sha256,
        )
        for name in ("居民身份证", "《基本养老保险关系转移接续申请表》")
    ]
    case, created = cases.file_case(
        session,
        actor=citizen,
        data=cases.CaseCreate(
            item=PENSION_ITEM,
            region=REGION,
            form={
                "transfer_out": "广东省东莞市",
                "transfer_in": "四川省广安市广安区",
                "insured_since": "2005-07-01",
                "reason": "回户籍地养老，转移在东莞市缴纳的养老保险",
            },
            materials=materials,
        ),
        settings=settings,
        idempotency_key=IDEMPOTENCY_KEY,
    )
    if not created:
        return counts
    counts["tracker_demo_cases"] = 1
    cases.act_on_case(
        session,
        actor=official,
        number=case.number,
        action="accept",
        body=cases.ActionIn(version=cases.case_version(session, number=case.number)),
        settings=settings,
    )
    if fetch is not None:
        fetch(session, actor=official, case_number=case.number, settings=settings)
    cases.reveal_applicant_id(
        session, actor=official, number=case.number, purpose=ID_PURPOSE, settings=settings
    )
    # 民政局's proactive 高龄津贴 check under the consent 王建国 granted (no case: 免申即享).
    for code, spec, granted in REQUESTS:
        if granted:
            checks.check_and_use(
                session,
                actor=None,
                consumer_code=code,
                resource_code=str(spec["resource"]),
                item=str(spec["item"]),
                case_number="",
                resident_id=DEMO_RESIDENT_ID,
                fields=list(spec["fields"]),  # type: ignore[call-overload]
                settings=settings,
            )
    session.flush()
    return counts
