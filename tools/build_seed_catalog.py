"""Generate src/tongban/catalog/data/seed_catalog.yaml from the compact tables below.

Run: `.venv/bin/python tools/build_seed_catalog.py` (add `--check` to verify the committed
file is up to date without writing). The output follows docs/catalog-format.md.

Item names, item types, competent departments and legal bases are real; authority codes,
item codes, addresses, phone numbers, fees marked illustrative and the regional variations
are illustrative seed data (see src/tongban/catalog/data/SEED_NOTES.md).
"""

from __future__ import annotations

import csv
import hashlib
import math
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class Flow(list[Any]):
    """A list written in YAML flow style."""


class FlowMap(dict[str, Any]):
    """A mapping written in YAML flow style."""


class Dumper(yaml.SafeDumper):
    """Safe dumper with flow style for short leaf values and no aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        """Never write anchors: every value is spelt out."""
        return True


Dumper.add_representer(
    Flow, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True)
)
Dumper.add_representer(
    FlowMap, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v, flow_style=True)
)


ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "tongban" / "catalog" / "data" / "seed_catalog.yaml"
REGION_DATA = ROOT / "src" / "tongban" / "regions" / "data"

# --- unified social credit codes (GB 32100-2015) and organisation codes (GB 11714-1997) ---

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def org_check_char(body: str) -> str:
    """GB 11714 check character over the 8 body characters of an organisation code."""
    assert len(body) == 8
    total = sum(int(c, 36) * w for c, w in zip(body, ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def uscc_check_char(body: str) -> str:
    """GB 32100 check character (MOD 31) over the first 17 characters."""
    assert len(body) == 17
    total = sum(USCC_CHARSET.index(c) * w for c, w in zip(body, USCC_WEIGHTS, strict=True))
    return USCC_CHARSET[(31 - total % 31) % 31]


def uscc_valid(code: str) -> bool:
    """Whether an 18-character code passes both check characters."""
    return (
        len(code) == 18
        and all(c in USCC_CHARSET for c in code)
        and code[2:8].isdigit()
        and org_check_char(code[8:16]) == code[16]
        and uscc_check_char(code[:17]) == code[17]
    )


def make_uscc(*, name: str, region: str, org_type: str) -> str:
    """A deterministic, illustrative USCC for an authority: 1 (机构编制) + type + region + org."""
    digest = int(hashlib.sha256(name.encode("utf-8")).hexdigest(), 16)
    # "MB" + 6 digits mimics the organisation codes that 机构编制 assigns to government bodies.
    org_body = "MB" + f"{digest % 1_000_000:06d}"
    body = "1" + org_type + region + org_body + org_check_char(org_body)
    code = body + uscc_check_char(body)
    assert uscc_valid(code), code
    return code


# --- regions --------------------------------------------------------------------------


@dataclass(frozen=True)
class Region:
    """A region where the seed has implementations."""

    code: str
    name: str
    level: str  # 省 / 市 / 县
    province: str
    city: str = ""


PROVINCE_NAMES = {
    "44": "广东省",
    "33": "浙江省",
    "41": "河南省",
    "51": "四川省",
    "62": "甘肃省",
    "21": "辽宁省",
    "35": "福建省",
}
CITY_NAMES = {
    "4403": "深圳市",
    "3301": "杭州市",
    "4101": "郑州市",
    "5116": "广安市",
    "5101": "成都市",
    "6201": "兰州市",
    "2101": "沈阳市",
    "3502": "厦门市",
}
COUNTY_NAMES = {
    "440305": "南山区",
    "330106": "西湖区",
    "410102": "中原区",
    "511602": "广安区",
    "510107": "武侯区",
    "620102": "城关区",
    "210102": "和平区",
    "350203": "思明区",
}
PROVS = tuple(p + "0000" for p in PROVINCE_NAMES)
PREFS = tuple(c + "00" for c in CITY_NAMES)
CNTYS = tuple(COUNTY_NAMES)
NEWBORN_PREFS = ("350200", "620100", "330100")

# Telephone area codes, for the consultation line (12345 government hotline).
AREA_CODES = {
    "44": "020",
    "33": "0571",
    "41": "0371",
    "51": "028",
    "62": "0931",
    "21": "024",
    "35": "0591",
    "4403": "0755",
    "3301": "0571",
    "4101": "0371",
    "5116": "0826",
    "5101": "028",
    "6201": "0931",
    "2101": "024",
    "3502": "0592",
}

HOURS = {
    "44": "工作日 9:00—12:00，14:00—18:00（周六上午延时服务）",
    "33": "工作日 9:00—12:00，13:30—17:00（午间不间断受理）",
    "41": "工作日 9:00—12:00，13:00—17:00",
    "51": "工作日 9:00—12:00，13:30—17:30",
    "62": "工作日 8:30—12:00，14:30—18:00",
    "21": "工作日 8:30—11:30，13:00—16:30",
    "35": "工作日 8:30—12:00，14:30—17:30（周六上午延时服务）",
}


def region(code: str) -> Region:
    """Region record for one of the seed's region codes."""
    prov = PROVINCE_NAMES[code[:2]]
    if code.endswith("0000"):
        return Region(code, prov, "省", prov)
    if code.endswith("00"):
        return Region(code, CITY_NAMES[code[:4]], "市", prov, CITY_NAMES[code[:4]])
    return Region(code, COUNTY_NAMES[code], "县", prov, CITY_NAMES[code[:4]])


def load_region_codes() -> dict[str, str]:
    """Region codes and names from the built-in GB/T 2260 data (NBS 2023)."""
    codes: dict[str, str] = {}
    with (REGION_DATA / "provinces.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            codes[row["code"] + "0000"] = row["name"]
    with (REGION_DATA / "cities.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            codes[row["code"] + "00"] = row["name"]
    with (REGION_DATA / "areas.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            codes[row["code"]] = row["name"]
    return codes


# --- authorities ------------------------------------------------------------------------

# County police bureaus are branches (分局) of the city bureau; their names are irregular.
POLICE_BRANCHES = {
    "440305": "深圳市公安局南山分局",
    "330106": "杭州市公安局西湖区分局",
    "410102": "郑州市公安局中原分局",
    "511602": "广安市公安局广安区分局",
    "510107": "成都市公安局武侯区分局",
    "620102": "兰州市公安局城关分局",
    "210102": "沈阳市公安局和平分局",
    "350203": "厦门市公安局思明分局",
}
NOTARY_NAMES = {
    "4403": "深圳",
    "3301": "国立",
    "4101": "黄河",
    "5116": "广安",
    "5101": "律政",
    "6201": "兰州",
    "2101": "沈阳",
    "3502": "鹭江",
}
NAME_OVERRIDES = {
    ("sb", "440300"): "深圳市社会保险基金管理局",
    ("sb", "440305"): "深圳市社会保险基金管理局南山分局",
    ("scjg", "440305"): "深圳市市场监督管理局南山监管局",
    ("yb", "440305"): "深圳市医疗保障局南山分局",
    ("gjj", "350200"): "厦门市住房公积金中心",
    ("zrzy", "440300"): "深圳市规划和自然资源局",
    ("zrzy", "330100"): "杭州市规划和自然资源局",
}
# kind -> (省, 市, 县) name suffixes; None where the seed never uses that level.
AUTHORITY_SUFFIX: dict[str, tuple[str | None, str | None, str | None]] = {
    "rs": ("人力资源和社会保障厅", "人力资源和社会保障局", "人力资源和社会保障局"),
    "sb": ("社会保险事业管理局", "社会保险事业管理局", "社会保险事业管理局"),
    "scjg": ("市场监督管理局", "市场监督管理局", "市场监督管理局"),
    "yb": ("医疗保障局", "医疗保障局", "医疗保障局"),
    "wj": ("卫生健康委员会", "卫生健康委员会", "卫生健康局"),
    "mz": ("民政厅", "民政局", "民政局"),
    "cl": (None, None, "残疾人联合会"),
    "gjj": (None, "住房公积金管理中心", None),
    "sthj": (None, "生态环境局", None),
    "zrzy": (None, "自然资源和规划局", "自然资源和规划局"),
    "ga": ("公安厅", "公安局", None),
    "gz": (None, None, None),
}
# 2 = 事业单位 (social-insurance agencies, housing-fund centres, notary offices),
# 3 = 群团组织 under 机构编制 (disabled persons' federations), 1 = 机关.
ORG_TYPE = {"sb": "2", "gjj": "2", "gz": "2", "cl": "3"}
AUTHORISED = {"sb", "gjj", "gz", "cl"}
WINDOW = {
    "rs": "人力资源和社会保障窗口",
    "sb": "社会保险窗口",
    "scjg": "市场监管窗口",
    "yb": "医疗保障窗口",
    "wj": "卫生健康窗口",
    "mz": "民政窗口",
    "cl": "残疾人服务窗口",
    "gjj": "住房公积金窗口",
    "sthj": "生态环境窗口",
    "zrzy": "不动产登记窗口",
    "ga": "公安窗口",
    "gz": "公证服务窗口",
}


@dataclass(frozen=True)
class Authority:
    """An implementing authority with its illustrative USCC."""

    name: str
    code: str
    kind: str


def authority(kind: str, code: str) -> Authority:
    """The authority of a given kind in a region."""
    r = region(code)
    name = NAME_OVERRIDES.get((kind, code))
    if name is None:
        if kind == "ga" and r.level == "县":
            name = POLICE_BRANCHES[code]
        elif kind == "gz":
            assert r.level == "市", (kind, code)
            name = f"{r.province}{r.city}{NOTARY_NAMES[code[:4]]}公证处"
        else:
            suffix = AUTHORITY_SUFFIX[kind][("省", "市", "县").index(r.level)]
            assert suffix is not None, (kind, code)
            prefix = {"省": r.province, "市": r.city, "县": r.city + r.name}[r.level]
            name = prefix + suffix
    return Authority(
        name, make_uscc(name=name, region=code, org_type=ORG_TYPE.get(kind, "1")), kind
    )


# --- tables of items ----------------------------------------------------------------------

DEPT = {
    "rs": ("101", "人力资源和社会保障部门"),
    "yb": ("102", "医疗保障部门"),
    "ga": ("103", "公安机关"),
    "zj": ("104", "住房和城乡建设部门"),
    "sthj": ("105", "生态环境部门"),
    "scjg": ("106", "市场监督管理部门"),
    "sf": ("107", "司法行政部门"),
    "zrzy": ("108", "自然资源部门"),
    "wj": ("109", "卫生健康部门"),
    "mz": ("110", "民政部门"),
    "cl": ("111", "残疾人联合会"),
}
TYPES = (
    "行政许可",
    "行政处罚",
    "行政强制",
    "行政征收",
    "行政给付",
    "行政检查",
    "行政确认",
    "行政奖励",
    "行政裁决",
    "其他行政权力",
    "公共服务",
    "行政备案",
)


@dataclass(frozen=True)
class Mat:
    """A material: name, required (True/False/'conditional'), condition, formats, source."""

    name: str
    required: bool | str = True
    condition: str | None = None
    formats: tuple[str, ...] = ("original",)
    source: str = "applicant"
    pages: int = 1
    basis: str | None = None

    def doc(self) -> dict[str, Any]:
        """The exchange-format mapping."""
        out = FlowMap(name=self.name, required=self.required)
        if self.condition:
            out["condition"] = self.condition
        out.update(format=Flow(list(self.formats)), source=self.source, pages=self.pages)
        if self.basis:
            out["basis"] = self.basis
        return out


def cond(name: str, condition: str, **kw: Any) -> Mat:
    """A conditionally required material."""
    return Mat(name, "conditional", condition, **kw)


@dataclass(frozen=True)
class Fee:
    """A fee in yuan."""

    name: str
    amount: float
    basis: str
    reduction: str | None = None


@dataclass(frozen=True)
class FormField:
    """A field the applicant fills in."""

    name: str
    label: str
    type: str = "text"
    required: bool = True
    choices: tuple[str, ...] = ()


def ff(
    name: str, label: str, type_: str = "text", required: bool = True, *choices: str
) -> FormField:
    """Shorthand for a form field."""
    return FormField(name, label, type_, required, tuple(choices))


ID = Mat("居民身份证")
HKB = Mat("居民户口簿", formats=("original",), source="government", pages=2)
MARRIAGE = Mat("结婚证", formats=("original",), source="government")
LICENCE = Mat("营业执照", formats=("copy",), source="government")
PHOTO = Mat("近期免冠彩色证件照片", formats=("original",), pages=1)
BANK = Mat("本人银行卡或社会保障卡（金融账户）", formats=("original",))
COMMUNITY = Mat("社区（村）出具的相关证明", formats=("original",))
PROMISE = Mat("《个人承诺书》", formats=("original",))


@dataclass(frozen=True)
class Item:
    """A basic item with the rules for generating its implementations."""

    dept: str
    type: str
    serial: int
    name: str
    basis: str
    objects: tuple[str, ...]
    keywords: tuple[str, ...]
    where: tuple[str, ...]
    kind: str
    statutory: tuple[int, str, str]  # value, unit, note
    materials: tuple[Mat, ...]
    fields: tuple[FormField, ...]
    description: str
    acceptance: str
    flow: str
    sub: int = 0
    cross: bool = False
    case: str = "承诺件"
    case_by_prov: dict[str, str] = field(default_factory=dict)
    promised: dict[str, int] = field(default_factory=dict)  # by 2-digit province; else computed
    visits: int = 1
    visits_by_prov: dict[str, int] = field(default_factory=dict)
    depth: int = 4
    depth_range: tuple[int, int] = (1, 7)
    range_: str = "全市"
    business: str = "新办"
    result: tuple[str, str] | None = None
    fees: tuple[Fee, ...] = ()
    fees_by_prov: dict[str, tuple[Fee, ...]] = field(default_factory=dict)
    extra: tuple[Mat, ...] = ()
    extra_in: tuple[str, ...] = ("62", "21")
    drop_in: dict[str, tuple[str, ...]] = field(default_factory=dict)  # prov -> material names
    power_source: int = 1

    @property
    def code(self) -> str:
        """Illustrative 12-digit basic code: department, type, serial, sub-item."""
        return (
            f"{DEPT[self.dept][0]}{TYPES.index(self.type) + 1:02d}{self.serial:04d}{self.sub:03d}"
        )


# Speed of promise (share of the statutory limit) and online-depth offset by province: the
# east commits shorter limits and deeper online handling; this is the variation the
# "same item, same standard" analysis is meant to find.
SPEED = {"33": 0.25, "44": 0.3, "35": 0.35, "51": 0.5, "41": 0.55, "21": 0.6, "62": 0.75}
DEPTH_OFFSET = {"33": 1, "44": 1, "35": 1, "51": 0, "41": 0, "21": -1, "62": -1}

LAW_SI = "《中华人民共和国社会保险法》"
LAW_HF = "《住房公积金管理条例》"
LAW_HUKOU = "《中华人民共和国户口登记条例》"
LAW_ID = "《中华人民共和国居民身份证法》"
LAW_NOTARY = "《中华人民共和国公证法》第十一条；《公证程序规则》第三十五条"
LAW_REG = "《中华人民共和国市场主体登记管理条例》"
LAW_ROAD = "《中华人民共和国道路交通安全法》"
LAW_ELDER = "《中华人民共和国老年人权益保障法》"
KUASHENG = "《国务院办公厅关于加快推进政务服务“跨省通办”的指导意见》（国办发〔2020〕35号）"

NOTARY_FEE = {
    "44": 200.0,
    "33": 180.0,
    "41": 150.0,
    "51": 150.0,
    "62": 120.0,
    "21": 150.0,
    "35": 200.0,
}


def notary_fees(what: str) -> dict[str, tuple[Fee, ...]]:
    """Notary fees per province (provincial price standards; amounts illustrative)."""
    return {
        prov: (
            Fee(
                f"{what}公证费",
                amount,
                f"{PROVINCE_NAMES[prov]}公证服务收费标准（金额为示例）",
                "低保对象、特困人员免收",
            ),
        )
        for prov, amount in NOTARY_FEE.items()
    }


def hukou_move(sub: int, case: str, materials: tuple[Mat, ...], extra_field: FormField) -> Item:
    """One of the 户口迁移 sub-cases (跨省迁移一站式办理 at the place moved to)."""
    return Item(
        dept="ga",
        type="行政确认",
        serial=3,
        sub=sub,
        name=f"户口迁移（{case}）",
        basis=f"{LAW_HUKOU}第十条；{KUASHENG}",
        objects=("自然人",),
        keywords=("户口", "户口迁移", "迁户口", "落户", "准迁证", case),
        where=CNTYS,
        kind="ga",
        cross=True,
        statutory=(20, "working_days", "自受理之日起（示例）"),
        promised={"33": 5, "44": 5, "35": 7, "51": 10, "41": 10, "21": 15, "62": 15},
        visits=1,
        visits_by_prov={"62": 2, "21": 2},
        depth=3,
        depth_range=(2, 5),
        range_="跨省",
        business="变更",
        result=("证照", "居民户口簿（迁入后户口页）"),
        materials=(
            ID,
            HKB,
            Mat("《户口迁移申请表》", formats=("original",)),
            *materials,
        ),
        extra=(
            cond(
                "迁出地派出所出具的户口迁移证明",
                "迁出地系统未推送电子迁移信息的",
                source="government",
            ),
        ),
        extra_in=("62", "21", "41"),
        fields=(
            ff("origin_address", "迁出地户籍地址"),
            ff("destination_address", "迁入地详细地址"),
            extra_field,
            ff("reason", "迁移原因"),
        ),
        description=f"因{case}跨省迁移户口，由迁入地公安机关一站式受理，迁出地公安机关协同办理迁出手续。",
        acceptance=f"申请人符合迁入地户口迁移政策中“{case}”的条件。",
        flow="迁入地受理→迁入地审核并签发准迁→迁出地电子迁出→迁入地落户",
    )


ITEMS: tuple[Item, ...] = (
    Item(
        dept="scjg",
        type="行政许可",
        serial=1,
        name="市场主体登记注册（内资企业及分支机构设立登记）",
        basis=f"{LAW_REG}第十九条；《中华人民共和国公司法》",
        objects=("企业法人", "非法人企业", "自然人"),
        keywords=("营业执照", "公司注册", "开办企业", "设立登记", "市场主体"),
        where=(*PREFS, "440305", "330106", "511602", "620102"),
        kind="scjg",
        cross=True,
        statutory=(
            3,
            "working_days",
            "材料齐全、符合法定形式的当场登记，不能当场登记的3个工作日内予以登记",
        ),
        case="承诺件",
        case_by_prov={"33": "即办件", "44": "即办件", "35": "即办件"},
        promised={"51": 2, "41": 2, "21": 3, "62": 3},
        visits=0,
        visits_by_prov={"62": 1, "21": 1},
        depth=6,
        range_="跨省",
        result=("证照", "营业执照"),
        materials=(
            Mat("《内资企业设立登记申请书》"),
            Mat("公司章程", formats=("original",), pages=5),
            Mat("法定代表人、股东身份证明", formats=("copy",)),
            cond(
                "住所（经营场所）使用证明", "住所非自有或未实行住所申报承诺制的", formats=("copy",)
            ),
            cond("不动产权证书", "以自有房产作为住所的", formats=("copy",), source="government"),
        ),
        extra=(Mat("全体股东签署的《股东会决议》", formats=("original",)),),
        extra_in=("62",),
        fields=(
            ff("enterprise_name", "拟设立企业名称"),
            ff(
                "enterprise_kind",
                "企业类型",
                "choice",
                True,
                "有限责任公司",
                "股份有限公司",
                "分公司",
                "个人独资企业",
                "合伙企业",
            ),
            ff("registered_capital", "注册资本（万元）", "number"),
            ff("domicile", "住所"),
        ),
        description="内资企业及其分支机构的设立登记，申请人可在异地提交材料，由企业住所地登记机关办理。",
        acceptance="企业名称符合规定，申请材料齐全、符合法定形式。",
        flow="网上申报→登记机关形式审查→核准登记→颁发营业执照（电子营业执照同步生成）",
    ),
    Item(
        dept="rs",
        type="公共服务",
        serial=1,
        name="企业职工基本养老保险关系转移接续",
        basis=f"{LAW_SI}第十九条；《城镇企业职工基本养老保险关系转移接续暂行办法》（国办发〔2009〕66号）",
        objects=("自然人",),
        keywords=("养老保险", "社保转移", "养老转移", "社保", "转移接续"),
        where=(*PREFS, *CNTYS),
        kind="sb",
        cross=True,
        statutory=(45, "working_days", "转入地、转出地、转入地各15个工作日"),
        promised={"33": 15, "44": 15, "35": 20, "51": 20, "41": 30, "21": 30, "62": 30},
        visits=0,
        visits_by_prov={"62": 1, "21": 1},
        depth=5,
        range_="跨省",
        business="变更",
        result=("其他", "基本养老保险关系转移接续联系函及转移结果告知"),
        materials=(
            ID,
            Mat("《基本养老保险关系转移接续申请表》"),
            Mat("参保缴费凭证", formats=("electronic",), source="government"),
        ),
        extra=(Mat("转出地社会保险经办机构出具的《参保缴费凭证》纸质件", formats=("original",)),),
        fields=(
            ff("transfer_out", "转出地（原参保地）"),
            ff("transfer_in", "转入地（现参保地）"),
            ff("insured_since", "首次参保时间", "date", False),
            ff("reason", "申请原因", "text", False),
        ),
        description="参保人员跨省流动就业的，随本人转移基本养老保险关系，缴费年限累计计算。",
        acceptance="参保人员已在新就业地参加企业职工基本养老保险。",
        flow="转入地受理并发出联系函→转出地转出基金和信息→转入地接续并告知结果",
    ),
    Item(
        dept="rs",
        type="公共服务",
        serial=2,
        name="城乡居民基本养老保险关系转移接续",
        basis=f"{LAW_SI}第二十二条；《国务院关于建立统一的城乡居民基本养老保险制度的意见》（国发〔2014〕8号）",
        objects=("自然人",),
        keywords=("城乡居民养老", "居民养老保险", "社保转移", "养老"),
        where=CNTYS,
        kind="sb",
        cross=True,
        statutory=(45, "working_days", "转入地、转出地、转入地各15个工作日（示例）"),
        visits=1,
        visits_by_prov={"33": 0, "44": 0},
        depth=4,
        range_="跨省",
        business="变更",
        result=("其他", "城乡居民基本养老保险关系转移结果告知"),
        materials=(ID, HKB, Mat("《城乡居民基本养老保险关系转移申请表》")),
        extra=(COMMUNITY,),
        fields=(
            ff("transfer_out", "转出地"),
            ff("transfer_in", "转入地"),
            ff("reason", "申请原因", "choice", True, "户籍迁移", "其他"),
        ),
        description="参保人员户籍跨省迁移的，转移城乡居民基本养老保险关系，个人账户储存额一次性转移。",
        acceptance="参保人员已在转入地办理户籍迁入且未领取城乡居民养老保险待遇。",
        flow="转入地受理→转出地核对并转出→转入地接续",
    ),
    Item(
        dept="rs",
        type="公共服务",
        serial=3,
        name="职业资格证书核验",
        basis="《中华人民共和国劳动法》第六十九条；《国家职业资格目录》",
        objects=("自然人", "企业法人", "事业法人"),
        keywords=("职业资格", "技能等级证书", "证书查询", "证书核验"),
        where=PROVS,
        kind="rs",
        cross=True,
        statutory=(5, "working_days", "示例"),
        case="即办件",
        case_by_prov={"62": "承诺件", "21": "承诺件"},
        promised={"62": 3, "21": 2},
        visits=0,
        depth=6,
        depth_range=(5, 7),
        range_="跨省",
        result=("其他", "职业资格证书核验结果"),
        materials=(ID, Mat("职业资格证书", formats=("electronic",), source="government")),
        fields=(
            ff("certificate_no", "证书编号"),
            ff("holder_name", "持证人姓名"),
            ff("purpose", "核验用途", "text", False),
        ),
        description="对人力资源和社会保障部门颁发的职业资格证书真伪及信息进行核验。",
        acceptance="证书由人力资源和社会保障部门或其认定机构颁发。",
        flow="在线提交→数据库比对→反馈核验结果",
    ),
    Item(
        dept="sf",
        type="公共服务",
        serial=1,
        name="学历公证",
        basis=LAW_NOTARY,
        objects=("自然人",),
        keywords=("公证", "学历公证", "毕业证公证", "学位公证"),
        where=PREFS,
        kind="gz",
        cross=True,
        statutory=(15, "working_days", "自受理之日起15个工作日内出具公证书"),
        promised={"33": 3, "44": 3, "35": 3, "51": 5, "41": 5, "21": 7, "62": 7},
        visits=1,
        visits_by_prov={"33": 0, "44": 0},
        depth=4,
        range_="跨省",
        result=("证照", "公证书"),
        fees_by_prov=notary_fees("学历"),
        materials=(
            ID,
            Mat("毕业证书、学位证书", source="government"),
            cond("学历认证报告", "毕业证书无法在线核验的", formats=("copy",)),
            Mat("《公证申请表》"),
        ),
        extra=(Mat("毕业证书复印件（加盖学校公章）", formats=("copy",)),),
        fields=(
            ff("school", "毕业院校"),
            ff("graduation_date", "毕业时间", "date"),
            ff("use_country", "公证书使用地（国家或地区）"),
            ff("translation", "译文语种", "text", False),
        ),
        description="对申请人所获学历、学位证书的真实性予以证明，可在线申请、异地办理。",
        acceptance="学历证书真实、合法，申请人与证书持有人一致或持有授权委托书。",
        flow="申请→受理→核实→出具公证书→寄递或领取",
    ),
    Item(
        dept="sf",
        type="公共服务",
        serial=2,
        name="机动车驾驶证公证",
        basis=LAW_NOTARY,
        objects=("自然人",),
        keywords=("公证", "驾照公证", "驾驶证公证", "驾照"),
        where=PREFS,
        kind="gz",
        cross=True,
        statutory=(15, "working_days", "自受理之日起15个工作日内出具公证书"),
        promised={"33": 3, "44": 3, "35": 5, "51": 5, "41": 5, "21": 7, "62": 10},
        visits=1,
        visits_by_prov={"33": 0, "44": 0, "35": 0},
        depth=4,
        range_="跨省",
        result=("证照", "公证书"),
        fees_by_prov=notary_fees("驾驶证"),
        materials=(ID, Mat("机动车驾驶证", source="government"), Mat("《公证申请表》")),
        fields=(
            ff("licence_no", "驾驶证档案编号"),
            ff("use_country", "公证书使用地（国家或地区）"),
            ff("translation", "译文语种", "text", False),
        ),
        description="对申请人持有的机动车驾驶证予以公证，供境外换领驾照等使用。",
        acceptance="驾驶证在有效期内且状态正常。",
        flow="申请→受理→核实→出具公证书→寄递或领取",
    ),
    Item(
        dept="rs",
        type="公共服务",
        serial=4,
        name="失业登记",
        basis="《中华人民共和国就业促进法》；《就业服务与就业管理规定》",
        objects=("自然人",),
        keywords=("失业", "失业登记", "就业", "失业证"),
        where=CNTYS,
        kind="rs",
        cross=True,
        statutory=(1, "working_days", "示例"),
        case="即办件",
        visits=0,
        visits_by_prov={"62": 1},
        depth=5,
        range_="跨省",
        result=("其他", "失业登记信息（就业创业证记载）"),
        materials=(
            ID,
            cond("解除或终止劳动关系证明", "曾就业且无法通过数据共享核验的", formats=("copy",)),
        ),
        fields=(
            ff("residence", "常住地"),
            ff("last_employer", "原工作单位", "text", False),
            ff("unemployed_since", "失业时间", "date"),
        ),
        description="法定劳动年龄内、有劳动能力和就业要求、处于无业状态的人员，可在常住地办理失业登记。",
        acceptance="法定劳动年龄内，有劳动能力和就业要求，处于无业状态。",
        flow="在线或窗口申请→核验→登记",
    ),
    Item(
        dept="zj",
        type="公共服务",
        serial=1,
        name="正常退休提取住房公积金",
        basis=f"{LAW_HF}第二十四条、第二十五条",
        objects=("自然人",),
        keywords=("公积金", "公积金提取", "退休提取", "住房公积金"),
        where=PREFS,
        kind="gjj",
        cross=True,
        statutory=(3, "working_days", "自受理申请之日起3日内作出准予提取或者不准提取的决定"),
        case="即办件",
        case_by_prov={"41": "承诺件", "21": "承诺件", "62": "承诺件"},
        promised={"41": 2, "21": 3, "62": 3},
        visits=0,
        visits_by_prov={"62": 1, "21": 1},
        depth=6,
        range_="跨省",
        result=("其他", "住房公积金提取到账"),
        materials=(
            ID,
            Mat("退休审批表或退休证", formats=("copy",), source="government"),
            BANK,
        ),
        extra=(Mat("单位出具的退休证明", formats=("original",)),),
        fields=(
            ff("account_no", "个人公积金账号"),
            ff("bank_account", "收款银行账号"),
            ff("retire_date", "退休日期", "date"),
        ),
        description="职工正常退休的，可提取本人住房公积金账户余额并销户。",
        acceptance="职工已办理退休手续。",
        flow="申请→核验退休信息→审批→资金划转",
    ),
    Item(
        dept="zj",
        type="公共服务",
        serial=2,
        name="购房提取住房公积金",
        basis=f"{LAW_HF}第二十四条、第二十五条",
        objects=("自然人",),
        keywords=("公积金", "公积金提取", "购房提取", "住房公积金"),
        where=PREFS,
        kind="gjj",
        cross=True,
        statutory=(3, "working_days", "自受理申请之日起3日内作出准予提取或者不准提取的决定"),
        promised={"33": 1, "44": 1, "35": 1, "51": 2, "41": 3, "21": 3, "62": 3},
        visits=0,
        visits_by_prov={"62": 1, "41": 1},
        depth=5,
        range_="跨省",
        result=("其他", "住房公积金提取到账"),
        materials=(
            ID,
            Mat("商品房买卖合同（网签备案）", formats=("copy",), source="government", pages=4),
            Mat("购房发票", formats=("copy",)),
            cond("不动产权证书", "已取得不动产权证书的", formats=("copy",), source="government"),
            cond("结婚证", "提取配偶账户余额的", source="government"),
            BANK,
        ),
        extra=(Mat("购房首付款银行转账凭证", formats=("copy",)),),
        extra_in=("62", "21", "41"),
        fields=(
            ff("account_no", "个人公积金账号"),
            ff("house_address", "所购房屋坐落"),
            ff("purchase_price", "购房总价（元）", "number"),
            ff("bank_account", "收款银行账号"),
        ),
        description="职工购买自住住房的，可申请提取本人及配偶住房公积金账户余额。",
        acceptance="购买自住住房，提取金额不超过实际支付的购房款。",
        flow="申请→审核购房信息→审批→资金划转",
    ),
    Item(
        dept="zj",
        type="公共服务",
        serial=3,
        name="住房公积金转移接续",
        basis=f"{LAW_HF}；{KUASHENG}",
        objects=("自然人",),
        keywords=("公积金", "公积金转移", "异地转移", "住房公积金"),
        where=PREFS,
        kind="gjj",
        cross=True,
        statutory=(15, "working_days", "示例"),
        visits=0,
        depth=6,
        range_="跨省",
        business="变更",
        result=("其他", "住房公积金账户余额及缴存信息转入"),
        materials=(
            ID,
            Mat("转入地住房公积金个人账户信息", formats=("electronic",), source="government"),
        ),
        fields=(
            ff("transfer_out_centre", "转出地住房公积金中心"),
            ff("transfer_in_account", "转入地个人公积金账号"),
        ),
        description="职工跨城市就业的，将原住房公积金账户余额及缴存信息转入新就业地账户。",
        acceptance="职工已在转入地开立个人住房公积金账户并正常缴存。",
        flow="转入地受理→全国转移接续平台发起→转出地审核划转→转入地接收入账",
    ),
    Item(
        dept="sthj",
        type="行政许可",
        serial=1,
        name="排污许可",
        basis="《排污许可管理条例》；《中华人民共和国环境保护法》第四十五条",
        objects=("企业法人", "事业法人", "非法人企业", "其他组织"),
        keywords=("排污许可证", "排污", "环保许可"),
        where=PREFS,
        kind="sthj",
        cross=True,
        statutory=(20, "working_days", "实行简化管理的为15日"),
        visits=0,
        visits_by_prov={"62": 1},
        depth=5,
        range_="跨省",
        result=("证照", "排污许可证"),
        materials=(
            Mat("《排污许可证申请表》", formats=("electronic",), pages=10),
            Mat("自行监测方案", formats=("electronic",)),
            Mat("守法承诺书", formats=("electronic",)),
            LICENCE,
            cond(
                "环境影响评价审批文件或登记表",
                "依法需要进行环境影响评价的",
                formats=("copy",),
                source="government",
            ),
        ),
        extra=(Mat("排污口规范化设置图片", formats=("electronic",)),),
        fields=(
            ff("facility_name", "排污单位名称"),
            ff("industry", "行业类别"),
            ff("management_class", "管理类别", "choice", True, "重点管理", "简化管理"),
        ),
        description="依照法律规定实行排污许可管理的企业事业单位和其他生产经营者申请取得排污许可证。",
        acceptance="依法取得建设项目环评审批或备案手续，污染物排放符合标准和总量控制要求。",
        flow="全国排污许可证管理信息平台申报→受理→技术审查→决定→核发电子证照",
    ),
    Item(
        dept="rs",
        type="公共服务",
        serial=5,
        name="电子社会保障卡申领",
        basis=f"{LAW_SI}第五十八条；{KUASHENG}",
        objects=("自然人",),
        keywords=("社保卡", "电子社保卡", "社会保障卡", "电子社会保障卡"),
        where=PROVS,
        kind="rs",
        cross=True,
        statutory=(1, "working_days", "示例"),
        case="即办件",
        visits=0,
        depth=7,
        depth_range=(7, 7),
        range_="跨省",
        result=("证照", "电子社会保障卡"),
        materials=(
            Mat("居民身份证", formats=("electronic",)),
            Mat("实体社会保障卡信息", formats=("electronic",), source="government"),
        ),
        fields=(
            ff(
                "channel",
                "申领渠道",
                "choice",
                True,
                "国家政务服务平台",
                "掌上12333",
                "其他授权应用",
            ),
        ),
        description="已持有实体社会保障卡的人员，通过实名认证在线签发电子社会保障卡。",
        acceptance="已持有有效的实体社会保障卡并通过实名认证。",
        flow="在线实名认证→签发电子社会保障卡",
        power_source=2,
    ),
    Item(
        dept="rs",
        type="公共服务",
        serial=6,
        name="社会保障卡申领",
        basis=f"{LAW_SI}第五十八条；{KUASHENG}",
        objects=("自然人",),
        keywords=("社保卡", "社会保障卡", "社保卡办理", "即时制卡"),
        where=(*PREFS, *CNTYS),
        kind="rs",
        cross=True,
        statutory=(30, "working_days", "示例；即时制卡网点当场制卡"),
        case="承诺件",
        case_by_prov={"33": "即办件", "44": "即办件", "35": "即办件"},
        promised={"51": 10, "41": 15, "21": 20, "62": 20},
        visits=1,
        visits_by_prov={"33": 0, "44": 0},
        depth=4,
        range_="跨省",
        result=("证照", "社会保障卡"),
        fees=(),
        materials=(
            ID,
            cond("近期免冠彩色证件照片", "无法调用公安人口库照片的", formats=("electronic",)),
            cond("居民户口簿", "为未满16周岁的未成年人申领的", source="government"),
        ),
        extra=(PHOTO,),
        fields=(
            ff("bank", "选择的合作银行", "text", False),
            ff("mailing_address", "邮寄地址", "text", False),
            ff("apply_kind", "申领类型", "choice", True, "首次申领", "跨省申领"),
        ),
        description="参保人员首次申领社会保障卡（第三代），首次申领免费。",
        acceptance="已建立社会保障关系或参加社会保险，未持有有效社会保障卡。",
        flow="申请→信息核验→制卡→发卡（即时制卡或邮寄）",
    ),
    Item(
        dept="scjg",
        type="行政许可",
        serial=2,
        name="工业产品生产许可证",
        basis="《中华人民共和国工业产品生产许可证管理条例》；《工业产品生产许可证管理条例实施办法》",
        objects=("企业法人", "非法人企业"),
        keywords=("生产许可证", "工业产品", "QS"),
        where=PROVS,
        kind="scjg",
        cross=True,
        statutory=(60, "working_days", "自受理企业申请之日起60日内作出决定"),
        promised={"33": 10, "44": 10, "35": 15, "51": 20, "41": 20, "21": 30, "62": 30},
        visits=0,
        visits_by_prov={"62": 1, "21": 1},
        depth=5,
        range_="跨省",
        result=("证照", "全国工业产品生产许可证"),
        materials=(
            Mat("《全国工业产品生产许可证申请书》", pages=6),
            LICENCE,
            Mat("产品检验合格报告", formats=("copy",)),
            Mat("企业承诺书"),
        ),
        extra=(Mat("生产场所平面图及主要生产设备清单", formats=("copy",)),),
        fields=(
            ff("product_category", "申请产品类别"),
            ff("production_address", "生产地址"),
            ff("enterprise_uscc", "统一社会信用代码"),
        ),
        description="对列入目录的重要工业产品的生产企业实行生产许可证管理，实行“先证后核”。",
        acceptance="有营业执照，有与所生产产品相适应的专业技术人员、生产条件和检验检疫手段。",
        flow="网上申请→受理→审查→决定→发证→后置现场核查",
        power_source=2,
    ),
    Item(
        dept="yb",
        type="公共服务",
        serial=1,
        name="异地就医登记备案和结算",
        basis=(
            f"{LAW_SI}第二十九条；"
            "《国家医保局 财政部关于进一步做好基本医疗保险跨省异地就医直接结算工作的通知》"
        ),
        objects=("自然人",),
        keywords=("医保", "异地就医", "异地备案", "直接结算"),
        where=(*PREFS, "440305", "511602", "620102", "350203"),
        kind="yb",
        cross=True,
        statutory=(1, "working_days", "示例"),
        case="即办件",
        visits=0,
        depth=6,
        depth_range=(5, 7),
        range_="跨省",
        result=("其他", "异地就医备案信息"),
        materials=(
            Mat("医保电子凭证或居民身份证", formats=("electronic",)),
            cond("《个人承诺书》", "长期异地居住人员采用承诺制备案的"),
            cond("转诊转院证明", "办理转诊转院备案的", formats=("copy",)),
        ),
        extra=(cond("居住证", "长期异地居住人员备案的", formats=("copy",), source="government"),),
        fields=(
            ff("insured_place", "参保地"),
            ff("treatment_place", "就医地"),
            ff(
                "filing_kind",
                "备案类型",
                "choice",
                True,
                "异地长期居住",
                "常驻异地工作",
                "异地转诊就医",
                "临时外出就医",
            ),
            ff("start_date", "备案开始日期", "date"),
        ),
        description="参保人员跨省异地就医前办理备案，在就医地定点医药机构直接结算。",
        acceptance="参加基本医疗保险且参保状态正常。",
        flow="在线或窗口申请→备案→就医地直接结算",
    ),
    Item(
        dept="zrzy",
        type="行政确认",
        serial=1,
        name="不动产抵押登记",
        basis="《不动产登记暂行条例》第二十条；《中华人民共和国民法典》第四百零二条",
        objects=("自然人", "企业法人", "非法人企业"),
        keywords=("不动产", "抵押", "房产抵押", "抵押登记"),
        where=(*PREFS, "511602"),
        kind="zrzy",
        cross=True,
        statutory=(30, "working_days", "自受理登记申请之日起30个工作日内办结"),
        promised={"33": 1, "44": 1, "35": 1, "51": 3, "41": 3, "21": 5, "62": 5},
        visits=1,
        visits_by_prov={"33": 0, "44": 0, "35": 0},
        depth=4,
        range_="跨省",
        result=("证照", "不动产登记证明"),
        fees=(
            Fee(
                "不动产登记费（住宅）",
                80.0,
                "《国家发展改革委 财政部关于不动产登记收费标准等有关问题的通知》"
                "（发改价格规〔2016〕2559号）",
                "小微企业（含个体工商户）申请不动产登记的免收",
            ),
        ),
        materials=(
            Mat("《不动产登记申请书》"),
            ID,
            Mat("不动产权证书", source="government"),
            Mat("主债权合同", pages=6),
            Mat("抵押合同", pages=4),
            cond("营业执照", "申请人为企业的", formats=("copy",), source="government"),
        ),
        extra=(MARRIAGE,),
        fields=(
            ff("property_certificate_no", "不动产权证书号"),
            ff("mortgagee", "抵押权人"),
            ff("secured_amount", "被担保主债权数额（万元）", "number"),
            ff("term_end", "债务履行期限届满日", "date"),
        ),
        description="以不动产设定抵押权的，当事人向不动产所在地登记机构申请抵押登记，可异地“跨省通办”受理。",
        acceptance="抵押合同合法有效，抵押财产权属清楚。",
        flow="申请→受理→审核→登簿→核发不动产登记证明",
    ),
    Item(
        dept="ga",
        type="行政确认",
        serial=1,
        name="开具户籍类证明",
        basis=f"{LAW_HUKOU}；{KUASHENG}",
        objects=("自然人",),
        keywords=("户口", "户籍证明", "户口证明", "亲属关系证明"),
        where=CNTYS,
        kind="ga",
        cross=True,
        statutory=(1, "working_days", "示例"),
        case="即办件",
        case_by_prov={"62": "承诺件"},
        promised={"62": 1},
        visits=0,
        visits_by_prov={"41": 1, "21": 1, "62": 1},
        depth=5,
        range_="跨省",
        result=("其他", "户籍证明（电子或纸质）"),
        materials=(ID,),
        extra=(HKB,),
        extra_in=("62", "21", "41"),
        fields=(
            ff(
                "certificate_kind",
                "证明类型",
                "choice",
                True,
                "户籍注销证明",
                "亲属关系证明",
                "户籍信息证明",
            ),
            ff("purpose", "证明用途"),
        ),
        description="公安机关根据户籍档案为群众出具户籍注销、亲属关系等户籍类证明，支持异地申请。",
        acceptance="证明事项可通过户籍信息系统核实。",
        flow="申请→核查户籍档案→出具证明",
    ),
    Item(
        dept="ga",
        type="公共服务",
        serial=2,
        name="无犯罪记录证明",
        basis="《公安机关办理犯罪记录查询工作规定》（公通字〔2021〕19号）",
        objects=("自然人",),
        keywords=("无犯罪证明", "无犯罪记录", "良民证", "犯罪记录查询"),
        where=CNTYS,
        kind="ga",
        cross=True,
        statutory=(3, "working_days", "自受理之日起3个工作日内出具"),
        promised={"33": 1, "44": 1, "35": 1, "51": 2, "41": 2, "21": 3, "62": 3},
        visits=0,
        visits_by_prov={"62": 1, "21": 1},
        depth=6,
        range_="跨省",
        result=("其他", "无犯罪记录证明"),
        materials=(ID, cond("授权委托书", "委托他人代为申请的")),
        extra=(Mat("用途证明（单位出具的查询函）"),),
        fields=(ff("purpose", "证明用途"), ff("receiving_unit", "证明使用单位", "text", False)),
        description="公安机关为个人出具在我国境内是否有犯罪记录的证明。",
        acceptance="申请人为本人或经本人授权的代理人。",
        flow="申请→查询→出具电子证明（可在线核验）",
    ),
    hukou_move(
        1,
        "工作调动",
        (
            Mat("调动审批文件或劳动合同", formats=("copy",)),
            cond(
                "不动产权证书或房屋租赁合同",
                "以合法稳定住所落户的",
                formats=("copy",),
                source="government",
            ),
        ),
        ff("new_employer", "调入单位"),
    ),
    hukou_move(
        2,
        "大中专院校录取学生",
        (Mat("录取通知书"),),
        ff("school", "录取院校"),
    ),
    hukou_move(
        3,
        "大中专学生毕业",
        (
            Mat("毕业证书", source="government"),
            cond("劳动合同或就业证明", "毕业后就业落户的", formats=("copy",)),
        ),
        ff("school", "毕业院校"),
    ),
    hukou_move(
        4,
        "夫妻投靠",
        (
            MARRIAGE,
            Mat("被投靠人居民户口簿", source="government"),
            cond("住房证明", "迁入地要求合法稳定住所的", formats=("copy",), source="government"),
        ),
        ff("spouse_name", "被投靠配偶姓名"),
    ),
    hukou_move(
        5,
        "父母投靠子女",
        (
            Mat("亲属关系证明（出生医学证明或户籍类证明）", source="government"),
            Mat("被投靠子女居民户口簿", source="government"),
        ),
        ff("child_name", "被投靠子女姓名"),
    ),
    Item(
        dept="ga",
        type="行政许可",
        serial=4,
        name="小型非营运客车二手车交易登记",
        basis=f"{LAW_ROAD}第八条、第十二条；《机动车登记规定》（公安部令第164号）",
        objects=("自然人", "企业法人"),
        keywords=("二手车", "过户", "转移登记", "机动车登记", "车管所"),
        where=PREFS,
        kind="ga",
        cross=True,
        statutory=(1, "working_days", "自受理之日起1日内完成转让登记"),
        case="即办件",
        visits=1,
        depth=4,
        depth_range=(3, 5),
        range_="跨省",
        business="变更",
        result=("证照", "机动车登记证书（转移登记）及机动车行驶证"),
        fees=(
            Fee(
                "机动车行驶证工本费", 10.0, "《关于公安部门收费标准的通知》（计价格〔1994〕783号）"
            ),
        ),
        fees_by_prov={
            "62": (
                Fee(
                    "机动车行驶证工本费",
                    10.0,
                    "《关于公安部门收费标准的通知》（计价格〔1994〕783号）",
                ),
                Fee(
                    "机动车号牌工本费（更换号牌的）",
                    100.0,
                    "《关于公安部门收费标准的通知》（计价格〔1994〕783号）（金额为示例）",
                ),
            ),
        },
        materials=(
            ID,
            Mat("机动车登记证书", source="government"),
            Mat("机动车行驶证", source="government"),
            Mat("二手车销售统一发票", formats=("original",)),
            Mat("机动车交通事故责任强制保险凭证", formats=("electronic",)),
        ),
        extra=(Mat("机动车安全技术检验合格证明", formats=("original",)),),
        fields=(
            ff("plate_no", "号牌号码"),
            ff("vin", "车辆识别代号"),
            ff("buyer_residence", "现机动车所有人住所地"),
        ),
        description="小型非营运载客汽车在异地交易的，可在交易地直接办理转移登记。",
        acceptance="车辆已交易，无未处理的交通违法记录和事故，已通过查验。",
        flow="车辆查验→受理→审核→转移登记→核发证件",
    ),
    Item(
        dept="ga",
        type="行政确认",
        serial=5,
        name="居民身份证换领补领异地受理",
        basis=f"{LAW_ID}第八条、第十一条、第十二条",
        objects=("自然人",),
        keywords=("身份证", "身份证补办", "身份证换领", "异地办身份证"),
        where=CNTYS,
        kind="ga",
        cross=True,
        statutory=(
            60,
            "natural_days",
            "自申请之日起60日内发放；交通不便地区可延长，最长不超过30日",
        ),
        promised={"33": 15, "44": 20, "35": 20, "51": 30, "41": 30, "21": 30, "62": 45},
        visits=1,
        visits_by_prov={"62": 2, "21": 2},
        depth=3,
        depth_range=(2, 4),
        range_="跨省",
        business="变更",
        result=("证照", "中华人民共和国居民身份证"),
        fees=(
            Fee(
                "居民身份证工本费",
                20.0,
                "《国家发展改革委 财政部关于居民身份证收费标准及有关问题的通知》"
                "（发改价格〔2003〕2322号）",
            ),
        ),
        materials=(
            cond("原居民身份证", "换领的", formats=("original",)),
            Mat("现场采集的人像和指纹信息", formats=("electronic",)),
        ),
        extra=(HKB,),
        fields=(
            ff("apply_kind", "申领类型", "choice", True, "换领", "补领"),
            ff("receive_way", "领取方式", "choice", True, "受理地领取", "邮寄送达"),
            ff("reason", "申请原因"),
        ),
        description="居民在户籍地以外申请换领、补领居民身份证，受理地公安机关受理，户籍地公安机关审核签发。",
        acceptance="申请人为已登记常住户口的中国公民。",
        flow="受理地采集信息→户籍地审核签发→制证→受理地发放或邮寄",
    ),
    Item(
        dept="ga",
        type="行政许可",
        serial=6,
        name="机动车驾驶证补换领",
        basis=f"{LAW_ROAD}第十九条；《机动车驾驶证申领和使用规定》（公安部令第162号）",
        objects=("自然人",),
        keywords=("驾照", "驾驶证", "驾照补办", "驾照换证", "交管12123"),
        where=PREFS,
        kind="ga",
        cross=True,
        statutory=(1, "working_days", "自受理之日起1日内补发或换发"),
        case="即办件",
        visits=0,
        visits_by_prov={"41": 1, "62": 1, "21": 1},
        depth=6,
        range_="跨省",
        business="延续",
        result=("证照", "机动车驾驶证"),
        fees=(
            Fee(
                "机动车驾驶证工本费", 10.0, "《关于公安部门收费标准的通知》（计价格〔1994〕783号）"
            ),
        ),
        materials=(
            ID,
            cond("机动车驾驶人身体条件证明", "换领时需提交的", formats=("electronic",)),
            cond("原机动车驾驶证", "换领的"),
        ),
        extra=(PHOTO,),
        fields=(
            ff("licence_no", "驾驶证号"),
            ff("apply_kind", "申领类型", "choice", True, "补领", "期满换领", "损毁换领"),
            ff("mailing_address", "邮寄地址", "text", False),
        ),
        description="驾驶证遗失、损毁或有效期满的，可在全国任一车辆管理所或通过交管12123申请补领、换领。",
        acceptance="驾驶证未被吊销、撤销或注销，无未处理的交通违法记录。",
        flow="申请→审核→制证→发证或邮寄",
    ),
    Item(
        dept="ga",
        type="行政许可",
        serial=7,
        name="出入境证件办理",
        basis="《中华人民共和国出境入境管理法》；《中华人民共和国护照法》第五条、第六条",
        objects=("自然人",),
        keywords=("护照", "港澳通行证", "出入境", "签注", "台湾通行证"),
        where=PREFS,
        kind="ga",
        cross=True,
        statutory=(15, "working_days", "自收到申请材料之日起15日内签发"),
        promised={"33": 5, "44": 7, "35": 7, "51": 7, "41": 7, "21": 7, "62": 10},
        visits=1,
        depth=3,
        depth_range=(3, 4),
        range_="跨省",
        result=("证照", "普通护照或往来港澳台通行证"),
        fees=(
            Fee(
                "普通护照",
                120.0,
                "国家发展改革委、财政部出入境证件收费标准（2019年下调后）",
            ),
            Fee(
                "往来港澳通行证（电子卡式）",
                60.0,
                "国家发展改革委、财政部出入境证件收费标准（2019年下调后）",
            ),
        ),
        materials=(ID, Mat("现场采集的人像和指纹信息", formats=("electronic",))),
        extra=(cond("户口簿", "首次申请且身份证地址与户籍不一致的", source="government"),),
        fields=(
            ff(
                "document_kind",
                "证件种类",
                "choice",
                True,
                "普通护照",
                "往来港澳通行证",
                "往来台湾通行证",
            ),
            ff("apply_kind", "申请类型", "choice", True, "首次申请", "换发", "补发"),
            ff("receive_way", "领取方式", "choice", True, "窗口领取", "邮寄送达"),
        ),
        description="内地居民在全国任一出入境管理窗口申请普通护照和往来港澳台通行证及签注，无须提交户籍证明。",
        acceptance="中国内地居民，不属于法律规定不准出境的情形。",
        flow="预约→受理并采集人像指纹→审批→制证→领取或邮寄",
    ),
    # --- newborn bundle components ---
    Item(
        dept="wj",
        type="公共服务",
        serial=1,
        name="出生医学证明",
        basis="《中华人民共和国母婴保健法》第二十三条；《中华人民共和国母婴保健法实施办法》",
        objects=("自然人",),
        keywords=("出生证", "出生医学证明", "新生儿", "出生一件事"),
        where=(*NEWBORN_PREFS, *CNTYS),
        kind="wj",
        statutory=(1, "working_days", "在助产机构出生的，出院前首次签发"),
        case="即办件",
        visits=1,
        depth=4,
        depth_range=(3, 7),
        range_="全市",
        result=("证照", "出生医学证明"),
        materials=(
            Mat("父母双方居民身份证", formats=("original",)),
            Mat("《出生医学证明首次签发登记表》"),
        ),
        extra=(cond("结婚证", "父母双方已婚的", source="government"),),
        fields=(
            ff("baby_name", "新生儿姓名"),
            ff("birth_date", "出生日期", "date"),
            ff("birth_place", "出生地点（医疗机构）"),
        ),
        description="由具有助产技术服务资质的医疗机构为在本机构出生的新生儿签发出生医学证明。",
        acceptance="新生儿在本地具有助产资质的医疗机构出生。",
        flow="助产机构登记信息→核对→签发",
    ),
    Item(
        dept="wj",
        type="公共服务",
        serial=2,
        name="预防接种证",
        basis="《中华人民共和国疫苗管理法》第四十七条",
        objects=("自然人",),
        keywords=("接种证", "疫苗", "预防接种", "新生儿", "出生一件事"),
        where=(*NEWBORN_PREFS, *CNTYS),
        kind="wj",
        statutory=(1, "working_days", "儿童出生后一个月内办理"),
        case="即办件",
        visits=1,
        visits_by_prov={"33": 0},
        depth=4,
        depth_range=(3, 7),
        range_="全市",
        result=("证照", "预防接种证（含电子接种证）"),
        materials=(
            Mat("出生医学证明", formats=("electronic",), source="government"),
            Mat("监护人居民身份证"),
        ),
        fields=(ff("baby_name", "儿童姓名"), ff("residence", "儿童居住地址")),
        description="儿童出生后一个月内，其监护人到接种单位或出生医院为其办理预防接种证。",
        acceptance="适龄儿童，由监护人申请。",
        flow="登记→建立预防接种档案→发放接种证",
    ),
    Item(
        dept="ga",
        type="行政确认",
        serial=8,
        name="出生登记",
        basis=f"{LAW_HUKOU}第七条；《国务院办公厅关于解决无户口人员登记户口问题的意见》",
        objects=("自然人",),
        keywords=("户口", "上户口", "新生儿落户", "出生登记", "报户口", "出生一件事"),
        where=(*NEWBORN_PREFS, *CNTYS),
        kind="ga",
        statutory=(20, "working_days", "示例"),
        case="即办件",
        case_by_prov={"62": "承诺件", "21": "承诺件"},
        promised={"62": 3, "21": 5},
        visits=1,
        visits_by_prov={"33": 0, "44": 0, "35": 0},
        depth=4,
        range_="全市",
        result=("证照", "居民户口簿（新生儿户口页）"),
        materials=(
            Mat("出生医学证明", source="government"),
            Mat("父母居民身份证"),
            Mat("申报落户方居民户口簿", source="government"),
            cond("结婚证", "父母已婚的", source="government"),
        ),
        extra=(Mat("《出生登记申请表》"),),
        fields=(
            ff("baby_name", "新生儿姓名"),
            ff("settle_with", "随父或随母落户", "choice", True, "随父", "随母"),
            ff("hukou_address", "落户地址"),
        ),
        description="婴儿出生后一个月以内，由户主、亲属、抚养人或邻居向户口登记机关申报出生登记。",
        acceptance="新生儿已取得出生医学证明，申报方户口在本辖区。",
        flow="申报→核验出生医学证明→登记户口",
    ),
    Item(
        dept="wj",
        type="公共服务",
        serial=3,
        name="生育登记",
        basis="《中华人民共和国人口与计划生育法》；各省（自治区、直辖市）人口与计划生育条例",
        objects=("自然人",),
        keywords=("生育登记", "准生证", "生育服务证", "出生一件事"),
        where=(*NEWBORN_PREFS, *CNTYS),
        kind="wj",
        statutory=(1, "working_days", "示例"),
        case="即办件",
        visits=0,
        depth=5,
        range_="全省",
        result=("其他", "生育登记信息"),
        materials=(
            Mat("夫妻双方居民身份证", formats=("electronic",)),
            MARRIAGE,
        ),
        # Sichuan dropped the marriage requirement for 生育登记 in 2023.
        drop_in={"51": ("结婚证",)},
        fields=(
            ff("expected_date", "预产期", "date", False),
            ff("child_order", "生育子女孩次", "number"),
        ),
        description="生育子女的家庭办理生育登记，享受生育相关服务。",
        acceptance="符合本省人口与计划生育条例规定。",
        flow="在线登记→核验→登记完成",
    ),
    Item(
        dept="yb",
        type="公共服务",
        serial=2,
        name="城乡居民基本医疗保险参保登记",
        basis=f"{LAW_SI}第二十五条；《国务院关于整合城乡居民基本医疗保险制度的意见》（国发〔2016〕3号）",
        objects=("自然人",),
        keywords=("医保", "居民医保", "参保", "新生儿医保", "出生一件事"),
        where=(*NEWBORN_PREFS, *CNTYS),
        kind="yb",
        statutory=(1, "working_days", "示例"),
        case="即办件",
        visits=0,
        visits_by_prov={"62": 1},
        depth=6,
        range_="全市",
        result=("其他", "城乡居民基本医疗保险参保信息"),
        materials=(
            Mat("居民身份证或居民户口簿", source="government"),
            cond("居住证", "非本地户籍人员在常住地参保的", formats=("copy",), source="government"),
        ),
        extra=(cond("出生医学证明", "新生儿参保的", formats=("copy",), source="government"),),
        fields=(
            ff("insured_person", "参保人姓名"),
            ff("category", "参保类别", "choice", True, "新生儿", "学生儿童", "成年居民"),
        ),
        description="未参加职工基本医疗保险的城乡居民（含新生儿）办理城乡居民基本医疗保险参保登记和缴费。",
        acceptance="未参加职工基本医疗保险，户籍或居住在本统筹区。",
        flow="登记→核验→缴费→参保生效",
    ),
    Item(
        dept="yb",
        type="行政给付",
        serial=3,
        name="生育医疗费用报销",
        basis=f"{LAW_SI}第五十四条、第五十五条",
        objects=("自然人",),
        keywords=("生育报销", "医保", "生育医疗费", "出生一件事"),
        where=PREFS,
        kind="yb",
        statutory=(20, "working_days", "示例"),
        promised={"33": 5, "44": 5, "35": 5, "51": 10, "41": 10, "21": 15, "62": 15},
        visits=1,
        visits_by_prov={"33": 0, "44": 0, "35": 0},
        depth=4,
        range_="全市",
        result=("其他", "生育医疗费用报销到账"),
        materials=(
            ID,
            Mat("医疗费用票据", formats=("electronic",)),
            Mat("费用明细清单及出院记录", formats=("copy",), pages=3),
            Mat("出生医学证明", formats=("copy",), source="government"),
            BANK,
        ),
        extra=(Mat("《生育医疗费用报销申请表》"),),
        fields=(
            ff("hospital", "分娩医疗机构"),
            ff("delivery_date", "分娩日期", "date"),
            ff("amount", "申请报销金额（元）", "number"),
            ff("bank_account", "收款银行账号"),
        ),
        description="参保人员在未联网结算的医疗机构发生的生育医疗费用（含异地分娩），按规定申请报销。",
        acceptance="参保人员发生的符合规定的生育医疗费用未直接结算。",
        flow="申请→审核→支付",
    ),
    # --- business ---
    Item(
        dept="scjg",
        type="行政许可",
        serial=3,
        name="个体工商户登记",
        basis=f"《促进个体工商户发展条例》；{LAW_REG}",
        objects=("自然人",),
        keywords=("个体户", "个体工商户", "营业执照", "开店"),
        where=CNTYS,
        kind="scjg",
        statutory=(3, "working_days", "材料齐全的当场登记"),
        case="即办件",
        case_by_prov={"62": "承诺件", "21": "承诺件"},
        promised={"62": 2, "21": 3},
        visits=0,
        visits_by_prov={"62": 1, "21": 1, "41": 1},
        depth=6,
        range_="全市",
        result=("证照", "营业执照"),
        materials=(
            Mat("《个体工商户登记（备案）申请书》"),
            ID,
            cond("经营场所使用证明", "未实行住所申报承诺制的", formats=("copy",)),
        ),
        extra=(Mat("经营场所租赁合同", formats=("copy",)),),
        fields=(
            ff("trade_name", "个体工商户名称", "text", False),
            ff("business_scope", "经营范围"),
            ff("premises", "经营场所"),
        ),
        description="有经营能力的公民从事工商业经营，依法登记为个体工商户。",
        acceptance="经营者具有经营能力，经营场所符合规定。",
        flow="申请→审查→登记→发放营业执照",
    ),
    Item(
        dept="scjg",
        type="行政许可",
        serial=4,
        name="食品经营许可",
        basis="《中华人民共和国食品安全法》第三十五条；《食品经营许可和备案管理办法》",
        objects=("企业法人", "非法人企业", "自然人"),
        keywords=("食品许可", "餐饮许可", "食品经营许可证", "开餐馆"),
        where=CNTYS,
        kind="scjg",
        statutory=(10, "working_days", "自受理申请之日起10个工作日内作出决定"),
        promised={"33": 1, "44": 3, "35": 3, "51": 5, "41": 5, "21": 7, "62": 10},
        visits=0,
        visits_by_prov={"62": 1, "21": 1},
        depth=5,
        range_="全市",
        result=("证照", "食品经营许可证"),
        materials=(
            Mat("《食品经营许可申请书》"),
            LICENCE,
            Mat(
                "与食品经营相适应的主要设备设施、经营布局、操作流程等文件",
                formats=("copy",),
                pages=3,
            ),
            Mat(
                "食品安全自查、从业人员健康管理、进货查验记录等食品安全管理制度",
                formats=("copy",),
                pages=5,
            ),
        ),
        extra=(Mat("从业人员健康证明", formats=("copy",)),),
        extra_in=("62", "21", "41"),
        fields=(
            ff("operator_name", "经营者名称"),
            ff("premises", "经营场所"),
            ff(
                "main_business",
                "主体业态",
                "choice",
                True,
                "食品销售经营者",
                "餐饮服务经营者",
                "单位食堂",
            ),
        ),
        description="从事食品销售和餐饮服务，应当依法取得食品经营许可。",
        acceptance="具有与经营的食品品种、数量相适应的经营场所、设备设施、管理制度和人员。",
        flow="申请→受理→审查（必要时现场核查）→决定→发证",
    ),
    # --- elderly, disability, social assistance, marriage ---
    Item(
        dept="wj",
        type="公共服务",
        serial=4,
        name="老年人优待证",
        basis=f"{LAW_ELDER}第五章（社会优待）；各省老年人优待办法",
        objects=("自然人",),
        keywords=("老年证", "优待证", "老年人", "敬老卡"),
        where=CNTYS,
        kind="wj",
        statutory=(5, "working_days", "示例"),
        case="即办件",
        case_by_prov={"62": "承诺件", "21": "承诺件"},
        promised={"62": 5, "21": 3},
        visits=0,
        visits_by_prov={"62": 1, "21": 1, "41": 1},
        depth=5,
        range_="全省",
        result=("证照", "老年人优待证"),
        materials=(ID, cond("近期免冠彩色证件照片", "申领实体证件的", formats=("electronic",))),
        extra=(HKB,),
        fields=(ff("card_kind", "证件形式", "choice", True, "电子证", "实体卡"),),
        description="60周岁以上老年人申领优待证，凭证享受交通、游览等优待。",
        acceptance="年满60周岁（部分地区65周岁）的本地户籍或常住老年人。",
        flow="申请→核验年龄及户籍→制证或发放电子证",
    ),
    Item(
        dept="mz",
        type="行政给付",
        serial=1,
        name="高龄津贴申领",
        basis=f"{LAW_ELDER}第三十三条；各地高龄津贴制度实施办法",
        objects=("自然人",),
        keywords=("高龄补贴", "高龄津贴", "老年人补贴", "长寿补贴"),
        where=CNTYS,
        kind="mz",
        statutory=(20, "working_days", "示例"),
        promised={"33": 5, "44": 5, "35": 10, "51": 10, "41": 15, "21": 15, "62": 20},
        visits=1,
        visits_by_prov={"33": 0, "44": 0},
        depth=4,
        range_="全县",
        result=("其他", "高龄津贴按月发放"),
        materials=(ID, HKB, BANK),
        drop_in={"33": ("居民户口簿",), "44": ("居民户口簿",)},
        extra=(COMMUNITY,),
        fields=(
            ff("bank_account", "津贴发放账号"),
            ff("guardian_phone", "联系人电话", "text", False),
        ),
        description="本地户籍高龄老年人按规定申领高龄津贴（部分地区已“免申即享”）。",
        acceptance="达到本地规定年龄（一般为80周岁以上）的本地户籍老年人。",
        flow="申请→乡镇（街道）初审→县级民政部门审核→按月发放",
    ),
    Item(
        dept="cl",
        type="行政确认",
        serial=1,
        name="残疾人证办理",
        basis="《中华人民共和国残疾人保障法》；《中华人民共和国残疾人证管理办法》",
        objects=("自然人",),
        keywords=("残疾证", "残疾人证", "评残", "残疾评定"),
        where=CNTYS,
        kind="cl",
        statutory=(30, "working_days", "示例；不含残疾评定时间"),
        promised={"33": 10, "44": 10, "35": 15, "51": 15, "41": 20, "21": 20, "62": 20},
        visits=2,
        visits_by_prov={"33": 1, "44": 1},
        depth=3,
        depth_range=(2, 5),
        range_="全市",
        result=("证照", "中华人民共和国残疾人证（第三代智能化）"),
        fees_by_prov={
            "62": (Fee("残疾评定费", 50.0, "评定机构收费（示例）", "最低生活保障对象免收"),),
            "21": (Fee("残疾评定费", 40.0, "评定机构收费（示例）", "最低生活保障对象免收"),),
        },
        materials=(
            ID,
            HKB,
            Mat("近期免冠彩色证件照片", pages=1),
            Mat("《残疾人证申请表》"),
        ),
        extra=(Mat("二级以上医院出具的病历资料", formats=("copy",), pages=3),),
        fields=(
            ff(
                "disability_kind",
                "残疾类别",
                "choice",
                True,
                "视力",
                "听力",
                "言语",
                "肢体",
                "智力",
                "精神",
                "多重",
            ),
            ff("guardian_name", "监护人姓名", "text", False),
        ),
        description="符合残疾标准的人员申请残疾评定并办理残疾人证。",
        acceptance="符合《残疾人残疾分类和分级》国家标准。",
        flow="申请→指定机构残疾评定→县级残联审核→发证",
    ),
    Item(
        dept="mz",
        type="行政给付",
        serial=2,
        name="最低生活保障申请",
        basis="《社会救助暂行办法》第九条至第十一条；《最低生活保障审核确认办法》",
        objects=("自然人",),
        keywords=("低保", "最低生活保障", "社会救助"),
        where=CNTYS,
        kind="mz",
        statutory=(30, "working_days", "乡镇审核及县级确认合计，原则上不超过30个工作日"),
        promised={"33": 15, "44": 15, "35": 20, "51": 20, "41": 25, "21": 30, "62": 30},
        visits=1,
        visits_by_prov={"62": 2},
        depth=3,
        depth_range=(2, 5),
        range_="全县",
        result=("其他", "最低生活保障审核确认决定"),
        materials=(
            ID,
            HKB,
            Mat("《最低生活保障申请书》"),
            Mat("家庭经济状况核对授权书"),
            cond("家庭成员收入证明", "无法通过信息核对获取的", formats=("copy",)),
        ),
        extra=(COMMUNITY,),
        extra_in=("62", "21", "41"),
        fields=(
            ff("household_size", "共同生活家庭成员人数", "number"),
            ff("monthly_income", "家庭月收入（元）", "number"),
            ff("reason", "申请原因"),
        ),
        description="共同生活的家庭成员人均收入低于当地最低生活保障标准且财产符合规定的，申请最低生活保障。",
        acceptance="家庭人均收入低于当地低保标准，家庭财产状况符合规定。",
        flow="申请→乡镇（街道）调查核实→公示→县级民政部门审核确认",
    ),
    Item(
        dept="mz",
        type="行政确认",
        serial=3,
        name="结婚登记",
        basis="《中华人民共和国民法典》第一千零四十九条；《婚姻登记条例》",
        objects=("自然人",),
        keywords=("结婚证", "婚姻登记", "领证", "结婚"),
        where=CNTYS,
        kind="mz",
        statutory=(1, "working_days", "符合条件的当场予以登记"),
        case="即办件",
        visits=1,
        depth=3,
        depth_range=(2, 3),
        range_="全国",
        result=("证照", "结婚证"),
        materials=(
            Mat("双方居民身份证"),
            Mat("双方近期半身免冠合影照片", pages=3),
            Mat("《申请结婚登记声明书》"),
        ),
        extra=(Mat("双方居民户口簿", source="government"),),
        fields=(ff("appointment_date", "预约登记日期", "date"), ff("partner_name", "另一方姓名")),
        description="内地居民结婚，男女双方亲自到婚姻登记机关申请结婚登记（须双方到场）。",
        acceptance="男女双方完全自愿，达到法定婚龄，无禁止结婚情形。",
        flow="网上预约→双方到场申请→审查→当场登记颁证",
    ),
    # --- retirement and others ---
    Item(
        dept="rs",
        type="行政给付",
        serial=7,
        name="企业职工基本养老保险待遇申领",
        basis=f"{LAW_SI}第十六条；《国务院关于完善企业职工基本养老保险制度的决定》（国发〔2005〕38号）",
        objects=("自然人",),
        keywords=("退休", "养老金", "退休申请", "社保", "退休一件事"),
        where=PREFS,
        kind="sb",
        statutory=(20, "working_days", "示例"),
        promised={"33": 5, "44": 5, "35": 10, "51": 10, "41": 15, "21": 15, "62": 20},
        visits=1,
        visits_by_prov={"33": 0, "44": 0, "35": 0},
        depth=4,
        range_="全市",
        result=("其他", "基本养老金核定及按月发放"),
        materials=(
            ID,
            Mat("《基本养老保险待遇申领表》"),
            Mat("社会保障卡（金融账户）", source="government"),
            cond("职工档案", "需核定视同缴费年限的", source="government", pages=20),
        ),
        extra=(Mat("近期免冠彩色证件照片"),),
        fields=(
            ff("retire_date", "退休时间", "date"),
            ff("employer", "参保单位", "text", False),
            ff("pension_account", "养老金发放账户"),
        ),
        description="参保人员达到法定退休年龄且累计缴费满规定年限的，申领按月领取基本养老金。",
        acceptance="达到法定退休年龄，累计缴费年限符合规定。",
        flow="申请→资格审核→待遇核定→按月发放",
    ),
    Item(
        dept="rs",
        type="公共服务",
        serial=8,
        name="就业创业证申领",
        basis="《中华人民共和国就业促进法》；《就业服务与就业管理规定》",
        objects=("自然人",),
        keywords=("就业创业证", "就业失业登记证", "就业"),
        where=CNTYS,
        kind="rs",
        statutory=(1, "working_days", "示例"),
        case="即办件",
        visits=0,
        visits_by_prov={"62": 1, "21": 1},
        depth=6,
        range_="全省",
        result=("证照", "就业创业证（电子证）"),
        materials=(ID,),
        extra=(PHOTO,),
        fields=(ff("employment_status", "就业状态", "choice", True, "就业", "失业", "创业"),),
        description="劳动者申领《就业创业证》，记载就业失业状态，享受就业创业扶持政策。",
        acceptance="法定劳动年龄内的劳动者。",
        flow="在线申请→核验→发放电子证",
    ),
    Item(
        dept="yb",
        type="公共服务",
        serial=4,
        name="基本医疗保险关系转移接续",
        basis=(
            f"{LAW_SI}第三十二条；《国家医保局办公室 财政部办公厅"
            "关于印发〈基本医疗保障关系转移接续暂行办法〉的通知》"
        ),
        objects=("自然人",),
        keywords=("医保", "医保转移", "医保关系转移", "转移接续"),
        where=PREFS,
        kind="yb",
        cross=True,
        statutory=(15, "working_days", "示例"),
        promised={"33": 5, "44": 5, "35": 7, "51": 10, "41": 10, "21": 15, "62": 15},
        visits=0,
        visits_by_prov={"62": 1},
        depth=5,
        range_="跨省",
        business="变更",
        result=("其他", "基本医疗保险关系转移接续结果"),
        materials=(Mat("医保电子凭证或居民身份证", formats=("electronic",)),),
        extra=(Mat("《参保人员基本医疗保障关系转移接续信息表》"),),
        fields=(ff("transfer_out", "转出地"), ff("transfer_in", "转入地")),
        description="参保人员跨统筹地区就业的，基本医疗保险关系随本人转移，缴费年限累计计算。",
        acceptance="在转入地已参保，转出地已中止参保。",
        flow="转入地受理→转出地核实转出→转入地接续",
    ),
    Item(
        dept="ga",
        type="公共服务",
        serial=9,
        name="居住证申领",
        basis="《居住证暂行条例》",
        objects=("自然人",),
        keywords=("居住证", "暂住证", "流动人口"),
        where=CNTYS,
        kind="ga",
        statutory=(15, "natural_days", "自受理之日起15日内制作发放；偏远地区可延长"),
        promised={"33": 5, "44": 7, "35": 7, "51": 10, "41": 10, "21": 15, "62": 15},
        visits=1,
        visits_by_prov={"33": 0, "44": 0},
        depth=4,
        range_="全省",
        result=("证照", "居住证"),
        fees=(),
        materials=(
            ID,
            PHOTO,
            cond(
                "房屋租赁合同或不动产权证书",
                "证明合法稳定住所的",
                formats=("copy",),
                source="government",
            ),
            cond("劳动合同或营业执照", "证明合法稳定就业的", formats=("copy",)),
        ),
        extra=(Mat("居住地社区（村）出具的居住证明"),),
        fields=(ff("residence_address", "居住地址"), ff("since", "居住起始日期", "date")),
        description="离开常住户口所在地，在本地居住半年以上并符合条件的公民申领居住证，首次申领免费。",
        acceptance="在居住地居住半年以上，有合法稳定就业、合法稳定住所或连续就读之一。",
        flow="居住登记→申请→审核→制证发放",
    ),
    Item(
        dept="zj",
        type="公共服务",
        serial=4,
        name="出具贷款职工住房公积金缴存使用证明",
        basis=f"{LAW_HF}第二十六条；{KUASHENG}",
        objects=("自然人",),
        keywords=("公积金", "缴存证明", "异地贷款", "公积金证明"),
        where=PREFS,
        kind="gjj",
        cross=True,
        statutory=(1, "working_days", "示例"),
        case="即办件",
        visits=0,
        depth=7,
        depth_range=(5, 7),
        range_="跨省",
        result=("其他", "异地贷款职工住房公积金缴存使用证明"),
        materials=(Mat("居民身份证", formats=("electronic",)),),
        fields=(ff("loan_city", "贷款地城市"), ff("purpose", "证明用途", "text", False)),
        description="职工申请异地住房公积金贷款时，由缴存地出具缴存使用证明。",
        acceptance="职工在本地正常缴存住房公积金。",
        flow="在线申请→系统生成证明→贷款地在线核验",
    ),
)

# The migrant-worker story (DESIGN.md): the 广安区 social-insurance agency must have one.
MIGRANT_ITEM = "企业职工基本养老保险关系转移接续"

# 户口迁移 corridors: the place moved to jointly handles with the place moved from (多地联办).
HUKOU_CORRIDORS = {
    "440305": "511602",
    "330106": "620102",
    "350203": "410102",
    "510107": "210102",
}
JOINT_HUKOU_CASES = ("户口迁移（工作调动）", "户口迁移（夫妻投靠）")
# 公积金贷款与抵押登记联办 in these cities.
JOINT_MORTGAGE = ("440300", "350200")

BUNDLES = (
    *(
        (
            f"BUNDLE-NEWBORN-{code}",
            "新生儿出生一件事",
            code,
            5,
            "一次告知、一表申请、一套材料、一次提交：出生医学证明、预防接种证、出生登记、生育登记、"
            "城乡居民医保参保登记、社会保障卡申领、生育医疗费用报销并联办理，5个工作日内办结。",
            (
                "出生医学证明",
                "预防接种证",
                "出生登记",
                "生育登记",
                "城乡居民基本医疗保险参保登记",
                "社会保障卡申领",
                "生育医疗费用报销",
            ),
        )
        for code in NEWBORN_PREFS
    ),
    *(
        (
            f"BUNDLE-RETIRE-{code}",
            "退休一件事",
            code,
            5,
            "退休时一次申请，联办基本养老金申领和退休提取住房公积金。",
            ("企业职工基本养老保险待遇申领", "正常退休提取住房公积金"),
        )
        for code in ("330100", "440300")
    ),
    (
        "BUNDLE-RESTAURANT-440305",
        "开办餐饮店一件事",
        "440305",
        3,
        "个体工商户登记与食品经营许可一表申请、并联审批。",
        ("个体工商户登记", "食品经营许可"),
    ),
)


# --- building the document ---------------------------------------------------------------


def jitter(*parts: str) -> int:
    """A deterministic pseudo-random integer for small variations."""
    return int(hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()[:8], 16)


def limit(value: int, unit: str, note: str = "") -> FlowMap:
    """A time limit mapping."""
    return FlowMap(value=value, unit=unit, note=note)


def implementation(item: Item, code: str, seq: int) -> dict[str, Any]:
    """One implementation of an item in a region."""
    r = region(code)
    prov = code[:2]
    auth = authority(item.kind, code)
    stat_value, unit, stat_note = item.statutory
    case = item.case_by_prov.get(prov, item.case)
    if case == "即办件":
        # The format does not say whether 0 is allowed; 1 working day means "done on the spot".
        promised, note = 1, "即办件，材料齐全当场办结"
    elif prov in item.promised:
        promised, note = item.promised[prov], ""
    else:
        promised = max(1, math.ceil(stat_value * SPEED[prov]))
        if jitter(item.code, code) % 3 == 0:
            promised += 1
        promised, note = min(promised, stat_value), ""
    visits = item.visits_by_prov.get(prov, item.visits)
    lo, hi = item.depth_range
    depth = min(hi, max(lo, item.depth + DEPTH_OFFSET[prov]))
    if visits == 0:
        depth = max(depth, 5)  # no visit means the whole case is handled online
    elif depth < 4:
        visits = max(visits, 1)
    forms = ["网上办理", "掌上办理"] if visits == 0 else ["窗口办理"]
    if visits > 0 and depth >= 4:
        forms.append("网上办理")
    if item.kind in {"ga", "gz"} and visits > 0:
        forms.append("邮寄送达")
    dropped = set(item.drop_in.get(prov, ()))
    materials = [m.doc() for m in item.materials if m.name not in dropped]
    if prov in item.extra_in:
        for extra in item.extra:
            # An extra material with a base material's name makes that material stricter.
            names = [m["name"] for m in materials]
            if extra.name in names:
                materials[names.index(extra.name)] = extra.doc()
            else:
                materials.append(extra.doc())
    fees = item.fees_by_prov.get(prov, item.fees)
    area = AREA_CODES.get(code[:4], AREA_CODES[prov])
    place = {"省": r.province, "市": r.province + r.city, "县": r.province + r.city + r.name}
    out: dict[str, Any] = {
        "code": f"{code}-{item.code}-{seq:02d}",
        "region": code,
        "authority": FlowMap(name=auth.name, code=auth.code),
        "body_nature": "授权组织" if item.kind in AUTHORISED else "法定机关",
        "power_source": item.power_source if r.level == "省" else 1,
        "exercise_level": r.level,
        "business_type": item.business,
        "case_type": case,
        "statutory_limit": limit(stat_value, unit, stat_note),
        "promised_limit": limit(promised, unit, note),
        "fees": [
            FlowMap(name=f.name, amount=f.amount, basis=f.basis, reduction=f.reduction)
            for f in fees
        ],
        "visits": visits,
        "online_depth": depth,
        "tongban_range": "跨省" if item.cross else item.range_,
        "handling_forms": Flow(forms),
        "acceptance_conditions": item.acceptance,
        "handling_flow": item.flow,
        "address": f"{place[r.level]}政务服务中心{WINDOW[item.kind]}（示例地址）",
        "hours": HOURS[prov],
        "phone": f"{area}-12345",
        "complaint_phone": "12345",
    }
    if item.result:
        out["result"] = FlowMap(type=item.result[0], name=item.result[1])
    out["co_handlers"] = []
    fields_out = []
    for f in item.fields:
        entry = FlowMap(name=f.name, label=f.label, type=f.type, required=f.required)
        if f.choices:
            entry["choices"] = Flow(list(f.choices))
        fields_out.append(entry)
    out["form_fields"] = fields_out
    out["materials"] = materials
    return out


def add_co_handlers(item: Item, impl: dict[str, Any]) -> None:
    """Make the joint-handling implementations 联办件 with their co-handlers."""
    code = impl["region"]
    if item.name in JOINT_HUKOU_CASES and code in HUKOU_CORRIDORS:
        partner = HUKOU_CORRIDORS[code]
        co = authority("ga", partner)
        impl["case_type"] = "联办件"
        impl["co_handlers"] = [FlowMap(name=co.name, code=co.code, region=partner)]
        impl["handling_flow"] = (
            f"{impl['handling_flow']}（与迁出地{co.name}多地联办，迁出手续由其在线办理）"
        )
    if item.name == "不动产抵押登记" and code in JOINT_MORTGAGE:
        co = authority("gjj", code)
        impl["case_type"] = "联办件"
        impl["co_handlers"] = [FlowMap(name=co.name, code=co.code, region=code)]
        impl["handling_flow"] = f"{impl['handling_flow']}（住房公积金贷款抵押登记与{co.name}联办）"


def build() -> dict[str, Any]:
    """The whole seed document."""
    items_out: list[dict[str, Any]] = []
    by_name_region: dict[tuple[str, str], dict[str, Any]] = {}
    for item in ITEMS:
        impls = []
        for code in item.where:
            impl = implementation(item, code, 1)
            add_co_handlers(item, impl)
            impls.append(impl)
            by_name_region[(item.name, code)] = impl
        items_out.append(
            {
                "code": item.code,
                "name": item.name,
                "type": item.type,
                "department": DEPT[item.dept][1],
                "legal_basis": item.basis,
                "service_objects": Flow(list(item.objects)),
                "keywords": Flow(list(item.keywords)),
                "cross_province": item.cross,
                "description": item.description,
                "implementations": impls,
            }
        )
    bundles_out = []
    for code, name, where, days, description, parts in BUNDLES:
        components = []
        for part in parts:
            impl = by_name_region[(part, where)]
            promised = impl["promised_limit"]
            # A bundle promises its deadline for every component it bundles.
            if promised["unit"] == "working_days" and promised["value"] > days:
                promised["value"] = days
                promised["note"] = f"纳入“{name}”联办，{days}个工作日内办结"
            components.append(impl["code"])
        bundles_out.append(
            {
                "code": code,
                "name": name,
                "region": where,
                "promised_limit": FlowMap(value=days, unit="working_days"),
                "description": description,
                "components": components,
            }
        )
    return {"version": 1, "items": items_out, "bundles": bundles_out}


def _iter_impls(doc: dict[str, Any]) -> Iterable[tuple[dict[str, Any], dict[str, Any]]]:
    for item in doc["items"]:
        for impl in item["implementations"]:
            yield item, impl


def validate(doc: dict[str, Any]) -> None:
    """Assert the rules the importer and the later analyses rely on."""
    regions = load_region_codes()
    items = doc["items"]
    assert len(items) >= 40, len(items)
    assert len({i["code"] for i in items}) == len(items), "duplicate item code"
    assert len({i["name"] for i in items}) == len(items), "duplicate item name"
    impl_codes: set[str] = set()
    uscc_names: dict[str, str] = {}
    for item, impl in _iter_impls(doc):
        where = f"{item['name']} / {impl['code']}"
        assert impl["code"] not in impl_codes, f"duplicate implementation code {where}"
        impl_codes.add(impl["code"])
        assert impl["region"] in regions, f"unknown region {where}"
        name = impl["authority"]["name"]
        prov, county = impl["region"][:2], impl["region"]
        assert name.startswith(regions[prov + "0000"]) or name.startswith(
            regions[county[:4] + "00"]
        ), f"authority name does not match region: {where}"
        for auth in (impl["authority"], *impl["co_handlers"]):
            assert uscc_valid(auth["code"]), f"bad USCC {auth['code']} {where}"
            assert uscc_names.setdefault(auth["code"], auth["name"]) == auth["name"], auth
            assert auth["code"][2:8] == auth.get("region", impl["region"]), where
        for co in impl["co_handlers"]:
            assert co["region"] in regions, where
        stat, prom = impl["statutory_limit"], impl["promised_limit"]
        assert stat["unit"] == prom["unit"], where
        assert 1 <= prom["value"] <= stat["value"], f"promised > statutory: {where}"
        if impl["case_type"] == "即办件":
            assert prom["value"] <= 1, where
        if impl["case_type"] == "联办件":
            assert impl["co_handlers"], where
        assert 1 <= impl["online_depth"] <= 7, where
        assert impl["visits"] > 0 or impl["online_depth"] >= 5, where
        assert not item["cross_province"] or impl["tongban_range"] == "跨省", where
        names = [m["name"] for m in impl["materials"]]
        assert len(names) == len(set(names)), f"duplicate material {where}: {names}"
        for m in impl["materials"]:
            assert m["required"] != "conditional" or m.get("condition"), where
            assert m["source"] in {"applicant", "government"}, where
        fields = [f["name"] for f in impl["form_fields"]]
        assert len(fields) == len(set(fields)), where
    by_name = {i["name"]: i for i in items}
    for keyword_item in ("社会保障卡申领", "电子社会保障卡申领"):
        assert "社保卡" in by_name[keyword_item]["keywords"], keyword_item
    migrant = [
        impl
        for impl in by_name[MIGRANT_ITEM]["implementations"]
        if impl["region"] == "511602" and impl["tongban_range"] == "跨省"
    ]
    assert migrant and "广安区" in migrant[0]["authority"]["name"], "migrant-worker story"
    by_code = {impl["code"]: (item, impl) for item, impl in _iter_impls(doc)}
    for bundle in doc["bundles"]:
        assert bundle["region"] in regions, bundle["code"]
        for component in bundle["components"]:
            assert component in by_code, component
            _, impl = by_code[component]
            assert impl["region"] == bundle["region"], component
            assert impl["promised_limit"]["value"] <= bundle["promised_limit"]["value"], component
    provinces = {impl["region"][:2] for _, impl in _iter_impls(doc)}
    assert len(provinces) >= 6, provinces


HEADER = (
    "# Tongban seed catalog — GENERATED by tools/build_seed_catalog.py; do not edit by hand.\n"
    "# Format: docs/catalog-format.md. What is real and what is illustrative: SEED_NOTES.md.\n"
)


def render() -> str:
    """The YAML text of the seed catalog."""
    doc = build()
    validate(doc)
    body = yaml.dump(doc, Dumper=Dumper, allow_unicode=True, sort_keys=False, width=4096)
    return HEADER + body


def main(argv: list[str]) -> int:
    """Write (or with --check, verify) the seed catalog."""
    text = render()
    if "--check" in argv:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        if current != text:
            print(f"{OUT} is out of date; run tools/build_seed_catalog.py", file=sys.stderr)
            return 1
        return 0
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, encoding="utf-8")
    doc = yaml.safe_load(text)
    impls = [impl for _, impl in _iter_impls(doc)]
    print(
        f"wrote {OUT.relative_to(ROOT)}: {len(doc['items'])} items, {len(impls)} implementations, "
        f"{len({i['region'] for i in impls})} regions, {len(doc['bundles'])} bundles"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
