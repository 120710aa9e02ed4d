"""Who is who: Ed25519 signing keys named as did:key, X25519 keys for the vault."""

from salus.identity.did import did_from_ed25519, did_from_x25519, ed25519_from_did, x25519_from_did
from salus.identity.keys import Identity, KeyFileError

__all__ = [
    "Identity",
    "KeyFileError",
    "did_from_ed25519",
    "did_from_x25519",
    "ed25519_from_did",
    "x25519_from_did",
]
