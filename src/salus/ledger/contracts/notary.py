"""Notary: a member anchors the hash of a document it holds off the ledger.

The simplest useful contract, and the one the ledger benchmark drives: it proves that a
member knew content with a given SHA-256 at a given height, with no content on the ledger.
"""

from __future__ import annotations

from typing import Any

from salus.ledger.codes import Code, Rejected
from salus.ledger.contract import SHA256_HEX, Context, Contract, method

MAX_LABEL = 128


class NotaryContract(Contract):
    name = "notary"

    @method
    def anchor(self, ctx: Context, hash: str, label: str = "") -> dict[str, Any]:
        if not SHA256_HEX.match(hash):
            raise Rejected(Code.BAD_ARGUMENTS, "hash must be 64 lowercase hex digits (SHA-256)")
        if len(label) > MAX_LABEL:
            raise Rejected(Code.BAD_ARGUMENTS, f"label is longer than {MAX_LABEL} characters")
        key = f"anchor/{hash}"
        if ctx.get(key) is not None:
            raise Rejected(Code.CONFLICT, f"hash {hash} is already anchored")
        ctx.put(key, {"by": ctx.member_id, "height": ctx.height, "time": ctx.time, "label": label})
        return {"hash": hash, "height": ctx.height}
