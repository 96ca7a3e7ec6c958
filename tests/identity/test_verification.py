"""Identity squatting (issue #12, item 1): registration only claims a resident ID; a clerk's
in-person check or the province's real-name service binds it; only a bound number links what
a clerk files for that person to an account."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any, ClassVar

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.support import identity_internals as identity
from tests.support.databases import hashing_once
from tongban.adapters.realname import RealNameResult, RealNameUnavailable
from tongban.catalog import service as catalog
from tongban.events.models import Event
from tongban.identity import service as identity_service
from tongban.identity import verification
from tongban.platform.config import Settings
from tongban.platform.errors import TooManyRequests
from tongban.shell.app import create_app

from .conftest import PASSWORD, MakeAccount, new_resident_id

API = "/api/v1"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
CATALOG: dict[str, Any] = {
    "version": 1,
    "items": [
        {
            "code": "IDV-PENSION-TRANSFER",
            "name": "企业职工基本养老保险关系转移接续",
            "type": "公共服务",
            "department": "人力资源社会保障部门",
            "legal_basis": "《城镇企业职工基本养老保险关系转移接续暂行办法》",
            "service_objects": ["自然人"],
            "implementations": [
                {
                    "code": "IDV-PENSION-511602",
                    "region": "511602",
                    "authority": {
                        "name": "广安市广安区社会保险事务中心",
                        "code": "11511602MB00000012",
                    },
                    "power_source": 1,
                    "exercise_level": "县",
                    "case_type": "承诺件",
                    "statutory_limit": {"value": 15, "unit": "working_days"},
                    "promised_limit": {"value": 10, "unit": "working_days"},
                    "visits": 0,
                    "online_depth": 5,
                    "tongban_range": "跨省",
                    "form_fields": [{"name": "transfer_reason", "label": "转移原因"}],
                    "materials": [
                        {"name": "居民身份证", "required": True, "format": ["electronic"]},
                    ],
                }
            ],
        }
    ],
}


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


def _session(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    """Headers with a login session's bearer token (a session: all the role's powers)."""
    response = client.post(f"{API}/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _register(client: TestClient, number: str, phone: str, name: str) -> httpx.Response:
    return client.post(
        f"{API}/auth/register",
        json={"resident_id": number, "phone": phone, "password": PASSWORD, "display_name": name},
    )


def _file_at_counter(
    client: TestClient, clerk: dict[str, str], number: str, name: str
) -> tuple[str, str]:
    """A clerk files a case for the person with this resident ID; its number and the SHA-256
    of its paper (the ID card's scan)."""
    uploaded = client.post(
        f"{API}/uploads", headers=clerk, files={"file": ("id.png", PNG, "image/png")}
    )
    assert uploaded.status_code in (200, 201), uploaded.text
    filed = client.post(
        f"{API}/cases",
        headers=clerk,
        json={
            "implementation": "IDV-PENSION-511602",
            "form": {"transfer_reason": "跨省就业"},
            "materials": [{"name": "居民身份证", "sha256": uploaded.json()["sha256"]}],
            "applicant": {"resident_id": number, "name": name, "identity_confirmed": True},
        },
    )
    assert filed.status_code == 201, filed.text
    return str(filed.json()["number"]), str(uploaded.json()["sha256"])


def _sees(client: TestClient, who: dict[str, str], case_number: str) -> bool:
    read = client.get(f"{API}/cases/{case_number}", headers=who)
    assert read.status_code in (200, 403, 404), read.text
    listed = client.get(f"{API}/my/cases", headers=who).json()["items"]
    assert (read.status_code == 200) == any(c["number"] == case_number for c in listed)
    return read.status_code == 200


@pytest.fixture
def counter(db: Session, regions_loaded: None, make_account: MakeAccount) -> dict[str, Any]:
    """The catalog item the counter files, and a clerk at a Shenzhen service point."""
    catalog.import_document(db, data=CATALOG, source="tests/identity")
    clerk = make_account("clerk", region_code="440305")
    return {"clerk": clerk}


# --- the squatter --------------------------------------------------------------------------------


def test_a_claimed_resident_id_links_nothing_and_refuses_nobody(
    client: TestClient, db: Session, counter: dict[str, Any]
) -> None:
    victim = new_resident_id()
    assert _register(client, victim, "13910000001", "冒名者").status_code == 201
    squatter = _session(client, "13910000001")
    clerk = _session(client, counter["clerk"].username)

    case_number, scan = _file_at_counter(client, clerk, victim, "王秀英")

    # The squatter's account holds the number only as a claim: the case filed for that
    # person, the scan of their ID card and its notices stay out of it.
    assert not _sees(client, squatter, case_number)
    opened = client.get(f"{API}/cases/{case_number}/materials/{scan}", headers=squatter)
    assert opened.status_code in (403, 404)
    assert client.get(f"{API}/cases/{case_number}/materials/{scan}", headers=clerk).is_success
    messages = client.get(f"{API}/my/messages", headers=squatter).json()["items"]
    assert not [m for m in messages if case_number in str(m)]

    # The real person can still register with their own number.
    assert _register(client, victim, "13910000002", "王秀英").status_code == 201


def test_registration_claims_and_me_shows_it(client: TestClient, settings: Settings) -> None:
    number = new_resident_id()
    registered = _register(client, number, "13910000011", "张")
    assert registered.json()["identity_status"] == "claimed"
    me = client.get(f"{API}/me", headers=_session(client, "13910000011")).json()
    assert me["identity"] == {
        "status": "claimed",
        "method": None,
        "verified_at": None,
        "methods": ["counter"],
    }
    assert me["resident_id_masked"] == number[:4] + "**********" + number[-4:]


# --- a clerk's in-person check -------------------------------------------------------------


def _events(db: Session, action: str, account_id: int) -> list[Event]:
    stmt = select(Event).where(Event.action == action, Event.resource_id == str(account_id))
    return list(db.scalars(stmt.order_by(Event.id)))


def test_counter_verification_binds_the_number_and_links_later_cases(
    client: TestClient, db: Session, counter: dict[str, Any], settings: Settings
) -> None:
    number = new_resident_id()
    assert _register(client, number, "13910000021", "冒名者").status_code == 201
    real = _register(client, number, "13910000022", "王秀英").json()
    squatter, owner = _session(client, "13910000021"), _session(client, "13910000022")
    clerk_account = counter["clerk"]
    clerk = _session(client, clerk_account.username)

    url = f"{API}/accounts/{real['id']}/verify-identity"
    body = _problem(client.post(url, headers=clerk, json={"resident_id": number}), 422)
    assert body["errors"][0]["field"] == "confirmed"
    verified = client.post(url, headers=clerk, json={"resident_id": number, "confirmed": True})
    assert verified.status_code == 200, verified.text
    assert verified.json()["identity_status"] == "verified"
    assert number not in verified.text
    me = client.get(f"{API}/me", headers=owner).json()["identity"]
    assert (me["status"], me["method"]) == ("verified", "counter")
    assert me["verified_at"] is not None

    [event] = _events(db, "account.identity_verified", real["id"])
    assert (event.actor_id, event.actor_role) == (clerk_account.id, "clerk")
    assert (event.channel, event.service_point) == ("assisted", "440305")
    assert event.data == {"method": "counter", "claim": "matched"}
    # The same check again changes nothing.
    again = client.post(url, headers=clerk, json={"resident_id": number, "confirmed": True})
    assert again.status_code == 200
    assert len(_events(db, "account.identity_verified", real["id"])) == 1

    # From now on what the counter files for this number is the owner's, never the squatter's.
    case_number, _ = _file_at_counter(client, clerk, number, "王秀英")
    assert _sees(client, owner, case_number)
    assert not _sees(client, squatter, case_number)
    found = identity.find_account_by_resident_id(db, resident_id=number, settings=settings)
    assert found is not None and found.id == real["id"]

    # The number is bound: nobody else can have it verified, and the owner not another one.
    squatter_id = client.get(f"{API}/me", headers=squatter).json()["id"]
    taken = client.post(
        f"{API}/accounts/{squatter_id}/verify-identity",
        headers=clerk,
        json={"resident_id": number, "confirmed": True},
    )
    assert _problem(taken, 409)["errors"][0]["field"] == "resident_id"
    other = client.post(
        url, headers=clerk, json={"resident_id": new_resident_id(), "confirmed": True}
    )
    _problem(other, 409)


def test_the_card_number_replaces_a_mistyped_claim(
    client: TestClient, db: Session, counter: dict[str, Any], settings: Settings
) -> None:
    typo, card = new_resident_id(), new_resident_id()
    account = _register(client, typo, "13910000031", "李").json()
    clerk = _session(client, counter["clerk"].username)
    verified = client.post(
        f"{API}/accounts/{account['id']}/verify-identity",
        headers=clerk,
        json={"resident_id": card, "confirmed": True},
    )
    assert verified.json()["resident_id_masked"] == card[:4] + "**********" + card[-4:]
    [event] = _events(db, "account.identity_verified", account["id"])
    assert event.data == {"method": "counter", "claim": "replaced"}
    assert identity.find_account_by_resident_id(db, resident_id=typo, settings=settings) is None


@pytest.mark.usefixtures("regions_loaded")
def test_only_a_clerk_with_a_session_verifies_and_bad_input_is_a_problem(
    client: TestClient, db: Session, make_account: MakeAccount, settings: Settings
) -> None:
    number = new_resident_id()
    account = _register(client, number, "13910000041", "赵").json()
    url = f"{API}/accounts/{account['id']}/verify-identity"
    body = {"resident_id": number, "confirmed": True}
    for role in ("citizen", "official", "steward", "admin"):
        someone = make_account(role)
        _problem(client.post(url, headers=_session(client, someone.username), json=body), 403)
    clerk = make_account("clerk")
    token = identity.issue_api_token(db, account_id=clerk.id, name="desk", settings=settings)
    by_token = client.post(url, headers={"Authorization": f"Bearer {token.token}"}, json=body)
    assert "log in" in _problem(by_token, 403)["detail"]
    _problem(client.post(url, json=body), 401)

    session = _session(client, clerk.username)
    bad = client.post(url, headers=session, json={"resident_id": "123", "confirmed": True})
    assert _problem(bad, 422)["errors"][0]["field"] == "resident_id"
    _problem(client.post(url, headers=session, json={"confirmed": True}), 422)
    missing = f"{API}/accounts/999999999/verify-identity"
    _problem(client.post(missing, headers=session, json=body), 404)
    staff = make_account("official")
    _problem(
        client.post(f"{API}/accounts/{staff.id}/verify-identity", headers=session, json=body), 409
    )
    assert _events(db, "account.identity_verified", account["id"]) == []


def test_operator_accounts_are_bound_and_conflict_on_a_bound_number(
    db: Session, make_account: MakeAccount, settings: Settings
) -> None:
    number = new_resident_id()
    made = make_account("citizen", resident_id=number)
    assert made.identity_verification == "operator" and made.identity_verified_at is not None
    view = identity_service.find_account_by_resident_id(db, resident_id=number, settings=settings)
    assert view is not None and view.id == made.id and view.identity_verified
    with pytest.raises(identity.Conflict):
        make_account("citizen", resident_id=number)
    # A self-registration claiming the same number is not refused, and finds nothing.
    with hashing_once():
        claimant = identity.register_citizen(
            db,
            resident_id=number,
            phone="13910000051",
            password=PASSWORD,
            display_name="冒名者",
            settings=settings,
        )
    assert (
        claimant.resident_id_hash is None and claimant.resident_id_masked == made.resident_id_masked
    )
    view = identity.find_account_by_resident_id(db, resident_id=number, settings=settings)
    assert view is not None and view.id == made.id


# --- the province's real-name service ----------------------------------------------------------


class FakeRealName:
    """A real-name register of one person, for the tests (TONGBAN_REALNAME_VERIFIER)."""

    register: ClassVar[dict[str, str]] = {}
    down: ClassVar[bool] = False
    calls: ClassVar[list[tuple[str, str, str | None]]] = []

    def verify(self, *, resident_id: str, name: str, phone: str | None) -> RealNameResult:
        FakeRealName.calls.append((resident_id, name, phone))
        if FakeRealName.down:
            raise RealNameUnavailable("timeout")
        matched = FakeRealName.register.get(resident_id) == name
        return RealNameResult(matched=matched, reference="ref-" + str(len(FakeRealName.calls)))


@pytest.fixture
def realname(settings: Settings, app: Any) -> Iterator[TestClient]:
    """A client of an app whose node has the fake real-name service."""
    configured = settings.model_copy(
        update={"realname_verifier": f"{__name__}:FakeRealName", "realname_max_failures": 2}
    )
    FakeRealName.register, FakeRealName.down, FakeRealName.calls = {}, False, []
    with TestClient(create_app(configured, app.state.database)) as client:
        yield client


def test_realname_verification_binds_on_a_match_and_counts_mismatches(
    realname: TestClient, db: Session, settings: Settings
) -> None:
    client = realname
    number = new_resident_id()
    account = _register(client, number, "13910000061", "小王").json()
    owner = _session(client, "13910000061")
    FakeRealName.register[number] = "王小明"
    assert client.get(f"{API}/me", headers=owner).json()["identity"]["methods"] == [
        "counter",
        "realname",
    ]

    for _ in range(2):
        wrong = client.post(f"{API}/me/identity", headers=owner, json={"name": "小王"})
        assert _problem(wrong, 422)["errors"][0]["field"] == "name"
    failed = _events(db, "account.identity_verification_failed", account["id"])
    assert [(e.reason, e.data) for e in failed] == [("not_matched", {"method": "realname"})] * 2
    # The check says whether a name belongs to a number: after the free failures, hours pass.
    refused = client.post(f"{API}/me/identity", headers=owner, json={"name": "王小明"})
    _problem(refused, 429)
    assert int(refused.headers["Retry-After"]) > 3000
    assert len(FakeRealName.calls) == 2
    with pytest.raises(TooManyRequests):
        verification.verify_with_realname(
            db,
            account_id=account["id"],
            name="王小明",
            actor=identity.actor_for(db.get(identity.Account, account["id"])),
            settings=client.app.state.settings,  # type: ignore[attr-defined]
        )


def test_realname_match_binds_and_failures_are_problems(realname: TestClient, db: Session) -> None:
    client = realname
    number = new_resident_id()
    account = _register(client, number, "13910000071", "王小明").json()
    owner = _session(client, "13910000071")
    FakeRealName.register[number] = "王小明"

    FakeRealName.down = True
    _problem(client.post(f"{API}/me/identity", headers=owner, json={"name": "王小明"}), 503)
    FakeRealName.down = False
    _problem(client.post(f"{API}/me/identity", headers=owner, json={"name": ""}), 422)
    done = client.post(f"{API}/me/identity", headers=owner, json={"name": " 王小明 "})
    assert done.status_code == 200, done.text
    assert (done.json()["identity"]["status"], done.json()["identity"]["method"]) == (
        "verified",
        "realname",
    )
    assert FakeRealName.calls[-1] == (number, "王小明", "13910000071")
    [event] = _events(db, "account.identity_verified", account["id"])
    assert (event.actor_id, event.data) == (
        account["id"],
        {"method": "realname", "claim": "matched"},
    )
    assert number not in str(event.data)


@pytest.mark.usefixtures("regions_loaded")
def test_realname_needs_a_configured_service_and_a_session(
    client: TestClient, db: Session, make_account: MakeAccount, settings: Settings
) -> None:
    _register(client, new_resident_id(), "13910000081", "钱")
    owner = _session(client, "13910000081")
    none = client.post(f"{API}/me/identity", headers=owner, json={"name": "钱"})
    assert "service point" in _problem(none, 409)["detail"]
    citizen = make_account("citizen")
    token = identity.issue_api_token(db, account_id=citizen.id, name="app", settings=settings)
    by_token = {"Authorization": f"Bearer {token.token}"}
    _problem(client.post(f"{API}/me/identity", headers=by_token, json={"name": "钱"}), 403)
    clerk = _session(client, make_account("clerk").username)
    _problem(client.post(f"{API}/me/identity", headers=clerk, json={"name": "钱"}), 403)
