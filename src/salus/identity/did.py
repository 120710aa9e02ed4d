"""did:key identifiers (W3C did:key method, multibase base58btc + multicodec).

A did:key is the public key itself: ``did:key:z`` + base58btc(multicodec prefix || key).
Ed25519 public keys use multicodec 0xed (varint ``ed 01``), X25519 keys 0xec (``ec 01``).
"""

from __future__ import annotations

from functools import lru_cache

import based58

_PREFIX = "did:key:z"
_ED25519 = b"\xed\x01"
_X25519 = b"\xec\x01"


class DIDError(ValueError):
    """Raised for a string that is not a did:key of the expected kind."""


def _encode(codec: bytes, key: bytes) -> str:
    if len(key) != 32:
        raise DIDError(f"public key must be 32 bytes, got {len(key)}")
    return _PREFIX + based58.b58encode(codec + key).decode("ascii")


def _decode(did: str, codec: bytes, kind: str) -> bytes:
    if not isinstance(did, str) or not did.startswith(_PREFIX):
        raise DIDError(f"not a did:key: {did!r}")
    try:
        raw = based58.b58decode(did[len(_PREFIX) :].encode())
    except ValueError as exc:
        raise DIDError(f"did:key is not base58btc: {did!r}") from exc
    if len(raw) != 34 or raw[:2] != codec:
        raise DIDError(f"did:key is not an {kind} key: {did!r}")
    return raw[2:]


def did_from_ed25519(public_key: bytes) -> str:
    return _encode(_ED25519, public_key)


def did_from_x25519(public_key: bytes) -> str:
    return _encode(_X25519, public_key)


@lru_cache(maxsize=1 << 16)
def ed25519_from_did(did: str) -> bytes:
    """The Ed25519 public key a did:key names (cached: it is on every transaction's path)."""
    return _decode(did, _ED25519, "Ed25519")


def x25519_from_did(did: str) -> bytes:
    return _decode(did, _X25519, "X25519")
