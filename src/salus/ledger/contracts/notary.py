"""Notary: a member anchors the hash of a document it holds off the ledger.

The simplest useful contract, and the one the ledger benchmark drives: it proves that a
member knew content with a given SHA-256 at a given height, with no content on the ledger.
"""

from __future__ import annotations

from typing import Any

from salus.ledger.authority import AnyMember
from salus.ledger.codes import Code, Rejected
from salus.ledger.contract import Context, Contract, method
from salus.ledger.schema import OptionalCode, Sha256Hex


class NotaryContract(Contract):
    name = "notary"

    @method(who=AnyMember())
    def anchor(self, ctx: Context, hash: Sha256Hex, label: OptionalCode = "") -> dict[str, Any]:
        """Anchor a document's hash. ``label`` is the member's own code for it, not a
        title: a title can name a patient or a diagnosis."""
        key = f"anchor/{hash}"
        if ctx.get(key) is not None:
            raise Rejected(Code.CONFLICT, f"hash {hash} is already anchored")
        ctx.put(key, {"by": ctx.member_id, "height": ctx.height, "time": ctx.time, "label": label})
        return {"hash": hash, "height": ctx.height}
