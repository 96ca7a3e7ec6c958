"""Verifying an e-licence: online against this node's keys and status lists, or offline
against a downloaded trust list (`tongban credentials verify FILE --trust-list F`).

A verdict never raises for a bad licence: it says which check failed (`code`, a REFUSALS key)
in a plain sentence, with whatever could be read (issuer, type) to help the reader.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from joserfc.jwk import OKPKey
from sqlalchemy.orm import Session

from tongban.credentials import keys, licences, statuslist
from tongban.credentials.issuing import issuer_url, list_id_of
from tongban.credentials.sdjwt import REFUSALS, KeyInfo, Refused, verify
from tongban.credentials.status import all_list_ids, list_token
from tongban.platform.config import Settings

TRUST_LIST_FORMAT = "tongban-credential-trust-list/1"


@dataclass
class Verdict:
    """The answer about one e-licence."""

    valid: bool
    code: str | None
    message: str
    status: str | None = None
    licence_id: str | None = None
    type_name: str | None = None
    type_code: str | None = None
    vct: str | None = None
    issuer_name: str | None = None
    issuer_code: str | None = None
    kid: str | None = None
    issued: str | None = None
    valid_until: str | None = None
    key_bound: bool = False
    claims: dict[str, Any] = field(default_factory=dict)
    disclosed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return dict(self.__dict__)


# Resolves a kid (and the unverified payload) to a trusted key, or raises Refused.
Resolver = Callable[[str, dict[str, Any]], KeyInfo]
# Returns the checked status list at a URI.
ListSource = Callable[[str, str], statuslist.StatusList]


def _resolver(find: Callable[[str], KeyInfo | None]) -> Resolver:
    def resolve(kid: str, payload: dict[str, Any]) -> KeyInfo:
        info = find(kid)
        if info is None:
            raise Refused("unknown_key", kid or "no kid")
        if payload.get("issuer_code") != info.department_code:
            raise Refused("wrong_issuer")
        return info

    return resolve


def check(
    text: str,
    *,
    resolve: Resolver,
    status_of: ListSource,
    nonce: str | None = None,
    aud: str | None = None,
    now: int | None = None,
) -> Verdict:
    """Verify signature, disclosures, dates, key binding (when asked) and status."""
    try:
        checked = verify(
            text,
            resolve=resolve,
            now=now,
            expected_aud=aud,
            expected_nonce=nonce,
            require_key_binding=nonce is not None,
        )
    except Refused as refusal:
        verdict = Verdict(valid=False, code=refusal.code, message=str(refusal))
        _read_unverified(text, verdict)
        return verdict
    payload = checked.payload
    verdict = Verdict(
        valid=True,
        code=None,
        message="Genuine and valid.",
        licence_id=payload.get("licence_id"),
        type_name=payload.get("licence_type_name"),
        type_code=payload.get("licence_type_code"),
        vct=payload.get("vct"),
        issuer_name=payload.get("issuer_name"),
        issuer_code=payload.get("issuer_code"),
        kid=checked.key.kid if checked.key else None,
        issued=payload.get("issue_date"),
        valid_until=payload.get("valid_until")
        or ("long_term" if payload.get("long_term") else None),
        key_bound=checked.key_bound,
        claims={
            k: v
            for k, v in checked.claims.items()
            if k not in ("cnf", "status", "iss", "iat", "exp", "vct")
        },
        disclosed=checked.disclosed,
    )
    reference = (payload.get("status") or {}).get("status_list") or {}
    uri, index = reference.get("uri"), reference.get("idx")
    if not isinstance(uri, str) or not isinstance(index, int):
        verdict.valid, verdict.code = False, "status_unknown"
        verdict.message = REFUSALS["status_unknown"]
        return verdict
    try:
        kid = verdict.kid or ""
        verdict.status = status_of(uri, kid).status(index)
    except Refused as refusal:
        verdict.valid, verdict.code, verdict.message = False, refusal.code, str(refusal)
        return verdict
    if verdict.status != "valid":
        verdict.valid = False
        verdict.code = verdict.status if verdict.status in REFUSALS else "status_unknown"
        verdict.message = REFUSALS[verdict.code]
    return verdict


def _until(payload: dict[str, Any]) -> str | None:
    if payload.get("valid_until"):
        return str(payload["valid_until"])
    return "long_term" if payload.get("long_term") else None


def _read_unverified(text: str, verdict: Verdict) -> None:
    """What a refused licence claims to be (said as unverified)."""
    try:
        from tongban.credentials.sdjwt import parse

        payload = parse(text).payload
    except Refused:
        return
    verdict.type_name = payload.get("licence_type_name")
    verdict.issuer_name = payload.get("issuer_name")
    verdict.issuer_code = payload.get("issuer_code")
    verdict.licence_id = payload.get("licence_id")


def check_here(
    session: Session,
    *,
    text: str,
    settings: Settings,
    nonce: str | None = None,
    aud: str | None = None,
) -> Verdict:
    """Verify against this node's issuer keys and status lists."""
    known: dict[str, KeyInfo | None] = {}

    def find(kid: str) -> KeyInfo | None:
        if kid not in known:
            view = keys.find(session, kid)
            known[kid] = view.info() if view else None
        return known[kid]

    def status_of(uri: str, kid: str) -> statuslist.StatusList:
        list_id = list_id_of(uri, settings)
        if list_id is None:
            raise Refused("status_unknown", "the status list is not this node's")
        token = list_token(session, list_id=list_id, settings=settings)
        signer = find(statuslist.unverified_kid(token))
        if signer is None:
            raise Refused("status_bad_signature")
        return statuslist.check_token(token, key=signer.key, uri=uri)

    return check(text, resolve=_resolver(find), status_of=status_of, nonce=nonce, aud=aud)


def trust_list(session: Session, *, settings: Settings) -> dict[str, Any]:
    """The downloadable trust list: issuer, every key with its state, every status list."""
    return {
        "format": TRUST_LIST_FORMAT,
        "issuer": issuer_url(settings),
        "issued_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "keys": [
            {
                "kid": k.kid,
                "jwk": k.jwk,
                "thumbprint": k.thumbprint,
                "department_code": k.department_code,
                "department_name": k.department_name,
                "state": k.state,
                "added_at": k.created_at.isoformat(),
                "retired_at": k.retired_at.isoformat() if k.retired_at else None,
            }
            for k in keys.all_keys(session)
        ],
        "status_lists": {
            str(list_id): list_token(session, list_id=list_id, settings=settings)
            for list_id in all_list_ids(session)
        },
    }


class TrustList:
    """A downloaded trust list, for offline verification; status lists cached by URI."""

    def __init__(self, document: dict[str, Any]) -> None:
        if document.get("format") != TRUST_LIST_FORMAT:
            raise ValueError("not a Tongban credential trust list")
        self.issuer = str(document.get("issuer") or "")
        self.keys: dict[str, KeyInfo] = {}
        for entry in document.get("keys") or []:
            retired = entry.get("retired_at")
            self.keys[entry["kid"]] = KeyInfo(
                kid=entry["kid"],
                key=OKPKey.import_key(entry["jwk"]),
                department_code=entry["department_code"],
                retired_at=int(datetime.fromisoformat(retired).timestamp()) if retired else None,
            )
        self.tokens = {
            f"{self.issuer}/api/v1/credentials/status-lists/{list_id}": token
            for list_id, token in (document.get("status_lists") or {}).items()
        }
        self._checked: dict[str, tuple[statuslist.StatusList, float]] = {}
        self._lock = threading.Lock()

    def status_of(self, uri: str, kid: str) -> statuslist.StatusList:
        """The checked list at `uri` (checked once, then cached until its ttl)."""
        with self._lock:
            hit = self._checked.get(uri)
            if hit is not None and hit[1] > time.time():
                return hit[0]
        token = self.tokens.get(uri)
        if token is None:
            raise Refused("status_unknown", "the trust list has no status list at that address")
        signer = self.keys.get(statuslist.unverified_kid(token))
        if signer is None:
            raise Refused("status_bad_signature")
        # Offline: the list is as fresh as the trust list; its own expiry is not held against it.
        checked = statuslist.check_token(token, key=signer.key, uri=uri, now=0)
        with self._lock:
            self._checked[uri] = (checked, time.time() + (checked.ttl or 300))
        return checked

    def check(self, text: str, *, nonce: str | None = None, aud: str | None = None) -> Verdict:
        """Verify a licence offline."""
        return check(
            text,
            resolve=_resolver(self.keys.get),
            status_of=self.status_of,
            nonce=nonce,
            aud=aud,
        )


def licence_type_names() -> dict[str, str]:
    """vct -> licence type name (for pages)."""
    return {t.vct: t.name for t in licences.licence_types()}
