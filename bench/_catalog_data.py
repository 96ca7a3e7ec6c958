"""Synthetic catalogs for the catalog benchmarks: real region codes, plausible item names."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path
from typing import Any

from tongban.identity import service as identity
from tongban.platform.db import Database, upgrade_database
from tongban.regions import service as regions

SUBJECTS = [
    "社会保障卡", "电子社会保障卡", "住房公积金", "机动车驾驶证", "居民身份证", "营业执照",
    "基本养老保险关系", "基本医疗保险", "出生医学证明", "户口", "不动产抵押", "排污许可证",
    "食品经营许可证", "建筑施工许可证", "药品经营许可证", "道路运输经营许可证", "渔业捕捞许可证",
    "学历公证", "职业资格证书", "失业保险金", "残疾人证", "无犯罪记录证明", "异地就医备案",
    "结婚登记", "出入境证件", "律师执业证", "教师资格", "医师执业注册", "护士执业注册",
    "二手车交易登记", "城乡居民养老保险", "工伤认定", "生育津贴", "高龄津贴", "低保",
]  # fmt: skip
ACTIONS = ["申领", "补领", "换领", "变更登记", "注销", "转移接续", "核发", "备案", "提取", "查询"]
VARIANTS = ["", "（个人）", "（单位）", "（异地）"]
TYPES = ["公共服务", "行政许可", "行政确认", "行政给付", "行政备案"]
RANGES = ["全国", "跨省", "全省", "全市", "全县", "定点办理"]


def fresh_database() -> tuple[Database, Path]:
    """A migrated temporary SQLite file database with the built-in regions."""
    folder = Path(tempfile.mkdtemp(prefix="tongban-bench-"))
    url = f"sqlite:///{folder / 'bench.db'}"
    upgrade_database(url)
    database = Database(url)
    with database.session_scope() as session:
        regions.load_builtin(session)
    return database, folder


def region_codes(province: str = "51") -> list[str]:
    """Real codes of one province's divisions (a node serves one province: DESIGN.md)."""
    return [row["code"] for row in regions.builtin_rows() if row["code"].startswith(province)]


def document(*, implementations: int = 5000, per_item: int = 5, seed: int = 7) -> dict[str, Any]:
    """A catalog document with about `implementations` implementations over real regions."""
    rng = random.Random(seed)
    codes = region_codes()
    names = [f"{s}{a}{v}" for s in SUBJECTS for a in ACTIONS for v in VARIANTS]
    rng.shuffle(names)
    items = []
    count = 0
    for n, name in enumerate(names):
        if count >= implementations:
            break
        impls = []
        for k in range(min(per_item, implementations - count)):
            region = rng.choice(codes)
            # Three departments per division (人社, 公安, 市场监管), as in a real province.
            bureau = rng.randint(0, 2)
            statutory = rng.randint(5, 30)
            impls.append(
                {
                    "code": f"{region}-{n:06d}-{k:02d}",
                    "region": region,
                    "authority": {
                        "name": f"{region}第{bureau}局",
                        "code": identity.make_uscc(body=f"11{region}MB{bureau:07d}"),
                    },
                    "power_source": rng.randint(1, 6),
                    "exercise_level": rng.choice(["省", "市", "县"]),
                    "case_type": rng.choice(["即办件", "承诺件"]),
                    "statutory_limit": {"value": statutory, "unit": "working_days"},
                    "promised_limit": {"value": rng.randint(0, statutory), "unit": "working_days"},
                    "visits": rng.randint(0, 2),
                    "online_depth": rng.randint(1, 7),
                    "tongban_range": rng.choice(RANGES),
                    "handling_forms": ["窗口办理", "网上办理"],
                    "materials": [
                        {"name": "居民身份证", "required": True, "format": ["original"]},
                        {"name": "申请表", "required": True, "format": ["electronic"]},
                    ],
                    "fees": [{"name": "工本费", "amount": 20}] if rng.random() < 0.2 else [],
                }
            )
        count += len(impls)
        items.append(
            {
                "code": f"BENCH{n:07d}",
                "name": name,
                "type": rng.choice(TYPES),
                "department": rng.choice(
                    ["人力资源和社会保障部门", "公安部门", "市场监督管理部门"]
                ),
                "legal_basis": "《中华人民共和国行政许可法》",
                "service_objects": ["自然人"],
                "keywords": [],
                "cross_province": rng.random() < 0.3,
                "implementations": impls,
            }
        )
    return {"version": 1, "items": items, "bundles": []}
