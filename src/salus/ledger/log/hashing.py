"""RFC 9162 section 2.1.1: Merkle Tree Hash with domain-separated leaves and nodes."""

from __future__ import annotations

import hashlib

#: MTH({}) = SHA-256() -- the root of the empty tree (RFC 9162 section 2.1.1).
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """MTH({d(0)}) = SHA-256(0x00 || d(0))."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """k, the largest power of two smaller than n (n > 1), as RFC 9162 section 2.1.1 uses it."""
    return 1 << ((n - 1).bit_length() - 1)
