"""Many transactions in one stream message.

Publishing, replicating, acknowledging and reading a stream message has a fixed cost,
in the NATS servers and in every peer's client, that a single transaction of a few
hundred bytes cannot carry: one message per transaction was half of a peer's event-loop
time under load. So a peer publishes the transactions of one submission together, as

    0x01 || (length: 4 bytes, big-endian || transaction bytes) ...

in messages of at most :data:`MAX_MESSAGE_BYTES`, each signed by the peer
(``signed_messages``). Every peer reads a message the same way or, if it is not exactly
this, ignores it, so all peers still see the same order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

VERSION = b"\x01"
#: Well under NATS's default 1 MiB payload limit; a transaction is at most 64 KiB.
MAX_MESSAGE_BYTES = 256 * 1024
_LEN = 4


def chunks(raws: Sequence[bytes], max_bytes: int = MAX_MESSAGE_BYTES) -> Iterator[list[bytes]]:
    """``raws`` in order, split so that each part's message fits in ``max_bytes`` (a
    part holds at least one transaction)."""
    part: list[bytes] = []
    size = len(VERSION)
    for raw in raws:
        if part and size + _LEN + len(raw) > max_bytes:
            yield part
            part, size = [], len(VERSION)
        part.append(raw)
        size += _LEN + len(raw)
    if part:
        yield part


def encode(raws: Sequence[bytes]) -> bytes:
    """One message carrying ``raws`` (see :func:`chunks` for the size limit)."""
    return VERSION + b"".join(len(raw).to_bytes(_LEN, "big") + raw for raw in raws)


def decode(message: bytes) -> list[bytes] | None:
    """The transactions of a message, or None if it is not a well-formed batch."""
    if not message.startswith(VERSION):
        return None
    out: list[bytes] = []
    at, end = len(VERSION), len(message)
    while at < end:
        if at + _LEN > end:
            return None
        length = int.from_bytes(message[at : at + _LEN], "big")
        at += _LEN
        if length == 0 or at + length > end:
            return None
        out.append(message[at : at + length])
        at += length
    return out or None

