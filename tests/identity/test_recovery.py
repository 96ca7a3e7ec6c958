"""Forgotten passwords (issue #13, item 6): a one-time code by SMS (hashed, expiring, a few
checks, throttled, the same answer whether an account exists or not), and a temporary password
from a clerk after the in-person identity check."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any, ClassVar

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.support import identity_internals as identity
from tongban.adapters.sms import load_gateway
from tongban.events.models import Event
from tongban.identity import recovery
from tongban.identity.models import PasswordReset
from tongban.platform.config import Settings
from tongban.platform.db import utcnow
from tongban.platform.errors import Conflict, Forbidden, Invalid, NotFound

from .conftest import PASSWORD, MakeAccount, new_resident_id

API = "/api/v1"
NEW = "a-brand-new-password"


class Outbox:
    """An SMS gateway that keeps what it was asked to send (TONGBAN_SMS_GATEWAY)."""

    sent: ClassVar[list[tuple[str, str]]] = []

    def send(self, phone: str, text: str) -> None:
        """Keep the message."""
        Outbox.sent.append((phone, text))


@pytest.fixture
def outbox(settings: Settings) -> Iterator[list[tuple[str, str]]]:
    settings.sms_gateway = f"{__name__}:Outbox"
    load_gateway.cache_clear()
    Outbox.sent.clear()
    yield Outbox.sent
    load_gateway.cache_clear()


def code_sent_to(outbox: list[tuple[str, str]], phone: str) -> str:
    """The code in the last SMS to this phone."""
    texts = [text for to, text in outbox if to == phone]
    assert texts, f"no SMS to {phone}: {outbox}"
    match = re.search(r"验证码 (\d{6})", texts[-1])
    assert match, texts[-1]
    return match.group(1)


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


def _token(client: TestClient, username: str, password: str) -> httpx.Response:
    return client.post(f"{API}/auth/token", json={"username": username, "password": password})


def _events(db: Session, action: str) -> list[Event]:
    return list(db.scalars(select(Event).where(Event.action == action).order_by(Event.id)))


# --- online, by a code -------------------------------------------------------------------------


def test_a_code_by_sms_resets_the_password_and_ends_every_session(
    client: TestClient,
    db: Session,
    make_account: MakeAccount,
    outbox: list[tuple[str, str]],
) -> None:
    citizen = make_account("citizen", phone="13912340001")
    old_session = _token(client, citizen.username, PASSWORD).json()["access_token"]
    api_token = identity.issue_api_token(
        db,
        account_id=citizen.id,
        name="app",
        settings=client.app.state.settings,  # type: ignore[attr-defined]
    ).token

    asked = client.post(f"{API}/auth/password/forgot", json={"username": "13912340001"})
    assert asked.status_code == 202, asked.text
    code = code_sent_to(outbox, "13912340001")
    [row] = db.scalars(select(PasswordReset).where(PasswordReset.account_id == citizen.id))
    assert code not in row.code_hash and len(row.code_hash) == 64  # only a keyed hash
    assert row.expires_at - row.created_at == timedelta(minutes=10)

    done = client.post(
        f"{API}/auth/password/reset",
        json={"username": citizen.username, "code": code, "new_password": NEW},
    )
    assert done.status_code == 204, done.text
    for credential in (old_session, api_token):
        me = client.get(f"{API}/me", headers={"Authorization": f"Bearer {credential}"})
        assert me.status_code == 401
    _problem(_token(client, citizen.username, PASSWORD), 401)
    assert _token(client, citizen.username, NEW).status_code == 200
    # The code is used: it does not work twice.
    again = client.post(
        f"{API}/auth/password/reset",
        json={"username": citizen.username, "code": code, "new_password": "yet-another-one"},
    )
    assert _problem(again, 422)["errors"][0]["field"] == "code"

    [reset] = _events(db, "account.password_reset")
    assert (reset.resource_id, reset.data) == (
        str(citizen.id),
        {"method": "sms", "must_change": False},
    )
    requested = _events(db, "auth.password_reset_requested")
    assert [e.data for e in requested] == [{}]
    assert requested[0].resource_type == "password_reset"
    assert requested[0].personal is not None and requested[0].personal["sent"] is True
    revoked = [e.reason for e in _events(db, "auth.session_revoked")]
    assert revoked == ["password_reset"]


def test_the_answer_is_the_same_whether_an_account_exists_or_not(
    client: TestClient,
    db: Session,
    make_account: MakeAccount,
    outbox: list[tuple[str, str]],
) -> None:
    make_account("citizen", phone="13912340002")
    known = client.post(f"{API}/auth/password/forgot", json={"username": "13912340002"})
    unknown = client.post(f"{API}/auth/password/forgot", json={"username": "13912349999"})
    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
    assert [to for to, _ in outbox] == ["13912340002"]
    # The public part of the two events is the same: only the personal part says which.
    first, second = _events(db, "auth.password_reset_requested")
    assert (first.resource_type, first.data, first.reason) == (
        second.resource_type,
        second.data,
        second.reason,
    )
    assert first.resource_id != second.resource_id
    assert first.personal and second.personal
    assert (first.personal["sent"], second.personal["sent"]) == (True, False)
    assert "13912340002" not in str(first.personal) and "13912349999" not in str(second.personal)
    # An unknown account and a wrong code are refused alike.
    wrong = client.post(
        f"{API}/auth/password/reset",
        json={"username": "13912349999", "code": "123456", "new_password": NEW},
    )
    assert _problem(wrong, 422)["errors"] == [{"field": "code", "message": "wrong or expired"}]


def test_a_code_allows_five_checks_expires_and_is_superseded(
    db: Session, make_account: MakeAccount, settings: Settings, outbox: list[tuple[str, str]]
) -> None:
    citizen = make_account("citizen", phone="13912340003")
    recovery.request_code(db, identifier=citizen.username, client_ip="192.0.2.3", settings=settings)
    [row] = db.scalars(select(PasswordReset).where(PasswordReset.account_id == citizen.id))
    wrong = next(
        code
        for code in ("000000", "111111")
        if recovery._code_hash(settings, str(row.id), code) != row.code_hash
    )
    for _ in range(recovery.CODE_MAX_ATTEMPTS):
        with pytest.raises(recovery.ResetCodeRejected):
            recovery.reset_with_code(
                db,
                identifier=citizen.username,
                code=wrong,
                new_password=NEW,
                client_ip="192.0.2.3",
                settings=settings,
            )
    db.refresh(row)
    assert (row.attempts, row.outcome) == (recovery.CODE_MAX_ATTEMPTS, recovery.SPENT)

    # A newer code supersedes the open one; an expired code is refused.
    later = utcnow()
    recovery.request_code(
        db, identifier=citizen.username, client_ip="192.0.2.3", settings=settings, now=later
    )
    recovery.request_code(
        db, identifier=citizen.username, client_ip="192.0.2.3", settings=settings, now=later
    )
    rows = list(
        db.scalars(
            select(PasswordReset)
            .where(PasswordReset.account_id == citizen.id)
            .order_by(PasswordReset.id)
        )
    )
    assert [r.outcome for r in rows] == [recovery.SPENT, recovery.SUPERSEDED, None]
    with pytest.raises(recovery.ResetCodeRejected):
        recovery.reset_with_code(
            db,
            identifier=citizen.username,
            code="000000",
            new_password=NEW,
            client_ip="192.0.2.3",
            settings=settings,
            now=later + timedelta(minutes=11),
        )
    db.refresh(rows[-1])
    assert rows[-1].attempts == 0  # an expired code is not even checked


def test_requests_are_throttled_per_identifier_and_address(
    client: TestClient, make_account: MakeAccount, outbox: list[tuple[str, str]]
) -> None:
    make_account("citizen", phone="13912340004")
    answers = [
        client.post(f"{API}/auth/password/forgot", json={"username": "13912340004"}).status_code
        for _ in range(4)
    ]
    assert answers == [202, 202, 202, 429]
    refused = client.post(f"{API}/auth/password/forgot", json={"username": "13912340004"})
    _problem(refused, 429)
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert len(outbox) == 3
    # The identifier counter does not care whether the account exists: no enumeration.
    unknown = [
        client.post(f"{API}/auth/password/forgot", json={"username": "nobody-here"}).status_code
        for _ in range(4)
    ]
    assert unknown == [202, 202, 202, 429]


def test_bad_requests_are_problems(client: TestClient) -> None:
    for body in ({}, {"username": ""}, {"username": "x" * 65}):
        _problem(client.post(f"{API}/auth/password/forgot", json=body), 422)
    for body in (
        {"username": "citizen", "code": "12345", "new_password": NEW},
        {"username": "citizen", "code": "abcdef", "new_password": NEW},
        {"username": "citizen", "code": "123456", "new_password": "short"},
    ):
        _problem(client.post(f"{API}/auth/password/reset", json=body), 422)


def test_the_password_policy_applies_and_keeps_the_code(
    db: Session, make_account: MakeAccount, settings: Settings
) -> None:
    citizen = make_account("citizen", phone="13912340005")
    recovery.request_code(db, identifier=citizen.username, client_ip="192.0.2.5", settings=settings)
    with pytest.raises(Invalid) as refused:
        recovery.reset_with_code(
            db,
            identifier=citizen.username,
            code="123456",
            new_password="short",
            client_ip="192.0.2.5",
            settings=settings,
        )
    assert [e.field for e in refused.value.errors or []] == ["new_password"]
    [row] = db.scalars(select(PasswordReset).where(PasswordReset.account_id == citizen.id))
    assert (row.attempts, row.closed_at) == (0, None)


# --- at the counter ----------------------------------------------------------------------------


@pytest.mark.usefixtures("regions_loaded")
def test_a_clerk_gives_a_temporary_password_to_the_bound_owner_only(
    client: TestClient,
    db: Session,
    make_account: MakeAccount,
    settings: Settings,
) -> None:
    clerk = identity.actor_for(make_account("clerk"))
    number = new_resident_id()
    owner = make_account("citizen", phone="13912340006", resident_id=number)  # bound (operator)
    session = _token(client, owner.username, PASSWORD).json()["access_token"]

    with pytest.raises(Invalid):
        recovery.reset_at_counter(
            db,
            identifier=owner.username,
            resident_id=number,
            confirmed=False,
            actor=clerk,
            settings=settings,
        )
    with pytest.raises(Conflict, match="not the one bound"):
        recovery.reset_at_counter(
            db,
            identifier=owner.username,
            resident_id=new_resident_id(),
            confirmed=True,
            actor=clerk,
            settings=settings,
        )
    with pytest.raises(NotFound):
        recovery.reset_at_counter(
            db,
            identifier="nobody-at-all",
            resident_id=number,
            confirmed=True,
            actor=clerk,
            settings=settings,
        )
    citizen_actor = identity.actor_for(owner)
    with pytest.raises(Forbidden):
        recovery.reset_at_counter(
            db,
            identifier=owner.username,
            resident_id=number,
            confirmed=True,
            actor=citizen_actor,
            settings=settings,
        )
    issued = recovery.reset_at_counter(
        db,
        identifier="13912340006",
        resident_id=number,
        confirmed=True,
        actor=clerk,
        settings=settings,
    )
    db.flush()
    assert re.fullmatch(r"[a-z2-9]{4}-[a-z2-9]{4}", issued.password)
    assert issued.phone_masked == "139****0006"
    me = client.get(f"{API}/me", headers={"Authorization": f"Bearer {session}"})
    assert me.status_code == 401
    login = _token(client, owner.username, issued.password)
    assert login.status_code == 200
    db.refresh(owner)
    assert owner.password_must_change is True
    [event] = _events(db, "account.password_reset")
    assert (event.actor_id, event.service_point, event.data) == (
        clerk.account_id,
        "440305",
        {"method": "counter", "must_change": True},
    )


@pytest.mark.usefixtures("regions_loaded")
def test_no_counter_reset_for_a_claimed_number(
    client: TestClient, db: Session, make_account: MakeAccount, settings: Settings
) -> None:
    clerk = identity.actor_for(make_account("clerk"))
    number = new_resident_id()
    registered = client.post(
        f"{API}/auth/register",
        json={
            "resident_id": number,
            "phone": "13912340007",
            "password": PASSWORD,
            "display_name": "李四",
        },
    )
    assert registered.status_code == 201
    with pytest.raises(Conflict, match="not verified"):
        recovery.reset_at_counter(
            db,
            identifier="13912340007",
            resident_id=number,
            confirmed=True,
            actor=clerk,
            settings=settings,
        )


@pytest.mark.usefixtures("regions_loaded")
def test_a_temporary_password_expires_after_a_week(
    client: TestClient, db: Session, make_account: MakeAccount, settings: Settings
) -> None:
    clerk = identity.actor_for(make_account("clerk"))
    number = new_resident_id()
    owner = make_account("citizen", phone="13912340008", resident_id=number)
    issued = recovery.reset_at_counter(
        db,
        identifier=owner.username,
        resident_id=number,
        confirmed=True,
        actor=clerk,
        settings=settings,
    )
    week = identity.TEMPORARY_PASSWORD_TTL
    later = utcnow() + week + timedelta(minutes=1)
    with pytest.raises(identity.TemporaryPasswordExpired):
        identity.login(
            db,
            username=owner.username,
            password=issued.password,
            client_ip="192.0.2.8",
            settings=settings,
            now=later,
        )
    # Only the right temporary password learns that; a wrong one is a plain failure.
    with pytest.raises(identity.LoginFailed) as wrong:
        identity.login(
            db,
            username=owner.username,
            password="not-the-temporary",
            client_ip="192.0.2.8",
            settings=settings,
            now=later,
        )
    assert not isinstance(wrong.value, identity.TemporaryPasswordExpired)
    within = identity.login(
        db,
        username=owner.username,
        password=issued.password,
        client_ip="192.0.2.9",
        settings=settings,
        now=utcnow() + week - timedelta(hours=1),
    )
    assert within.account.id == owner.id
    causes = [
        (e.personal or {}).get("cause")
        for e in _events(db, "auth.login_failed")
        if (e.personal or {}).get("account_id") == owner.id
    ]
    assert causes == ["temporary_password_expired", "wrong_password"]
