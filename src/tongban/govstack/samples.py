"""The sample state the GovStack conformance suite expects (govstack-registration-requirements):
four services, an eForm, two application files, two tasks and the registration MCTS, all
made through the domains' own rules (a catalog import, cases filed through the adapter).

Loading is idempotent: what exists is left as it is (a sample task once completed stays so).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.catalog import service as catalog
from tongban.govstack import service as govstack
from tongban.govstack.models import GovstackApplication, GovstackTaskId
from tongban.platform.config import Settings

CLIENT = "eGovStack/GOV/90000009/eregistrations-dev"
AUTHORITY = {"name": "深圳市卫生健康委员会（GovStack 示例）", "code": "11440300MB00010218"}
REGION = "440300"
APPLICANT = "42962de0-bdb2-11ed-9397-0242ac120004"

# (GovStack service id, eForm id, registration name, item code, Chinese name, English name,
#  form fields, materials)
_SERVICES: list[
    tuple[str, str | None, str | None, str, str, str, list[dict[str, Any]], list[dict[str, Any]]]
] = [
    (
        "f7d33db0-2809-484e-a780-76b7ccd4ecbf",
        None,
        "MCTS",
        "GOVSTACK-MCTS",
        "母婴健康登记",
        "Mother and Child Registration",
        [
            {"name": "mother_name", "label": "母亲姓名", "type": "text"},
            {"name": "child_name", "label": "婴儿姓名", "type": "text"},
            {"name": "child_birth_date", "label": "出生日期", "type": "date"},
        ],
        [{"name": "出生医学证明", "required": "no", "format": ["copy"], "source": "applicant"}],
    ),
    (
        "P2c9280957e579ad7017e58a3399f0068",
        "d98a205a-679b-485b-823d-7a32a391e744",
        None,
        "GOVSTACK-HEALTH",
        "健康福祉服务登记",
        "Good Health and Well-Being",
        [
            {"name": "first_name", "label": "名", "type": "text"},
            {"name": "last_name", "label": "姓", "type": "text"},
            {"name": "date_of_birth", "label": "出生日期", "type": "date"},
            {
                "name": "programme",
                "label": "项目",
                "type": "choice",
                "choices": ["孕产妇保健", "儿童保健", "慢病管理"],
            },
        ],
        [],
    ),
    (
        "3f0c6f8e-5b1d-4a52-9a7e-2b6a0c9d1e41",
        None,
        None,
        "GOVSTACK-INFRA",
        "工业与基础设施项目登记",
        "Industry and Infrastructure",
        [{"name": "project_name", "label": "项目名称", "type": "text"}],
        [],
    ),
    (
        "9b7e2d14-6c3a-4f8b-8d21-5e4f3a2b1c07",
        None,
        None,
        "GOVSTACK-HUNGER",
        "零饥饿救助登记",
        "Zero Hunger",
        [{"name": "household_size", "label": "家庭人口", "type": "number"}],
        [],
    ),
]

# (file id, service id, application name); (task id, file id, step).
_FILES = [
    ("81c4445c-bff6-11ed-afa1-0242ac120002", "f7d33db0-2809-484e-a780-76b7ccd4ecbf", "Amya Yuko"),
    ("b8508d35-c2f3-442b-88a1-267ca25e85c0", "P2c9280957e579ad7017e58a3399f0068", "Amya Yuko"),
]
_TASKS = [
    ("81c4445c-bff6-11ed-afa1-0242ac120002", "81c4445c-bff6-11ed-afa1-0242ac120002", "accept"),
    ("d1e33d56-c5c7-4272-aeb6-bc2732cce1f2", "b8508d35-c2f3-442b-88a1-267ca25e85c0", "accept"),
]


def _implementation(code: str, fields: list[Any], materials: list[Any]) -> dict[str, Any]:
    return {
        "code": f"{REGION}-{code}-01",
        "region": REGION,
        "authority": AUTHORITY,
        "body_nature": "法定机关",
        "power_source": 1,
        "exercise_level": "市",
        "business_type": "新办",
        "case_type": "承诺件",
        "statutory_limit": {"value": 20, "unit": "working_days", "note": ""},
        "promised_limit": {"value": 10, "unit": "working_days", "note": ""},
        "fees": [],
        "visits": 0,
        "online_depth": 6,
        "tongban_range": "全市",
        "handling_forms": ["网上办理"],
        "acceptance_conditions": "GovStack 示例服务：申请材料齐全即予受理。",
        "handling_flow": "网上申报→受理→审核决定→办结",
        "result": {"type": "证明", "name": "登记回执"},
        "co_handlers": [],
        "form_fields": fields,
        "materials": materials,
    }


def catalog_document() -> dict[str, Any]:
    """The sample services as a catalog exchange document (docs/catalog-format.md)."""
    return {
        "version": 1,
        "items": [
            {
                "code": code,
                "name": name,
                "name_en": name_en,
                "type": "公共服务",
                "department": "卫生健康部门",
                "legal_basis": "GovStack Registration building block conformance samples.",
                "service_objects": ["自然人"],
                "keywords": ["GovStack"],
                "cross_province": False,
                "description": f"GovStack sample service: {name_en}.",
                "implementations": [_implementation(code, fields, materials)],
            }
            for _, _, _, code, name, name_en, fields, materials in _SERVICES
        ],
    }


def load_samples(session: Session, *, settings: Settings) -> dict[str, int]:
    """Load the conformance suite's sample state where absent; counts of what is there."""
    if any(catalog.item_name(session, service[3]) is None for service in _SERVICES):
        catalog.import_document(session, data=catalog_document(), source="govstack-samples")
    for service_id, eform_id, registration, code, *_ in _SERVICES:
        govstack.publish_service(
            session,
            implementation_code=f"{REGION}-{code}-01",
            service_id=service_id,
            eform_id=eform_id,
            registration_name=registration,
        )
    client = govstack.add_client(
        session, client=CLIENT, department_code=AUTHORITY["code"], default=True, settings=settings
    )
    for file_id, service_id, name in _FILES:
        exists = session.scalar(
            select(GovstackApplication.id).where(GovstackApplication.file_id == file_id)
        )
        if exists is None:
            govstack.file_application(
                session,
                client=client,
                service_id=service_id,
                body={"applicantId": APPLICANT, "applicationName": name},
                settings=settings,
                file_id=file_id,
            )
    for task_id, file_id, step in _TASKS:
        if session.scalar(select(GovstackTaskId.id).where(GovstackTaskId.task_id == task_id)):
            continue
        number = session.scalar(
            select(GovstackApplication.case_number).where(GovstackApplication.file_id == file_id)
        )
        session.add(GovstackTaskId(task_id=task_id, case_number=str(number), step=step))
        session.flush()
    return {"services": len(_SERVICES), "applications": len(_FILES), "tasks": len(_TASKS)}
