"""A member's key pair set: one Ed25519 key to sign, one X25519 key to receive wrapped keys.

The two keys are generated independently (no Ed25519-to-X25519 conversion), so a
compromise of one use does not hand over the other. Key files are JSON, written with
mode 0600, and refused on read if anyone but the owner can read them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import nacl.public
import nacl.signing

from salus.identity.did import did_from_ed25519, did_from_x25519

KEY_FILE_TYPE = "salus-key/1"


class KeyFileError(ValueError):
    """Raised for a key file that is missing, malformed or too widely readable."""


@dataclass(frozen=True)
class Identity:
    signing_key: nacl.signing.SigningKey
    encryption_key: nacl.public.PrivateKey

    @classmethod
    def generate(cls) -> Identity:
        return cls(nacl.signing.SigningKey.generate(), nacl.public.PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> Identity:
        """Deterministic identity for tests and demos (never for production keys)."""
        if len(seed) != 32:
            raise KeyFileError("seed must be 32 bytes")
        enc = nacl.public.PrivateKey(hashlib.sha256(b"x25519" + seed).digest())
        return cls(nacl.signing.SigningKey(seed), enc)

    @property
    def did(self) -> str:
        return did_from_ed25519(bytes(self.signing_key.verify_key))

    @property
    def public_key(self) -> bytes:
        return bytes(self.signing_key.verify_key)

    @property
    def encryption_did(self) -> str:
        return did_from_x25519(bytes(self.encryption_key.public_key))

    def sign(self, message: bytes) -> bytes:
        """Detached Ed25519 signature (64 bytes) over the exact bytes given."""
        return self.signing_key.sign(message).signature

    def to_json(self) -> dict[str, str]:
        return {
            "type": KEY_FILE_TYPE,
            "did": self.did,
            "encryption_did": self.encryption_did,
            "ed25519_seed": base64.b64encode(bytes(self.signing_key)).decode(),
            "x25519_secret": base64.b64encode(bytes(self.encryption_key)).decode(),
        }

    @classmethod
    def from_json(cls, doc: dict[str, str]) -> Identity:
        if not isinstance(doc, dict) or doc.get("type") != KEY_FILE_TYPE:
            raise KeyFileError(f"not a Salus key file (expected type {KEY_FILE_TYPE!r})")
        try:
            ident = cls(
                nacl.signing.SigningKey(base64.b64decode(doc["ed25519_seed"], validate=True)),
                nacl.public.PrivateKey(base64.b64decode(doc["x25519_secret"], validate=True)),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise KeyFileError(f"key file is damaged: {exc}") from exc
        if doc.get("did") not in (None, ident.did):
            raise KeyFileError("key file's did does not match its secret key")
        return ident

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
        try:
            fd = os.open(path, flags, 0o600)
        except FileExistsError as exc:
            raise KeyFileError(f"{path} exists; refusing to overwrite a key") from exc
        with os.fdopen(fd, "w") as fh:
            os.fchmod(fh.fileno(), 0o600)
            json.dump(self.to_json(), fh, indent=2)
            fh.write("\n")
        return path

    @classmethod
    def load(cls, path: str | Path) -> Identity:
        path = Path(path)
        try:
            mode = path.stat().st_mode
        except FileNotFoundError as exc:
            raise KeyFileError(f"no key file at {path}") from exc
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyFileError(
                f"{path} is readable by others (mode {oct(mode & 0o777)}); run: chmod 600 {path}"
            )
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise KeyFileError(f"cannot read key file {path}: {exc}") from exc
        return cls.from_json(doc)
