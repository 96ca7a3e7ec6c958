"""The credentials rules other domains and the shell call: issue at completion, hold, verify,
status, trust, and 免证办 (an e-licence presented instead of a paper)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.credentials import keys, licences, sdjwt
from tongban.credentials.demo import load_demo
from tongban.credentials.issuing import (
    Grant,
    IssuedView,
    issue,
    issue_at_completion,
    issue_many,
    issuer_url,
)
from tongban.credentials.licences import CLAIM_LABELS, LicenceType, for_material
from tongban.credentials.models import Credential, CredentialUse, Share
from tongban.credentials.status import change_status, list_token
from tongban.credentials.verifying import Verdict, check_here, trust_list
from tongban.events import service as events
from tongban.events.service import Channel
from tongban.identity import service as identity
from tongban.identity.service import Actor
from tongban.platform.config import Settings
from tongban.platform.db import utcnow
from tongban.platform.errors import FieldError, Invalid, NotFound

__all__ = [
    "CLAIM_LABELS",
    "CredentialView",
    "Grant",
    "IssuedView",
    "LicenceType",
    "UseView",
    "Verdict",
    "change_status",
    "check_here",
    "check_licences",
    "department_credentials",
    "for_material",
    "get_mine",
    "issue",
    "issue_at_completion",
    "issue_many",
    "issuer_keys",
    "issuer_metadata",
    "licence_materials",
    "licence_offers",
    "licence_uses",
    "list_token",
    "load_demo",
    "my_credentials",
    "open_share",
    "present",
    "retire_key",
    "rotate_key",
    "share",
    "trust_list",
    "use_licence",
    "uses_of_case",
]

SHARE_MINUTES = 10


@dataclass(frozen=True)
class CredentialView:
    """An e-licence as its holder (or its issuing department) sees it."""

    id: int
    licence_id: str
    type_code: str
    type: str
    vct: str
    issuer: str
    issuer_code: str
    status: str
    issued_at: datetime
    valid_until: date | None
    case_number: str | None
    sd_jwt: str

    @classmethod
    def of(cls, row: Credential) -> CredentialView:
        """The view of a row."""
        kind = licences.by_type_code(row.type_code)
        return cls(
            id=row.id,
            licence_id=row.licence_id or "",
            type_code=row.type_code,
            type=kind.name if kind else row.type_code,
            vct=row.vct,
            issuer=row.department_name,
            issuer_code=row.department_code,
            status=row.status,
            issued_at=row.issued_at,
            valid_until=row.valid_until,
            case_number=row.case_number,
            sd_jwt=row.sd_jwt or "",
        )

    def fields(self) -> list[tuple[str, Any]]:
        """(claim name, value) of every disclosure the holder may choose from."""
        return [(name, value) for name, value, _ in sdjwt.holder_view(self.sd_jwt)]


def my_credentials(session: Session, *, actor: Actor) -> list[CredentialView]:
    """The caller's e-licences (卡包), newest first."""
    identity.authorize(actor, "credentials.hold", {"owner_id": actor.account_id})
    rows = session.scalars(
        select(Credential)
        .where(Credential.holder_id == actor.account_id, Credential.sd_jwt.is_not(None))
        .order_by(Credential.id.desc())
    )
    return [CredentialView.of(row) for row in rows]


def get_mine(session: Session, *, actor: Actor, credential_id: int) -> CredentialView:
    """One of the caller's e-licences (NotFound for anyone else's)."""
    identity.authorize(actor, "credentials.hold", {"owner_id": actor.account_id})
    row = session.get(Credential, credential_id)
    if row is None or row.holder_id != actor.account_id or not row.sd_jwt:
        raise NotFound(f"No licence {credential_id}.")
    return CredentialView.of(row)


def department_credentials(
    session: Session, *, actor: Actor, limit: int = 100
) -> list[CredentialView]:
    """The licences the official's department issued, newest first."""
    identity.authorize(actor, "credentials.status")
    rows = session.scalars(
        select(Credential)
        .where(Credential.department_id == actor.department_id, Credential.sd_jwt.is_not(None))
        .order_by(Credential.id.desc())
        .limit(limit)
    )
    return [CredentialView.of(row) for row in rows]


def present(
    session: Session, *, actor: Actor, credential_id: int, fields: list[str]
) -> tuple[CredentialView, str]:
    """A presentation of one of the caller's licences disclosing only `fields`."""
    held = get_mine(session, actor=actor, credential_id=credential_id)
    known = {name for name, _ in held.fields()}
    unknown = [f for f in fields if f not in known]
    if unknown:
        raise Invalid(
            "The licence has no such field.",
            errors=[FieldError("fields", ", ".join(unknown[:5]))],
        )
    return held, sdjwt.present(held.sd_jwt, keep=fields)


def share(session: Session, *, actor: Actor, credential_id: int, fields: list[str]) -> str:
    """A short link token for a presentation (a QR code carries it), valid a few minutes."""
    held, presentation = present(session, actor=actor, credential_id=credential_id, fields=fields)
    token = secrets.token_urlsafe(16)
    now = utcnow()
    session.add(
        Share(
            token=token,
            holder_id=actor.account_id,
            credential_id=held.id,
            presentation=presentation,
            created_at=now,
            expires_at=now + timedelta(minutes=SHARE_MINUTES),
        )
    )
    session.flush()
    events.record(
        session,
        action="credential.shared",
        resource_type="credential",
        resource_id=held.licence_id,
        channel=Channel.ONLINE,
        actor_id=actor.account_id,
        actor_role=actor.role.value,
        data={"v": 1, "type_code": held.type_code, "fields": len(fields)},
    )
    return token


def open_share(session: Session, *, token: str) -> str:
    """The presentation behind a short link (NotFound when unknown or expired)."""
    row = session.get(Share, token) if 10 <= len(token) <= 32 else None
    if row is None or row.expires_at <= utcnow():
        raise NotFound("This link is unknown or has expired; ask the holder for a new code.")
    return row.presentation


def issuer_metadata(session: Session, *, settings: Settings) -> dict[str, Any]:
    """SD-JWT VC issuer metadata (`/.well-known/jwt-vc-issuer`): issuer and JWKS."""
    return {
        "issuer": issuer_url(settings),
        "jwks": {"keys": [k.jwk for k in keys.all_keys(session)]},
    }


@dataclass(frozen=True)
class UseView:
    """免证办: a licence that stood in for a checklist line of a case, as verified."""

    material: str
    licence_id: str
    type_name: str
    issuer_name: str
    issuer_code: str
    status: str
    claims: dict[str, Any]
    verified_at: datetime

    @property
    def fields(self) -> list[tuple[str, str]]:
        """(GB/T 36903 label, value) of the verified claims an official reads."""
        skip = {"licence_id", "licence_type_name", "licence_type_code", "issuer_name"}
        out = []
        for name, value in self.claims.items():
            if name in skip or name.startswith("_"):
                continue
            label = CLAIM_LABELS.get(name, (name, name))[0]
            shown = "是" if value is True else "否" if value is False else str(value)
            out.append((label, shown))
        return out


def licence_materials(materials: list[str]) -> dict[str, list[str]]:
    """For each checklist line a licence can satisfy: the licence type names (免证办)."""
    found: dict[str, list[str]] = {}
    for material in materials:
        kinds = for_material(material)
        if kinds:
            found[material] = [k.name for k in kinds]
    return found


def use_licence(
    session: Session,
    *,
    actor: Actor | None,
    case_number: str,
    material: str,
    credential_id: int,
    holder_id: int,
    settings: Settings,
) -> UseView:
    """Verify the holder's licence for a checklist line and record it on the case (Invalid with
    the verifier's reason when it does not verify or is not a licence for that line)."""
    row = session.get(Credential, credential_id)
    if row is None or row.holder_id != holder_id or not row.sd_jwt:
        raise NotFound(f"No licence {credential_id}.")
    kinds = {k.type_code for k in for_material(material)}
    if row.type_code not in kinds:
        raise Invalid(
            f"A {row.type_code} licence does not stand in for {material}.",
            errors=[FieldError("licence", "not a licence for this material")],
        )
    verdict = check_here(session, text=row.sd_jwt, settings=settings)
    if not verdict.valid:
        raise Invalid(verdict.message, errors=[FieldError("licence", verdict.code or "refused")])
    now = utcnow()
    use = CredentialUse(
        case_number=case_number,
        material=material,
        licence_id=verdict.licence_id or "",
        type_code=row.type_code,
        type_name=verdict.type_name or "",
        issuer_code=verdict.issuer_code or "",
        issuer_name=verdict.issuer_name or "",
        status=verdict.status or "",
        claims=verdict.claims,
        verified_at=now,
    )
    session.add(use)
    session.flush()
    events.record(
        session,
        action="credential.used",
        resource_type="case",
        resource_id=case_number,
        channel=Channel.ONLINE,
        actor_id=actor.account_id if actor else None,
        actor_role=actor.role.value if actor else None,
        # paper_saved: one checklist line not printed, copied or carried (insight counts it).
        data={
            "v": 1,
            "type_code": row.type_code,
            "issuer_code": row.department_code,
            "paper_saved": 1,
        },
        private={"material": material},
    )
    return UseView(
        material=material,
        licence_id=use.licence_id,
        type_name=use.type_name,
        issuer_name=use.issuer_name,
        issuer_code=use.issuer_code,
        status=use.status,
        claims=use.claims,
        verified_at=now,
    )


def uses_of_case(session: Session, *, case_number: str) -> list[UseView]:
    """The licences presented for a case (the caller has authorized reading the case)."""
    rows = session.scalars(
        select(CredentialUse)
        .where(CredentialUse.case_number == case_number)
        .order_by(CredentialUse.id)
    )
    return [
        UseView(
            material=r.material,
            licence_id=r.licence_id,
            type_name=r.type_name,
            issuer_name=r.issuer_name,
            issuer_code=r.issuer_code,
            status=r.status,
            claims=r.claims,
            verified_at=r.verified_at,
        )
        for r in rows
    ]


def issuer_keys(session: Session) -> list[keys.IssuerKeyView]:
    """Every issuer key of this node (public parts), oldest first."""
    return keys.all_keys(session)


def rotate_key(
    session: Session, *, department_code: str, settings: Settings, actor: Actor | None = None
) -> keys.IssuerKeyView:
    """A department's new signing key (operators; the CLI)."""
    if actor is not None:
        identity.authorize(actor, "credentials.keys")
    department = identity.get_department_by_code(session, code=department_code)
    return keys.rotate(session, department=department, settings=settings, actor=actor)


def retire_key(session: Session, *, kid: str, actor: Actor | None = None) -> keys.IssuerKeyView:
    """Retire an issuer key (operators; the CLI)."""
    if actor is not None:
        identity.authorize(actor, "credentials.keys")
    return keys.retire(session, kid=kid, actor=actor)


def licence_offers(session: Session, account_id: int, names: list[str]) -> dict[str, list[Any]]:
    """免证办 on the apply form: for each checklist line, the valid licences the account holds
    that stand in for it, as (credential id, licence type, issuer)."""
    wanted = {name: {k.type_code for k in for_material(name)} for name in names}
    wanted = {name: codes for name, codes in wanted.items() if codes}
    if not wanted:
        return {}
    rows = session.scalars(
        select(Credential).where(
            Credential.holder_id == account_id,
            Credential.status == "valid",
            Credential.sd_jwt.is_not(None),
        )
    ).all()
    offers: dict[str, list[Any]] = {}
    for name, codes in wanted.items():
        for row in rows:
            if row.type_code in codes:
                kind = licences.by_type_code(row.type_code)
                offers.setdefault(name, []).append(
                    (row.id, kind.name if kind else row.type_code, row.department_name)
                )
    return offers


_SHORT_LINK = re.compile(r"/verify/s/([A-Za-z0-9_-]{10,32})")


def _presented_row(
    session: Session, *, text: str, material: str, resident_id: str | None, settings: Settings
) -> Credential:
    """A licence shown at the desk (its SD-JWT or the 卡包's short link), verified as online:
    genuine and in force, of a type for the line, and held by the applicant."""
    found = _SHORT_LINK.search(text)
    if found:
        try:
            text = open_share(session, token=found.group(1))
        except NotFound as exc:
            raise Invalid(exc.detail, errors=[FieldError("licences", "link expired")]) from None
    verdict = check_here(session, text=text.strip(), settings=settings)
    if not verdict.valid:
        raise Invalid(verdict.message, errors=[FieldError("licences", verdict.code or "refused")])
    if verdict.type_code not in {k.type_code for k in for_material(material)}:
        raise Invalid(
            "This e-licence does not stand in for that paper.",
            errors=[FieldError("licences", "wrong licence type")],
        )
    holder_code = str(verdict.claims.get("holder_code") or "").upper()
    if not holder_code:
        raise Invalid(
            "The licence shown does not disclose its holder's ID number; ask the citizen "
            "to show it with the ID number.",
            errors=[FieldError("licences", "holder not disclosed")],
        )
    if resident_id is None or holder_code != resident_id.strip().upper():
        raise Invalid(
            "This e-licence belongs to someone else, not the applicant.",
            errors=[FieldError("licences", "not the applicant's")],
        )
    row = session.scalars(
        select(Credential).where(Credential.licence_id == verdict.licence_id)
    ).first()
    if row is None or not row.sd_jwt:
        raise Invalid(
            "This e-licence was not issued on this node.",
            errors=[FieldError("licences", "unknown licence")],
        )
    return row


def check_licences(
    session: Session,
    *,
    actor: Actor,
    holder_id: int | None,
    refs: list[tuple[str, int | str]],
    materials: list[str],
    settings: Settings,
    resident_id: str | None = None,
) -> tuple[set[str], Any]:
    """The cases hook at submission: verify each licence given for a checklist line (Invalid
    with the verifier's reason when one fails); the lines satisfied, and the recorder to call
    with the new case's number (it records the verified claims and a credential.used event).

    A reference is a credential id of the applicant's account (online), or the presentation
    a citizen showed at the desk (its SD-JWT text or short link), whose disclosed holder ID
    must be the applicant's `resident_id`."""
    checked: list[tuple[str, int, int]] = []
    for material, ref in refs:
        if material not in materials:
            raise Invalid(
                f"{material} is not on this service's checklist.",
                errors=[FieldError("licences", "not on the checklist")],
            )
        if isinstance(ref, str):
            shown = _presented_row(
                session, text=ref, material=material, resident_id=resident_id, settings=settings
            )
            checked.append((material, shown.id, shown.holder_id))
            continue
        if holder_id is None:
            raise Invalid(
                "Only an applicant with an account can present e-licences.",
                errors=[FieldError("licences", "no holder")],
            )
        row = session.get(Credential, ref)
        if row is None or row.holder_id != holder_id or not row.sd_jwt:
            raise Invalid(
                "No such e-licence of the applicant.",
                errors=[FieldError("licences", "unknown licence")],
            )
        if row.type_code not in {k.type_code for k in for_material(material)}:
            raise Invalid(
                "This e-licence does not stand in for that paper.",
                errors=[FieldError("licences", "wrong licence type")],
            )
        verdict = check_here(session, text=row.sd_jwt, settings=settings)
        if not verdict.valid:
            raise Invalid(verdict.message, errors=[FieldError("licences", verdict.message)])
        checked.append((material, ref, holder_id))

    def record(case_number: str) -> None:
        for material, credential_id, holder in checked:
            use_licence(
                session,
                actor=actor,
                case_number=case_number,
                material=material,
                credential_id=credential_id,
                holder_id=holder,
                settings=settings,
            )

    return {material for material, _, _ in checked}, record


def licence_uses(session: Session, number: str) -> dict[str, UseView]:
    """For the case page: checklist line -> the e-licence that stood in for it."""
    return {use.material: use for use in uses_of_case(session, case_number=number)}
