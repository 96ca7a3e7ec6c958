"""GET /api/v1/my/messages gives each message in the caller's language too (issue #14): the
stored Chinese text as `text`, and `display_text` in the language asked for (Accept-Language),
else the account's; what a person wrote stays Chinese (cases/message_locale.py)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.cases.conftest import World, service_act, submit_pension
from tests.support import identity_internals as identity
from tongban.platform.config import Settings

URL = "/api/v1/my/messages"


def _inbox(client: TestClient, world: World, **headers: str) -> list[dict[str, str]]:
    r = client.get(URL, headers=world.h("migrant", **headers))
    assert r.status_code == 200, r.text
    assert "Accept-Language" in r.headers.get("vary", "")
    return list(r.json()["items"])


def test_messages_come_in_the_language_asked_for_or_the_accounts(
    client: TestClient, db: Session, world: World, settings: Settings
) -> None:
    case = submit_pension(db, world, settings)
    service_act(db, world, settings, "official", case, "refuse", reason="不属于本机关职权")
    # Nothing asked, a Chinese account: as stored.
    chinese = _inbox(client, world)
    assert len(chinese) == 2
    for m in chinese:
        assert m["display_text"] == m["text"] and m["display_lang"] == "zh-CN"
    # Asked for English: the platform's words in English, the stored text unchanged.
    english = _inbox(client, world, **{"Accept-Language": "en-GB,en;q=0.9,zh;q=0.5"})
    assert [m["text"] for m in english] == [m["text"] for m in chinese]
    refused, received = english
    assert refused["display_lang"] == "en" and received["display_lang"] == "en"
    assert received["display_text"].startswith(f"Your case {case.number} (")
    assert "is received" in received["display_text"]
    assert refused["display_text"].startswith(f"Your case {case.number} (")
    assert "不属于本机关职权" in refused["display_text"]  # as the official wrote it
    assert "您的办件" not in refused["display_text"]
    # The account's language when the request names none; the header wins over it.
    identity.update_preferences(db, account_id=world.accounts["migrant"].id, locale="en")
    db.flush()
    assert _inbox(client, world)[1]["display_lang"] == "en"
    asked = _inbox(client, world, **{"Accept-Language": "zh-CN"})[1]
    assert asked["display_text"] == asked["text"] and asked["display_lang"] == "zh-CN"
