"""RFC 9162 proofs against an independent reference tree, and against bit flips."""

from __future__ import annotations

import hashlib
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salus.ledger.log import (
    CompactRange,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)


def reference_root(leaves: list[bytes]) -> bytes:
    """MTH straight from RFC 9162 section 2.1.1's definition, no shared code."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + reference_root(leaves[:k]) + reference_root(leaves[k:])).digest()


class Tree:
    """A tree kept the way the ledger keeps it: every perfect subtree in a dict."""

    def __init__(self, leaves: list[bytes]) -> None:
        self.nodes: dict[tuple[int, int], bytes] = {}
        self.compact = CompactRange()
        self.roots = [self.compact.root()]
        for data in leaves:
            for level, index, value in self.compact.append(leaf_hash(data)):
                self.nodes[(level, index)] = value
            self.roots.append(self.compact.root())

    def read(self, ids):
        return [self.nodes[i] for i in ids]


def leaves_of(n: int) -> list[bytes]:
    return [f"tx-{i}".encode() for i in range(n)]


def flip(data: bytes, bit: int) -> bytes:
    b = bytearray(data)
    b[bit // 8 % len(b)] ^= 1 << (bit % 8)
    return bytes(b)


@pytest.mark.parametrize("n", range(1, 65))
def test_every_size_to_64(n: int) -> None:
    leaves = leaves_of(n)
    tree = Tree(leaves)
    for size in range(1, n + 1):
        assert tree.roots[size] == reference_root(leaves[:size])
    root = tree.roots[n]
    for i in range(n):
        path = inclusion_proof(i, n, tree.read)
        verify_inclusion(i, n, leaf_hash(leaves[i]), path, root)
    for m in range(1, n + 1):
        proof = consistency_proof(m, n, tree.read)
        verify_consistency(m, n, tree.roots[m], root, proof)


def test_empty_tree_root_and_compact_resume() -> None:
    assert CompactRange().root() == hashlib.sha256(b"").digest()
    tree = Tree(leaves_of(37))
    border = [tree.nodes[i] for i in CompactRange.border_ids(37)]
    resumed = CompactRange(37, border)
    assert resumed.root() == tree.roots[37]
    resumed.append(leaf_hash(b"tx-37"))
    assert resumed.root() == reference_root(leaves_of(38))


@pytest.mark.parametrize("seed", range(6))
def test_random_larger_sizes(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randrange(65, 3000)
    leaves = leaves_of(n)
    tree = Tree(leaves)
    assert tree.roots[n] == reference_root(leaves)
    for _ in range(40):
        size = rng.randrange(1, n + 1)
        i = rng.randrange(size)
        verify_inclusion(i, size, leaf_hash(leaves[i]), inclusion_proof(i, size, tree.read),
                         tree.roots[size])
        m = rng.randrange(1, size + 1)
        verify_consistency(m, size, tree.roots[m], tree.roots[size],
                           consistency_proof(m, size, tree.read))


TREE = Tree(leaves_of(300))


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_flipped_bit_in_inclusion_fails(data) -> None:
    size = data.draw(st.integers(2, 300))
    i = data.draw(st.integers(0, size - 1))
    leaf = leaf_hash(leaves_of(300)[i])
    path = inclusion_proof(i, size, TREE.read)
    root = TREE.roots[size]
    target = data.draw(st.sampled_from(["leaf", "root", "path"]))
    bit = data.draw(st.integers(0, 255))
    if target == "leaf":
        leaf = flip(leaf, bit)
    elif target == "root":
        root = flip(root, bit)
    else:
        j = data.draw(st.integers(0, len(path) - 1))
        path = [flip(p, bit) if k == j else p for k, p in enumerate(path)]
    with pytest.raises(ProofError):
        verify_inclusion(i, size, leaf, path, root)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_flipped_bit_in_consistency_fails(data) -> None:
    second = data.draw(st.integers(2, 300))
    first = data.draw(st.integers(1, second - 1))
    proof = consistency_proof(first, second, TREE.read)
    r1, r2 = TREE.roots[first], TREE.roots[second]
    target = data.draw(st.sampled_from(["first", "second", "proof"]))
    bit = data.draw(st.integers(0, 255))
    if target == "first":
        r1 = flip(r1, bit)
    elif target == "second":
        r2 = flip(r2, bit)
    else:
        j = data.draw(st.integers(0, len(proof) - 1))
        proof = [flip(p, bit) if k == j else p for k, p in enumerate(proof)]
    with pytest.raises(ProofError):
        verify_consistency(first, second, r1, r2, proof)


def test_wrong_index_or_size_fails() -> None:
    leaves = leaves_of(20)
    path = inclusion_proof(5, 20, Tree(leaves).read)
    root = reference_root(leaves)
    verify_inclusion(5, 20, leaf_hash(leaves[5]), path, root)
    # A path has the same shape at neighbouring sizes (5 in 19, 20 or 21 leaves): the tree
    # size is bound by the signed tree head, not by the path. The index is bound by the path.
    for index, size in [(4, 20), (6, 20), (20, 20), (-1, 20), (5, 4)]:
        with pytest.raises(ProofError):
            verify_inclusion(index, size, leaf_hash(leaves[5]), path, root)
    with pytest.raises(ProofError):
        verify_inclusion(5, 20, leaf_hash(leaves[5]), [*path, path[0]], root)
    with pytest.raises(ProofError):
        verify_inclusion(5, 20, leaf_hash(leaves[5]), path[:-1], root)
