"""The consent artefact: a granted consent as a canonical JSON document (RFC 8785) signed by
the node with Ed25519, modelled on India's Account Aggregator consent artefact.

The signature is made with the node's ledger key (the key that signs its checkpoints), so an
integrator verifies an artefact with the key `GET /api/v1/ledger/key` publishes (a C2SP vkey:
`name+keyhash+base64(0x01 || public key)`), with no other key to distribute. The artefact's
SHA-256 goes to the public ledger in the `consent.granted` event; the artefact itself names
the data subject only by a keyed hash of their resident ID.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tongban.consent.models import Consent
from tongban.ledger import service as ledger
from tongban.platform.config import Settings

VERSION = "1.0"


def _iso(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else None


def document(row: Consent, *, node: str) -> dict[str, Any]:
    """The artefact's fields (what is signed): everything a consent decides, never its status."""
    return {
        "ver": VERSION,
        "consentId": row.uid,
        "node": node,
        "createTimestamp": _iso(row.decided_at),
        "dataSubject": {"idHash": row.subject_hash},
        "requester": {"id": row.requester_code, "name": row.requester_name},
        "provider": {"id": row.provider_code, "name": row.provider_name},
        "resource": {"code": row.resource_code, "name": row.resource_name},
        "purpose": {"code": row.purpose_code, "text": row.purpose_text},
        "fields": list(row.fields),
        "serves": {"case": row.case_number, "item": row.item_code},
        "validity": {"from": _iso(row.valid_from), "to": _iso(row.valid_until)},
        "frequency": {"unit": row.frequency_unit, "value": row.frequency_value},
        "grantedVia": row.decided_via,
        "paperSha256": row.paper_sha256,
    }


def canonical(doc: dict[str, Any]) -> bytes:
    """The bytes that are hashed and signed: RFC 8785 (JSON Canonicalization Scheme)."""
    return bytes(rfc8785.dumps(doc))


def sign(row: Consent, *, settings: Settings) -> None:
    """Fill the row's artefact, its SHA-256, the signature and the verifying key."""
    signer = ledger.node_signer(settings)
    data = canonical(document(row, node=settings.node_name))
    row.artefact = data.decode("utf-8")
    row.artefact_sha256 = hashlib.sha256(data).hexdigest()
    row.signature = base64.b64encode(signer.private.sign(data)).decode("ascii")
    row.key_id = signer.verifier.vkey()


def public_key_of(vkey: str) -> Ed25519PublicKey:
    """The Ed25519 key inside a C2SP vkey string."""
    return Ed25519PublicKey.from_public_bytes(ledger.Verifier.parse(vkey).public)


def verify(artefact: str, signature: str, *, vkey: str) -> bool:
    """True when the signature over the artefact's canonical bytes is the key's."""
    try:
        data = canonical(_load(artefact))
        public_key_of(vkey).verify(base64.b64decode(signature), data)
    except (InvalidSignature, ValueError, ledger.NoteError):
        return False
    return True


def _load(text: str) -> dict[str, Any]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("an artefact is a JSON object")
    return value
