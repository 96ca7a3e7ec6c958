"""The demo's e-licences: two for the demo citizen, verified by an INDEPENDENT SD-JWT library
(the OpenWallet Foundation's `sd-jwt`, on jwcrypto) and by the offline CLI with a trust list.

`sd-jwt` 0.10.4 checks the issuer signature with the algorithm in the header (Ed25519 works),
and the disclosures against `_sd`. Its public constructor checks a key-binding JWT as ES256
only (DEFAULT_SIGNING_ALG): we call its own KB-JWT check with `sign_alg="Ed25519"`, the
only way it offers to check an Ed25519 key binding.
"""

from __future__ import annotations

import json
from pathlib import Path

from joserfc.jwk import OKPKey
from jwcrypto.jwk import JWK
from sd_jwt.verifier import SDJWTVerifier
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.credentials.conftest import World
from typer.testing import CliRunner

from tongban.credentials import sdjwt
from tongban.credentials import service as credentials
from tongban.credentials.models import Credential
from tongban.platform.config import Settings
from tongban.shell.cli import app as cli


def _demo(db: Session, settings: Settings, world: World) -> list[Credential]:
    assert credentials.load_demo(db, settings=settings) == {"credentials": 2}
    assert credentials.load_demo(db, settings=settings) == {"credentials": 0}  # idempotent
    rows = list(
        db.scalars(select(Credential).where(Credential.holder_id == world.accounts["citizen"].id))
    )
    assert sorted(r.type_code for r in rows) == ["101001", "109001"]
    return rows


def _jwks(db: Session, settings: Settings) -> dict[str, dict[str, object]]:
    metadata = credentials.issuer_metadata(db, settings=settings)
    return {str(k["kid"]): k for k in metadata["jwks"]["keys"]}


def test_demo_licences_verify_with_an_independent_library(
    db: Session, settings: Settings, world: World
) -> None:
    rows = _demo(db, settings, world)
    jwks = _jwks(db, settings)

    def issuer_key(issuer: str, header: dict[str, object]) -> JWK:
        assert issuer == credentials.issuer_metadata(db, settings=settings)["issuer"]
        return JWK.from_json(json.dumps(jwks[str(header["kid"])]))

    for row in rows:
        assert row.sd_jwt is not None
        checked = SDJWTVerifier(row.sd_jwt, issuer_key)
        payload = checked.get_verified_payload()
        assert payload["holder_name"] == "王建国"
        assert payload["vct"] == row.vct and payload["licence_id"] == row.licence_id
        # A selective presentation: only what was kept comes out.
        shown = sdjwt.present(row.sd_jwt, keep=["birth_date"])
        only = SDJWTVerifier(shown, issuer_key).get_verified_payload()
        assert only["birth_date"] == "1950-03-15" and "holder_name" not in only
    senior = next(r for r in rows if r.type_code == "109001")
    assert senior.sd_jwt is not None
    over_60 = SDJWTVerifier(
        sdjwt.present(senior.sd_jwt, keep=["age_over_60"]), issuer_key
    ).get_verified_payload()
    assert over_60["age_over_60"] is True and "birth_date" not in over_60


def test_ed25519_key_binding_checked_by_the_independent_library(
    db: Session, settings: Settings, world: World
) -> None:
    holder = OKPKey.generate_key("Ed25519")
    kind = credentials.for_material("老年人优待证")[0]
    made = credentials.issue(
        db,
        kind=kind,
        holder_id=world.accounts["citizen"].id,
        department_id=world.departments["demo"].id,
        form={},
        settings=settings,
        holder_jwk=holder.as_dict(private=False),
    )
    token = db.get(Credential, made.id).sd_jwt  # type: ignore[union-attr]
    assert token is not None
    jwks = _jwks(db, settings)
    shown = sdjwt.present(token, keep=["age_over_60"], holder_key=holder, aud="bus", nonce="n7")
    checked = SDJWTVerifier(shown, lambda _, h: JWK.from_json(json.dumps(jwks[str(h["kid"])])))
    checked._verify_key_binding_jwt("bus", "n7", sign_alg="Ed25519")
    try:
        checked._verify_key_binding_jwt("bus", "other-nonce", sign_alg="Ed25519")
    except ValueError as exc:
        assert "nonce" in str(exc)
    else:
        raise AssertionError("a wrong nonce passed the independent check")


def test_cli_verifies_offline_with_a_trust_list(
    db: Session, settings: Settings, world: World, tmp_path: Path
) -> None:
    rows = _demo(db, settings, world)
    trust = tmp_path / "trust.json"
    trust.write_text(json.dumps(credentials.trust_list(db, settings=settings)), encoding="utf-8")
    licence = tmp_path / "licence.txt"
    licence.write_text(rows[0].sd_jwt or "", encoding="utf-8")
    runner = CliRunner()
    ok = runner.invoke(cli, ["credentials", "verify", str(licence), "--trust-list", str(trust)])
    assert ok.exit_code == 0, ok.output
    assert ok.output.startswith("VALID") and rows[0].department_name in ok.output
    # A claim changed in the signed part: refused, and said so.
    head, payload, signature = (rows[0].sd_jwt or "").split("~")[0].split(".")
    claims = json.loads(sdjwt.b64u_decode(payload))
    claims["valid_from"] = "2001-01-01"
    forged = ".".join([head, sdjwt.b64u(json.dumps(claims).encode()), signature])
    licence.write_text(forged + "~", encoding="utf-8")
    bad = runner.invoke(
        cli, ["credentials", "verify", str(licence), "--trust-list", str(trust), "--json"]
    )
    assert bad.exit_code == 1
    assert json.loads(bad.output)["code"] == "bad_signature"
