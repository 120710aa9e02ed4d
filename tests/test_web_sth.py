"""The browser checks a signed tree head exactly as the Python verifier does: signed by
the key the reader trusts, for the chain it expects, not one byte changed."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

from node_cases import run_cases
from salus.identity import Identity
from salus.ledger.log.sth import SignedTreeHead, STHError

RUNNER = Path(__file__).parent / "js" / "sth_cases.mjs"


def _python(case: dict[str, Any]) -> bool:
    try:
        sth = SignedTreeHead.from_json(case["sth"])
        if case.get("chain_id") is not None and sth.chain_id != case["chain_id"]:
            return False
        sth.verify(case["signer"])
    except STHError:
        return False
    return True


def test_the_browser_checks_tree_heads_as_python_does() -> None:
    orderer = Identity.from_seed(hashlib.sha256(b"orderer").digest())
    other = Identity.from_seed(hashlib.sha256(b"other").digest())
    good = SignedTreeHead.sign(orderer, "salus-demo", 1_000_003, hashlib.sha256(b"r").digest(),
                               1_764_300_000_123).to_json()
    sig = base64.b64decode(good["signature"])
    cases = [
        {"sth": good, "signer": orderer.did},
        {"sth": good, "signer": orderer.did, "chain_id": "salus-demo"},
        {"sth": good, "signer": orderer.did, "chain_id": "another-chain"},
        {"sth": good, "signer": other.did},
        {"sth": {**good, "tree_size": good["tree_size"] + 1}, "signer": orderer.did},
        {"sth": {**good, "timestamp": good["timestamp"] - 1}, "signer": orderer.did},
        {"sth": {**good, "root_hash": "00" + good["root_hash"][2:]}, "signer": orderer.did},
        {"sth": {**good, "chain_id": "salus-demo2"}, "signer": orderer.did},
        {"sth": {**good, "signature": base64.b64encode(bytes([sig[0] ^ 1]) + sig[1:]).decode()},
         "signer": orderer.did},
        {"sth": good, "signer": "did:key:z6MkNotAKey"},
        {"sth": good, "signer": orderer.encryption_did},  # an X25519 did:key signs nothing
    ]
    got = [v["ok"] for v in run_cases(RUNNER, cases)]
    assert got == [_python(c) for c in cases]
    assert got == [True, True] + [False] * (len(cases) - 2)
