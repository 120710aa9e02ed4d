"""W3C Bitstring Status List v1.0: one bit per credential, published compressed.

Bit ``i`` of the list is the ``i``-th bit counted from the most significant bit of the
first byte (section 3.2, "left-most bit is index 0"). A published list is the bitstring
GZIP-compressed, then base64url-encoded without padding, with the multibase prefix
``u`` (section 3.1, ``encodedList``). Lists have at least 131,072 entries so that one
credential's index says little about who holds it (section 6.1, herd privacy), and
issuers assign indices at random (:func:`random_index`).
"""

from __future__ import annotations

import base64
import gzip
import secrets
import zlib
from collections.abc import Iterable

MIN_ENTRIES = 131_072  # section 3.1: at least 16 KB of bits
MAX_ENCODED = 4 * 1024 * 1024  # refuse to inflate anything claiming to be larger


class StatusListError(ValueError):
    """An encoded list that is not a valid Bitstring Status List."""


def encode(set_bits: Iterable[int], size: int = MIN_ENTRIES) -> str:
    """The ``encodedList`` of a list of ``size`` bits with ``set_bits`` set."""
    if size < MIN_ENTRIES or size % 8:
        raise StatusListError(f"a status list has a multiple of 8 bits, at least {MIN_ENTRIES}")
    bits = bytearray(size // 8)
    for i in set_bits:
        if not 0 <= i < size:
            raise StatusListError(f"index {i} is outside a list of {size}")
        bits[i >> 3] |= 0x80 >> (i & 7)
    packed = gzip.compress(bytes(bits), mtime=0)  # mtime=0: the same list, the same bytes
    return "u" + base64.urlsafe_b64encode(packed).rstrip(b"=").decode("ascii")


def decode(encoded: str) -> bytes:
    """The raw bitstring of an ``encodedList``."""
    if not isinstance(encoded, str) or not encoded.startswith("u") or len(encoded) > MAX_ENCODED:
        raise StatusListError("encodedList must be multibase base64url ('u' prefix)")
    body = encoded[1:]
    try:
        packed = base64.b64decode(body + "=" * (-len(body) % 4), altchars=b"-_", validate=True)
        inflater = zlib.decompressobj(wbits=31)  # gzip container
        bits = inflater.decompress(packed, MAX_ENCODED)
    except (ValueError, zlib.error) as exc:
        raise StatusListError(f"encodedList is not base64url GZIP: {exc}") from None
    if inflater.unconsumed_tail or not inflater.eof:
        raise StatusListError("encodedList is truncated or inflates beyond the size limit")
    if len(bits) * 8 < MIN_ENTRIES:
        raise StatusListError(f"the list has {len(bits) * 8} entries, fewer than {MIN_ENTRIES}")
    return bits


def bit(bits: bytes, index: int) -> bool:
    if not 0 <= index < len(bits) * 8:
        raise StatusListError(f"index {index} is outside a list of {len(bits) * 8}")
    return bool(bits[index >> 3] & (0x80 >> (index & 7)))


def random_index(size: int, taken: set[int] | frozenset[int]) -> int:
    """An unused index, uniformly at random (section 6.1: never sequential)."""
    if len(taken) >= size:
        raise StatusListError("the status list is full")
    while True:
        i = secrets.randbelow(size)
        if i not in taken:
            return i
