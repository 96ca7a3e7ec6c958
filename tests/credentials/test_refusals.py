"""Every bad input of the issue, each refused with its own plain reason; key rotation keeps old
licences verifiable; the 证照标识 check character."""

from __future__ import annotations

import json

import pytest
from joserfc.jwk import OKPKey
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.credentials.conftest import World

from tongban.credentials import licences, sdjwt, statuslist
from tongban.credentials import service as credentials
from tongban.credentials.models import Credential
from tongban.events.models import Event
from tongban.platform.config import Settings


def _issue(db: Session, settings: Settings, world: World, **extra: object) -> str:
    kind = licences.for_item("101110006000")
    assert kind is not None
    made = credentials.issue(
        db,
        kind=kind,
        holder_id=world.accounts["citizen"].id,
        department_id=world.departments["demo"].id,
        form={"bank": "农行"},
        settings=settings,
        **extra,  # type: ignore[arg-type]
    )
    token = db.get(Credential, made.id).sd_jwt  # type: ignore[union-attr]
    assert token is not None
    return token


def _code(db: Session, settings: Settings, text: str, **extra: str) -> str | None:
    verdict = credentials.check_here(db, text=text, settings=settings, **extra)
    if verdict.code is not None:
        assert verdict.valid is False and verdict.message
    return verdict.code


def _resign(token: str, change: dict[str, object], header: dict[str, object] | None = None) -> str:
    """The issuer JWT re-signed by a stranger's key, with changes (and the same kid)."""
    parsed = sdjwt.parse(token)
    stranger = OKPKey.generate_key("Ed25519")
    payload = {**parsed.payload, **change}
    for k in [k for k, v in change.items() if v is None]:
        payload.pop(k)
    jwt = sdjwt.sign_jwt({**parsed.header, **(header or {})}, payload, stranger)
    return jwt + "~" + "".join(d + "~" for d in parsed.disclosures)


def test_each_bad_input_is_named(db: Session, settings: Settings, world: World) -> None:
    token = _issue(db, settings, world)
    assert _code(db, settings, token) is None
    parsed = sdjwt.parse(token)
    head, payload, signature = parsed.jwt.split(".")
    # A claim altered in the signed part.
    claims = json.loads(sdjwt.b64u_decode(payload))
    claims["issue_date"] = "2000-01-01"
    altered = ".".join([head, sdjwt.b64u(json.dumps(claims).encode()), signature])
    assert _code(db, settings, altered + "~") == "bad_signature"
    # A disclosure altered: its digest is nowhere in the credential.
    salt, name, _ = json.loads(sdjwt.b64u_decode(parsed.disclosures[0]))
    forged = sdjwt.b64u(json.dumps([salt, name, "李四"], ensure_ascii=False).encode())
    rest = "".join(d + "~" for d in parsed.disclosures[1:])
    assert _code(db, settings, f"{parsed.jwt}~{forged}~{rest}") == "disclosure_unreferenced"
    # A disclosure from another credential.
    other = sdjwt.parse(_issue(db, settings, world)).disclosures[0]
    assert _code(db, settings, f"{token}{other}~") == "disclosure_unreferenced"
    assert _code(db, settings, f"{parsed.jwt}~!!notbase64~") == "disclosure_malformed"
    # Wrong typ, missing vct, unknown key, another issuer's key.
    assert _code(db, settings, _resign(token, {}, {"typ": "vc+sd-jwt"})) == "wrong_typ"
    assert _code(db, settings, _resign(token, {}, {"kid": "nobody:k1"})) == "unknown_key"
    assert _code(db, settings, _resign(token, {})) == "bad_signature"
    assert _code(db, settings, _resign(token, {"issuer_code": "X"})) == "wrong_issuer"
    _kid, key = _department_key(db, settings, world)
    no_vct = {k: v for k, v in parsed.payload.items() if k != "vct"}
    jwt = sdjwt.sign_jwt(parsed.header, no_vct, key)
    assert _code(db, settings, jwt + "~") == "missing_vct"
    expired = sdjwt.sign_jwt(parsed.header, {**parsed.payload, "exp": 1_000_000_000}, key)
    assert _code(db, settings, expired + "~") == "expired"
    assert _code(db, settings, "hello") == "malformed"


def _department_key(db: Session, settings: Settings, world: World) -> tuple[str, OKPKey]:
    from tongban.credentials import keys

    department = world.departments["demo"]
    from tongban.identity import service as identity

    return keys.active_key(
        db, department=identity.get_department(db, department_id=department.id), settings=settings
    )


def test_suspended_and_revoked(db: Session, settings: Settings, world: World) -> None:
    token = _issue(db, settings, world)
    row = db.scalars(select(Credential).order_by(Credential.id.desc())).first()
    assert row is not None
    official = world.actor("official")
    credentials.change_status(
        db, actor=official, credential_id=row.id, action="suspend", reason="核查中"
    )
    assert _code(db, settings, token) == "suspended"
    credentials.change_status(
        db, actor=official, credential_id=row.id, action="revoke", reason="已注销"
    )
    assert _code(db, settings, token) == "revoked"
    event = db.scalars(select(Event).where(Event.action == "credential.revoked")).one()
    assert event.reason == "已注销" and "已注销" not in json.dumps(event.data, ensure_ascii=False)


def test_status_list_with_a_bad_signature(settings: Settings) -> None:
    key, other = OKPKey.generate_key("Ed25519"), OKPKey.generate_key("Ed25519")
    token = statuslist.make_token(
        key=other, kid="k", uri="https://x/l/1", compressed=statuslist.encode(16, [])
    )
    with pytest.raises(sdjwt.Refused) as caught:
        statuslist.check_token(token, key=key, uri="https://x/l/1")
    assert caught.value.code == "status_bad_signature"


def test_rotation_keeps_old_licences_and_retirement_is_in_the_ledger(
    db: Session, settings: Settings, world: World
) -> None:
    old = _issue(db, settings, world)
    code = world.departments["demo"].code
    made = credentials.rotate_key(db, department_code=code, settings=settings)
    assert made.kid.endswith(":k2")
    new = _issue(db, settings, world)
    assert sdjwt.parse(new).header["kid"] == made.kid
    assert _code(db, settings, old) is None and _code(db, settings, new) is None
    assert {
        k["kid"] for k in credentials.issuer_metadata(db, settings=settings)["jwks"]["keys"]
    } >= {
        f"{code}:k1",
        made.kid,
    }
    credentials.retire_key(db, kid=f"{code}:k1")
    assert _code(db, settings, old) is None  # signed before the retirement
    actions = [
        e.action
        for e in db.scalars(
            select(Event).where(Event.resource_type == "issuer_key").order_by(Event.id)
        )
    ]
    assert actions == [
        "credentials.key_added",
        "credentials.key_rotated",
        "credentials.key_added",
        "credentials.key_retired",
    ]
    added = db.scalars(select(Event).where(Event.action == "credentials.key_added")).first()
    assert added is not None and len(added.data["public_key_hex"]) == 64


def test_licence_identifier_check_character() -> None:
    ident = licences.licence_id(type_code="101001", issuer_code="11511600MB0150229L", serial=7)
    assert ident.startswith("1.2.156.3005.2.101001.11511600MB0150229L.000000007.001.")
    assert licences.licence_id_ok(ident)
    body = ident[:-2]
    # Every single substitution and every adjacent transposition is caught.
    chars = list(body.replace(".", ""))[len("1215630052") :]
    for i, c in enumerate(chars):
        for r in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ":
            if r != c:
                changed = [*chars[:i], r, *chars[i + 1 :]]
                assert licences.check_character("".join(changed)) != ident[-1]
        if i + 1 < len(chars) and chars[i] != chars[i + 1]:
            swapped = [*chars[:i], chars[i + 1], chars[i], *chars[i + 2 :]]
            assert licences.check_character("".join(swapped)) != ident[-1]
