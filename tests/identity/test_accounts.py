"""Accounts and departments through the service: hashing, resident-ID storage, rules."""

from __future__ import annotations

from datetime import date

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.support import identity_internals as identity
from tongban.events.models import Event
from tongban.identity.models import Account, ProxyAuthorisation
from tongban.platform.config import Settings
from tongban.platform.errors import Conflict, Invalid

from .conftest import PASSWORD, MakeAccount, new_resident_id, new_uscc


def _count(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(Account)) or 0)


def test_password_is_stored_as_argon2id(db: Session, make_account: MakeAccount) -> None:
    account = make_account("citizen")
    assert account.password_hash.startswith("$argon2id$")
    assert PASSWORD not in account.password_hash
    assert identity.verify_password(account, PASSWORD)
    assert not identity.verify_password(account, PASSWORD + "!")


def test_resident_id_is_hashed_masked_and_encrypted(
    db: Session, make_account: MakeAccount, settings: Settings
) -> None:
    number = new_resident_id(born=date(1950, 3, 15))
    account = make_account("citizen", resident_id=number, phone="13800000009")
    db.expire_all()
    stored = db.get(Account, account.id)
    assert stored is not None
    assert stored.resident_id_masked == number[:4] + "*" * 10 + number[-4:]
    assert stored.resident_id_hash and number not in stored.resident_id_hash
    assert stored.resident_id_encrypted and number not in stored.resident_id_encrypted
    assert stored.birth_date == date(1950, 3, 15)
    assert stored.sex in ("M", "F")
    assert identity.reveal_resident_id(db, account_id=account.id, settings=settings) == number
    found = identity.find_account_by_resident_id(db, resident_id=number, settings=settings)
    assert found is not None and found.id == account.id
    # The keys live in the data directory, created private.
    key = settings.data_dir / "keys" / "identity-hmac.key"
    assert key.exists() and key.stat().st_mode & 0o077 == 0


def test_account_event_keeps_personal_data_out_of_data(
    db: Session, make_account: MakeAccount
) -> None:
    account = make_account("citizen", phone="13800000008")
    event = db.scalar(
        select(Event).where(Event.resource_type == "account", Event.resource_id == str(account.id))
    )
    assert event is not None and event.action == "account.created"
    assert "13800000008" not in str(event.data)
    assert event.personal is not None and event.personal["phone"] == "13800000008"
    assert event.personal["resident_id_masked"] == account.resident_id_masked
    assert event.personal_commitment


def test_password_is_rehashed_when_parameters_change(
    db: Session, make_account: MakeAccount, settings: Settings
) -> None:
    account = make_account("citizen")
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    account.password_hash = weak.hash(PASSWORD)
    db.flush()
    old = account.password_hash
    logged_in, token = identity.login(
        db, username=account.username, password=PASSWORD, client_ip="10.0.0.1", settings=settings
    )
    assert logged_in is account and isinstance(token, str)
    assert account.password_hash != old
    assert not PasswordHasher().check_needs_rehash(account.password_hash)


def test_duplicate_username_and_resident_id_conflict(
    db: Session, make_account: MakeAccount
) -> None:
    number = new_resident_id()
    make_account("citizen", username="zhang", resident_id=number)
    with pytest.raises(Conflict) as caught:
        make_account("citizen", username="ZHANG ")
    assert caught.value.errors[0].field == "username"
    with pytest.raises(Conflict) as caught:
        make_account("citizen", username="zhang2", resident_id=number.lower())
    assert caught.value.errors[0].field == "resident_id"


def test_every_wrong_field_is_named_at_once(db: Session, settings: Settings) -> None:
    before = _count(db)
    with pytest.raises(Invalid) as caught:
        identity.create_account(
            db,
            username="a b",
            password="short",
            role="mayor",
            phone="123",
            resident_id="110105194912310021",
            settings=settings,
        )
    fields = {e.field for e in caught.value.errors}
    assert fields == {"username", "password", "role", "phone", "resident_id"}
    assert _count(db) == before


@pytest.mark.usefixtures("regions_loaded")
def test_staff_need_their_region_and_department(db: Session, settings: Settings) -> None:
    with pytest.raises(Invalid) as caught:
        identity.create_account(
            db, username="clerk-a", password=PASSWORD, role="clerk", settings=settings
        )
    assert caught.value.errors[0].field == "region_code"
    with pytest.raises(Invalid) as caught:
        identity.create_account(
            db,
            username="clerk-b",
            password=PASSWORD,
            role="clerk",
            region_code="449999",
            settings=settings,
        )
    assert caught.value.errors[0].field == "region_code"
    with pytest.raises(Invalid) as caught:
        identity.create_account(
            db, username="official-a", password=PASSWORD, role="official", settings=settings
        )
    assert caught.value.errors[0].field == "department_code"
    department = identity.ensure_department(db, code=new_uscc(), name="局", region_code="511602")
    with pytest.raises(Invalid, match="within their department"):
        identity.create_account(
            db,
            username="official-b",
            password=PASSWORD,
            role="official",
            department_code=department.code,
            region_code="440305",
            settings=settings,
        )
    official = identity.create_account(
        db,
        username="official-c",
        password=PASSWORD,
        role="official",
        department_code=department.code,
        settings=settings,
    )
    assert official.region_code == "511602"  # defaults to the department's region
    actor = identity.actor_for(official)
    assert actor.jurisdiction == "511602" and actor.department_code == department.code


@pytest.mark.usefixtures("regions_loaded")
def test_ensure_department_is_get_or_create(db: Session) -> None:
    code = new_uscc()
    first = identity.ensure_department(db, code=code.lower(), name="人社局", region_code="511602")
    again = identity.ensure_department(db, code=code, name="其他名字", region_code="511602")
    assert first.id == again.id and again.name == "人社局"
    assert identity.get_department_by_code(db, code=code).id == first.id
    with pytest.raises(Conflict):
        identity.create_department(db, code=code, name="x", region_code="511602")
    with pytest.raises(Invalid) as caught:
        identity.ensure_department(db, code=code[:-1] + "Z", name="", region_code="999999")
    assert {e.field for e in caught.value.errors} == {"code", "name", "region_code"}


@pytest.mark.usefixtures("regions_loaded")
def test_deactivation_revokes_sessions_and_tokens(
    db: Session, make_account: MakeAccount, settings: Settings
) -> None:
    account = make_account("clerk")
    result = identity.login(
        db, username=account.username, password=PASSWORD, client_ip="10.0.0.2", settings=settings
    )
    issued = identity.issue_api_token(db, account_id=account.id, name="cli", settings=settings)
    resolve = identity.resolve_actor
    assert resolve(db, authorization=None, session_token=result.token) is not None
    assert resolve(db, authorization=f"Bearer {issued.token}", session_token=None) is not None
    identity.deactivate_account(db, account_id=account.id)
    assert resolve(db, authorization=None, session_token=result.token) is None
    assert resolve(db, authorization=f"Bearer {issued.token}", session_token=None) is None
    actions = db.scalars(
        select(Event.action).where(
            Event.resource_type == "account", Event.resource_id == str(account.id)
        )
    ).all()
    assert "account.deactivated" in actions


def test_change_password_keeps_only_the_current_session(
    db: Session, make_account: MakeAccount, settings: Settings
) -> None:
    account = make_account("citizen")
    one = identity.login(
        db, username=account.username, password=PASSWORD, client_ip="1", settings=settings
    )
    two = identity.login(
        db, username=account.username, password=PASSWORD, client_ip="1", settings=settings
    )
    with pytest.raises(Invalid) as caught:
        identity.change_password(
            db, account_id=account.id, current_password="wrong-one", new_password="new password 1"
        )
    assert caught.value.errors[0].field == "current_password"
    identity.change_password(
        db,
        account_id=account.id,
        current_password=PASSWORD,
        new_password="new password 1",
        keep_session_id=one.session.id,
    )
    assert identity.resolve_actor(db, authorization=None, session_token=one.token) is not None
    assert identity.resolve_actor(db, authorization=None, session_token=two.token) is None
    assert identity.verify_password(account, "new password 1")


@pytest.mark.usefixtures("regions_loaded")
def test_demo_accounts_are_idempotent(db: Session, settings: Settings) -> None:
    assert identity.create_demo_accounts(db, settings=settings) == 7
    assert identity.create_demo_accounts(db, settings=settings) == 0
    accounts = {a.username: a for a in db.scalars(select(Account))}
    assert {"citizen", "relative", "clerk", "official", "steward", "admin"} <= set(accounts)
    citizen = accounts["citizen"]
    assert citizen.birth_date is not None and citizen.birth_date.year == 1950
    assert citizen.phone == "13800000001"
    assert citizen.resident_id_masked is not None and citizen.resident_id_masked.startswith("5116")
    assert accounts["clerk"].region_code == "440305"
    official = accounts["official"]
    assert official.department is not None
    assert official.department.name == "广安市广安区社会保险事业管理局"
    assert identity.validate_uscc(official.department.code) == official.department.code
    assert official.region_code == "511602"
    proxies = db.scalars(select(ProxyAuthorisation)).all()
    assert len(proxies) == 1 and proxies[0].all_items
    assert proxies[0].principal_id == citizen.id and proxies[0].agent_id == accounts["relative"].id
    identity.check_proxy(
        db, agent_id=accounts["relative"].id, principal_id=citizen.id, item_code="anything"
    )
    for name in accounts:
        assert identity.verify_password(accounts[name], identity.DEMO_PASSWORD)
