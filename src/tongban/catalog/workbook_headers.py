"""The workbook's sheets and columns as data: key, kind, Chinese header, whether required, what
to write (Chinese and English) and an example.

The importer accepts a sheet or column by its key (`code`, the exchange format's and the CLI's
English name) or by its Chinese name (`事项编码`): the alias table below is built from this one,
so a header added here is read, explained and put in the sample workbook (import_sample.py).
Cells may also use the Chinese words of VALUE_WORDS (是/否, 工作日…) instead of the format's codes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    """One column: the key in the exchange format, how its cells are read, its Chinese header,
    whether every row needs it, what to write in it and an example value."""

    key: str
    kind: str  # text, list, int, number, bool, json, raw, unit, formats, source
    zh: str
    required: bool
    help_zh: str
    help_en: str
    example: str = ""


@dataclass(frozen=True)
class Sheet:
    """One sheet: its number (the order in the file), key, Chinese name and columns."""

    number: int
    key: str
    zh: str
    columns: tuple[Column, ...]


C = Column
LIST_HINT_ZH = "多项用分号“；”隔开"
LIST_HINT_EN = "separate several with “;”"
UNIT_ZH = "工作日 或 自然日"
UNIT_EN = "working_days (工作日) or natural_days (自然日)"

SHEETS: tuple[Sheet, ...] = (
    Sheet(
        1,
        "items",
        "事项",
        (
            C(
                "code",
                "text",
                "事项编码",
                True,
                "基本目录的事项编码，4–40 位字母、数字或“-”",
                "Basic item code: 4–40 letters, digits or “-”",
                "SAMPLE-0001",
            ),
            C(
                "name",
                "text",
                "事项名称",
                True,
                "事项的标准名称",
                "Standard name of the item",
                "示例事项：社会保障卡申领",
            ),
            C(
                "name_en",
                "text",
                "英文名称",
                False,
                "事项的英文名称（可不填）",
                "English name of the item (optional)",
                "Sample: applying for a social security card",
            ),
            C(
                "type",
                "text",
                "事项类型",
                True,
                "如 行政许可、行政给付、公共服务",
                "e.g. 行政许可, 行政给付, 公共服务",
                "公共服务",
            ),
            C(
                "department",
                "text",
                "主管部门",
                True,
                "主管部门的名称",
                "The responsible department",
                "人力资源和社会保障部门",
            ),
            C(
                "legal_basis",
                "text",
                "设定依据",
                True,
                "法律法规依据",
                "Legal basis",
                "《中华人民共和国社会保险法》第五十八条",
            ),
            C(
                "service_objects",
                "list",
                "服务对象",
                True,
                f"自然人、企业法人、事业法人、社会组织法人、非法人企业、行政机关、其他组织；"
                f"{LIST_HINT_ZH}",
                f"自然人, 企业法人, 事业法人, 社会组织法人, 非法人企业, 行政机关, 其他组织; "
                f"{LIST_HINT_EN}",
                "自然人",
            ),
            C(
                "keywords",
                "list",
                "关键词",
                False,
                f"便于搜索的词；{LIST_HINT_ZH}",
                f"Words people search for; {LIST_HINT_EN}",
                "社保卡；社会保障卡",
            ),
            C("cross_province", "bool", "跨省通办", False, "是 或 否", "是/否 (yes or no)", "是"),
            C(
                "description",
                "text",
                "事项说明",
                False,
                "一两句话说明事项",
                "A sentence or two",
                "首次申领社会保障卡。",
            ),
        ),
    ),
    Sheet(
        2,
        "implementations",
        "实施清单",
        (
            C(
                "item_code",
                "text",
                "事项编码",
                True,
                "所属事项在“事项”表中的编码",
                "Code of the item on the sheet “items”",
                "SAMPLE-0001",
            ),
            C(
                "code",
                "text",
                "实施编码",
                True,
                "实施清单编码，4–80 位字母、数字或“.-_”",
                "Implementation code: 4–80 letters, digits or “.-_”",
                "510000-SAMPLE-0001-01",
            ),
            C(
                "region",
                "text",
                "行政区划代码",
                True,
                "实施地区的 6 位或 12 位区划代码",
                "6- or 12-digit region code",
                "510000",
            ),
            C(
                "authority_name",
                "text",
                "实施机关",
                True,
                "实施机关名称",
                "Implementing authority",
                "四川省人力资源和社会保障厅",
            ),
            C(
                "authority_code",
                "text",
                "实施机关统一社会信用代码",
                True,
                "18 位统一社会信用代码",
                "18-character unified social credit code",
                "11510000MB0000001R",
            ),
            C(
                "body_nature",
                "text",
                "实施主体性质",
                False,
                "法定机关、授权组织 或 受委托组织",
                "法定机关, 授权组织 or 受委托组织",
                "法定机关",
            ),
            C(
                "entrusted_department",
                "text",
                "受委托部门",
                False,
                "受委托时填写",
                "When entrusted",
                "",
            ),
            C(
                "power_source",
                "int",
                "权力来源",
                True,
                "1 至 6 的数字",
                "A number from 1 to 6",
                "1",
            ),
            C(
                "exercise_level",
                "text",
                "行使层级",
                True,
                "国家、省、市、县、乡 或 村",
                "国家, 省, 市, 县, 乡 or 村",
                "省",
            ),
            C(
                "business_type",
                "text",
                "业务办理项",
                False,
                "新办、变更、延续 或 注销",
                "新办, 变更, 延续 or 注销",
                "新办",
            ),
            C(
                "case_type",
                "text",
                "办件类型",
                True,
                "即办件、承诺件 或 联办件",
                "即办件, 承诺件 or 联办件",
                "承诺件",
            ),
            C(
                "statutory_limit_value",
                "int",
                "法定办结时限",
                True,
                "天数（0–3650）",
                "Number of days (0–3650)",
                "20",
            ),
            C("statutory_limit_unit", "unit", "法定时限单位", True, UNIT_ZH, UNIT_EN, "工作日"),
            C("statutory_limit_note", "text", "法定时限说明", False, "可不填", "Optional", ""),
            C(
                "promised_limit_value",
                "int",
                "承诺办结时限",
                True,
                "天数，不得长于法定时限",
                "Number of days, not longer than the statutory limit",
                "10",
            ),
            C("promised_limit_unit", "unit", "承诺时限单位", True, UNIT_ZH, UNIT_EN, "工作日"),
            C("promised_limit_note", "text", "承诺时限说明", False, "可不填", "Optional", ""),
            C("visits", "int", "到办事现场次数", True, "0–20", "0–20", "1"),
            C("online_depth", "int", "网办深度", True, "1–7", "1–7", "4"),
            C(
                "tongban_range",
                "text",
                "通办范围",
                True,
                "全国、跨省、全省、全市、全县 或 定点办理",
                "全国, 跨省, 全省, 全市, 全县 or 定点办理",
                "跨省",
            ),
            C(
                "handling_forms",
                "list",
                "办理形式",
                False,
                f"如 窗口办理、网上办理；{LIST_HINT_ZH}",
                f"e.g. 窗口办理, 网上办理; {LIST_HINT_EN}",
                "窗口办理；网上办理",
            ),
            C("acceptance_conditions", "text", "受理条件", False, "", "", "参加社会保险的人员"),
            C("handling_flow", "text", "办理流程", False, "", "", "申请、受理、制卡、发卡"),
            C("address", "text", "办理地点", False, "", "", "成都市青羊区"),
            C("hours", "text", "办理时间", False, "", "", "工作日 9:00-17:00"),
            C("phone", "text", "咨询电话", False, "", "", "028-12333"),
            C("complaint_phone", "text", "监督投诉电话", False, "", "", "12345"),
            C(
                "result_type",
                "text",
                "办理结果类型",
                False,
                "如 证照、批文",
                "e.g. 证照, 批文",
                "证照",
            ),
            C("result_name", "text", "办理结果名称", False, "", "", "社会保障卡"),
            C(
                "co_handlers",
                "json",
                "联办机关",
                False,
                "JSON 列表：name、code、region",
                "A JSON list of {name, code, region}",
                "",
            ),
            C(
                "form_fields",
                "json",
                "表单字段",
                False,
                "JSON 列表：name、label、type、required",
                "A JSON list of {name, label, type, required}",
                "",
            ),
        ),
    ),
    Sheet(
        3,
        "materials",
        "申请材料",
        (
            C(
                "implementation_code",
                "text",
                "实施编码",
                True,
                "“实施清单”表中的实施编码",
                "Code on the sheet “implementations”",
                "510000-SAMPLE-0001-01",
            ),
            C("name", "text", "材料名称", True, "", "", "居民身份证"),
            C(
                "required",
                "raw",
                "是否必需",
                False,
                "是、否 或 容缺（有条件时需要）",
                "是/否/容缺 (yes, no or conditional)",
                "是",
            ),
            C(
                "condition",
                "text",
                "需要的条件",
                False,
                "“容缺”时必须写明条件",
                "Required when the material is conditional",
                "",
            ),
            C(
                "format",
                "formats",
                "材料形式",
                False,
                f"原件、复印件 或 电子件；{LIST_HINT_ZH}",
                f"原件/复印件/电子件 (original, copy, electronic); {LIST_HINT_EN}",
                "原件",
            ),
            C(
                "source",
                "source",
                "材料来源",
                False,
                "申请人 或 政府部门（共享获取）",
                "申请人/政府部门 (applicant or government)",
                "政府部门",
            ),
            C("pages", "int", "页数", False, "", "", "1"),
            C("basis", "text", "材料依据", False, "", "", ""),
        ),
    ),
    Sheet(
        4,
        "fees",
        "收费",
        (
            C(
                "implementation_code",
                "text",
                "实施编码",
                True,
                "“实施清单”表中的实施编码",
                "Code on the sheet “implementations”",
                "510000-SAMPLE-0001-01",
            ),
            C("name", "text", "收费项目", True, "", "", "补卡工本费"),
            C(
                "amount",
                "number",
                "金额（元）",
                True,
                "以元为单位，最多两位小数",
                "In yuan, at most two decimals",
                "20",
            ),
            C("basis", "text", "收费依据", False, "", "", ""),
            C("reduction", "text", "减免政策", False, "", "", "首次申领免费"),
        ),
    ),
    Sheet(
        5,
        "bundles",
        "一件事",
        (
            C(
                "code",
                "text",
                "一件事编码",
                True,
                "4–40 位字母、数字或“-”",
                "4–40 letters, digits or “-”",
                "BUNDLE-SAMPLE-510000",
            ),
            C("name", "text", "一件事名称", True, "", "", "示例：新生儿出生一件事"),
            C("name_en", "text", "英文名称", False, "可不填", "Optional", ""),
            C(
                "region",
                "text",
                "行政区划代码",
                True,
                "6 位或 12 位区划代码",
                "6- or 12-digit region code",
                "510000",
            ),
            C("promised_limit_value", "int", "承诺办结时限", False, "天数", "Number of days", "5"),
            C("promised_limit_unit", "unit", "承诺时限单位", False, UNIT_ZH, UNIT_EN, "工作日"),
            C("promised_limit_note", "text", "承诺时限说明", False, "可不填", "Optional", ""),
            C("description", "text", "说明", False, "", "", ""),
            C(
                "components",
                "list",
                "包含的实施编码",
                True,
                f"实施编码；{LIST_HINT_ZH}",
                f"Implementation codes; {LIST_HINT_EN}",
                "510000-SAMPLE-0001-01",
            ),
        ),
    ),
)

# Words a person may write in a cell instead of the exchange format's codes (by column kind).
VALUE_WORDS: dict[str, dict[str, object]] = {
    "bool": {"是": True, "否": False, "true": True, "false": False},
    "unit": {"工作日": "working_days", "自然日": "natural_days"},
    "formats": {"原件": "original", "复印件": "copy", "电子件": "electronic", "电子": "electronic"},
    "source": {
        "申请人": "applicant",
        "申请人提供": "applicant",
        "政府部门": "government",
        "部门共享": "government",
    },
}


def _squash(text: str) -> str:
    # Headers are matched without case, spaces and the difference of full- and half-width
    # brackets: 金额(元), 金额（元） and "金额 （元）" are one header.
    return text.strip().lower().replace(" ", "").replace("（", "(").replace("）", ")")


SHEET_ALIASES: dict[str, Sheet] = {
    _squash(name): sheet for sheet in SHEETS for name in (sheet.key, sheet.zh)
}
COLUMN_ALIASES: dict[str, dict[str, Column]] = {
    sheet.key: {_squash(name): c for c in sheet.columns for name in (c.key, c.zh)}
    for sheet in SHEETS
}
BY_KEY: dict[str, Sheet] = {sheet.key: sheet for sheet in SHEETS}


def sheet_for(title: str) -> Sheet | None:
    """The sheet a workbook's sheet title names (English key or Chinese name), or None."""
    return SHEET_ALIASES.get(_squash(title))


def column_for(sheet: str, header: str) -> Column | None:
    """The column a header names on a sheet (English key or Chinese header), or None."""
    return COLUMN_ALIASES[sheet].get(_squash(header))
