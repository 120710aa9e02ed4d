"""Offline proof verification, RFC 9162 sections 2.1.3.2 and 2.1.4.2.

Written from the RFC's iterative algorithms, independently of the recursive generator in
``proofs.py``, so that the two check each other.
"""

from __future__ import annotations

from collections.abc import Sequence

from salus.ledger.log.hashing import node_hash


class ProofError(ValueError):
    """A proof that does not prove what it claims."""


def root_from_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes:
    """Section 2.1.3.2: the root implied by a leaf hash and its inclusion path."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is not in a tree of size {size}")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise ProofError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the tree is deep")
    return r


def verify_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes], root: bytes) -> None:
    """Raise :class:`ProofError` unless ``leaf`` is at ``index`` in the tree with ``root``."""
    if root_from_inclusion(index, size, leaf, path) != root:
        raise ProofError("inclusion proof does not lead to the tree head's root")


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> None:
    """Section 2.1.4.2: raise unless the tree (first, first_root) is a prefix of the other."""
    if not 0 <= first <= second:
        raise ProofError(f"cannot prove size {first} consistent with size {second}")
    if first == second:
        if proof:
            raise ProofError("a proof between equal sizes must be empty")
        if first_root != second_root:
            raise ProofError("equal sizes with different roots")
        return
    if first == 0:
        if proof:
            raise ProofError("the empty tree needs an empty proof")
        return
    if not proof:
        raise ProofError("consistency proof is empty")
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is longer than needed")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is shorter than needed")
    if fr != first_root:
        raise ProofError("consistency proof does not reproduce the first root")
    if sr != second_root:
        raise ProofError("consistency proof does not reproduce the second root")
