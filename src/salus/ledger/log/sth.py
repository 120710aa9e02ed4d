"""Signed tree heads, as Certificate Transparency publishes them (RFC 9162 section 4.10).

The signature is Ed25519 over the RFC 8785 canonical JSON of
``{"chain_id", "root_hash" (hex), "timestamp" (ms), "tree_size"}``: naming the chain
stops a head from one Salus network being passed off as another's.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import nacl.exceptions
import nacl.signing

from salus.canonical import jcs
from salus.identity import Identity, ed25519_from_did
from salus.identity.did import DIDError


class STHError(ValueError):
    """A tree head that is malformed or not signed by the expected key."""


@dataclass(frozen=True)
class SignedTreeHead:
    chain_id: str
    tree_size: int
    root_hash: bytes
    timestamp: int
    signature: bytes

    @staticmethod
    def signed_bytes(chain_id: str, tree_size: int, root_hash: bytes, timestamp: int) -> bytes:
        return jcs(
            {
                "chain_id": chain_id,
                "root_hash": root_hash.hex(),
                "timestamp": timestamp,
                "tree_size": tree_size,
            }
        )

    @classmethod
    def sign(
        cls, key: Identity, chain_id: str, tree_size: int, root_hash: bytes, timestamp: int
    ) -> SignedTreeHead:
        sig = key.sign(cls.signed_bytes(chain_id, tree_size, root_hash, timestamp))
        return cls(chain_id, tree_size, root_hash, timestamp, sig)

    def verify(self, signer_did: str) -> None:
        """Raise :class:`STHError` unless ``signer_did`` signed this head."""
        try:
            key = nacl.signing.VerifyKey(ed25519_from_did(signer_did))
            key.verify(
                self.signed_bytes(self.chain_id, self.tree_size, self.root_hash, self.timestamp),
                self.signature,
            )
        except DIDError as exc:
            raise STHError(f"signer is not an Ed25519 did:key: {exc}") from exc
        except nacl.exceptions.BadSignatureError as exc:
            raise STHError("tree head signature does not verify under the given key") from exc

    def to_json(self) -> dict[str, Any]:
        return {
            "chain_id": self.chain_id,
            "tree_size": self.tree_size,
            "root_hash": self.root_hash.hex(),
            "timestamp": self.timestamp,
            "signature": base64.b64encode(self.signature).decode(),
        }

    @classmethod
    def from_json(cls, doc: Any) -> SignedTreeHead:
        try:
            sth = cls(
                chain_id=str(doc["chain_id"]),
                tree_size=int(doc["tree_size"]),
                root_hash=bytes.fromhex(doc["root_hash"]),
                timestamp=int(doc["timestamp"]),
                signature=base64.b64decode(doc["signature"], validate=True),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise STHError(f"malformed tree head: {exc}") from exc
        if len(sth.root_hash) != 32 or len(sth.signature) != 64 or sth.tree_size < 0:
            raise STHError("malformed tree head: wrong hash or signature length")
        return sth
