"""Intake: uploads (each the caller's own), submission on any channel, routing to the
competent authority (收受分离).

A case goes to the department of the implementation's authority wherever it was received: the
service point (clerk) and the channel are recorded, the decision is the authority's.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from tongban.cases import clocks
from tongban.cases.checks import check_form, check_materials, record_uploader
from tongban.cases.handling import changed
from tongban.cases.models import Case, CaseMaterial, CaseStep, Upload
from tongban.cases.notify import compose, text_after_commit
from tongban.cases.offers import WITHDRAWN, Offer, _invalid, find_offer
from tongban.cases.payout import PAYOUT_FIELDS
from tongban.cases.schemas import CaseCreate
from tongban.cases.states import State
from tongban.cases.uploads import upload as _store_upload
from tongban.catalog import service as catalog
from tongban.events import service as events
from tongban.events.service import Channel
from tongban.identity import service as identity
from tongban.identity.service import Actor, Role
from tongban.platform.config import Settings
from tongban.platform.db.fastpath.rows import insert_now, new_row
from tongban.platform.errors import AppError, Conflict, FieldError, NotFound
from tongban.workdays.service import WorkingCalendar, load_calendar

# Crockford's base32 without I, L, O, U: no look-alikes when read aloud at a counter.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RANDOM_CHARS = 12  # 60 bits: non-guessable, and collisions negligible at any daily volume


def new_case_number(*, node_region: str, moment: datetime) -> str:
    """`{node_region}-{yyyymmdd}-{12 random base32}`, e.g. 440300-20260302-7KQ2M9XD4HZT."""
    value = secrets.randbits(5 * _RANDOM_CHARS)
    chars = "".join(_ALPHABET[(value >> (5 * i)) & 31] for i in range(_RANDOM_CHARS))
    return f"{node_region}-{clocks.local_date(moment):%Y%m%d}-{chars}"


# --- submission ------------------------------------------------------------------------------


@dataclass
class Applicant:
    """Who the case is for, and how it reached us."""

    account_id: int | None
    name: str
    id_masked: str | None
    channel: str
    service_point: str | None
    identity_confirmed: bool
    phone: str | None = None
    personal: dict[str, Any] | None = None
    # Filed at a counter: the keyed hash of the applicant's resident ID (cases/tracking.py).
    resident_id_hash: str | None = None


def _applicant(
    session: Session, *, actor: Actor, data: CaseCreate, item_codes: list[str], settings: Settings
) -> Applicant:
    if actor.role is Role.CLERK:
        if data.applicant is None:
            raise _invalid(
                "applicant", "A clerk applies for someone: give their resident ID and name."
            )
        if not data.applicant.identity_confirmed:
            raise _invalid(
                "applicant.identity_confirmed", "Confirm the applicant's identity at the counter."
            )
        number = identity.validate_resident_id(
            data.applicant.resident_id, field="applicant.resident_id"
        )
        account = identity.find_account_by_resident_id(
            session, resident_id=number, settings=settings
        )
        return Applicant(
            account_id=account.id if account else None,
            name=data.applicant.name,
            id_masked=identity.mask_resident_id(number),
            channel=Channel.ASSISTED,
            service_point=actor.service_point,
            identity_confirmed=True,
            phone=data.applicant.phone or (account.phone if account else None),
            personal={"resident_id": number, "name": data.applicant.name},
            resident_id_hash=identity.resident_id_lookup_hash(number, settings=settings),
        )
    if data.applicant is not None:
        raise _invalid(
            "applicant", "Only a clerk names another applicant; a relative uses on_behalf_of."
        )
    if data.on_behalf_of is not None and data.on_behalf_of != actor.account_id:
        for code in item_codes:
            identity.check_proxy(
                session, agent_id=actor.account_id, principal_id=data.on_behalf_of, item_code=code
            )
        principal = identity.get_account(session, account_id=data.on_behalf_of)
        return Applicant(
            account_id=principal.id,
            name=principal.display_name,
            id_masked=principal.resident_id_masked,
            channel=Channel.PROXY,
            service_point=None,
            identity_confirmed=False,
            phone=principal.phone,
        )
    card = identity.account_card(session, account_id=actor.account_id)
    return Applicant(
        account_id=card.id,
        name=card.display_name,
        id_masked=card.resident_id_masked,
        channel=actor.via or (Channel.API if actor.token_id else Channel.ONLINE),
        service_point=None,
        identity_confirmed=False,
        phone=card.phone,
    )


def _material_owners(actor: Actor, applicant: Applicant) -> set[int]:
    """Whose uploads this submission may attach: the caller's own, and under an authorisation
    (checked by `_applicant`) the principal's; a clerk attaches only the clerk's own."""
    owners = {actor.account_id}
    if applicant.channel == Channel.PROXY and applicant.account_id is not None:
        owners.add(applicant.account_id)
    return owners


def receive_upload(session: Session, *, actor: Actor, data: bytes, settings: Settings) -> Upload:
    """Upload a file (checked and stored by uploads.upload) as the caller's own: the same
    bytes uploaded by two people belong to both, and to nobody else."""
    row = _store_upload(session, actor=actor, data=data, settings=settings)
    record_uploader(session, row=row, account_id=actor.account_id)
    return row


def request_digest(data: CaseCreate) -> str:
    """A digest of the request body, to tell a retry from a different request with the same key."""
    canonical = json.dumps(data.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _new_case(
    *,
    number: str,
    offer: Offer,
    applicant: Applicant,
    actor: Actor,
    form: dict[str, Any],
    now: datetime,
    calendar: WorkingCalendar,
    settings: Settings,
) -> Case:
    received = clocks.local_date(now)
    due = clocks.limit_due(
        calendar,
        start=received,
        value=settings.acceptance_limit_working_days,
        unit=clocks.WORKING_DAYS,
    )
    case = new_row(
        Case,
        number=number,
        kind="single",
        item_code=offer.item_code,
        item_name=offer.item_name,
        implementation_code=offer.code,
        case_type=offer.case_type,
        department_id=offer.department_id,
        authority_code=offer.authority_code,
        authority_name=offer.authority_name,
        authority_region=offer.region_code,
        applicant_id=applicant.account_id,
        applicant_name=applicant.name,
        applicant_id_masked=applicant.id_masked,
        applicant_resident_id_hash=applicant.resident_id_hash,
        filed_by_id=actor.account_id,
        filed_by_role=actor.role.value,
        channel=str(applicant.channel),
        service_point=applicant.service_point,
        identity_confirmed=applicant.identity_confirmed,
        payout_pending=applicant.channel == Channel.PROXY
        and any(form.get(name) for name in PAYOUT_FIELDS),
        form_data=form,
        state=State.RECEIVED.value,
        acceptance_limit=settings.acceptance_limit_working_days,
        promised_value=offer.promised[0],
        promised_unit=offer.promised[1],
        statutory_value=offer.statutory[0],
        statutory_unit=offer.statutory[1],
        received_at=now,
        acceptance_due=due,
        due_date=due,
        acceptance_paused_wd=0,
        acceptance_paused_nd=0,
        handling_paused_wd=0,
        handling_paused_nd=0,
        missing=[],
        created_at=now,
        updated_at=now,
        # Empty collections on a new case: reading them after the INSERT then needs no query.
        materials=[],
        steps=[],
        pauses=[],
        supplement_items=[],
    )
    return case


def _attach(
    case: Case,
    *,
    offer: Offer | None,
    refs: list[tuple[str, str]],
    uploads: dict[str, Upload],
    actor: Actor,
    round_no: int,
    now: datetime,
) -> None:
    wanted = {m.name for m in offer.materials} if offer else None
    for name, sha in refs:
        if wanted is not None and name not in wanted:
            continue
        row = uploads[sha.lower()]
        case.materials.append(
            CaseMaterial(
                name=name,
                sha256=row.sha256,
                media_type=row.media_type,
                size=row.size,
                pages=row.pages,
                round=round_no,
                added_by_id=actor.account_id,
                added_at=now,
            )
        )


# Looked up on every keyed submission and almost never found: a bare id lookup first,
# with the statement built once.
_CASE_BY_KEY = select(Case.id).where(
    Case.filed_by_id == bindparam("filer"), Case.idempotency_key == bindparam("key")
)


def _existing(session: Session, *, actor: Actor, key: str) -> Case | None:
    case_id = (
        session.connection().execute(_CASE_BY_KEY, {"filer": actor.account_id, "key": key}).scalar()
    )
    return None if case_id is None else session.get(Case, case_id)


@dataclass(frozen=True)
class Submission:
    """The case a submission made (or found again), and the events it recorded for it."""

    case: Case
    created: bool
    # The case's timeline so far when created now; None for a retry (read it from the store).
    timeline: list[events.EventView] | None = None
    # What the submission read, to describe the case without reading it again.
    calendar: WorkingCalendar | None = None
    offers: dict[str, Offer] = field(default_factory=dict)


# 免证办: e-licences presented for checklist lines. Credentials sits above cases: the shell
# hands its check in. Called with (session, actor=, holder_id=, refs=[(line, credential id)],
# materials=[the checklist's lines], settings=), it raises Invalid with the verifier's reason
# for a bad licence, else returns the lines satisfied and a recorder to call with the case
# number (it keeps the verified claims with the case).
LicenceCheck = Callable[..., tuple[set[str], Callable[[str], object]]]
_licence_check: list[LicenceCheck] = []


def on_licences(check: LicenceCheck) -> None:
    """Register the e-licence check of submissions (the shell hands credentials' in)."""
    _licence_check[:] = [check]


def submit(
    session: Session,
    *,
    actor: Actor,
    data: CaseCreate,
    settings: Settings,
    idempotency_key: str | None = None,
) -> tuple[Case, bool]:
    """Submit an application (or a bundle); returns the case and whether it was created now.

    A retry with the same Idempotency-Key returns the first case; the same key with a
    different body is a Conflict.
    """
    done = file_application(
        session, actor=actor, data=data, settings=settings, idempotency_key=idempotency_key
    )
    return done.case, done.created


def file_application(
    session: Session,
    *,
    actor: Actor,
    data: CaseCreate,
    settings: Settings,
    idempotency_key: str | None = None,
) -> Submission:
    """`submit`, also returning the events recorded, so the answer needs no read-back.

    A retry is found by its INSERT (the key is unique per filer), not by a read before it:
    nearly every keyed submission is new, and the read was a seventh of a submission's work.
    """
    identity.authorize(actor, "case.submit")
    digest = request_digest(data)
    if idempotency_key and len(idempotency_key) > 100:
        raise _invalid("Idempotency-Key", "at most 100 characters")
    try:
        done = _file_new(
            session,
            actor=actor,
            data=data,
            settings=settings,
            idempotency_key=idempotency_key,
            digest=digest,
        )
    except Conflict:
        raise
    except AppError:
        # A retry of a stored submission may no longer pass (the item was withdrawn, the
        # authorisation expired): the case it made is still its answer.
        found = _existing(session, actor=actor, key=idempotency_key) if idempotency_key else None
        if found is None:
            raise
        return Submission(_replay(found, digest), False)
    if done.created:
        changed(
            session,
            case_number=done.case.number,
            action="submit",
            settings=settings,
            case=done.case,
        )
    return done


def _file_new(
    session: Session,
    *,
    actor: Actor,
    data: CaseCreate,
    settings: Settings,
    idempotency_key: str | None,
    digest: str,
) -> Submission:
    chosen = [bool(data.bundle), bool(data.implementation or data.item)]
    if sum(chosen) != 1:
        raise _invalid("implementation", "Give either a bundle or an implementation (or item).")
    bundle: catalog.BundleRead | None = None
    if data.bundle:
        try:
            bundle = catalog.get_bundle(session, code=data.bundle)
        except NotFound:
            raise _invalid("bundle", f"There is no bundle {data.bundle!r}.") from None
        offers = [
            find_offer(
                session,
                implementation=c.implementation_code,
                item=None,
                region=None,
            )
            for c in bundle.components
        ]
    else:
        offers = [
            find_offer(
                session, implementation=data.implementation, item=data.item, region=data.region
            )
        ]
    for offer in offers:
        if offer.withdrawn:
            raise _invalid("implementation", WITHDRAWN)
        if offer.department_id is None:
            raise _invalid(
                "implementation",
                f"{offer.authority_name} ({offer.authority_code}) is not registered as a "
                "department on this node; the case cannot be routed.",
            )
    check_form(offers, data.form)
    # Who the case is for comes first: an agent may attach the principal's uploads too.
    applicant = _applicant(
        session, actor=actor, data=data, item_codes=[o.item_code for o in offers], settings=settings
    )
    refs = [(m.name, m.sha256) for m in data.materials]
    satisfied: set[str] = set()
    record_licences: Callable[[str], object] | None = None
    if data.licences:
        if not _licence_check:
            raise _invalid("licences", "E-licences cannot be presented on this node.")
        satisfied, record_licences = _licence_check[0](
            session,
            actor=actor,
            holder_id=applicant.account_id,
            refs=[
                (ref.material, ref.credential if ref.credential is not None else ref.presented)
                for ref in data.licences
            ],
            resident_id=data.applicant.resident_id if data.applicant else None,
            materials=[m.name for o in offers for m in o.materials],
            settings=settings,
        )
    uploads = {
        u.sha256: u
        for u in check_materials(
            session,
            offers=offers,
            refs=refs,
            require_all=True,
            owners=_material_owners(actor, applicant),
            satisfied=satisfied,
        )
    }
    calendar = load_calendar(session)
    now = clocks.now()
    number = new_case_number(node_region=settings.node_region, moment=now)
    if record_licences is not None:
        record_licences(number)
    if bundle is None:
        case = _new_case(
            number=number,
            offer=offers[0],
            applicant=applicant,
            actor=actor,
            form=data.form,
            now=now,
            calendar=calendar,
            settings=settings,
        )
        _attach(case, offer=None, refs=refs, uploads=uploads, actor=actor, round_no=0, now=now)
        _add_steps(session, case, offers[0])
        subs: list[Case] = []
    else:
        case = _new_case(
            number=number,
            offer=offers[0],
            applicant=applicant,
            actor=actor,
            form=data.form,
            now=now,
            calendar=calendar,
            settings=settings,
        )
        case.kind = "bundle"
        case.bundle_code = bundle.code
        case.item_code = None
        case.item_name = bundle.name
        case.implementation_code = None
        case.department_id = None
        case.authority_code = None
        case.authority_name = bundle.name
        case.authority_region = bundle.region_code
        case.state = State.IN_PROGRESS.value
        case.due_date = None
        _attach(case, offer=None, refs=refs, uploads=uploads, actor=actor, round_no=0, now=now)
        subs = []
        for position, offer in enumerate(offers, start=1):
            sub = _new_case(
                number=f"{number}-{position:02d}",
                offer=offer,
                applicant=applicant,
                actor=actor,
                form=data.form,
                now=now,
                calendar=calendar,
                settings=settings,
            )
            _attach(sub, offer=offer, refs=refs, uploads=uploads, actor=actor, round_no=0, now=now)
            _add_steps(session, sub, offer)
            subs.append(sub)
    case.idempotency_key = idempotency_key
    case.request_digest = digest

    # Everything to store is made first, so that the writing (on SQLite, under the database's
    # one write lock) is a few INSERTs in a row and the commit follows at once.
    submitted: list[events.EventFields] = [
        {
            "action": "case.submitted",
            "resource_type": "case",
            "resource_id": row.number,
            "channel": applicant.channel,
            "actor_id": actor.account_id,
            "actor_role": actor.role.value,
            "on_behalf_of_id": applicant.account_id
            if applicant.account_id != actor.account_id
            else None,
            "service_point": applicant.service_point,
            "data": {
                "state": row.state,
                "implementation": row.implementation_code,
                "bundle": row.bundle_code,
                "parent": number if row is not case else None,
                "authority": row.authority_code,
                "authority_region": row.authority_region,
                "material_count": len(row.materials),
                "acceptance_due": row.acceptance_due.isoformat(),
            },
            "personal": applicant.personal,
            # The material lines and files stay out of the public leaf (committed to).
            "private": {"materials": [[m.name, m.sha256] for m in row.materials]},
        }
        for row in [case, *subs]
    ]
    notice = compose(
        case=case,
        kind="submitted",
        phones={applicant.account_id: applicant.phone} if applicant.account_id else {},
        gateway_path=settings.sms_gateway,
        extra={"due": case.acceptance_due.isoformat()},
        settings=settings,
        walk_in_phone=applicant.phone,
    )
    # A retry (or a concurrent twin) with the same key stored its case first: then nothing is
    # inserted and the answer is that case. The case, its events and its messages go in
    # together (one statement on PostgreSQL).
    key_columns = ("filed_by_id", "idempotency_key") if idempotency_key else ()
    stored = events.insert_with_events(
        session, case, events=submitted, also=notice.messages, unless_duplicate=key_columns
    )
    if stored is None:
        found = _existing(session, actor=actor, key=str(idempotency_key))
        if found is None:
            raise Conflict("The submission collided with another; send it again.")
        return Submission(_replay(found, digest), False)
    for sub in subs:
        sub.parent_id = case.id
        insert_now(session, sub)
    for row in [case, *subs]:
        children: list[CaseMaterial | CaseStep] = [*row.materials, *row.steps]
        for child in children:
            child.case_id = row.id
            session.add(child)
    text_after_commit(session, notice)
    return Submission(
        case,
        True,
        timeline=[e for e in stored if e.resource_id == case.number],
        calendar=calendar,
        offers={o.code: o for o in offers},
    )


def _replay(found: Case, digest: str) -> Case:
    if found.request_digest and found.request_digest != digest:
        raise Conflict(
            "This Idempotency-Key was used for a different request; use a new key.",
            errors=[FieldError("Idempotency-Key", "reused with a different body")],
        )
    return found


def _add_steps(session: Session, case: Case, offer: Offer) -> None:
    for position, (name, code, region) in enumerate(offer.co_handlers, start=1):
        try:
            department_id: int | None = identity.get_department_by_code(session, code=code).id
        except NotFound:
            department_id = None
        case.steps.append(
            CaseStep(
                position=position,
                authority_code=code,
                authority_name=name,
                region_code=region,
                department_id=department_id,
            )
        )
