"""The exchange (共享交换) through its API and services: the catalogue, a request approved into
an agreement (a Cedar policy whose hash is in the ledger), fetches during handling, and every
refusal of the issue's bad-input list as problem+json with a refusal event and nothing else."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.exchange.conftest import PENSION_ITEM, World, make_case

from tongban.events.models import Event
from tongban.exchange import automatic, fetch, requests
from tongban.exchange.errors import RefusedInvalid
from tongban.exchange.models import Agreement, DataFetch, SharingRequest
from tongban.platform.config import Settings
from tongban.platform.db import Database, utcnow
from tongban.workdays import service as workdays

PROBLEM = "application/problem+json"


def _events(session: Session, action: str) -> list[Event]:
    return list(session.scalars(select(Event).where(Event.action == action).order_by(Event.id)))


def _fetches(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(DataFetch)) or 0)


def _refused(
    client: TestClient,
    db: Session,
    world: World,
    number: str,
    body: dict[str, Any],
    *,
    status: int,
    refusal: str,
    who: str = "official",
) -> dict[str, Any]:
    """A fetch that must be refused: problem+json, a refusal event, no fetch stored."""
    before = _fetches(db)
    seen = len(_events(db, "exchange.fetch_refused"))
    answer = client.post(f"/api/v1/cases/{number}/data-fetches", json=body, headers=world.h(who))
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)
    refusals = _events(db, "exchange.fetch_refused")
    assert len(refusals) == seen + 1
    assert refusals[-1].data["refusal"] == refusal
    assert _fetches(db) == before
    return dict(answer.json())


def test_the_catalogue_is_public_and_searchable(client: TestClient, world: World) -> None:
    listed = client.get("/api/v1/exchange/resources").json()
    assert {r["code"] for r in listed} >= {
        "GA-HJXX-001",
        "RS-YLBX-001",
        "MZ-HYDJ-001",
        "WJ-CSYX-001",
        "ZR-BDC-001",
    }
    assert {r["sharing"] for r in listed} == {"unconditional", "conditional", "none"}
    found = client.get("/api/v1/exchange/resources", params={"q": "参保"}).json()
    assert [r["code"] for r in found] == ["RS-YLBX-001"]
    one = client.get("/api/v1/exchange/resources/RS-YLBX-001").json()
    assert one["provider_name"] == "广安市人力资源和社会保障局"
    assert "paid_months" in [f["name"] for f in one["fields"]]
    missing = client.get("/api/v1/exchange/resources/NO-SUCH")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith(PROBLEM)


def test_the_pension_transfer_fetches_the_record_under_the_demo_agreement(
    client: TestClient, db: Session, world: World
) -> None:
    case = make_case(db, world)
    answer = client.post(
        f"/api/v1/cases/{case.number}/data-fetches",
        json={"resource": "RS-YLBX-001", "purpose": "核验参保缴费情况"},
        headers=world.h("official"),
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["found"] is True
    assert body["data"]["paid_months"] == 214
    assert body["data"]["insured_region"] == "广东省深圳市"
    assert "account_balance" not in body["data"]  # the agreement's minimum fields only
    assert body["agreement_id"] is not None
    event = _events(db, "exchange.fetched")[-1]
    assert event.resource_id == case.number
    assert event.data["resource"] == "RS-YLBX-001"
    assert event.data["outcome"] == "fetched"
    assert "王建国" not in str(event.data) and "214" not in str(event.data)
    listed = client.get(
        f"/api/v1/cases/{case.number}/data-fetches", headers=world.h("official")
    ).json()
    assert [f["resource_code"] for f in listed] == ["RS-YLBX-001"]
    # The applicant sees who fetched what; an official of another department does not.
    mine = client.get(f"/api/v1/cases/{case.number}/data-fetches", headers=world.h("citizen"))
    assert mine.status_code == 200 and len(mine.json()) == 1
    other = client.get(
        f"/api/v1/cases/{case.number}/data-fetches", headers=world.h("x-other-official")
    )
    assert other.status_code == 404


def test_request_approval_agreement_fetch_and_revocation(
    client: TestClient, db: Session, world: World
) -> None:
    # The steward of 广安 asks 民政 for the marriage record for the pension department.
    filed = client.post(
        "/api/v1/exchange/requests",
        json={
            "resource": "MZ-HYDJ-001",
            "consumer": world.departments["pension"].code,
            "fields": ["marital_status", "registered_on"],
            "purpose": "核验婚姻状况",
            "legal_basis": "《社会保险法》",
            "items": [PENSION_ITEM],
            "duration_days": 365,
        },
        headers=world.h("steward"),
    )
    assert filed.status_code == 201, filed.text
    request = filed.json()
    assert request["status"] == "pending" and request["overdue"] is False
    calendar = workdays.load_calendar(db)
    assert request["due_date"] == calendar.add_working_days(requests.today(), 10).isoformat()
    case = make_case(db, world)
    fetch_body = {"resource": "MZ-HYDJ-001", "purpose": "核验婚姻状况"}
    _refused(client, db, world, case.number, fetch_body, status=403, refusal="no-agreement")

    approved = client.post(
        f"/api/v1/exchange/requests/{request['id']}/decision",
        json={"decision": "approve"},
        headers=world.h("steward"),
    )
    assert approved.status_code == 200, approved.text
    agreement_id = approved.json()["agreement_id"]
    agreement = db.get(Agreement, agreement_id)
    assert agreement is not None
    assert 'principal == Tongban::Department::"' in agreement.policy
    made = _events(db, "exchange.agreement_made")[-1]
    assert made.data["policy_sha256"] == agreement.policy_sha256
    again = client.post(
        f"/api/v1/exchange/requests/{request['id']}/decision",
        json={"decision": "refuse", "reason": "迟了"},
        headers=world.h("steward"),
    )
    assert again.status_code == 409

    fetched = client.post(
        f"/api/v1/cases/{case.number}/data-fetches", json=fetch_body, headers=world.h("official")
    )
    assert fetched.status_code == 201, fetched.text
    assert set(fetched.json()["data"]) == {"marital_status", "registered_on"}
    _refused(
        client,
        db,
        world,
        case.number,
        {**fetch_body, "fields": ["holder_name"]},
        status=403,
        refusal="field-not-agreed",
    )

    listed = client.get("/api/v1/exchange/agreements", headers=world.h("steward")).json()
    assert agreement_id in [a["id"] for a in listed]
    revoked = client.post(
        f"/api/v1/exchange/agreements/{agreement_id}/revoke",
        json={"reason": "用途已结束"},
        headers=world.h("steward"),
    )
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    _refused(client, db, world, case.number, fetch_body, status=403, refusal="revoked")
    assert _events(db, "exchange.agreement_revoked")[-1].data["policy_sha256"] == (
        agreement.policy_sha256
    )


def test_a_refusal_needs_reasons_and_a_late_answer_is_flagged(db: Session, world: World) -> None:
    from tongban.exchange.schemas import RequestIn

    row = requests.file_request(
        db,
        actor=world.actor("steward"),
        data=RequestIn(
            resource="WJ-CSYX-001",
            consumer=world.departments["pension"].code,
            fields=["born_on"],
            purpose="测试",
            legal_basis="测试依据",
            items=[PENSION_ITEM],
            duration_days=30,
        ),
    )
    assert not requests.is_overdue(row)
    assert requests.is_overdue(row, day=row.due_date + timedelta(days=1))
    with pytest.raises(Exception, match="reasons"):
        requests.decide_request(
            db, actor=world.actor("steward"), request_id=row.id, approve=False, reason=" "
        )
    requests.decide_request(
        db, actor=world.actor("steward"), request_id=row.id, approve=False, reason="用途不明确"
    )
    assert db.get(SharingRequest, row.id).status == "refused"  # type: ignore[union-attr]
    assert db.scalar(select(Agreement).where(Agreement.request_id == row.id)) is None


def test_bad_requests_are_problems(client: TestClient, world: World) -> None:
    base = {
        "resource": "RS-YLBX-001",
        "consumer": world.departments["pension"].code,
        "fields": ["paid_months"],
        "purpose": "核验",
        "legal_basis": "依据",
        "items": [PENSION_ITEM],
        "duration_days": 30,
    }
    for change, status in (
        ({"resource": "NO-SUCH"}, 422),
        ({"fields": ["no_such_field"]}, 422),
        ({"items": ["000000000000"]}, 422),
        ({"resource": "ZR-BDC-001", "fields": ["area"]}, 409),
        ({"duration_days": 0}, 422),
    ):
        answer = client.post(
            "/api/v1/exchange/requests", json={**base, **change}, headers=world.h("steward")
        )
        assert answer.status_code == status, (change, answer.text)
        assert answer.headers["content-type"].startswith(PROBLEM)
    denied = client.post("/api/v1/exchange/requests", json=base, headers=world.h("official"))
    assert denied.status_code == 403


def test_every_bad_fetch_is_refused_and_recorded(
    client: TestClient, db: Session, world: World, settings: Settings
) -> None:
    body = {"resource": "RS-YLBX-001", "purpose": "核验参保缴费情况"}
    open_case = make_case(db, world)
    # Not in the caller's department: as if it did not exist.
    other = make_case(db, world, department="other")
    _refused(client, db, world, other.number, body, status=404, refusal="unknown-case")
    _refused(
        client, db, world, "511602-20261102-NOSUCHCASE00", body, status=404, refusal="unknown-case"
    )
    # Not open.
    closed = make_case(db, world, state="completed")
    _refused(client, db, world, closed.number, body, status=409, refusal="case-closed")
    # Not shared at all.
    _refused(
        client,
        db,
        world,
        open_case.number,
        {**body, "resource": "ZR-BDC-001"},
        status=403,
        refusal="not-shared",
    )
    # An item the agreement does not cover.
    other_item = make_case(db, world, item_code="101110002000")
    _refused(client, db, world, other_item.number, body, status=403, refusal="item-not-covered")
    # A field outside the agreement, and one the resource does not have.
    _refused(
        client,
        db,
        world,
        open_case.number,
        {**body, "fields": ["account_balance"]},
        status=403,
        refusal="field-not-agreed",
    )
    problem = _refused(
        client,
        db,
        world,
        open_case.number,
        {**body, "fields": ["nope"]},
        status=422,
        refusal="unknown-field",
    )
    assert problem["errors"][0]["field"] == "fields"
    # An unknown resource.
    _refused(
        client,
        db,
        world,
        open_case.number,
        {**body, "resource": "NO-SUCH"},
        status=422,
        refusal="unknown-resource",
    )
    # No case at all (the service's guard; the route always names one).
    with pytest.raises(RefusedInvalid):
        fetch.fetch_for_case(
            db,
            actor=world.actor("official"),
            case_number=" ",
            resource_code="RS-YLBX-001",
            fields=None,
            purpose="核验",
            settings=settings,
        )
    # An expired agreement: the same fetch a few years on.
    with pytest.raises(Exception, match="expired"):
        fetch.fetch_for_case(
            db,
            actor=world.actor("official"),
            case_number=open_case.number,
            resource_code="RS-YLBX-001",
            fields=None,
            purpose="核验",
            settings=settings,
            now=utcnow() + timedelta(days=4000),
        )
    assert _events(db, "exchange.fetch_refused")[-1].data["refusal"] == "expired"
    # Other roles may not fetch at all.
    for who in ("citizen", "steward"):
        answer = client.post(
            f"/api/v1/cases/{open_case.number}/data-fetches", json=body, headers=world.h(who)
        )
        assert answer.status_code == 403


def test_an_unconditional_resource_needs_no_agreement(
    client: TestClient, world: World, db: Session
) -> None:
    case = make_case(db, world)
    answer = client.post(
        f"/api/v1/cases/{case.number}/data-fetches",
        json={
            "resource": "GA-HJXX-001",
            "fields": ["holder_name", "household_address"],
            "purpose": "核验户籍",
        },
        headers=world.h("official"),
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["data"]["holder_name"] == "王建国"
    assert answer.json()["agreement_id"] is None


def test_the_fetched_record_stands_in_for_the_checklist_line(
    client: TestClient, db: Session, world: World
) -> None:
    """The migrant worker's pension transfer: 参保缴费凭证 comes by sharing, not by upload."""
    from tongban.exchange import service as exchange

    case = make_case(db, world)
    assert exchange.shared_materials(db, case_number=case.number) == []
    client.post(
        f"/api/v1/cases/{case.number}/data-fetches",
        json={"resource": "RS-YLBX-001", "purpose": "核验参保缴费情况"},
        headers=world.h("official"),
    )
    shared = exchange.shared_materials(db, case_number=case.number)
    assert [(m.resource_name, m.materials) for m in shared] == [
        ("养老保险参保缴费记录", ("参保缴费凭证",))
    ]
    assert shared[0].provider_name == "广安市人力资源和社会保障局"
    assert exchange.resource_names(db)["参保缴费凭证"] == "养老保险参保缴费记录"
    assert "不动产权证书" not in exchange.resource_names(db)  # 不予共享: asked of the applicant


def test_pages(client: TestClient, world: World) -> None:
    page = client.get("/exchange", params={"q": "参保"}, headers={"Accept": "text/html"})
    assert page.status_code == 200 and "养老保险参保缴费记录" in page.text
    assert "户籍信息" not in page.text
    for path in ("/exchange/requests", "/exchange/agreements"):
        anonymous = client.get(path, headers={"Accept": "text/html"}, follow_redirects=False)
        assert anonymous.status_code == 303
        steward = client.get(path, headers={**world.h("steward"), "Accept": "text/html"})
        assert steward.status_code == 200, steward.text
        official = client.get(path, headers={**world.h("official"), "Accept": "text/html"})
        assert official.status_code == 403
    agreements = client.get(
        "/exchange/agreements", headers={**world.h("steward"), "Accept": "text/html"}
    )
    assert "Tongban::Department" in agreements.text and "养老保险参保缴费记录" in agreements.text


def test_acceptance_fetches_the_pension_record_by_itself(
    client: TestClient,
    db: Session,
    world: World,
    bound_database: Database,
    settings: Settings,
) -> None:
    """The migrant worker's transfer: accepting it brings the 参保 record, no upload asked
    (queued by the acceptance, fetched once it has committed: tests/exchange/test_queue.py)."""
    case = make_case(db, world, state="received")
    accepted = client.post(
        f"/api/v1/cases/{case.number}/actions/accept",
        json={"version": case.version},
        headers=world.h("official"),
    )
    assert accepted.status_code == 200, accepted.text
    assert automatic.run_due(bound_database, settings).done == 1
    fetched = client.get(f"/api/v1/cases/{case.number}/data-fetches", headers=world.h("official"))
    assert fetched.status_code == 200, fetched.text
    assert [f["resource_code"] for f in fetched.json()] == ["RS-YLBX-001"]
    assert "balance" not in "".join(fetched.json()[0]["fields"])  # the agreed fields only
    assert _events(db, "exchange.fetched")[-1].resource_id == case.number
    page = client.get(
        f"/cases/{case.number}", headers={**world.h("official"), "Accept": "text/html"}
    )
    assert page.status_code == 200
    line = page.text[page.text.index("参保缴费凭证") :][:400]
    assert "已通过共享获取" in line or "Obtained by data sharing" in line


@pytest.mark.parametrize("failure", ["provider-down", "bug"])
def test_a_failed_automatic_fetch_leaves_the_acceptance_standing(
    client: TestClient,
    db: Session,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    failure: str,
    bound_database: Database,
    settings: Settings,
) -> None:
    """A provider down (a refusal event) or a bug (rolled back): the case is accepted anyway."""
    from tongban.exchange.errors import ProviderUnavailable

    def broken(*_args: Any, **_kwargs: Any) -> None:
        if failure == "bug":
            raise RuntimeError("boom")
        raise ProviderUnavailable("The provider did not answer.")

    monkeypatch.setattr(fetch, "ask", broken)
    case = make_case(db, world, state="received")
    before = len(_events(db, "exchange.fetch_refused"))
    accepted = client.post(
        f"/api/v1/cases/{case.number}/actions/accept",
        json={"version": case.version},
        headers=world.h("official"),
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["state"] == "accepted"
    assert automatic.run_due(bound_database, settings).retry == 1
    refusals = _events(db, "exchange.fetch_refused")[before:]
    expected = ["provider-unavailable"] if failure == "provider-down" else []
    assert [e.data["refusal"] for e in refusals] == expected
    assert db.scalars(select(DataFetch).where(DataFetch.case_number == case.number)).all() == []
    assert _events(db, "case.accept")[-1].resource_id == case.number


def test_the_guide_and_the_apply_form_say_shared_papers_need_no_submitting(
    client: TestClient, world: World
) -> None:
    """参保缴费凭证 comes from 人社's resource: 无需提交，由部门共享获取; 不动产 is not shared."""
    said = ("无需提交，由部门共享获取", "No need to submit: obtained by data sharing")
    guide = client.get("/guide/511602-101110001000-01", headers={"Accept": "text/html"})
    assert guide.status_code == 200
    line = guide.text[guide.text.index("参保缴费凭证") :][:600]
    assert any(s in line for s in said) and "养老保险参保缴费记录" in line
    form = client.get(
        "/apply/511602-101110001000-01/materials",
        headers={**world.h("citizen"), "Accept": "text/html"},
    )
    assert form.status_code == 200, form.text
    line = form.text[form.text.rindex("参保缴费凭证") :][:300]
    assert any(s in line for s in said)


def _page_form(client: TestClient, world: World, who: str, path: str) -> tuple[str, str]:
    """A page and its CSRF token, as `who` sees it."""
    import re

    html = client.get(path, headers={**world.h(who), "Accept": "text/html"}).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert token, html[:500]
    return html, token.group(1)


def test_the_official_fetches_from_the_case_page(
    client: TestClient, db: Session, world: World
) -> None:
    """The fetch button: the record comes, or a readable refusal and nothing changed."""
    case = make_case(db, world)
    html, token = _page_form(client, world, "official", f"/cases/{case.number}")
    assert f'action="/cases/{case.number}/data-fetch"' in html
    assert 'name="material" value="参保缴费凭证"' in html
    headers = {**world.h("official"), "Accept": "text/html"}
    done = client.post(
        f"/cases/{case.number}/data-fetch",
        data={"csrf_token": token, "material": "参保缴费凭证"},
        headers=headers,
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    page = client.get(f"/cases/{case.number}", headers=headers).text
    line = page[page.index("参保缴费凭证") :][:400]
    assert "已通过共享获取" in line or "Obtained by data sharing" in line
    # Revoked: a readable refusal, its event, nothing fetched.
    agreement = db.scalars(select(Agreement)).first()
    assert agreement is not None
    agreement.revoked_at = utcnow()
    db.flush()
    before = _fetches(db)
    refused = client.post(
        f"/cases/{case.number}/data-fetch",
        data={"csrf_token": token, "material": "参保缴费凭证"},
        headers=headers,
    )
    assert refused.status_code == 403
    assert "撤销" in refused.text or "revoked" in refused.text
    assert _events(db, "exchange.fetch_refused")[-1].data["refusal"] == "revoked"
    assert _fetches(db) == before
    # Not an official: no button; a paper no resource stands in for: a readable 422.
    citizen_page = client.get(f"/cases/{case.number}", headers={**world.h("citizen"), **HTML})
    assert "/data-fetch" not in citizen_page.text
    odd = client.post(
        f"/cases/{case.number}/data-fetch",
        data={"csrf_token": token, "material": "居民身份证"},
        headers=headers,
    )
    assert odd.status_code == 422 and "<h1>" in odd.text


HTML = {"Accept": "text/html"}


def test_stewards_request_answer_revoke_and_publish_on_the_pages(
    client: TestClient, db: Session, world: World
) -> None:
    """The stewards' forms do what the API does; bad input is a readable 422, nothing saved."""
    steward = {**world.h("steward"), **HTML}
    _html, token = _page_form(client, world, "steward", "/exchange/requests")
    form = {
        "csrf_token": token,
        "resource": "MZ-HYDJ-001",
        "consumer": world.departments["pension"].code,
        "fields": "marital_status，registered_on",
        "purpose": "核验婚姻状况",
        "legal_basis": "《社会保险法》",
        "items": PENSION_ITEM,
        "duration_days": "365",
    }
    count = db.scalar(select(func.count()).select_from(SharingRequest))
    bad = client.post("/exchange/requests", data={**form, "fields": ""}, headers=steward)
    assert bad.status_code == 422 and "核验婚姻状况" in bad.text  # the values are kept
    assert db.scalar(select(func.count()).select_from(SharingRequest)) == count
    filed = client.post("/exchange/requests", data=form, headers=steward, follow_redirects=False)
    assert filed.status_code == 303, filed.text
    row = db.scalars(select(SharingRequest).order_by(SharingRequest.id.desc())).first()
    assert row is not None and row.fields == ["marital_status", "registered_on"]
    decide = f"/exchange/requests/{row.id}/decision"
    no_reason = client.post(
        decide, data={"csrf_token": token, "decision": "refuse"}, headers=steward
    )
    assert no_reason.status_code == 422 and "error-summary" in no_reason.text
    approved = client.post(
        decide,
        data={"csrf_token": token, "decision": "approve"},
        headers=steward,
        follow_redirects=False,
    )
    assert approved.status_code == 303, approved.text
    agreement = db.scalars(select(Agreement).where(Agreement.request_id == row.id)).one()
    revoke = f"/exchange/agreements/{agreement.id}/revoke"
    assert f'action="{revoke}"' in client.get("/exchange/agreements", headers=steward).text
    empty = client.post(revoke, data={"csrf_token": token, "reason": ""}, headers=steward)
    assert empty.status_code == 422 and agreement.revoked_at is None
    revoked = client.post(
        revoke,
        data={"csrf_token": token, "reason": "用途已结束"},
        headers=steward,
        follow_redirects=False,
    )
    assert revoked.status_code == 303
    assert _events(db, "exchange.agreement_revoked")[-1].resource_id == str(agreement.id)
    # Publishing: no fields is a 422 with the values kept; then the resource is in the catalogue.
    published = {
        "csrf_token": token,
        "code": "WJ-YMJZ-001",
        "name": "预防接种记录",
        "provider": "11511600MB1503186B",
        "sharing": "conditional",
        "conditions": "《疫苗管理法》",
        "fields": "",
        "materials": "",
    }
    empty = client.post("/exchange/resources", data=published, headers=steward)
    assert empty.status_code == 422 and "预防接种记录" in empty.text
    made = client.post(
        "/exchange/resources",
        data={**published, "fields": "holder_name 姓名 personal\nvaccine 疫苗"},
        headers=steward,
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text
    listed = client.get("/api/v1/exchange/resources/WJ-YMJZ-001").json()
    assert [f["personal"] for f in listed["fields"]] == [True, False]
