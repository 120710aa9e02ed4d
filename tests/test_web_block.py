"""The explorer checks a block in the browser as the audit does in Python: the header
hashes to the block's hash, the trusted signer signed it, and the transactions listed are
the ones its tx_root commits to."""

from __future__ import annotations

import base64
import copy
from pathlib import Path
from typing import Any

from conftest import Chain, ident
from node_cases import run_cases
from salus.ledger.block import BlockHeader, tx_root

RUNNER = Path(__file__).parent / "js" / "block_cases.mjs"


def _served(chain: Chain, height: int) -> dict[str, Any]:
    """The block as GET /v1/blocks/{height} serves it to the public."""
    row, header = chain.ledger.block(height)
    return {"hash": row.hash.hex(), "header": header.to_json(), "signer": row.signer,
            "signature": base64.b64encode(row.signature).decode(),
            "txs": [{"tx_id": t.id.hex(), "leaf_index": t.seq, "code": t.code}
                    for t in chain.ledger.store.txs_of_block(height)]}


def _python(block: dict[str, Any], signer: str) -> bool:
    header = BlockHeader.from_json(block["header"])
    return (header.hash().hex() == block["hash"]
            and header.signature_valid(base64.b64decode(block["signature"]), signer)
            and header.tx_count == len(block["txs"])
            and tx_root([bytes.fromhex(t["tx_id"]) for t in block["txs"]]) == header.tx_root)


def _changed(block: dict[str, Any], change) -> dict[str, Any]:
    copied = copy.deepcopy(block)
    change(copied)
    return copied


def test_the_browser_checks_blocks_as_python_does(chain: Chain) -> None:
    admin = ident("st-mary-admin")
    block = chain.commit(*[chain.tx(admin, "notary", "anchor", {"hash": f"{i:02x}" * 32})
                           for i in range(5)])
    good = _served(chain, block.header.height)
    empty = _served(chain, chain.commit().header.height)
    orderer = chain.orderer.did
    sig = base64.b64decode(good["signature"])
    cases = [
        {"block": good, "signer": orderer},
        {"block": empty, "signer": orderer},
        {"block": good, "signer": admin.did},  # another key
        {"block": _changed(good, lambda b: b["header"].update(time=b["header"]["time"] + 1)),
         "signer": orderer},
        {"block": _changed(good, lambda b: b.update(signature=base64.b64encode(
            bytes([sig[0] ^ 1]) + sig[1:]).decode())), "signer": orderer},
        {"block": _changed(good, lambda b: b["txs"].pop()), "signer": orderer},
        {"block": _changed(good, lambda b: b["txs"].reverse()), "signer": orderer},
        {"block": _changed(good, lambda b: b["txs"][0].update(tx_id="00" * 32)),
         "signer": orderer},
        {"block": _changed(good, lambda b: b.update(hash="00" * 32)), "signer": orderer},
    ]
    got = [v["ok"] for v in run_cases(RUNNER, cases)]
    assert got == [_python(c["block"], c["signer"]) for c in cases]
    assert got == [True, True] + [False] * (len(cases) - 2)
