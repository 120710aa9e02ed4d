"""Blocks: an ordered batch of transactions and the header that seals its effects.

The header binds the previous block, the transactions (an RFC 9162 Merkle root over
their leaf hashes), their validation results, the state after the block and the
transparency log's size and root after it. Its hash is SHA-256 of its RFC 8785 bytes;
the orderer's key signs those same bytes.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Any

import nacl.exceptions
import nacl.signing

from salus.canonical import jcs
from salus.identity import Identity, ed25519_from_did
from salus.ledger.log import CompactRange

_HEX_FIELDS = ("prev_hash", "tx_root", "results_hash", "state_hash", "log_root")


@dataclass(frozen=True, slots=True)
class BlockHeader:
    chain_id: str
    height: int
    prev_hash: bytes
    time: int
    tx_count: int
    tx_root: bytes
    results_hash: bytes
    state_hash: bytes
    log_size: int
    log_root: bytes

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        for name in _HEX_FIELDS:
            doc[name] = doc[name].hex()
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> BlockHeader:
        values = dict(doc)
        for name in _HEX_FIELDS:
            values[name] = bytes.fromhex(values[name])
        return cls(**values)

    def encode(self) -> bytes:
        return jcs(self.to_json())

    def hash(self) -> bytes:
        return hashlib.sha256(self.encode()).digest()

    def sign(self, key: Identity) -> bytes:
        return key.sign(self.encode())

    def signature_valid(self, signature: bytes, signer_did: str) -> bool:
        try:
            nacl.signing.VerifyKey(ed25519_from_did(signer_did)).verify(self.encode(), signature)
        except (nacl.exceptions.BadSignatureError, ValueError):
            return False
        return True


def tx_root(leaf_hashes: list[bytes]) -> bytes:
    tree = CompactRange()
    for leaf in leaf_hashes:
        tree.append(leaf)
    return tree.root()


def results_hash(results: list[tuple[str, str]]) -> bytes:
    """SHA-256 over each transaction's (code, reason), unit- and record-separated."""
    h = hashlib.sha256()
    for code, reason in results:
        h.update(code.encode() + b"\x1f" + reason.encode() + b"\x1e")
    return h.digest()
