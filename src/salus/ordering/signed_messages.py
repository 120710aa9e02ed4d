"""Stream messages a genesis peer vouched for.

A JetStream stream keeps whatever a connection allowed to publish on its subjects sends:
NATS credentials say who may reach the stream, not what the stream may carry. So every
message a peer publishes to the ordering stream (transaction batches, time-to-cut
markers) carries the peer's Ed25519 signature, and every peer counts a message only if
a peer named in genesis signed it. The signed bytes are domain-separated::

    "salus-stream-message/1\\0" || len(chain_id) || chain_id || len(subject) || subject
                                || time || SHA-256(payload)
    (len: 4 bytes, time: the peer's clock in ms since the epoch, 8 bytes; big-endian)

and travel in headers: ``Salus-Signer`` (the peer's did:key), ``Salus-Time`` and
``Salus-Signature`` (base64). The message's ``Nats-Msg-Id`` is derived from the
signature (:func:`message_id`), which binds the id to the signed bytes as firmly as
signing the id would, with one more property: nobody but the signing peer can know a
message's id before the peer publishes it. The stream drops a second message with an id
it has seen (its duplicate window), so with ids anyone could compute (a hash of the
transactions, as before), whoever learnt a peer's transactions first could publish junk
under that id and have the stream drop the peer's real message: censorship without any
key. A copy of a genuine message published again (by anyone who can read the stream
and publish to it) carries the same id, so the stream drops it within its duplicate
window; after that, its signed time gives it away: a message counts only if the
stream's own timestamp of it is at most :data:`MAX_AGE_MS` after its signed time and at
most :data:`MAX_AHEAD_MS` before, and the two add up to no more than the stream's
duplicate window (:data:`MIN_DUPLICATE_WINDOW_S`). So a peer's clock must agree with the
NATS servers' within 30 s (NTP).

The payload is signed through its SHA-256 digest because Ed25519 hashes what it signs
with SHA-512, twice when signing: for a 118 KB batch of 500 transactions, measured on
the (busy) benchmark machine, 1.4-1.9 ms to sign and 0.9-1.1 ms to verify, against
0.2-0.3 ms and 0.35-0.4 ms through SHA-256, which the CPU computes in hardware. The
digest binds the payload as firmly.

Whether a message counts depends only on its subject, payload, headers and stream
timestamp (the same for every reader) and on the chain's genesis, so every peer decides
it the same way, and a message that does not count is as if it were not in the stream.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Iterable, Mapping

import nacl.exceptions
import nacl.signing

from salus.clock import wall_clock_ms
from salus.identity import Identity, ed25519_from_did
from salus.identity.did import DIDError

DOMAIN = b"salus-stream-message/1\x00"
MSG_ID = "Nats-Msg-Id"
SIGNER = "Salus-Signer"
TIME = "Salus-Time"
SIGNATURE = "Salus-Signature"
_SIGNATURE_BYTES = 64
#: How long after its signed time a message may reach the stream (a publish delayed by
#: a failover, a peer's clock behind the servers'), and how long before (a clock ahead).
MAX_AGE_MS = 90_000
MAX_AHEAD_MS = 30_000
#: The ordering stream must remember message ids at least this long, so that a copy of
#: a message is either dropped as a duplicate or too old to count.
MIN_DUPLICATE_WINDOW_S = (MAX_AGE_MS + MAX_AHEAD_MS) // 1000


def _field(value: str) -> bytes:
    raw = value.encode()
    return len(raw).to_bytes(4, "big") + raw


def signed_bytes(chain_id: str, subject: str, time_ms: int, payload: bytes) -> bytes:
    """What a peer signs for ``payload`` published on ``subject`` of chain ``chain_id``
    at ``time_ms`` by its clock."""
    return (DOMAIN + _field(chain_id) + _field(subject) + time_ms.to_bytes(8, "big")
            + hashlib.sha256(payload).digest())


def message_id(signature: bytes) -> str:
    """The ``Nats-Msg-Id`` of a message carrying ``signature``."""
    return hashlib.sha256(signature).hexdigest()


class MessageSigner:
    """Signs what this peer publishes to its chain's stream."""

    def __init__(self, key: Identity, chain_id: str,
                 clock: Callable[[], int] = wall_clock_ms) -> None:
        self.key = key
        self.chain_id = chain_id
        self.clock = clock
        self._did = key.did

    def headers(self, subject: str, payload: bytes) -> dict[str, str]:
        """The headers that vouch for ``payload`` on ``subject`` now, message id included."""
        now = self.clock()
        signature = self.key.sign(signed_bytes(self.chain_id, subject, now, payload))
        return {MSG_ID: message_id(signature), SIGNER: self._did, TIME: str(now),
                SIGNATURE: base64.b64encode(signature).decode()}


class MessageVerifier:
    """Tells whether a stream message was signed by one of the chain's genesis peers."""

    def __init__(self, chain_id: str, peers: Iterable[str]) -> None:
        self.chain_id = chain_id
        self._keys: dict[str, nacl.signing.VerifyKey] = {}
        for did in peers:
            try:
                self._keys[did] = nacl.signing.VerifyKey(ed25519_from_did(did))
            except (DIDError, ValueError, nacl.exceptions.CryptoError) as exc:
                raise ValueError(f"genesis peer {did!r} is not an Ed25519 did:key: {exc}") from None

    @property
    def peers(self) -> frozenset[str]:
        return frozenset(self._keys)

    def signer(self, subject: str, payload: bytes, headers: Mapping[str, str] | None) -> str | None:
        """The did:key of the genesis peer that signed this message, or None if no
        genesis peer did (no headers, an unknown signer, a signature over other bytes, a
        message id that is not the signature's). Whether it is fresh is :meth:`fresh`."""
        if not headers:
            return None
        verify_key = self._keys.get(headers.get(SIGNER, ""))
        encoded = headers.get(SIGNATURE)
        time_ms = signed_time(headers)
        if verify_key is None or encoded is None or time_ms is None \
                or len(encoded) > 2 * _SIGNATURE_BYTES:
            return None
        try:
            signature = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            return None
        if len(signature) != _SIGNATURE_BYTES or headers.get(MSG_ID) != message_id(signature):
            return None
        try:
            verify_key.verify(signed_bytes(self.chain_id, subject, time_ms, payload), signature)
        except nacl.exceptions.BadSignatureError:
            return None
        return headers[SIGNER]

    @staticmethod
    def fresh(headers: Mapping[str, str], stream_time_ms: int) -> bool:
        """Whether a message signed at its ``Salus-Time`` may count when the stream's
        timestamp of it is ``stream_time_ms``."""
        time_ms = signed_time(headers)
        return time_ms is not None and \
            -MAX_AHEAD_MS <= stream_time_ms - time_ms <= MAX_AGE_MS


def signed_time(headers: Mapping[str, str]) -> int | None:
    """The ``Salus-Time`` header: decimal milliseconds, nothing else."""
    text = headers.get(TIME, "")
    if not text.isascii() or not text.isdigit() or len(text) > 15:
        return None
    return int(text)
