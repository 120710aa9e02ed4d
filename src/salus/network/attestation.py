"""Attestations: a peer's signed word that block H has hash B and leaves state S.

Every peer builds every block itself, then publishes an attestation of it. Matching
attestations from k organisations make a receipt that no single organisation could
have forged; a mismatch is a divergence (see ``salus.network.peer``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import nacl.exceptions
import nacl.signing

from salus.canonical import jcs
from salus.identity import Identity, ed25519_from_did
from salus.identity.did import DIDError

if TYPE_CHECKING:
    from salus.network.attestation_archive import AttestationArchive

ATTESTATION_TYPE = "salus-attestation/1"


class AttestationError(ValueError):
    """An attestation that is malformed or whose signature does not verify."""


@dataclass(frozen=True, slots=True)
class Attestation:
    chain_id: str
    height: int
    block_hash: bytes
    state_hash: bytes
    signer: str  # the peer's did:key
    signature: bytes

    def signed_bytes(self) -> bytes:
        return _payload(self.chain_id, self.height, self.block_hash, self.state_hash, self.signer)

    @classmethod
    def sign(cls, key: Identity, chain_id: str, height: int, block_hash: bytes,
             state_hash: bytes) -> Attestation:
        payload = _payload(chain_id, height, block_hash, state_hash, key.did)
        return cls(chain_id, height, block_hash, state_hash, key.did, key.sign(payload))

    def verify(self) -> None:
        try:
            nacl.signing.VerifyKey(ed25519_from_did(self.signer)).verify(
                self.signed_bytes(), self.signature)
        except (nacl.exceptions.BadSignatureError, DIDError, ValueError):
            raise AttestationError(f"attestation of block {self.height} by {self.signer} "
                                   "does not verify") from None

    def to_json(self) -> dict[str, Any]:
        return {"type": ATTESTATION_TYPE, "chain_id": self.chain_id, "height": self.height,
                "block_hash": self.block_hash.hex(), "state_hash": self.state_hash.hex(),
                "signer": self.signer, "signature": base64.b64encode(self.signature).decode()}

    @classmethod
    def from_json(cls, doc: Any) -> Attestation:
        try:
            if doc["type"] != ATTESTATION_TYPE:
                raise AttestationError(f"not a {ATTESTATION_TYPE}")
            height = doc["height"]
            if type(height) is not int or height < 0:
                raise AttestationError("height must be a non-negative integer")
            att = cls(str(doc["chain_id"]), height, bytes.fromhex(doc["block_hash"]),
                      bytes.fromhex(doc["state_hash"]), str(doc["signer"]),
                      base64.b64decode(doc["signature"], validate=True))
        except (KeyError, TypeError, ValueError, binascii.Error) as exc:
            if isinstance(exc, AttestationError):
                raise
            raise AttestationError(f"malformed attestation: {exc}") from None
        if len(att.block_hash) != 32 or len(att.state_hash) != 32:
            raise AttestationError("block_hash and state_hash must be 32 bytes")
        return att


def _payload(chain_id: str, height: int, block_hash: bytes, state_hash: bytes, signer: str) -> bytes:
    return jcs({"type": ATTESTATION_TYPE, "chain_id": chain_id, "height": height,
                "block_hash": block_hash.hex(), "state_hash": state_hash.hex(), "signer": signer})


def check_quorum(attestations: Iterable[Any], peers: Mapping[str, str], chain_id: str,
                 height: int, block_hash: bytes, k: int) -> list[str]:
    """Check, offline, that at least ``k`` organisations attest block ``height`` with
    ``block_hash``. ``peers`` maps each trusted peer's did:key to its organisation (from
    genesis). Returns the organisations; raises :class:`AttestationError` otherwise."""
    orgs: set[str] = set()
    for doc in attestations:
        att = doc if isinstance(doc, Attestation) else Attestation.from_json(doc)
        org = peers.get(att.signer)
        if org is None or att.chain_id != chain_id or att.height != height \
                or att.block_hash != block_hash:
            continue
        att.verify()
        orgs.add(org)
    if len(orgs) < k:
        raise AttestationError(f"block {height} is attested by {len(orgs)} organisation(s) "
                               f"({', '.join(sorted(orgs)) or 'none'}); {k} are required")
    return sorted(orgs)


class AttestationBook:
    """The attestations a peer has seen, by height, with waiters for k-of-n receipts.
    Runs on the event loop; :meth:`at` may also be called from the commit thread.

    The most recent ``keep_heights`` heights are held in memory. With an ``archive``
    (:class:`~salus.network.attestation_archive.AttestationArchive`), the book starts
    from what it holds and answers older heights from it; the peer writes to it."""

    def __init__(self, peers: Mapping[str, str], chain_id: str, keep_heights: int = 100_000,
                 archive: AttestationArchive | None = None) -> None:
        self.peers = dict(peers)
        self.chain_id = chain_id
        self.keep_heights = keep_heights
        self.archive = archive
        self._by_height: dict[int, dict[str, Attestation]] = {}
        self._latest: dict[str, int] = {}
        self._waiters: dict[int, list[tuple[bytes, int, asyncio.Future[list[Attestation]]]]] = {}
        #: Heights below this may have been dropped from memory (the archive has them).
        self._floor = 0
        if archive is not None:
            self._floor = max(0, archive.highest() - keep_heights + 1)
            for att in archive.since(self._floor):
                self.add(att)

    def add(self, att: Attestation) -> bool:
        """Record a verified attestation from a known peer; False if ignored."""
        if att.signer not in self.peers or att.chain_id != self.chain_id:
            return False
        if att.height < self._floor:
            return False  # older than memory holds; the archive keeps it
        at = self._by_height.setdefault(att.height, {})
        if att.signer in at:
            return False
        at[att.signer] = att
        if att.height > self._latest.get(att.signer, -1):
            self._latest[att.signer] = att.height
        self._prune(att.height)
        for waiter in list(self._waiters.get(att.height, [])):
            self._try(att.height, *waiter)
        return True

    def at(self, height: int) -> list[Attestation]:
        if height < self._floor and self.archive is not None:
            return [a for a in self.archive.at(height) if a.signer in self.peers]
        return list(self._by_height.get(height, {}).values())

    def latest(self) -> dict[str, int]:
        """Each peer's highest attested height."""
        return dict(self._latest)

    def matching(self, height: int, block_hash: bytes) -> list[Attestation]:
        """Attestations of ``block_hash`` at ``height``, one per organisation."""
        by_org: dict[str, Attestation] = {}
        for att in self.at(height):
            if att.block_hash == block_hash:
                by_org.setdefault(self.peers[att.signer], att)
        return list(by_org.values())

    async def wait_for(self, height: int, block_hash: bytes, k: int,
                       timeout: float) -> list[Attestation]:
        """Attestations from ``k`` organisations of ``block_hash`` at ``height``; raises
        TimeoutError if they do not come within ``timeout`` seconds."""
        found = self.matching(height, block_hash)
        if len(found) >= k:
            return found
        fut: asyncio.Future[list[Attestation]] = asyncio.get_running_loop().create_future()
        entry = (block_hash, k, fut)
        self._waiters.setdefault(height, []).append(entry)
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            waiting = self._waiters.get(height, [])
            if entry in waiting:
                waiting.remove(entry)
            if not waiting:
                self._waiters.pop(height, None)

    def _try(self, height: int, block_hash: bytes, k: int,
             fut: asyncio.Future[list[Attestation]]) -> None:
        found = self.matching(height, block_hash)
        if len(found) >= k and not fut.done():
            fut.set_result(found)

    def _prune(self, height: int) -> None:
        floor = height - self.keep_heights
        if floor > 0 and len(self._by_height) > self.keep_heights:
            for h in [h for h in self._by_height if h < floor]:
                del self._by_height[h]
            if self.archive is not None:
                self._floor = max(self._floor, floor)
