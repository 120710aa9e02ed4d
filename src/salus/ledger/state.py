"""The key-value world state as contracts see it during one block.

Values are stored as :func:`salus.canonical.state_bytes`. A block runs over a
:class:`BlockState` (committed state plus the block's writes so far); each transaction runs
in its own :class:`TxState` whose read and write sets are kept, and whose writes reach the
block only if the transaction is valid.

The state hash chains every block's net writes:
``state_hash(h) = SHA-256(state_hash(h-1) || writes(h))`` with the writes sorted by key,
each as ``len(key) key flag len(value) value``. Two peers agree on it exactly when they
executed the same blocks to the same effects.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any

from pydantic_core import from_json

from salus.canonical import state_bytes

#: Reads one committed value, or None when the key is absent.
Reader = Callable[[str], bytes | None]


class BlockState:
    __slots__ = ("_read", "writes")

    def __init__(self, read: Reader) -> None:
        self._read = read
        self.writes: dict[str, bytes | None] = {}

    def get(self, key: str) -> bytes | None:
        if key in self.writes:
            return self.writes[key]
        return self._read(key)


class CommittedView:
    """Committed state as admission at ingress reads it: no block, no read set, no writes
    (an authority rule only reads). Each read is one call to ``read``."""

    __slots__ = ("get_bytes",)

    def __init__(self, read: Reader) -> None:
        self.get_bytes = read

    def get(self, key: str) -> Any:
        raw = self.get_bytes(key)
        return None if raw is None else from_json(raw)


class TxState:
    __slots__ = ("_block", "reads", "writes")

    def __init__(self, block: BlockState) -> None:
        self._block = block
        self.reads: list[str] = []
        self.writes: dict[str, bytes | None] = {}

    def get_bytes(self, key: str) -> bytes | None:
        if key in self.writes:
            return self.writes[key]
        self.reads.append(key)
        return self._block.get(key)

    def get(self, key: str) -> Any:
        raw = self.get_bytes(key)
        return None if raw is None else from_json(raw)

    def put(self, key: str, value: Any) -> None:
        self.writes[key] = state_bytes(value)

    def delete(self, key: str) -> None:
        self.writes[key] = None

    def commit(self) -> None:
        self._block.writes.update(self.writes)

    def rw_set(self) -> dict[str, Any]:
        return {
            "reads": sorted(set(self.reads)),
            "writes": {k: None if v is None else v.decode() for k, v in sorted(self.writes.items())},
        }


def memoized(get: Callable[[str], Any]) -> Callable[[str], Any]:
    """``get`` that reads (and parses) each key once: for checks that only look at what
    they read, such as admission's, which may name one record or member many times."""
    seen: dict[str, Any] = {}

    def read(key: str) -> Any:
        try:
            return seen[key]
        except KeyError:
            value = seen[key] = get(key)
            return value

    return read


def next_state_hash(previous: bytes, writes: Iterable[tuple[str, bytes | None]]) -> bytes:
    h = hashlib.sha256(previous)
    for key, value in sorted(writes):
        k = key.encode()
        h.update(len(k).to_bytes(4, "big") + k)
        if value is None:
            h.update(b"\x00")
        else:
            h.update(b"\x01" + len(value).to_bytes(4, "big") + value)
    return h.digest()
