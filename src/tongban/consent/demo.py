"""The consent demo: marriage and birth records need the person's consent outside the cases
whose law allows them, and the demo citizen (王建国) has one request waiting for an answer and
one consent granted. Loading twice changes nothing."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tongban.consent import checks, consents
from tongban.consent.models import Consent, ConsentRequirement
from tongban.consent.schemas import ConsentIn, RequirementIn
from tongban.identity import service as identity
from tongban.platform.config import Settings
from tongban.platform.db import utcnow

DEMO_RESIDENT_ID = "511602195003150119"  # 王建国, the demo citizen
REQUIREMENTS = (
    RequirementIn(
        resource="MZ-HYDJ-001",
        basis="婚姻登记信息属于个人敏感信息，用于婚姻登记以外的事项须经本人授权同意。",
    ),
    RequirementIn(
        resource="WJ-CSYX-001",
        basis="出生医学证明信息涉及个人健康信息，用于出生登记以外的事项须经本人授权同意。",
    ),
    RequirementIn(
        resource="ZR-BDC-001",
        basis="不动产登记信息用于核对家庭经济状况时须经本人授权同意。",
    ),
)
# (department code, request): the first waits for an answer, the second is granted.
REQUESTS = (
    (
        "12511602MB8188247W",  # 广安区社会保险事业管理局
        {
            "resource": "MZ-HYDJ-001",
            "fields": ["holder_name", "marital_status", "registered_on"],
            "purpose_code": "benefit-eligibility",
            "purpose_text": "核实婚姻状况，为您和配偶办理城乡居民养老保险关系转移接续",
            "item": "101110002000",  # 城乡居民基本养老保险关系转移接续
            "frequency_unit": "YEAR",
            "frequency_value": 1,
        },
        False,
    ),
    (
        "11511600MB01744074",  # 广安市民政局
        {
            "resource": "ZR-BDC-001",
            "fields": ["certificate_number", "location", "area"],
            "purpose_code": "proactive-service",
            "purpose_text": "核对家庭住房情况，主动为您办理高龄津贴（免申即享）",
            "item": "110050001000",  # 高龄津贴申领
            "frequency_unit": "MONTH",
            "frequency_value": 1,
        },
        True,
    ),
)


def load_demo(session: Session, *, settings: Settings) -> dict[str, int]:
    """Load what is missing of the consent demo; counts of what was added."""
    counts = {"consent_requirements": 0, "consents": 0}
    for requirement in REQUIREMENTS:
        if consents.describe_resource(session, requirement.resource) is None:
            continue  # the exchange's demo resources are not loaded
        known = session.scalar(
            select(func.count())
            .select_from(ConsentRequirement)
            .where(ConsentRequirement.resource_code == requirement.resource)
        )
        if not known:
            checks.set_requirement(session, actor=None, data=requirement)
            counts["consent_requirements"] += 1
    subject = identity.resident_id_lookup_hash(DEMO_RESIDENT_ID, settings=settings)
    now = utcnow()
    for code, spec, granted in REQUESTS:
        if consents.describe_resource(session, str(spec["resource"])) is None:
            continue
        held = session.scalar(
            select(Consent.id).where(
                Consent.subject_hash == subject,
                Consent.resource_code == spec["resource"],
                Consent.requester_code == code,
            )
        )
        if held is not None:
            continue
        department = identity.get_department_by_code(session, code=code)
        data = ConsentIn.model_validate(
            {
                **spec,
                "subject_resident_id": DEMO_RESIDENT_ID,
                "valid_from": now,
                "valid_until": now + timedelta(days=180),
            }
        )
        opened = consents.open_request(
            session, actor=None, department=department, data=data, settings=settings, now=now
        )
        if granted:
            row = session.scalar(select(Consent).where(Consent.uid == opened.id))
            assert row is not None
            consents.sign_and_grant(
                session,
                row,
                actor=None,
                via="online",
                settings=settings,
                on_behalf_of_id=None,
                now=now,
            )
        counts["consents"] += 1
    session.flush()
    return counts
