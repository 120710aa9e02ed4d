"""Blockcerts-style batch anchoring: many credentials, one ledger transaction.

The issuer hashes each signed credential into a leaf of an RFC 9162 Merkle tree (the
same hashing as the ledger's transparency log) and anchors only the root. Each
credential then carries its leaf index and audit path, so anyone can recompute the root
from the credential alone and compare it with the anchored one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from salus.credentials.data_integrity import SignedContent, signed_content
from salus.ledger.log import CompactRange, ProofError, inclusion_proof, leaf_hash
from salus.ledger.log.compact import NodeId
from salus.ledger.log.verify import root_from_inclusion


def credential_leaf(credential: dict[str, Any], content: SignedContent | None = None) -> bytes:
    """The leaf of a credential carrying its issuer's proof (and no anchor proof yet): the
    RFC 9162 leaf hash of the proof's hash data (SHA-256 of the JCS of its options, then
    of the document) followed by the signature. That commits to every byte of the
    credential and its proof, and costs a verifier nothing more than checking the
    signature does. Raise :class:`ProofInvalid` if the proof is malformed."""
    content = content or signed_content(credential)
    return leaf_hash(content.hash_data + content.signature)


@dataclass(frozen=True)
class Batch:
    root: bytes
    size: int
    paths: list[list[bytes]]  # audit path of leaf i, RFC 9162 section 2.1.3.1


def build(leaves: Sequence[bytes]) -> Batch:
    """The tree over ``leaves`` (in order) and every leaf's audit path."""
    if not leaves:
        raise ValueError("a batch holds at least one credential")
    tree = CompactRange()
    nodes: dict[NodeId, bytes] = {}
    for leaf in leaves:
        for level, index, value in tree.append(leaf):
            nodes[(level, index)] = value

    def read(ids: Sequence[NodeId]) -> list[bytes]:
        return [nodes[i] for i in ids]

    size = len(leaves)
    return Batch(tree.root(), size, [inclusion_proof(i, size, read) for i in range(size)])


def root_of(leaf: bytes, index: int, size: int, path: Sequence[bytes]) -> bytes:
    """The batch root a credential's leaf and path lead to (raise ProofError if none)."""
    if size < 1:
        raise ProofError("a batch has at least one leaf")
    return root_from_inclusion(index, size, leaf, path)
