"""The two secrets of the claims services, and how each node gets them.

* **The fingerprint key** (docs/claims.md, "The fingerprint"): one 32-byte key the
  consortium's members share, under which every item's duplicate fingerprint is keyed.
  It is provisioned in each node's data directory when the consortium is founded
  (``keys/claims-fingerprint.key``, mode 0600): ``salus init`` writes it, and
  ``salus network create`` writes the same key into every peer's directory. It never
  goes on the ledger (which anyone with a copy reads) and never over the API: a node
  that joins later is given the file by the consortium's operators with its keys.
  A node without it does not run the claims services (they say why), rather than key
  fingerprints differently from everyone else and miss every duplicate.
* **A payer's member key** (``keys/<payer>-member.key``): the payer's own secret, under
  which it hashes member ids (HMAC-SHA-256) for ``claims.record_coverage`` and to find a
  PAS Bundle's coverage. Made on the payer's node the first time its claims service
  opens; nobody else needs it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from salus.node.datadir import DataDir

KEY_BYTES = 32
FINGERPRINT_FILE = "claims-fingerprint.key"


class ClaimsKeyError(RuntimeError):
    """A claims key is missing or malformed."""


def fingerprint_key_path(datadir: DataDir) -> Path:
    return datadir.keys_dir / FINGERPRINT_FILE


def member_key_path(datadir: DataDir, payer: str) -> Path:
    return datadir.keys_dir / f"{payer}-member.key"


def write_secret_key(path: Path, key: bytes) -> None:
    """Write ``key`` as hex to ``path``, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(key.hex() + "\n")


def read_secret_key(path: Path) -> bytes:
    try:
        key = bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError) as exc:
        raise ClaimsKeyError(f"{path}: not a readable key ({exc})") from None
    if len(key) != KEY_BYTES:
        raise ClaimsKeyError(f"{path}: a claims key is {KEY_BYTES} bytes, as 64 hex digits")
    return key


def provision_fingerprint_key(datadirs: list[DataDir], key: bytes | None = None) -> bytes:
    """Write the consortium's fingerprint key (new unless given) into each data directory
    founding it. Returns the key."""
    key = secrets.token_bytes(KEY_BYTES) if key is None else key
    for datadir in datadirs:
        write_secret_key(fingerprint_key_path(datadir), key)
    return key


def load_fingerprint_key(datadir: DataDir) -> bytes:
    path = fingerprint_key_path(datadir)
    if not path.exists():
        raise ClaimsKeyError(
            f"no claims fingerprint key at {path}: every member keys duplicate fingerprints "
            "with the one key the consortium shares; copy keys/claims-fingerprint.key from "
            "the consortium's founding data directory (mode 0600), or start with --no-claims")
    return read_secret_key(path)


def payer_member_key(datadir: DataDir, payer: str) -> bytes:
    """The payer's member-hash key, made the first time."""
    path = member_key_path(datadir, payer)
    if not path.exists():
        write_secret_key(path, secrets.token_bytes(KEY_BYTES))
    return read_secret_key(path)


def member_hash(key: bytes, member_id: str) -> str:
    """The payer's keyed hash of a member id, as ``claims.record_coverage`` records it."""
    return hmac.new(key, b"salus-member/1|" + member_id.encode(), hashlib.sha256).hexdigest()
