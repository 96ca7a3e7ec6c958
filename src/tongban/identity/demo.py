"""Demo accounts: one per role, plus a relative holding a proxy for the elderly citizen."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from tongban.identity import proxies
from tongban.identity.accounts import create_account, find_account_by_username
from tongban.identity.departments import ensure_department
from tongban.identity.policy import Role
from tongban.identity.resident_id import make_resident_id, make_uscc
from tongban.platform.config import Settings

DEMO_PASSWORD = "tongban-demo"
# The demo official works at the authority that the seed catalog names for the migrant-worker
# story (pension transfer, 511602 广安区), so a clerk's submission in Shenzhen lands in their
# queue. 1 = staffing authority, 2 = public institution, 511602 = 广安区; the check character
# is computed so the (illustrative) code passes GB 32100.
DEMO_DEPARTMENT_CODE = make_uscc(body="12511602MB8188247")
DEMO_DEPARTMENT_NAME = "广安市广安区社会保险事业管理局"
DEMO_CITIZEN_ID = make_resident_id(region_code="511602", birth=date(1950, 3, 15), sequence=11)
DEMO_RELATIVE_ID = make_resident_id(region_code="511602", birth=date(1978, 6, 20), sequence=22)

_ACCOUNTS: tuple[dict[str, Any], ...] = (
    {
        "username": "citizen",
        "role": Role.CITIZEN,
        "display_name": "王建国",
        "phone": "13800000001",
        "resident_id": DEMO_CITIZEN_ID,
    },
    {
        "username": "relative",
        "role": Role.CITIZEN,
        "display_name": "王丽",
        "phone": "13800000002",
        "resident_id": DEMO_RELATIVE_ID,
    },
    {
        "username": "clerk",
        "role": Role.CLERK,
        "display_name": "南山区便民服务中心 李敏",
        "region_code": "440305",
    },
    {
        "username": "official",
        "role": Role.OFFICIAL,
        "display_name": "广安区社保局 刘强",
        "department_code": DEMO_DEPARTMENT_CODE,
        "region_code": "511602",
    },
    # A colleague in the same department: a case can be handed to someone (issue #14).
    {
        "username": "official2",
        "role": Role.OFFICIAL,
        "display_name": "广安区社保局 赵敏",
        "department_code": DEMO_DEPARTMENT_CODE,
        "region_code": "511602",
    },
    {
        "username": "steward",
        "role": Role.STEWARD,
        "display_name": "数据管理员 陈静",
        "region_code": "511600",
    },
    {"username": "admin", "role": Role.ADMIN, "display_name": "平台管理员"},
)


def create_demo_accounts(session: Session, *, settings: Settings) -> int:
    """Create the demo accounts that are missing (idempotent); returns how many were made."""
    ensure_department(
        session, code=DEMO_DEPARTMENT_CODE, name=DEMO_DEPARTMENT_NAME, region_code="511602"
    )
    created = 0
    for spec in _ACCOUNTS:
        if find_account_by_username(session, username=spec["username"]) is not None:
            continue
        create_account(session, password=DEMO_PASSWORD, settings=settings, channel="system", **spec)
        created += 1
    citizen = find_account_by_username(session, username="citizen")
    relative = find_account_by_username(session, username="relative")
    if citizen is not None and relative is not None:
        held = proxies.list_proxies(session, principal_id=citizen.id, include_inactive=False)
        if not any(p.agent_id == relative.id for p in held):
            grant = proxies.grant_proxy(
                session,
                principal_id=citizen.id,
                agent_id=relative.id,
                relation=proxies.Relation.CHILD,
                scope=proxies.ALL_ITEMS,
                channel="system",
            )
            # The daughter has accepted it: the demo shows a proxy in force.
            proxies.confirm_proxy(
                session, proxy_id=grant.id, agent_id=relative.id, channel="system"
            )
    return created
