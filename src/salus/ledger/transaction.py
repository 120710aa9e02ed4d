"""The signed transaction envelope.

Wire form (also the transparency log's leaf data)::

    signature (64 bytes, Ed25519) || payload

``payload`` is the RFC 8785 canonical JSON of the envelope
``{"v": 1, "chain", "contract", "method", "args", "signer", "nonce", "time"}``, and the
signature is over exactly those bytes: this is libsodium's "signed message" format, so
verification is one ``crypto_sign_open`` with no re-serialisation. ``signer`` is the
did:key of the signing key, ``nonce`` must exceed the signer's last committed nonce,
``time`` is milliseconds since the Unix epoch.

The transaction id is its RFC 9162 leaf hash, SHA-256(0x00 || wire bytes): the same
hash names it in receipts, in the log and in proofs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import nacl.bindings
import nacl.exceptions

from salus.canonical import JSONError, jcs, loads_strict
from salus.identity import Identity, ed25519_from_did
from salus.identity.did import DIDError
from salus.ledger.codes import Code, Rejected
from salus.ledger.log import leaf_hash

ENVELOPE_VERSION = 1
SIGNATURE_BYTES = 64
DEFAULT_MAX_TX_BYTES = 64 * 1024
_FIELDS = frozenset(("v", "chain", "contract", "method", "args", "signer", "nonce", "time"))
BAD_SIGNATURE_REASON = "signature does not verify under the signer's key"
_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}\Z")


@dataclass(slots=True, frozen=True)
class Transaction:
    raw: bytes
    id: bytes
    chain: str
    contract: str
    method: str
    args: dict[str, Any]
    signer: str
    nonce: int
    time: int

    @property
    def id_hex(self) -> str:
        return self.id.hex()


def encode(
    signer: Identity,
    *,
    chain: str,
    contract: str,
    method: str,
    args: dict[str, Any],
    nonce: int,
    time: int,
) -> bytes:
    """Build and sign a transaction; return its wire bytes."""
    payload = jcs(
        {
            "v": ENVELOPE_VERSION,
            "chain": chain,
            "contract": contract,
            "method": method,
            "args": args,
            "signer": signer.did,
            "nonce": nonce,
            "time": time,
        }
    )
    return signer.sign(payload) + payload


def _field(envelope: dict[str, Any], name: str, kind: type) -> Any:
    value = envelope[name]
    if type(value) is not kind:
        raise Rejected(Code.MALFORMED, f"envelope field {name!r} must be {kind.__name__}")
    return value


def decode(raw: bytes, max_bytes: int = DEFAULT_MAX_TX_BYTES) -> Transaction:
    """Parse wire bytes into a :class:`Transaction` (the signature is not checked here)."""
    if len(raw) > max_bytes:
        raise Rejected(Code.TOO_LARGE, f"transaction is {len(raw)} bytes; the limit is {max_bytes}")
    if len(raw) <= SIGNATURE_BYTES:
        raise Rejected(Code.MALFORMED, "transaction is shorter than a signature")
    try:
        envelope = loads_strict(raw[SIGNATURE_BYTES:])
    except JSONError as exc:
        raise Rejected(Code.MALFORMED, f"payload: {exc}") from None
    if type(envelope) is not dict or envelope.keys() != _FIELDS:
        raise Rejected(
            Code.MALFORMED, f"envelope must have exactly the fields {', '.join(sorted(_FIELDS))}"
        )
    # Exact types: JSON's true is no version, though Python's True == 1.
    if type(envelope["v"]) is not int or envelope["v"] != ENVELOPE_VERSION:
        raise Rejected(Code.MALFORMED, f"unsupported envelope version {envelope['v']!r}")
    contract = _field(envelope, "contract", str)
    method = _field(envelope, "method", str)
    if not _NAME.match(contract) or not _NAME.match(method):
        raise Rejected(Code.MALFORMED, "contract and method names are lowercase identifiers")
    nonce = _field(envelope, "nonce", int)
    time = _field(envelope, "time", int)
    if nonce < 0 or time < 0:
        raise Rejected(Code.MALFORMED, "nonce and time must not be negative")
    return Transaction(
        raw=raw,
        id=leaf_hash(raw),
        chain=_field(envelope, "chain", str),
        contract=contract,
        method=method,
        args=_field(envelope, "args", dict),
        signer=_field(envelope, "signer", str),
        nonce=nonce,
        time=time,
    )


def check_signature(tx: Transaction) -> None:
    """Raise ``BAD_SIGNATURE`` unless the signer's key signed the payload."""
    try:
        public_key = ed25519_from_did(tx.signer)
    except DIDError as exc:
        raise Rejected(Code.BAD_SIGNATURE, f"signer is not an Ed25519 did:key: {exc}") from None
    try:
        nacl.bindings.crypto_sign_open(tx.raw, public_key)
    except nacl.exceptions.BadSignatureError:
        raise Rejected(Code.BAD_SIGNATURE, BAD_SIGNATURE_REASON) from None


def signature_ok(tx: Transaction) -> bool:
    try:
        check_signature(tx)
    except Rejected:
        return False
    return True
