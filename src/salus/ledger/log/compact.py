"""The right border of a growing tree: what an appender must remember.

A tree of n leaves is a sequence of perfect subtrees whose sizes are the binary digits of
n, largest first. Appending a leaf pushes a subtree of size 1 and merges equal neighbours;
each merge is a new perfect subtree that storage must keep so that proofs can later be
served without rebuilding anything.
"""

from __future__ import annotations

from salus.ledger.log.hashing import EMPTY_ROOT, node_hash

#: (level, index) of a perfect subtree: it covers leaves [index << level, (index+1) << level).
NodeId = tuple[int, int]


class CompactRange:
    __slots__ = ("_hashes", "_levels", "size")

    def __init__(self, size: int = 0, border: list[bytes] | None = None) -> None:
        """Resume a tree of ``size`` leaves from its border hashes, largest subtree first."""
        self.size = size
        self._levels = [bit for bit in range(size.bit_length() - 1, -1, -1) if size >> bit & 1]
        self._hashes = list(border or [])
        if len(self._hashes) != len(self._levels):
            raise ValueError(f"a tree of {size} leaves has {len(self._levels)} border nodes")

    @staticmethod
    def border_ids(size: int) -> list[NodeId]:
        """The perfect subtrees that make up a tree of ``size`` leaves, largest first."""
        ids, start = [], 0
        for bit in range(size.bit_length() - 1, -1, -1):
            if size >> bit & 1:
                ids.append((bit, start >> bit))
                start += 1 << bit
        return ids

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add one leaf hash; return every new perfect subtree as (level, index, hash)."""
        index = self.size
        created = [(0, index, leaf)]
        level, value = 0, leaf
        while self._levels and self._levels[-1] == level:
            self._levels.pop()
            value = node_hash(self._hashes.pop(), value)
            level += 1
            index >>= 1
            created.append((level, index, value))
        self._levels.append(level)
        self._hashes.append(value)
        self.size += 1
        return created

    @property
    def border(self) -> list[bytes]:
        return list(self._hashes)

    def copy(self) -> CompactRange:
        return CompactRange(self.size, self._hashes)

    def root(self) -> bytes:
        """MTH of the whole tree: the border folded from the right."""
        if not self._hashes:
            return EMPTY_ROOT
        value = self._hashes[-1]
        for left in reversed(self._hashes[:-1]):
            value = node_hash(left, value)
        return value
