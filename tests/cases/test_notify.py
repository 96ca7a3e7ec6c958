"""Notifications: in-app messages with the change, SMS only once the change has committed."""

from __future__ import annotations

import logging
from typing import ClassVar

import pytest
from fastapi.testclient import TestClient

from tests.cases.conftest import PNG_BYTES, World, pension_request
from tongban.cases.models import Case
from tongban.cases.notify import load_gateway, notify_case
from tongban.platform.config import Settings
from tongban.platform.db import Database


class RecordingGateway:
    """An SMS gateway that keeps what it was asked to send."""

    sent: ClassVar[list[tuple[str, str]]] = []

    def send(self, phone: str, text: str) -> None:
        """Keep the message."""
        self.sent.append((phone, text))


class BrokenGateway:
    """An SMS gateway whose provider is down."""

    def send(self, phone: str, text: str) -> None:
        """Fail, as a provider outage would."""
        raise ConnectionError("provider down")


@pytest.fixture
def recorded(settings: Settings) -> list[tuple[str, str]]:
    settings.sms_gateway = f"{__name__}:RecordingGateway"
    load_gateway.cache_clear()
    RecordingGateway.sent.clear()
    return RecordingGateway.sent


def _submit(client: TestClient, world: World, key: str) -> tuple[int, dict[str, object]]:
    sha = client.post(
        "/api/v1/uploads", headers=world.h("migrant"), files={"file": ("id.png", PNG_BYTES)}
    ).json()["sha256"]
    body = pension_request(
        applicant=None,
        materials=[{"name": "居民身份证", "sha256": sha}, {"name": "转移申请表", "sha256": sha}],
    )
    r = client.post(
        "/api/v1/cases", headers=world.h("migrant", **{"Idempotency-Key": key}), json=body
    )
    return r.status_code, r.json()


def test_sms_and_message_on_submission_and_once_only_for_a_retry(
    client: TestClient, world: World, recorded: list[tuple[str, str]]
) -> None:
    status, case = _submit(client, world, "sms-1")
    assert status == 201
    phone = world.accounts["migrant"].phone
    assert [p for p, _ in recorded] == [phone]
    assert str(case["number"]) in recorded[0][1] and "已接件" in recorded[0][1]
    again, _ = _submit(client, world, "sms-1")
    assert again == 200 and len(recorded) == 1  # a retry finds the case and sends nothing
    inbox = client.get("/api/v1/my/messages", headers=world.h("migrant")).json()
    assert [m["case_number"] for m in inbox["items"]] == [case["number"]]


def test_no_sms_for_a_step_that_was_refused(
    client: TestClient, world: World, recorded: list[tuple[str, str]]
) -> None:
    _, case = _submit(client, world, "sms-2")
    recorded.clear()
    stale = client.post(
        f"/api/v1/cases/{case['number']}/actions/accept",
        headers=world.h("official"),
        json={"version": int(str(case["version"])) + 5},
    )
    assert stale.status_code == 412
    assert recorded == []
    accepted = client.post(
        f"/api/v1/cases/{case['number']}/actions/accept",
        headers=world.h("official"),
        json={"version": case["version"]},
    )
    assert accepted.status_code == 200
    assert len(recorded) == 1 and "已受理" in recorded[0][1]


def test_a_broken_gateway_never_blocks_the_case(
    client: TestClient, world: World, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings.sms_gateway = f"{__name__}:BrokenGateway"
    load_gateway.cache_clear()
    with caplog.at_level(logging.ERROR):
        status, case = _submit(client, world, "sms-3")
    assert status == 201
    assert (
        client.get(f"/api/v1/cases/{case['number']}", headers=world.h("migrant")).status_code == 200
    )
    failure = next(r for r in caplog.records if "sms to" in r.getMessage())
    phone = str(world.accounts["migrant"].phone)
    assert phone not in failure.getMessage() and phone[-4:] in failure.getMessage()


def test_sms_waits_for_the_commit_and_is_dropped_by_a_rollback(
    fresh_database: Database, recorded: list[tuple[str, str]]
) -> None:
    case = Case(number="440300-20261127-TESTSMS00001", item_name="测试事项", applicant_id=None)
    gateway = f"{__name__}:RecordingGateway"
    for outcome in ("rollback", "commit"):
        session = fresh_database.sessions()
        notify_case(session, case=case, kind="completed", phones={None: None}, gateway_path=gateway)
        case.applicant_id = 1  # the phone belongs to the applicant
        notify_case(
            session, case=case, kind="completed", phones={1: "13800001234"}, gateway_path=gateway
        )
        session.expunge_all()  # the messages: no accounts exist in this empty database
        assert recorded == []  # nothing before the transaction ends
        if outcome == "rollback":
            session.rollback()
        else:
            session.commit()
        session.close()
        case.applicant_id = None
    assert recorded == [
        ("13800001234", "您的办件 440300-20261127-TESTSMS00001（测试事项）已办结。")
    ]


def test_the_principal_is_told_when_a_relative_files_for_them(
    client: TestClient, world: World, recorded: list[tuple[str, str]]
) -> None:
    sha = client.post(
        "/api/v1/uploads", headers=world.h("relative"), files={"file": ("id.png", PNG_BYTES)}
    ).json()["sha256"]
    body = pension_request(
        applicant=None,
        on_behalf_of=world.accounts["migrant"].id,
        materials=[{"name": "居民身份证", "sha256": sha}, {"name": "转移申请表", "sha256": sha}],
    )
    r = client.post("/api/v1/cases", headers=world.h("relative"), json=body)
    assert r.status_code == 201, r.text
    # By SMS to the principal's phone, and in the principal's inbox: who acted, and how to stop it.
    assert [p for p, _ in recorded] == [world.accounts["migrant"].phone]
    assert "亲友代办提交" in recorded[0][1] and "撤销授权" in recorded[0][1]
    inbox = client.get("/api/v1/my/messages", headers=world.h("migrant")).json()["items"]
    assert [m["case_number"] for m in inbox] == [r.json()["number"]]
    assert "亲友代办提交" in inbox[0]["text"]
