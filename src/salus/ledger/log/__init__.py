"""The transparency log: one append-only RFC 9162 Merkle tree over every transaction.

Public surface (everything an outside verifier needs is pure and offline):

* :func:`leaf_hash`, :func:`node_hash` -- RFC 9162 section 2.1.1 hashing
* :func:`inclusion_proof`, :func:`consistency_proof` -- proof generation from stored
  perfect subtrees (sections 2.1.3.1 and 2.1.4.1)
* :func:`verify_inclusion`, :func:`verify_consistency` -- proof verification
  (sections 2.1.3.2 and 2.1.4.2)
* :class:`CompactRange` -- appends leaves, yielding the perfect subtrees to store
* :class:`SignedTreeHead` -- a tree head signed by the orderer's key
"""

from salus.ledger.log.compact import CompactRange
from salus.ledger.log.hashing import EMPTY_ROOT, leaf_hash, node_hash
from salus.ledger.log.proofs import NodeReader, consistency_proof, inclusion_proof, subtree_root
from salus.ledger.log.sth import SignedTreeHead, STHError
from salus.ledger.log.verify import ProofError, verify_consistency, verify_inclusion

__all__ = [
    "EMPTY_ROOT",
    "CompactRange",
    "NodeReader",
    "ProofError",
    "STHError",
    "SignedTreeHead",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "subtree_root",
    "verify_consistency",
    "verify_inclusion",
]
