"""Offline verification of proof bundles: a tree head, a proof, and nothing else.

Inclusion bundle (what ``GET /v1/tx/{id}`` returns, or ``salus proof tx`` saves)::

    {"tx": base64, "sth": {...}, "inclusion": {"leaf_index", "tree_size", "audit_path"}}

(``"leaf_hash": hex`` may replace ``"tx"``.) Consistency bundle::

    {"first": {sth}, "second": {sth}, "proof": [hex, ...]}

The only trust input is the orderer's did:key: both tree heads must carry its signature.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from salus.ledger.log.hashing import leaf_hash
from salus.ledger.log.sth import SignedTreeHead, STHError
from salus.ledger.log.verify import ProofError, verify_consistency, verify_inclusion


@dataclass(frozen=True)
class Verified:
    kind: str
    tree_size: int
    root_hash: str
    detail: str


def _hexes(values: Any) -> list[bytes]:
    if not isinstance(values, list):
        raise ProofError("proof must be a list of hex hashes")
    try:
        out = [bytes.fromhex(v) for v in values]
    except (TypeError, ValueError):
        raise ProofError("proof hashes must be hex") from None
    if any(len(p) != 32 for p in out):
        raise ProofError("proof hashes must be 32 bytes")
    return out


def verify_bundle(bundle: Any, orderer: str, chain_id: str | None = None) -> Verified:
    """Raise :class:`ProofError` or :class:`STHError` unless the bundle proves its claim."""
    if not isinstance(bundle, dict):
        raise ProofError("a proof bundle is a JSON object")
    if "inclusion" in bundle:
        return _inclusion(bundle, orderer, chain_id)
    if "proof" in bundle and "first" in bundle and "second" in bundle:
        return _consistency(bundle, orderer, chain_id)
    raise ProofError("not a proof bundle: expected 'inclusion' or 'first'/'second'/'proof'")


def _sth(doc: Any, orderer: str, chain_id: str | None) -> SignedTreeHead:
    sth = SignedTreeHead.from_json(doc)
    sth.verify(orderer)
    if chain_id is not None and sth.chain_id != chain_id:
        raise STHError(f"tree head is for chain {sth.chain_id!r}, not {chain_id!r}")
    return sth


def _inclusion(bundle: dict[str, Any], orderer: str, chain_id: str | None) -> Verified:
    sth = _sth(bundle.get("sth"), orderer, chain_id)
    inc = bundle["inclusion"]
    if not isinstance(inc, dict):
        raise ProofError("inclusion must be an object")
    if "tx" in bundle:
        try:
            leaf = leaf_hash(base64.b64decode(bundle["tx"], validate=True))
        except (TypeError, ValueError):
            raise ProofError("tx must be base64") from None
    else:
        leaf = _hexes([bundle.get("leaf_hash")])[0]
    if inc.get("tree_size") != sth.tree_size:
        raise ProofError(f"proof is for tree size {inc.get('tree_size')}, head is {sth.tree_size}")
    index = inc.get("leaf_index")
    if type(index) is not int:
        raise ProofError("leaf_index must be an integer")
    verify_inclusion(index, sth.tree_size, leaf, _hexes(inc.get("audit_path")), sth.root_hash)
    return Verified("inclusion", sth.tree_size, sth.root_hash.hex(),
                    f"leaf {leaf.hex()} is entry {index} of the log of {sth.tree_size}")


def _consistency(bundle: dict[str, Any], orderer: str, chain_id: str | None) -> Verified:
    first = _sth(bundle["first"], orderer, chain_id)
    second = _sth(bundle["second"], orderer, chain_id)
    if first.chain_id != second.chain_id:
        raise STHError("the two tree heads are from different chains")
    verify_consistency(first.tree_size, second.tree_size, first.root_hash, second.root_hash,
                       _hexes(bundle["proof"]))
    return Verified("consistency", second.tree_size, second.root_hash.hex(),
                    f"the log of {first.tree_size} is a prefix of the log of {second.tree_size}")
