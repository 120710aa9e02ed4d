"""Proof generation, RFC 9162 sections 2.1.3.1 (PATH) and 2.1.4.1 (PROOF / SUBPROOF).

Every hash a proof needs is the root of some range D[a:b] of leaves. Each such range
splits into O(log n) perfect subtrees, which storage keeps. So a proof is planned as a
list of ranges, every perfect subtree under them is fetched in one call, and each
range's root is folded from those: O(log n) work, nothing rebuilt.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from salus.ledger.log.compact import NodeId
from salus.ledger.log.hashing import node_hash, split_point

#: Fetches stored perfect-subtree hashes, in the order asked.
NodeReader = Callable[[Sequence[NodeId]], list[bytes]]


def _perfect_ids(start: int, end: int) -> list[NodeId]:
    """The perfect subtrees that tile D[start:end], largest first (start is aligned)."""
    ids = []
    while start < end:
        size = start & -start if start else 1 << ((end - start).bit_length() - 1)
        while start + size > end:
            size >>= 1
        level = size.bit_length() - 1
        ids.append((level, start >> level))
        start += size
    return ids


def _roots(ranges: list[tuple[int, int]], read: NodeReader) -> list[bytes]:
    plans = [_perfect_ids(a, b) for a, b in ranges]
    wanted = sorted({node for plan in plans for node in plan})
    found = dict(zip(wanted, read(wanted), strict=True))
    roots = []
    for plan in plans:
        value = found[plan[-1]]
        for node in reversed(plan[:-1]):
            value = node_hash(found[node], value)
        roots.append(value)
    return roots


def subtree_root(start: int, end: int, read: NodeReader) -> bytes:
    """MTH(D[start:end]) for a range as the RFC's recursion produces them."""
    return _roots([(start, end)], read)[0]


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The ranges whose roots form PATH(index, D[0:size]), leaf side first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not in a tree of size {size}")
    ranges, lo, hi = [], 0, size
    while hi - lo > 1:
        k = split_point(hi - lo)
        if index < lo + k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
    ranges.reverse()
    return ranges


def consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """The ranges whose roots form PROOF(first, D[0:second]), deepest first."""
    if not 0 < first <= second:
        raise ValueError(f"no consistency proof from size {first} to size {second}")
    ranges: list[tuple[int, int]] = []
    lo, hi, whole = 0, second, True
    while first - lo != hi - lo:
        k = split_point(hi - lo)
        if first - lo <= k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
            whole = False
    if not whole:
        ranges.append((lo, hi))
    ranges.reverse()
    return ranges


def inclusion_proof(index: int, size: int, read: NodeReader) -> list[bytes]:
    """The audit path for leaf ``index`` in the tree of ``size`` leaves."""
    return _roots(inclusion_ranges(index, size), read)


def consistency_proof(first: int, second: int, read: NodeReader) -> list[bytes]:
    """Proof that the tree of ``first`` leaves is a prefix of the tree of ``second``."""
    if first == second:
        return []
    return _roots(consistency_ranges(first, second), read)
