"""Envelope encryption of one document: a fresh AES-256-GCM key, wrapped per reader.

The document key never leaves memory unwrapped. Each reader gets the key sealed to
their X25519 public key with libsodium's sealed box (X25519 + XSalsa20-Poly1305 with an
ephemeral sender key), so a wrapped key names no sender and opens only with the
reader's private key. The record id and version are bound into the ciphertext as
associated data, so a ciphertext cannot be passed off as another record.
"""

from __future__ import annotations

import os

import nacl.exceptions
import nacl.public
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from salus.identity import x25519_from_did

KEY_BYTES = 32
NONCE_BYTES = 12


class SealingError(ValueError):
    """A ciphertext or wrapped key that does not open with the key given."""


def associated_data(record: str, version: int) -> bytes:
    return f"salus-record/1|{record}|{version}".encode()


def new_document_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def encrypt(key: bytes, plaintext: bytes, record: str, version: int) -> bytes:
    """nonce || AES-256-GCM(plaintext) with the record bound as associated data."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, associated_data(record, version))


def decrypt(key: bytes, ciphertext: bytes, record: str, version: int) -> bytes:
    try:
        return AESGCM(key).decrypt(ciphertext[:NONCE_BYTES], ciphertext[NONCE_BYTES:],
                                   associated_data(record, version))
    except (InvalidTag, ValueError) as exc:
        raise SealingError(f"record {record} v{version} does not decrypt with this key") from exc


def wrap(key: bytes, encryption_did: str) -> bytes:
    """Seal a document key to the holder of ``encryption_did`` (an X25519 did:key)."""
    box = nacl.public.SealedBox(nacl.public.PublicKey(x25519_from_did(encryption_did)))
    return bytes(box.encrypt(key))


def unwrap(wrapped: bytes, private_key: nacl.public.PrivateKey) -> bytes:
    try:
        key = nacl.public.SealedBox(private_key).decrypt(wrapped)
    except (nacl.exceptions.CryptoError, ValueError, TypeError) as exc:
        raise SealingError("the wrapped key is not sealed to this key") from exc
    if len(key) != KEY_BYTES:
        raise SealingError("the wrapped key has the wrong length")
    return key
