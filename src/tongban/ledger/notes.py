"""C2SP signed notes, tlog checkpoints and Ed25519 cosignatures; keys in the data directory.

Formats follow c2sp.org/signed-note, c2sp.org/tlog-checkpoint and c2sp.org/tlog-cosignature
(cosignature/v1, signature type 0x04). Pure functions apart from key files.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import struct
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from tongban.ledger.merkle import HASH_SIZE

SIG_ED25519 = 0x01
SIG_COSIGNATURE_V1 = 0x04
_DASH = "\u2014 "
_MAX_SIGNATURES = 100
_NAME = re.compile(r"^[^\s+]+$")


class NoteError(ValueError):
    """A note, checkpoint, key or signature is malformed or does not verify.

    `code` says which, for people (the receipt pages name the failure): `malformed`,
    `signature` (a known key's signature does not verify), `unknown_key` (no trusted key
    signed) or `other_log` (signed by the key, but for another log's origin).
    """

    def __init__(self, message: str, *, code: str = "malformed") -> None:
        super().__init__(message)
        self.code = code


def key_id(name: str, sig_type: int, public: bytes) -> bytes:
    """The 4-byte key ID: SHA-256(name || 0x0A || type || public key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([sig_type]) + public).digest()[:4]


def _check_name(name: str) -> str:
    if not name or not _NAME.match(name):
        raise NoteError("key name must be non-empty, without spaces or '+'")
    return name


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise NoteError(f"{what} is not valid base64") from exc


@dataclass(frozen=True)
class Verifier:
    """A trusted public key: name, signature type and Ed25519 key (parsed from a vkey)."""

    name: str
    sig_type: int
    public: bytes

    @property
    def key_id(self) -> bytes:
        """The 4-byte key ID of this key."""
        return key_id(self.name, self.sig_type, self.public)

    def vkey(self) -> str:
        """The verifier key string `<name>+<hex key id>+<base64(type || key)>`."""
        material = base64.b64encode(bytes([self.sig_type]) + self.public).decode()
        return f"{self.name}+{self.key_id.hex()}+{material}"

    @classmethod
    def parse(cls, vkey: str) -> Verifier:
        """Parse a verifier key string; raise NoteError when it is malformed."""
        # The name has no '+', the hex ID neither; base64 may contain '+'.
        parts = vkey.strip().split("+", 2)
        if len(parts) != 3:
            raise NoteError("verifier key must be <name>+<key id>+<base64 key>")
        name, hex_id, material = parts
        _check_name(name)
        raw = _b64decode(material, "verifier key")
        if len(raw) != 33 or raw[0] not in (SIG_ED25519, SIG_COSIGNATURE_V1):
            raise NoteError("verifier key must hold an Ed25519 key (type 0x01 or 0x04)")
        verifier = cls(name, raw[0], raw[1:])
        if verifier.key_id.hex() != hex_id.lower():
            raise NoteError("verifier key ID does not match the key")
        return verifier


class Signer:
    """An Ed25519 note signer (type 0x01) or witness cosigner (type 0x04)."""

    def __init__(self, name: str, private: Ed25519PrivateKey, sig_type: int = SIG_ED25519) -> None:
        self.name = _check_name(name)
        self.private = private
        self.sig_type = sig_type
        public = private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.verifier = Verifier(name, sig_type, public)

    def sign_line(self, text: str, *, timestamp: int | None = None) -> str:
        """One signature line over the note text (a cosignature when the type is 0x04)."""
        if self.sig_type == SIG_COSIGNATURE_V1:
            ts = int(timestamp if timestamp is not None else 0)
            message = f"cosignature/v1\ntime {ts}\n{text}".encode()
            blob = struct.pack(">Q", ts) + self.private.sign(message)
        else:
            blob = self.private.sign(text.encode())
        sig = base64.b64encode(self.verifier.key_id + blob).decode()
        return f"{_DASH}{self.name} {sig}\n"

    def sign(self, text: str) -> str:
        """The signed note: text, blank line, one signature line."""
        _check_text(text)
        return f"{text}\n{self.sign_line(text)}"


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise NoteError("note text must not contain control characters")


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 key in `path` (PKCS#8 PEM), created with mode 0600 on first use."""
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise NoteError(f"{path} does not hold an Ed25519 key")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # O_EXCL: two processes starting together must not overwrite each other's new key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return load_or_create_key(path)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    return key


@dataclass(frozen=True)
class Signature:
    """One parsed signature line."""

    name: str
    key_id: bytes
    blob: bytes

    def line(self) -> str:
        """The line as it appears in a note."""
        return f"{_DASH}{self.name} {base64.b64encode(self.key_id + self.blob).decode()}\n"


@dataclass(frozen=True)
class Note:
    """A parsed signed note: its text (with final newline) and signature lines."""

    text: str
    signatures: tuple[Signature, ...]


def parse_note(note: str) -> Note:
    """Split a signed note into text and signatures; raise NoteError when malformed."""
    if any(ord(c) < 0x20 and c != "\n" for c in note):
        raise NoteError("note must not contain control characters")
    if not note.endswith("\n"):
        raise NoteError("note must end with a newline")
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("note has no signature block")
    text, block = note[: split + 1], note[split + 2 :]
    lines = block.splitlines()
    if not lines or len(lines) > _MAX_SIGNATURES:
        raise NoteError("note must have between 1 and 100 signatures")
    sigs = []
    for line in lines:
        if not line.startswith(_DASH):
            raise NoteError("malformed signature line")
        name, _, b64 = line[len(_DASH) :].rpartition(" ")
        _check_name(name)
        raw = _b64decode(b64, "signature")
        if len(raw) < 5:
            raise NoteError("signature is too short")
        sigs.append(Signature(name, raw[:4], raw[4:]))
    return Note(text, tuple(sigs))


def verify_signature(verifier: Verifier, text: str, sig: Signature) -> int | None:
    """Check one signature by a known key; return the cosignature time (None for 0x01)."""
    key = Ed25519PublicKey.from_public_bytes(verifier.public)
    try:
        if verifier.sig_type == SIG_COSIGNATURE_V1:
            if len(sig.blob) != 8 + 64:
                raise NoteError("cosignature has the wrong length", code="signature")
            (ts,) = struct.unpack(">Q", sig.blob[:8])
            key.verify(sig.blob[8:], f"cosignature/v1\ntime {ts}\n{text}".encode())
            return int(ts)
        key.verify(sig.blob, text.encode())
        return None
    except InvalidSignature as exc:
        raise NoteError(f"signature by {verifier.name} does not verify", code="signature") from exc


def open_note(note: str, verifiers: list[Verifier]) -> tuple[Note, list[Verifier]]:
    """Verify a note against trusted keys; return it and the keys that signed it.

    Unknown signatures are ignored; a known key's bad signature rejects the whole note;
    at least one known key must have signed.
    """
    parsed = parse_note(note)
    signed: list[Verifier] = []
    for sig in parsed.signatures:
        for v in verifiers:
            if v.name == sig.name and v.key_id == sig.key_id:
                verify_signature(v, parsed.text, sig)
                if v not in signed:
                    signed.append(v)
    if not signed:
        raise NoteError("note is not signed by any trusted key", code="unknown_key")
    return parsed, signed


@dataclass(frozen=True)
class Checkpoint:
    """The body of a tlog checkpoint: origin, tree size, root hash."""

    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        """The checkpoint note text."""
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse checkpoint note text (extension lines are allowed and ignored)."""
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "" or any(not ln for ln in lines[:-1]):
        raise NoteError("checkpoint must have origin, size and root lines")
    origin, size_s, root_s = lines[0], lines[1], lines[2]
    if not size_s.isascii() or not size_s.isdigit() or (size_s != "0" and size_s[0] == "0"):
        raise NoteError("checkpoint size must be a decimal without leading zeros")
    root = _b64decode(root_s, "checkpoint root")
    if len(root) != HASH_SIZE:
        raise NoteError("checkpoint root must be 32 bytes")
    return Checkpoint(origin, int(size_s), root)


def open_checkpoint(note: str, log_key: Verifier) -> Checkpoint:
    """Verify a signed checkpoint against the log's key and return its body."""
    parsed, _ = open_note(note, [log_key])
    checkpoint = parse_checkpoint(parsed.text)
    if checkpoint.origin != log_key.name:
        raise NoteError("checkpoint origin does not match the log key's name", code="other_log")
    return checkpoint
