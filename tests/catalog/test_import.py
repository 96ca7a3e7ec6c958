"""Import and export: round trips, idempotence, every validation rule, no partial writes."""

from __future__ import annotations

import contextlib
import copy
import io
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.catalog.conftest import FIXTURE, small_document
from tongban.catalog import service as catalog
from tongban.catalog.models import (
    BasicItem,
    Bundle,
    BundleComponent,
    CoHandler,
    Fee,
    Implementation,
    Material,
)
from tongban.events.models import Event
from tongban.platform.db import Database
from tongban.platform.errors import AppError, Invalid, PayloadTooLarge
from tongban.regions import service as regions

TABLES = (BasicItem, Implementation, Material, Fee, CoHandler, Bundle, BundleComponent)


def counts(session: Session) -> dict[str, int]:
    out = {
        m.__tablename__: session.scalar(select(func.count()).select_from(m)) or 0 for m in TABLES
    }
    out["events"] = session.scalar(select(func.count()).select_from(Event)) or 0
    return out


def first_name(session: Session) -> str:
    return catalog.get_item(session, code="000000000001").name


def test_import_creates_everything(catalog_db: Session) -> None:
    c = counts(catalog_db)
    assert c["catalog_items"] == 6
    assert c["catalog_implementations"] == 8
    assert c["catalog_materials"] == 4
    assert c["catalog_fees"] == 2
    assert c["catalog_co_handlers"] == 1
    assert c["catalog_bundle_components"] == 2
    impl = catalog.get_implementation(catalog_db, code="510000-000000000001-01")
    assert impl.department_id is not None
    assert [m.required for m in impl.materials] == ["yes", "conditional"]
    assert impl.form_fields[1]["choices"] == ["工商银行", "农业银行"]
    fee = catalog.get_implementation(catalog_db, code="440300-000000000001-01").fees[0]
    assert str(fee.amount) == "20.00"
    bundle = catalog.get_bundle(catalog_db, code="BUNDLE-NEWBORN")
    assert [c.implementation_code for c in bundle.components] == [
        "350200-000000000004-01",
        "350200-000000000001-01",
    ]
    assert [b.code for b in catalog.list_bundles(catalog_db, region="350203")] == ["BUNDLE-NEWBORN"]
    assert catalog.list_bundles(catalog_db, region="510104") == []


def test_import_records_one_event_with_counts(regions_db: Session) -> None:
    before = counts(regions_db)["events"]
    catalog.import_document(regions_db, data=small_document(), source="test.yaml")
    events = regions_db.scalars(select(Event).where(Event.action == "catalog.imported")).all()
    assert len(events) == 1
    assert events[0].data["items_created"] == 6
    assert events[0].data["implementations_created"] == 8
    # One event for the import plus one department.created per new department.
    assert counts(regions_db)["events"] - before == 1 + 7


def test_reimport_is_idempotent(catalog_db: Session) -> None:
    before = counts(catalog_db)
    exported = catalog.export_document(catalog_db)
    versions = {i.code: i.version for i in catalog_db.scalars(select(Implementation))}
    result = catalog.import_file(catalog_db, path=FIXTURE)
    assert result["changed"] is False
    assert result["items_unchanged"] == 6 and result["implementations_unchanged"] == 8
    after = counts(catalog_db)
    assert after["events"] == before["events"] + 1
    assert {k: v for k, v in after.items() if k != "events"} == {
        k: v for k, v in before.items() if k != "events"
    }
    assert catalog.export_document(catalog_db) == exported
    assert {i.code: i.version for i in catalog_db.scalars(select(Implementation))} == versions


def test_update_by_code_bumps_version(catalog_db: Session) -> None:
    doc = small_document()
    doc["items"][0]["implementations"][0]["promised_limit"]["value"] = 8
    doc["items"][0]["implementations"][0]["materials"].pop()
    result = catalog.import_document(catalog_db, data=doc, source="t")
    assert result["implementations_updated"] == 1 and result["implementations_unchanged"] == 7
    impl = catalog.get_implementation(catalog_db, code="510000-000000000001-01")
    assert impl.version == 2 and impl.promised_limit.value == 8
    assert len(impl.materials) == 1


def _reimport_into(
    database: Database, document: dict[str, Any] | None, *, workbook: bytes | None = None
) -> dict[str, Any]:
    with database.session_scope() as session:
        regions.load_builtin(session)
    with database.session_scope() as session:
        if workbook is not None:
            catalog.import_workbook(session, content=workbook)
        else:
            catalog.import_document(session, data=document, source="roundtrip")
    with database.session_scope() as session:
        return catalog.export_document(session)


def test_yaml_and_json_round_trip(catalog_db: Session, fresh_database: Database) -> None:
    exported = catalog.export_document(catalog_db)
    as_yaml = yaml.safe_load(catalog.dump_yaml(exported).decode("utf-8"))
    assert _reimport_into(fresh_database, as_yaml) == exported
    # JSON bytes go through the same import path as an upload.
    result = catalog.import_bytes(catalog_db, content=catalog.dump_json(exported), source="x.json")
    assert result["changed"] is False


def test_excel_round_trip(catalog_db: Session, fresh_database: Database) -> None:
    exported = catalog.export_document(catalog_db)
    content = catalog.export_workbook(catalog_db)
    book = openpyxl.load_workbook(io.BytesIO(content))
    assert book.sheetnames == ["items", "implementations", "materials", "fees", "bundles"]
    assert _reimport_into(fresh_database, None, workbook=content) == exported
    # Same catalog, re-imported from its workbook: nothing changes.
    assert catalog.import_workbook(catalog_db, content=content)["changed"] is False


def test_file_export_and_import(catalog_db: Session, tmp_path: Path) -> None:
    for suffix in (".yaml", ".json", ".xlsx"):
        path = tmp_path / f"catalog{suffix}"
        catalog.export_file(catalog_db, path=path)
        assert catalog.import_file(catalog_db, path=path)["changed"] is False
    with pytest.raises(Invalid):
        catalog.export_file(catalog_db, path=tmp_path / "catalog.csv")
    (tmp_path / "c.txt").write_text("x")
    with pytest.raises(Invalid):
        catalog.import_file(catalog_db, path=tmp_path / "c.txt")


def _mutate(doc: dict[str, Any], path: str, value: Any) -> None:
    target: Any = doc
    keys: list[Any] = [int(k) if k.isdigit() else k for k in path.split(".")]
    for key in keys[:-1]:
        target = target[key]
    if value is DELETE:
        del target[keys[-1]]
    else:
        target[keys[-1]] = value


DELETE = object()
I0 = "items.0.implementations.0"

RULES = [
    (
        f"{I0}.promised_limit.value",
        30,
        "items[0].implementations[0].promised_limit",
        "exceeds statutory limit 20",
    ),
    (
        f"{I0}.promised_limit",
        {"value": 29, "unit": "natural_days"},
        "items[0].implementations[0].promised_limit",
        "exceeds",
    ),
    (f"{I0}.region", "990000", "items[0].implementations[0].region", "unknown region 990000"),
    (
        f"{I0}.authority.code",
        "11510000MB0000001X",
        "items[0].implementations[0].authority.code",
        "check character",
    ),
    (
        f"{I0}.co_handlers",
        [{"name": "某局", "code": "bad", "region": "510000"}],
        "items[0].implementations[0].co_handlers[0].code",
        "unified social credit code",
    ),
    ("items.1.code", "000000000001", "items[1].code", "duplicate item code"),
    (
        "items.1.implementations.0.code",
        "510000-000000000001-01",
        "items[1].implementations[0].code",
        "duplicate implementation code",
    ),
    ("items.2.legal_basis", DELETE, "items[2].legal_basis", "Field required"),
    ("items.0.type", "行政许可证", "items[0].type", "Input should be"),
    (
        f"{I0}.power_source",
        7,
        "items[0].implementations[0].power_source",
        "less than or equal to 6",
    ),
    (
        f"{I0}.online_depth",
        0,
        "items[0].implementations[0].online_depth",
        "greater than or equal to 1",
    ),
    (f"{I0}.tongban_range", "全球", "items[0].implementations[0].tongban_range", "Input should be"),
    (
        f"{I0}.statutory_limit.unit",
        "weeks",
        "items[0].implementations[0].statutory_limit.unit",
        "Input should be",
    ),
    (
        f"{I0}.materials.1.condition",
        DELETE,
        "items[0].implementations[0].materials[1].condition",
        "condition",
    ),
    (
        f"{I0}.materials.0.required",
        "maybe",
        "items[0].implementations[0].materials[0].required",
        "true, false or conditional",
    ),
    (
        f"{I0}.fees",
        [{"name": "费", "amount": -1}],
        "items[0].implementations[0].fees[0].amount",
        "greater than or equal",
    ),
    (f"{I0}.surprise", 1, "items[0].implementations[0].surprise", "Extra inputs"),
    ("items.0.code", "00000000000100000000000000000000000000001", "items[0].code", "pattern"),
    ("items.0.code", 1, "items[0].code", "valid string"),
    (
        "bundles.0.components.1",
        "NO-SUCH-IMPL",
        "bundles[0].components[1]",
        "unknown implementation",
    ),
    ("bundles.0.region", "990000", "bundles[0].region", "unknown region"),
    ("version", 2, "version", "Input should be 1"),
]


@pytest.mark.parametrize(
    ("path", "value", "field", "message"), RULES, ids=[r[2] + ":" + r[3][:12] for r in RULES]
)
def test_each_rule_gives_a_located_error_and_no_write(
    catalog_db: Session, path: str, value: Any, field: str, message: str
) -> None:
    before = counts(catalog_db)
    doc = small_document()
    doc["items"][0]["name"] = "改过的名称"  # a valid change that must not be written
    _mutate(doc, path, value)
    with pytest.raises(Invalid) as caught:
        catalog.import_document(catalog_db, data=doc, source="bad")
    errors = {e.field: e.message for e in caught.value.errors}
    assert field in errors, errors
    assert message in errors[field]
    assert counts(catalog_db) == before
    assert first_name(catalog_db) == "社会保障卡申领"


def test_all_errors_are_reported_at_once(regions_db: Session) -> None:
    doc = small_document()
    _mutate(doc, f"{I0}.promised_limit.value", 30)
    _mutate(doc, "items.3.implementations.0.region", "990000")
    _mutate(doc, "items.4.type", "?")
    _mutate(doc, "items.5.code", "000000000001")
    with pytest.raises(Invalid) as caught:
        catalog.import_document(regions_db, data=doc, source="bad")
    # Shape errors are reported first; rule errors need a well-formed document.
    assert [e.field for e in caught.value.errors] == ["items[4].type"]
    _mutate(doc, "items.4.type", "行政许可")
    with pytest.raises(Invalid) as caught:
        catalog.import_document(regions_db, data=doc, source="bad")
    assert {e.field for e in caught.value.errors} == {
        "items[0].implementations[0].promised_limit",
        "items[3].implementations[0].region",
        "items[5].code",
    }
    assert counts(regions_db)["catalog_items"] == 0


def test_mixed_units_convert_at_five_sevenths() -> None:
    from tongban.catalog.schemas import LimitIn

    def lim(v: int, u: str) -> LimitIn:
        return LimitIn(value=v, unit=u)  # type: ignore[arg-type]

    assert not catalog.limit_exceeds(lim(28, "natural_days"), lim(20, "working_days"))
    assert catalog.limit_exceeds(lim(29, "natural_days"), lim(20, "working_days"))
    assert not catalog.limit_exceeds(lim(5, "working_days"), lim(7, "natural_days"))
    assert catalog.limit_exceeds(lim(6, "working_days"), lim(8, "natural_days"))


def test_excel_errors_name_sheet_and_row(catalog_db: Session) -> None:
    before = counts(catalog_db)
    book = openpyxl.load_workbook(io.BytesIO(catalog.export_workbook(catalog_db)))
    impls = book["implementations"]
    header = [c.value for c in impls[1]]
    impls.cell(row=3, column=header.index("promised_limit_value") + 1, value=30)
    impls.cell(row=4, column=header.index("region") + 1, value="990000")
    items = book["items"]
    items.cell(row=2, column=[c.value for c in items[1]].index("type") + 1, value="行政许可证")
    materials = book["materials"]
    materials.cell(row=2, column=1, value="NOPE")
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(Invalid) as caught:
        catalog.import_workbook(catalog_db, content=out.getvalue())
    messages = [e.message for e in caught.value.errors]
    assert messages == ["sheet 3, row 2: implementation_code NOPE is not on sheet 2"]
    materials.cell(row=2, column=1, value="510000-000000000001-01")
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(Invalid) as caught:
        catalog.import_workbook(catalog_db, content=out.getvalue())
    messages = [e.message for e in caught.value.errors]
    assert messages[0].startswith("sheet 1, row 2: type: Input should be")
    items.cell(row=2, column=[c.value for c in items[1]].index("type") + 1, value="公共服务")
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(Invalid) as caught:
        catalog.import_workbook(catalog_db, content=out.getvalue())
    messages = sorted(e.message for e in caught.value.errors)
    assert messages == [
        "sheet 2, row 3: promised limit 30 working days exceeds statutory limit 20 working days",
        "sheet 2, row 4: unknown region 990000",
    ]
    assert counts(catalog_db) == before


@pytest.mark.parametrize(
    "content", [b"PK\x03\x04 this is no zip", b"\x00\x01binary", b"PK\x05\x06" + b"\x00" * 18]
)
def test_corrupt_workbook(regions_db: Session, content: bytes) -> None:
    with pytest.raises(Invalid) as caught:
        catalog.import_workbook(regions_db, content=content)
    assert "not a valid Excel workbook" in caught.value.detail


def test_oversized_file(regions_db: Session) -> None:
    before = counts(regions_db)
    content = FIXTURE.read_bytes()
    with pytest.raises(PayloadTooLarge) as caught:
        catalog.import_bytes(regions_db, content=content, source="big.yaml", max_bytes=100)
    assert caught.value.errors[0].field == "file"
    with pytest.raises(PayloadTooLarge):
        catalog.import_workbook(regions_db, content=b"PK\x03\x04" + b"0" * 200, max_bytes=100)
    assert counts(regions_db) == before


def test_yaml_syntax_error_names_the_line(regions_db: Session) -> None:
    bad = b"version: 1\nitems:\n  - code: '1\n    name: x\n"
    with pytest.raises(Invalid) as caught:
        catalog.import_bytes(regions_db, content=bad, source="bad.yaml")
    assert "line" in caught.value.detail
    with pytest.raises(Invalid) as caught:
        catalog.import_bytes(regions_db, content=b'{"items": [}', source="bad.json")
    assert caught.value.detail.startswith("Not valid JSON")
    with pytest.raises(Invalid):
        catalog.import_bytes(regions_db, content=b"a: &x [1]\nb: *x\n", source="alias.yaml")
    with pytest.raises(Invalid):
        catalog.import_bytes(regions_db, content=b"\xff\xfe\x00", source="x.yaml")
    with pytest.raises(Invalid):
        catalog.import_bytes(regions_db, content=b"- just\n- a list\n", source="x.yaml")


def test_load_seed(regions_db: Session, tmp_path: Path) -> None:
    assert catalog.load_seed(regions_db, path=tmp_path / "absent.yaml") == 0
    assert catalog.load_seed(regions_db, path=FIXTURE) == 6
    assert catalog.load_seed(regions_db, path=FIXTURE) == 6
    assert counts(regions_db)["catalog_items"] == 6


def test_shipped_seed_imports_cleanly(regions_db: Session) -> None:
    assert catalog.SEED_PATH.exists(), "the seed catalog ships with the package"
    count = catalog.load_seed(regions_db)
    assert count > 0
    assert counts(regions_db)["catalog_items"] == count
    assert catalog.load_seed(regions_db) == count
    hits, _ = catalog.search_items(regions_db, q="社保卡")
    assert hits and "社会保障卡" in hits[0].name


json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True),
    st.text(max_size=20),
)
json_value = st.recursive(
    json_leaf,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
FIELDS = [
    "version",
    "items",
    "bundles",
    "code",
    "name",
    "type",
    "implementations",
    "region",
    "authority",
]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), json_value, max_size=5))
def test_fuzz_random_documents_only_raise_invalid(
    regions_db: Session, data: dict[str, Any]
) -> None:
    with contextlib.suppress(Invalid):
        catalog.import_document(regions_db, data=data, source="fuzz")


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.extend(_paths(v, (*prefix, i)))
    return out


BASE = small_document()
PATHS = _paths(BASE)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(path=st.sampled_from(PATHS), value=json_value)
def test_fuzz_mutated_documents_only_raise_invalid(
    regions_db: Session, path: tuple[Any, ...], value: Any
) -> None:
    doc = copy.deepcopy(BASE)
    target: Any = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    nested = regions_db.begin_nested()
    try:
        catalog.import_document(regions_db, data=doc, source="fuzz")
    except AppError as exc:
        assert isinstance(exc, Invalid)
    finally:
        nested.rollback()


def test_fast_reader_agrees_with_openpyxl(catalog_db: Session) -> None:
    from tongban.catalog import workbook

    content = catalog.export_workbook(catalog_db)
    fast = workbook._fast_sheets(content)
    slow = workbook._openpyxl_sheets(content, 10**8)
    assert fast.keys() == slow.keys()
    for name, rows in slow.items():
        assert len(fast[name]) == len(rows)
        for quick, full in zip(fast[name], rows, strict=True):
            # The XML omits trailing empty cells; openpyxl pads them with None.
            assert (*quick, *([None] * (len(full) - len(quick)))) == tuple(full)
