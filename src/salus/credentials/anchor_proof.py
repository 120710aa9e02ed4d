"""The anchor proof: how a credential shows it was in a batch anchored on the ledger.

An issued credential carries a proof set (W3C Data Integrity, section 2.1.2): its
issuer's ``eddsa-jcs-2022`` proof first, then a ``SalusAnchorProof`` holding

* ``batchRoot``, ``batchSize``, ``leafIndex``, ``path``: the credential's leaf (see
  :func:`salus.credentials.batch.credential_leaf`) and its audit path to the batch root;
* ``anchorTx``: the ``credentials.anchor`` transaction that put the root on the ledger,
  exactly as signed (base64);
* ``logIndex``, ``treeSize``, ``inclusion``, ``treeHead``: that transaction's inclusion
  proof in the transparency log under a tree head signed by the orderer.

Checking it needs no network: only the orderer's did (see :func:`check`).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from salus.credentials.batch import Batch, credential_leaf, root_of
from salus.credentials.data_integrity import ProofInvalid, SignedContent
from salus.ledger import transaction
from salus.ledger.codes import Rejected
from salus.ledger.log import ProofError, SignedTreeHead, STHError, leaf_hash, verify_inclusion

ANCHOR_PROOF_TYPE = "SalusAnchorProof"


class AnchorInvalid(ValueError):
    """The anchor proof is malformed or does not prove the anchoring; says which step."""

    def __init__(self, step: str, reason: str) -> None:
        super().__init__(f"{step}: {reason}")
        self.step = step
        self.reason = reason


@dataclass(frozen=True)
class AnchorEvidence:
    """Where the batch's anchor transaction sits in the log."""

    tx: bytes  # the anchor transaction, as signed
    log_index: int
    inclusion: list[bytes]
    tree_head: SignedTreeHead


@dataclass(frozen=True)
class Anchored:
    root: bytes
    tx_id: str
    signer: str  # the key that signed the anchor transaction
    log_index: int
    tree_head: SignedTreeHead


def attach(signed: dict[str, Any], batch: Batch, index: int, evidence: AnchorEvidence
           ) -> dict[str, Any]:
    """``signed`` (with its issuer proof) plus the anchor proof for leaf ``index``."""
    proof = {
        "type": ANCHOR_PROOF_TYPE,
        "batchRoot": batch.root.hex(), "batchSize": batch.size, "leafIndex": index,
        "path": [p.hex() for p in batch.paths[index]],
        "anchorTx": base64.b64encode(evidence.tx).decode(),
        "logIndex": evidence.log_index, "treeSize": evidence.tree_head.tree_size,
        "inclusion": [p.hex() for p in evidence.inclusion],
        "treeHead": evidence.tree_head.to_json(),
    }
    return {**signed, "proof": [signed["proof"], proof]}


def split(credential: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the credential as its issuer signed it, its anchor proof)."""
    proofs = credential.get("proof")
    if not isinstance(proofs, list) or len(proofs) != 2 or not all(
            isinstance(p, dict) for p in proofs):
        raise AnchorInvalid("format", "an issued credential carries two proofs: the issuer's "
                                      "and the anchor's")
    issuer_proof, anchor = proofs
    if anchor.get("type") != ANCHOR_PROOF_TYPE:
        raise AnchorInvalid("format", f"the second proof is not a {ANCHOR_PROOF_TYPE}")
    return {**credential, "proof": issuer_proof}, anchor


def _hexes(values: Any, what: str) -> list[bytes]:
    if not isinstance(values, list):
        raise AnchorInvalid("format", f"{what} is a list of hex hashes")
    try:
        out = [bytes.fromhex(v) for v in values]
    except (TypeError, ValueError):
        raise AnchorInvalid("format", f"{what} is a list of hex hashes") from None
    if any(len(h) != 32 for h in out):
        raise AnchorInvalid("format", f"{what} holds hashes of 32 bytes")
    return out


@dataclass(frozen=True)
class AnchorClaim:
    """An anchor proof, parsed: what it claims, not yet checked."""

    root: bytes
    size: int
    index: int
    path: tuple[bytes, ...]
    tx: bytes
    log_index: int
    tree_size: int
    inclusion: tuple[bytes, ...]
    tree_head: SignedTreeHead

    @property
    def anchoring(self) -> tuple[Any, ...]:
        """What steps "anchor" and "log" depend on: the same for a whole batch."""
        return self.root, self.tx, self.log_index, self.tree_size, self.inclusion, self.tree_head


def parse(anchor: dict[str, Any]) -> AnchorClaim:
    """The claim of an anchor proof; raise AnchorInvalid("format") if it is malformed."""
    try:
        claim = AnchorClaim(
            root=bytes.fromhex(anchor["batchRoot"]), size=anchor["batchSize"],
            index=anchor["leafIndex"], path=tuple(_hexes(anchor["path"], "path")),
            tx=base64.b64decode(anchor["anchorTx"], validate=True),
            log_index=anchor["logIndex"], tree_size=anchor["treeSize"],
            inclusion=tuple(_hexes(anchor["inclusion"], "inclusion")),
            tree_head=SignedTreeHead.from_json(anchor["treeHead"]))
    except (KeyError, TypeError, ValueError, binascii.Error, STHError) as exc:
        if isinstance(exc, AnchorInvalid):
            raise
        raise AnchorInvalid("format", f"anchor proof is malformed: {exc}") from None
    if not all(type(v) is int for v in (claim.size, claim.index, claim.log_index,
                                        claim.tree_size)):
        raise AnchorInvalid("format", "batchSize, leafIndex, logIndex, treeSize are integers")
    return claim


def check_merkle(issued: dict[str, Any], claim: AnchorClaim,
                 content: SignedContent | None = None) -> bytes:
    """The credential's leaf, which with its path leads to the claimed batch root (step
    "merkle"). ``content``: the issuer proof's signed content, if already computed."""
    try:
        leaf = credential_leaf(issued, content)
    except ProofInvalid as exc:
        raise AnchorInvalid("merkle", f"the credential has no leaf: {exc}") from None
    try:
        if root_of(leaf, claim.index, claim.size, claim.path) != claim.root:
            raise AnchorInvalid("merkle", "the credential's path does not lead to the batch root")
    except ProofError as exc:
        raise AnchorInvalid("merkle", str(exc)) from None
    return leaf


def check_anchor_tx(claim: AnchorClaim, chain_id: str) -> transaction.Transaction:
    """The anchor transaction names the batch root, for this chain, and its signature
    verifies (step "anchor")."""
    try:
        tx = transaction.decode(claim.tx)
    except Rejected as exc:
        raise AnchorInvalid("anchor", f"anchorTx is not a transaction: {exc.reason}") from None
    if (tx.contract, tx.method) != ("credentials", "anchor") or \
            tx.args.get("root") != claim.root.hex():
        raise AnchorInvalid("anchor", "anchorTx does not anchor this batch root")
    if tx.chain != chain_id:
        raise AnchorInvalid("anchor", f"anchorTx was signed for chain {tx.chain!r}")
    if not transaction.signature_ok(tx):
        raise AnchorInvalid("anchor", "anchorTx's signature does not verify")
    return tx


def check_log(claim: AnchorClaim, orderer: str, chain_id: str) -> None:
    """The anchor transaction is in the log under a tree head the orderer signed (step
    "log")."""
    head = claim.tree_head
    if head.chain_id != chain_id or head.tree_size != claim.tree_size:
        raise AnchorInvalid("log", "the tree head is for another chain or size")
    try:
        head.verify(orderer)
    except STHError as exc:
        raise AnchorInvalid("log", f"tree head: {exc}") from None
    try:
        verify_inclusion(claim.log_index, claim.tree_size, leaf_hash(claim.tx),
                         list(claim.inclusion), head.root_hash)
    except ProofError as exc:
        raise AnchorInvalid("log", f"anchorTx is not in the log under this head: {exc}") from None


def check_anchoring(claim: AnchorClaim, orderer: str, chain_id: str) -> Anchored:
    """Steps "anchor" and "log". Every credential of a batch shares them, so a verifier
    may cache them by claim."""
    tx = check_anchor_tx(claim, chain_id)
    check_log(claim, orderer, chain_id)
    return Anchored(claim.root, tx.id_hex, tx.signer, claim.log_index, claim.tree_head)


def check(issued: dict[str, Any], anchor: dict[str, Any], orderer: str, chain_id: str
          ) -> Anchored:
    """All of it: format, Merkle path, anchor transaction, log inclusion."""
    claim = parse(anchor)
    check_merkle(issued, claim)
    return check_anchoring(claim, orderer, chain_id)
